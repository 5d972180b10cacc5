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


# Full-width letters and digits fold to ASCII, one for one (Chinese punctuation is left as
# it is: it is in nearly every text, and folding it would cost more than it finds).
_WIDE = "".join(map(chr, [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]))
_WIDTH = str.maketrans(_WIDE, "".join(chr(ord(c) - 0xFEE0) for c in _WIDE))
_HAS_WIDE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


def _fold_preserving_length(text: str) -> str:
    """Fold case and width so that offsets in the folded text are offsets in ``text``.

    The common case is one ``translate`` and one ``lower``; only text whose lower case
    changes length (a few letters such as İ) goes character by character.
    """
    folded = (text.translate(_WIDTH) if _HAS_WIDE.search(text) else text).lower()
    if len(folded) == len(text):
        return folded
    out = []
    for ch in text:
        low = ch.translate(_WIDTH).lower()
        out.append(low if len(low) == 1 else ch)
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
