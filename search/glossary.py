"""Cross-lingual queries through the investment glossary.

Policies are written in Chinese. A visitor who types "standard land", "標準地", "표준지" or
"стандартный участок" means 标准地: the glossary maps each language's forms to Chinese terms,
and a query term that names a glossary entry becomes a group of alternatives — the visitor's
own words (which find translated titles and summaries) or any of the Chinese terms. Every group
must match, as plain terms must.

Latin and Cyrillic words are compared by their Snowball stems, so "lands" finds land and
"земли" finds земля; a phrase of up to ``MAX_WORDS`` words is matched longest first. Japanese
and Korean glue particles to words: a term matches when it is a glossary form, or a form
followed by one of a few particles; Korean compounds match with or without their spaces
(산업 체인, 산업체인). Chinese terms are searched as typed, never expanded.
"""

import re
import threading
from dataclasses import dataclass, field

import snowballstemmer

from .text import MAX_TERMS, normalise, terms

LANGS = ("zh", "en", "ja", "ko", "ru")
FOREIGN = ("en", "ja", "ko", "ru")
MAX_WORDS = 5
MAX_ALTERNATIVES = 12  # Chinese terms one group may expand into
_WORD = re.compile(r"\w+")
_LATIN = re.compile(r"[a-z]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_FLEETING = re.compile(r"([бвгджзклмнпрстфхцчшщ])[оеё]([бвгджзклмнпрстфхцчшщ])$")
# Particles a Japanese or Korean visitor may leave on a noun, longest first.
_PARTICLES = sorted(["の", "を", "は", "が", "に", "で", "と", "へ", "から", "まで",
                     "을", "를", "이", "가", "은", "는", "의", "에", "에서", "로", "으로",
                     "와", "과", "도"], key=len, reverse=True)


_LOCAL = threading.local()


def _stemmer(language: str):
    """One stemmer per thread and language: a Snowball stemmer keeps the word it works on in
    itself, so two threads sharing one corrupt each other's words (and raise IndexError)."""
    stemmers = _LOCAL.__dict__.setdefault("stemmers", {})
    if language not in stemmers:
        stemmers[language] = snowballstemmer.stemmer(language)
    return stemmers[language]


def _stem(word: str) -> str:
    if _LATIN.search(word):
        return _stemmer("english").stemWord(word)
    if _CYRILLIC.search(word):
        stem = _stemmer("russian").stemWord(word.replace("ё", "е"))
        # The fleeting vowel: участок / участка, рынок / рынка stem apart; drop it on both.
        return _FLEETING.sub(r"\1\2", stem)
    return word


def words_key(text: str) -> tuple[str, ...]:
    """The comparable form of a phrase: normalised words, each stemmed by its script."""
    return tuple(_stem(w) for w in _WORD.findall(normalise(text)))


@dataclass(frozen=True)
class Term:
    zh: str
    forms: dict[str, tuple[str, ...]]  # language → forms, the display form first
    note: dict[str, str]
    category: str
    common: bool = False
    zh_also: tuple[str, ...] = ()
    key: str = ""  # a stable anchor for links to the glossary page

    @property
    def chinese(self) -> tuple[str, ...]:
        return (self.zh, *self.zh_also)

    def name(self, lang: str) -> str:
        """The term in ``lang``; empty where the glossary has none."""
        if lang == "zh":
            return self.zh
        forms = self.forms.get(lang)
        return forms[0] if forms else ""

    @property
    def haystack(self) -> str:
        """Every form and note, folded: what the glossary page's own filter looks through."""
        parts = [*self.chinese, *(f for forms in self.forms.values() for f in forms),
                 *self.note.values()]
        return normalise(" ".join(parts))


@dataclass
class Match:
    typed: str  # the visitor's words
    chinese: list[str]  # the Chinese terms they were also searched as


@dataclass
class Expansion:
    groups: list[list[str]] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)

    @property
    def flat(self) -> list[str]:
        return [alt for group in self.groups for alt in group]


class Glossary:
    def __init__(self, entries: list[Term]):
        self.terms = list(entries)
        self._by_zh = {t.zh: t for t in self.terms}
        self._chinese = {zh for t in self.terms for zh in t.chinese}
        self._owner = {zh: t for t in self.terms for zh in t.chinese}
        self._scanner: re.Pattern | None = None
        self._forms: dict[tuple[str, ...], list[Term]] = {}
        for term in self.terms:
            for lang in FOREIGN:
                for form in term.forms.get(lang, ()):
                    key = words_key(form)
                    keys = [key, ("".join(key),)] if lang == "ko" and len(key) > 1 else [key]
                    for k in keys:
                        if k and term not in self._forms.setdefault(k, []):
                            self._forms[k].append(term)

    def __len__(self) -> int:
        return len(self.terms)

    def used_in(self, text: str, limit: int) -> list[Term]:
        """Terms ``text`` uses, in order of first use, in one scan: at each place the longest
        Chinese form wins, so a term seen only inside a longer one (土地 in 土地出让金) is
        not counted."""
        if self._scanner is None:
            forms = sorted(self._owner, key=len, reverse=True)
            self._scanner = re.compile("|".join(map(re.escape, forms))) if forms else None
            if self._scanner is None:
                return []
        found: list[Term] = []
        for match in self._scanner.finditer(text or ""):
            term = self._owner[match.group(0)]
            if term not in found:
                found.append(term)
                if len(found) >= limit:
                    break
        return found

    def get(self, zh: str) -> Term | None:
        return self._by_zh.get(zh)

    def name_of(self, zh: str, lang: str) -> str:
        """The translation of a Chinese name (an issuer, a document prefix), or empty."""
        term = self._by_zh.get(zh)
        return term.name(lang) if term and lang != "zh" else ""

    def _lookup(self, words: list[str]) -> list[Term]:
        found = self._forms.get(tuple(_stem(w) for w in words), [])
        if not found and len(words) > 1 and all(_HANGUL.search(w) for w in words):
            found = self._forms.get(("".join(words),), [])  # Korean spaces compounds freely
        if found or len(words) != 1:
            return found
        word = words[0]
        for particle in _PARTICLES:
            if word.endswith(particle) and len(word) > len(particle):
                found = self._forms.get((_stem(word[: -len(particle)]),), [])
                if found:
                    return found
        return []

    def expand(self, text: str) -> Expansion:
        """The query's term groups, and which typed words were searched as which Chinese."""
        tokens = terms(text)
        out = Expansion()
        i = 0
        while i < len(tokens) and len(out.groups) < MAX_TERMS:
            step, found = 1, []
            if tokens[i] not in self._chinese:
                for j in range(min(len(tokens), i + MAX_WORDS), i, -1):
                    span = tokens[i:j]
                    words = [w for token in span for w in _WORD.findall(token)]
                    if not words or any(t in self._chinese for t in span):
                        continue
                    found = self._lookup(words)
                    if found:
                        step = j - i
                        break
            typed = " ".join(tokens[i:i + step])
            chinese = []
            for term in found:
                chinese += [zh for zh in term.chinese if zh not in chinese and zh != typed]
            chinese = chinese[:MAX_ALTERNATIVES]
            out.groups.append([typed, *chinese])
            if chinese:
                out.matches.append(Match(typed, chinese))
            i += step
        return out


def plain(text: str) -> Expansion:
    """A query without the glossary: one group per term."""
    return Expansion([[t] for t in terms(text)])
