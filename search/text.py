"""Query terms and highlighting shared by the engines.

A visitor's query is text, not syntax: quotes group a phrase, white space separates terms,
and every other character (``* : ( ) AND OR NOT NEAR``) is matched literally.
"""

import html
import re
import unicodedata

MAX_QUERY = 200
MAX_TERMS = 12
SNIPPET_CHARS = 140


def normalise(text: str) -> str:
    """NFKC folds full-width Latin and digits to half-width; lower case for matching."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cs", "Co"))
    return text.lower()


def terms(query: str) -> list[str]:
    """The terms of a visitor's query, each matched as a literal substring."""
    query = normalise(query)[:MAX_QUERY]
    found = []
    for quoted, bare in re.findall(r'"([^"]*)"|(\S+)', query):
        term = " ".join((quoted or bare).split())
        term = term.strip('"')
        if term and term not in found:
            found.append(term)
    return found[:MAX_TERMS]


def bigrams(text: str) -> list[str]:
    """Overlapping two-character grams of already normalised text; one gram for one char."""
    if len(text) == 1:
        return [text]
    return [text[i:i + 2] for i in range(len(text) - 1)]


def snippet(text: str, query_terms: list[str], size: int = SNIPPET_CHARS) -> str:
    """HTML: the window of ``text`` holding most query terms, matches wrapped in <mark>.

    Matching is case- and width-insensitive but the original characters are shown.
    """
    if not text:
        return ""
    folded = _fold_preserving_length(text)
    spans = []
    for term in query_terms:
        for match in re.finditer(re.escape(term), folded):
            spans.append((match.start(), match.end()))
    if not spans:
        return html.escape(text[:size]) + ("…" if len(text) > size else "")
    spans.sort()
    start = _best_window(spans, size, query_terms, folded)
    end = min(len(text), start + size)
    start = max(0, min(start, end - size))
    out, cursor = [], start
    for s, e in _merge([(max(s, start), min(e, end)) for s, e in spans if e > start and s < end]):
        out.append(html.escape(text[cursor:s]))
        out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        cursor = e
    out.append(html.escape(text[cursor:end]))
    return ("…" if start > 0 else "") + "".join(out) + ("…" if end < len(text) else "")


def _fold_preserving_length(text: str) -> str:
    """Per-character fold so that offsets in the folded text are offsets in ``text``."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch).lower()
        out.append(folded if len(folded) == 1 else ch.lower()[:1] or ch)
    return "".join(out)


def _merge(spans):
    merged = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _best_window(spans, size, query_terms, folded) -> int:
    """Start offset of the window covering the most distinct terms, a little before them."""
    best, best_score = spans[0][0], -1
    for s, _e in spans:
        window = folded[s:s + size]
        score = sum(1 for t in query_terms if t in window)
        if score > best_score:
            best, best_score = s, score
    return max(0, best - size // 5)
