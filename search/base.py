"""The interface every search engine implements.

The database is the source of truth; an engine holds a rebuildable copy. A search answers
ranked ids (the database loads the rows in that order) with highlighted snippets.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass
class Document:
    kind: str  # "policy", "site", "opportunity"
    id: int
    title: str
    body: str
    filters: dict[str, str] = field(default_factory=dict)


@dataclass
class Hits:
    ids: list[int]
    total: int
    snippets: dict[int, str] = field(default_factory=dict)


class SearchUnavailable(Exception):
    """The engine cannot answer now; callers fall back to the database and say so."""


class SearchEngine(ABC):
    name = "base"

    @abstractmethod
    def index(self, documents: list[Document]) -> None:
        """Add or replace documents (matched on kind and id)."""

    @abstractmethod
    def delete(self, kind: str, ids: list[int]) -> None: ...

    @abstractmethod
    def rebuild(self, documents: list[Document]) -> None:
        """Replace the whole index with ``documents``."""

    @abstractmethod
    def search(self, kind: str, query: str, *, offset: int = 0, limit: int = 20) -> Hits: ...

    @abstractmethod
    def health(self) -> dict:
        """``{"engine": name, "state": "ok" | "empty" | "unavailable", "documents": n}``"""
