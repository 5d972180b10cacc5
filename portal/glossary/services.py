"""The investment glossary: query expansion for search, names beside Chinese issuers and
document numbers, the terms a policy uses, and the glossary page's own filter."""

import re
from functools import lru_cache

from flask import current_app

from search.glossary import Expansion, Glossary, Term
from search.text import terms

MAX_TERMS_PER_PAGE = 24
# 同政发〔2026〕2号 → 同政发: the issuing body's document series, before the year bracket.
_DOC_PREFIX = re.compile(r"^\s*([\u4e00-\u9fff]+)\s*[〔\[［(（]")


@lru_cache(maxsize=4)
def _load(directory: str) -> Glossary:
    """The glossary, read once per process. A file that does not validate must not take the
    portal down: pages then go without it (and say nothing wrong) and the error is logged;
    the test suite and `flask glossary check` read it strictly."""
    from seed.glossary import read_glossary
    from seed.loader import PackError

    try:
        return Glossary(read_glossary(directory))
    except (PackError, OSError) as exc:
        current_app.logger.error("glossary unreadable, serving without it: %s", exc)
        return Glossary([])


def glossary() -> Glossary:
    return _load(str(current_app.config["GLOSSARY_DIR"]))


def expand(text: str) -> Expansion:
    """The query as term groups: one per term, some widened by the glossary."""
    return glossary().expand(text)


def translation_of(chinese: str, lang: str) -> tuple[str, str] | None:
    """``(text, language)`` to show beside a Chinese name: the glossary's name in ``lang``,
    else its English one; None in Chinese, for unknown names, or where the translation would
    only repeat the Chinese (Japanese often writes an office's name the same way)."""
    term = glossary().get((chinese or "").strip())
    if term is None or lang == "zh":
        return None
    for code in (lang, "en"):
        name = term.name(code)
        if name and name != term.zh:
            return name, code
        if name:
            return None
    return None


def issuer_name(issuer: str, lang: str) -> tuple[str, str] | None:
    return translation_of(issuer, lang)


def doc_number_name(doc_number: str, lang: str) -> tuple[str, str] | None:
    """What the series of a document number means (同政发 → the city government's
    documents)."""
    match = _DOC_PREFIX.match(doc_number or "")
    return translation_of(match.group(1), lang) if match else None


def terms_in(*texts: str, limit: int = MAX_TERMS_PER_PAGE) -> list[Term]:
    """Glossary terms the texts use, in order of first use (see ``Glossary.used_in``)."""
    return glossary().used_in("\n".join(t for t in texts if t), limit)


def search(q: str) -> list[Term]:
    """The glossary page's filter: every term whose forms or notes hold every word of ``q``,
    or that the search expansion would reach from ``q``."""
    words = terms(q)
    if not words:
        return list(glossary().terms)
    reached = {zh for group in expand(q).groups for zh in group[1:]}
    return [t for t in glossary().terms
            if all(w in t.haystack for w in words)
            or reached & set(t.chinese)]
