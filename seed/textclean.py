"""Turn text extracted from printed government documents back into readable paragraphs.

The source documents were laid out for print and then extracted line by line, so a line
break says nothing reliable about the text: one document is hard-wrapped every twenty or so
characters, the others break sentences wherever a page ended, and every line is followed by a
blank line either way. Left as it is, a phrase that straddles a break cannot be found by
search and the page reads as a column of fragments.

``clean_text`` rebuilds the paragraphs from what the lines themselves say (numbering,
sentence-final punctuation, how full a line is) and drops what the layout added (page
numbers, running headers, continuation notes, markdown bold markers, control characters).
Its output is stable: cleaning it again returns it unchanged, so it can be applied at load
time without tracking whether a text was already cleaned.
"""

import re
import unicodedata
from collections import Counter

__all__ = ["clean_text", "heading_level", "join_folded", "split_paragraphs"]

_CN_DIGITS = "一二三四五六七八九十百零〇"

# Numbering that opens a heading or a numbered item, with the heading level the page
# renderer uses. Order matters: the first match wins.
_NUMBERING = (
    (1, re.compile(rf"^[{_CN_DIGITS}]+\s*、")),
    (2, re.compile(rf"^[（(]\s*[{_CN_DIGITS}]+\s*[）)]")),
    # "1." / "1．" / "1、", but not "1.5" or "3.0版".
    (3, re.compile(r"^\d{1,2}\s*[.．、](?![\d.．])")),
    (4, re.compile(r"^[（(]\s*\d{1,2}\s*[）)]")),
)
# Other openings that always start a paragraph but are not rendered as headings.
_OTHER_OPENINGS = re.compile(rf"^(?:第\s*[{_CN_DIGITS}\d]+\s*[条章节编]|【[^】]{{1,30}}】|[①-⑳])")

# Punctuation that shows a line is running prose rather than a title or a caption.
_PROSE_PUNCT = frozenset("，、。；！？,;!?")
# Punctuation that may end a paragraph (a colon ends an addressee line or a lead-in).
_FINAL_PUNCT = frozenset("。！？；：…!?;:")
# Closing marks that may follow the final punctuation: 。” or ！）.
_CLOSERS = frozenset("”’」』）)》〕］]】")
# A line cannot start a paragraph with one of these, so it continues the previous one.
_CONTINUATION_START = frozenset("，、。；：！？）》」』”’〕】,.;:!?)]%")
_OPEN_FOR_CLOSE = {"）": "（", ")": "(", "〕": "〔", "]": "[", "］": "［", "】": "【"}

# Page furniture, matched against a whole stripped line.
_PAGE_NUMBER = re.compile(
    r"""^(?:
        [-–—―−~·•\s]*\d{1,3}[-–—―−~·•\s]*            # 3, - 3 -, — 3 —, ·3·
      | 第\s*\d{1,3}\s*页(?:\s*[，,/／]?\s*共\s*\d{1,3}\s*页)?   # 第 3 页, 第3页 共9页
      | 共\s*\d{1,3}\s*页\s*[，,]?\s*第\s*\d{1,3}\s*页         # 共9页 第3页
      | \d{1,3}\s*[/／]\s*\d{1,3}                      # 3/9
      | (?i:page)\s*\d{1,3}(?:\s*(?i:of)\s*\d{1,3})?   # Page 3 of 9
    )$""",
    re.VERBOSE,
)
# Newspaper continuation notes: （下转 B2 版）, (上接第1版).
_CONTINUATION_NOTE = re.compile(
    r"^[（(]?\s*(?:下转|上接|转|接)\s*(?:第\s*)?[A-Za-z]?\s*\d{1,3}\s*[版页]\s*[)）]?$"
)
_BOLD = re.compile(r"\*{2,}")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_LINE_BREAKS = re.compile(r"\r\n|[\r\f\v\x1c\x1d\x1e\x85\u2028\u2029]")

# A heading is short; a numbered paragraph of body text is not a heading.
_HEADING_MAX_CHARS = 40
# Running headers and footers are short; longer repeated lines are left alone.
_RUNNING_HEADER_MAX_CHARS = 30
_RUNNING_HEADER_MIN_REPEATS = 3
# A repeated line this close to the top is the document's own title, not a header.
_TITLE_ZONE_LINES = 5
# A line interrupting a sentence is taken for a photo caption only if it is this short.
_CAPTION_MAX_WIDTH = 40
_CAPTION_MAX_LINES = 3
# Hard wrapping: most lines have nearly the same width, and that width is narrow.
_HARD_WRAP_MIN_LINES = 12
_HARD_WRAP_MAX_WIDTH = 60
_HARD_WRAP_SHARE = 0.6
# A line at least this share of the column width was cut by the layout, not by the author.
_FULL_LINE_SHARE = 0.85


def clean_text(raw: str) -> str:
    """Rebuild the paragraphs of a print-extracted document.

    Paragraphs come back separated by exactly one blank line so that ``split_paragraphs``
    and the search indexer see the author's paragraphs, not the printer's lines.
    """
    lines = _prepare_lines(raw)
    lines, page_breaks = _drop_furniture(lines)
    paragraphs = _rejoin(lines, page_breaks)
    return "\n\n".join(unicodedata.normalize("NFC", p) for p in paragraphs)


def split_paragraphs(text: str) -> list[str]:
    """Split cleaned text into paragraphs, tolerating extra blank lines from hand edits."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def heading_level(paragraph: str) -> int | None:
    """Return the outline level of a heading, or None for anything else.

    Chinese official documents number both headings and ordinary paragraphs with the same
    marks (（一） is a heading in one document and the start of a long item in another), so
    a numbered paragraph only counts as a heading when it reads like one: short and without
    a sentence break inside.
    """
    text = paragraph.strip()
    level, body = _split_numbering(text)
    if level is None or not _reads_as_heading(body):
        return None
    return level


# --- preparation -------------------------------------------------------------------------


def _prepare_lines(raw: str) -> list[str]:
    """Normalise characters before any layout decision, so the decisions see clean text."""
    text = _LINE_BREAKS.sub("\n", raw)
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\t", " ")
    text = "".join(ch for ch in text if ch == "\n" or not _is_junk(ch))
    lines = []
    for line in text.split("\n"):
        line = _BOLD.sub("", line).strip()
        if line:
            lines.append(line)
    return lines


def _is_junk(ch: str) -> bool:
    """Control characters and replacement marks are extraction debris, never content."""
    return ch == "\ufffd" or ch in _ZERO_WIDTH or unicodedata.category(ch) == "Cc"


def _drop_furniture(lines: list[str]) -> tuple[list[str], set[int]]:
    """Remove what the print layout added on every page.

    Returns the remaining lines and the indices of those that directly follow removed
    furniture: that is where a page ended, which is where sentences get cut.

    Running headers are recognised by repetition (digits ignored, since they often carry
    the page number); only short, unpunctuated lines qualify so that a recurring phrase of
    body text, such as a wrapped "按职责分工负责）", is never taken for one. A header that
    repeats word for word and first appears at the very top may be the document's own
    title, so that first occurrence stays.
    """
    keys = [_running_header_key(line) for line in lines]
    by_key = Counter(key for key in keys if key is not None)
    by_text = Counter(line for line, key in zip(lines, keys, strict=True) if key is not None)
    seen: set[str] = set()
    kept: list[str] = []
    after_break: set[int] = set()
    dropped = False
    for index, (line, key) in enumerate(zip(lines, keys, strict=True)):
        furniture = bool(_PAGE_NUMBER.match(line) or _CONTINUATION_NOTE.match(line))
        if key is not None and by_key[key] >= _RUNNING_HEADER_MIN_REPEATS:
            is_title = (
                index < _TITLE_ZONE_LINES and key not in seen and by_text[line] == by_key[key]
            )
            seen.add(key)
            furniture = furniture or not is_title
        if furniture:
            dropped = True
            continue
        if dropped and kept:
            after_break.add(len(kept))
        dropped = False
        kept.append(line)
    return kept, after_break


def _running_header_key(line: str) -> str | None:
    if len(line) > _RUNNING_HEADER_MAX_CHARS or _starts_paragraph(line):
        return None
    if any(ch in _PROSE_PUNCT for ch in line) or line[-1] in _FINAL_PUNCT | _CLOSERS:
        return None
    return re.sub(r"\d+", "#", line)


# --- rejoining ---------------------------------------------------------------------------


def _rejoin(lines: list[str], page_breaks: set[int]) -> list[str]:
    """Group lines into paragraphs.

    Decisions look at the paragraph built so far rather than only its last line, so that
    cleaning the output again (one paragraph per line) reaches the same decisions.
    """
    column = _hard_wrap_column(lines)
    paragraphs: list[str] = []
    captions: list[str] = []
    current: str | None = None
    last_line = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if current is None:
            current, last_line = line, line
            i += 1
            continue
        verdict = _join_verdict(current, last_line, line, column, i in page_breaks)
        if verdict == "prose" and _is_caption_like(line):
            target = _skip_captions(lines, i)
            if target is not None:
                # Captions printed inside a sentence go after the paragraph they interrupt.
                captions.extend(lines[i:target])
                current = _join(current, lines[target])
                last_line = lines[target]
                i = target + 1
                continue
        if verdict:
            current = _join(current, line)
        else:
            paragraphs.append(current)
            paragraphs.extend(captions)
            captions = []
            current = line
        last_line = line
        i += 1
    if current is not None:
        paragraphs.append(current)
    paragraphs.extend(captions)
    return paragraphs


def _join_verdict(
    current: str, last_line: str, nxt: str, column: float | None, page_break: bool
) -> str | None:
    """Say why ``nxt`` continues ``current`` ("prose", "layout"), or None if it does not."""
    if _starts_paragraph(nxt):
        return None
    if nxt[0] in _CONTINUATION_START or (nxt[0].isascii() and nxt[0].islower()):
        return "layout"
    if column is not None and _display_width(last_line) >= _FULL_LINE_SHARE * column:
        return "layout"
    if heading_level(current) is not None:
        return None
    if _ends_paragraph(current):
        return None
    if page_break:
        # Print pages end in body text, so an unfinished sentence there always goes on.
        return "layout"
    if current[-1] in _PROSE_PUNCT or any(ch in _PROSE_PUNCT for ch in current):
        return "prose"
    # Short unpunctuated lines are titles, issuer lines, document numbers and dates.
    return None


def _skip_captions(lines: list[str], start: int) -> int | None:
    """Find the line that resumes a sentence interrupted by captions, if there is one."""
    end = start
    while end < len(lines) and end - start < _CAPTION_MAX_LINES and _is_caption_like(lines[end]):
        end += 1
    if end >= len(lines) or end == start:
        return None
    resumed = lines[end]
    if _starts_paragraph(resumed) or _is_caption_like(resumed):
        return None
    return end


def _is_caption_like(line: str) -> bool:
    return (
        _display_width(line) <= _CAPTION_MAX_WIDTH
        and not any(ch in _PROSE_PUNCT for ch in line)
        and not _ends_paragraph(line)
        and not _starts_paragraph(line)
    )


def _hard_wrap_column(lines: list[str]) -> float | None:
    """Return the column width if the text was wrapped to a narrow fixed column."""
    if len(lines) < _HARD_WRAP_MIN_LINES:
        return None
    widths = sorted(_display_width(line) for line in lines)
    median = widths[len(widths) // 2]
    if median > _HARD_WRAP_MAX_WIDTH:
        return None
    near = sum(1 for w in widths if _FULL_LINE_SHARE * median <= w <= 1.2 * median)
    if near < _HARD_WRAP_SHARE * len(widths):
        return None
    return median


def _join(left: str, right: str) -> str:
    """Join two pieces of one sentence: CJK runs on, Latin words keep a space."""
    left, right = left.rstrip(), right.lstrip()
    a, b = left[-1], right[0]
    if _is_wide(a) or _is_wide(b):
        return left + right
    if (a.isdigit() and b.isdigit()) or a in "([{/" or b in _CONTINUATION_START:
        return left + right
    return left + " " + right


# --- line properties ---------------------------------------------------------------------


def _split_numbering(text: str) -> tuple[int | None, str]:
    for level, pattern in _NUMBERING:
        match = pattern.match(text)
        if match:
            return level, text[match.end() :].strip()
    return None, text


def _reads_as_heading(body: str) -> bool:
    if not body or len(body) > _HEADING_MAX_CHARS:
        return False
    inner = body[:-1] if body[-1] in "。．.：:" else body
    return not any(ch in "。！？；!?;" for ch in inner)


def _starts_paragraph(line: str) -> bool:
    return _split_numbering(line)[0] is not None or bool(_OTHER_OPENINGS.match(line))


def _ends_paragraph(text: str) -> bool:
    """Sentence-final punctuation, or a closing bracket that ends an attribution.

    A trailing ）is final only when its group stands alone or follows a finished sentence
    ("…落实。（市促投局负责）"); "各县（区）" at a page end is still mid-sentence.
    """
    text = text.rstrip()
    end = len(text)
    while end and text[end - 1] in _CLOSERS:
        end -= 1
    if end and text[end - 1] in _FINAL_PUNCT:
        return True
    if end == len(text):
        return False
    opening = _matching_open(text)
    if opening is None:
        return False
    return opening == 0 or text[opening - 1] in _FINAL_PUNCT


def _matching_open(text: str) -> int | None:
    close = text[-1]
    open_ = _OPEN_FOR_CLOSE.get(close)
    if open_ is None:
        return None
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        if text[index] == close:
            depth += 1
        elif text[index] == open_:
            depth -= 1
            if depth == 0:
                return index
    return None


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF" or ch in "“”‘’…—·"


def _display_width(text: str) -> int:
    """Width in half-width cells, which is what a print column is measured in."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


# Han, kana, CJK and full-width punctuation: scripts written without spaces between words.
_UNSPACED = r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"
_FOLD_SPACE = re.compile(rf"(?<={_UNSPACED}) (?={_UNSPACED})")


def join_folded(text: str) -> str:
    """Drop the space a YAML folded scalar (``>-``) puts where it joins two lines of Chinese
    or Japanese (北京研发、 大同制造). Spaces next to Latin letters, digits or Hangul stay."""
    return _FOLD_SPACE.sub("", text) if " " in text else text
