"""The interface every search engine implements.

The database is the source of truth; an engine holds a rebuildable copy. A search answers
ranked ids (the database loads the rows in that order), the total, facet counts and
highlighted snippets cut from the original text.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from .text import terms

SORTS = ("relevance", "date")


@dataclass
class Document:
    kind: str  # "policy", "site", "opportunity"
    id: int
    title: str
    body: str
    # Filterable, facetable keyword fields; a list holds several values (topics).
    fields: dict[str, str | list[str]] = field(default_factory=dict)
    published: date | None = None
    # Titles and summaries in other languages, searched like the title.
    translations: str = ""


@dataclass
class Query:
    kind: str
    text: str = ""
    # field → accepted values (a document matches when it has any of them)
    filters: dict[str, list[str]] = field(default_factory=dict)
    facets: tuple[str, ...] = ()
    sort: str = "relevance"
    offset: int = 0
    limit: int = 20
    # Term groups from the glossary (search.glossary.Glossary.expand): every group must match,
    # any alternative of a group will do. None: one group per term of ``text``.
    groups: list[list[str]] | None = None

    def term_groups(self) -> list[list[str]]:
        if self.groups is not None:
            return [[t for t in group if t] for group in self.groups if any(group)]
        return [[t] for t in terms(self.text)]


@dataclass
class Hits:
    ids: list[int]
    total: int
    # field → value → number of matching documents. A facet's own filter is left out of
    # its counts, so a visitor sees what choosing another value would give.
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    snippets: dict[int, str] = field(default_factory=dict)


class SearchUnavailable(Exception):
    """The engine cannot answer now; callers fall back to the database and say so."""


# Called with the engine before an engine whose copy is local answers a search; raises
# SearchUnavailable when that copy must not answer (the portal's check that a node's index
# is current, ``portal.indexing.ensure_current``).
_before_search: list[Callable[["SearchEngine"], None]] = []


def before_search(hook: Callable[["SearchEngine"], None]) -> None:
    """Register ``hook`` once per process."""
    if hook not in _before_search:
        _before_search.append(hook)


class SearchEngine(ABC):
    name = "base"
    # True when each node keeps its own copy (a local folder) rather than sharing one: such
    # an engine applies every outbox job itself and calls ``ready`` before each search.
    local = False

    def ready(self) -> None:
        for hook in _before_search:
            hook(self)

    @abstractmethod
    def index(self, documents: list[Document]) -> None:
        """Add or replace documents (matched on kind and id)."""

    @abstractmethod
    def delete(self, kind: str, ids: list[int]) -> None: ...

    @abstractmethod
    def rebuild(self, documents: list[Document]) -> None:
        """Replace the whole index with ``documents``; searches keep answering meanwhile."""

    @abstractmethod
    def search(self, query: Query) -> Hits: ...

    @abstractmethod
    def health(self) -> dict:
        """``{"engine": name, "state": "ok" | "empty" | "unavailable", "documents": n}``"""
