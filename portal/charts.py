"""Server-rendered SVG charts with a table alternative, and no JavaScript.

Why SVG from the server: a chart costs a few kilobytes of markup, needs no script (the CSP
allows none inline and the pages must stay light), prints, and scales with its ``viewBox``.
Every chart is a ``<figure class="chart">`` holding

* a visible ``<figcaption>`` (the caption and, when given, the unit);
* an ``<svg role="img">`` whose ``aria-labelledby`` names its ``<title>`` (the caption) and
  ``<desc>`` (a one-sentence summary: how many items, the largest one);
* a ``<details>`` with a ``<table class="data">`` (caption, one row per item, every value
  formatted the locale's way) — the text alternative for screen readers and for anyone who
  wants the numbers.

No ``style=`` attribute is written (the CSP is ``style-src 'self'``); colours are SVG
presentation attributes overridden by classes in ``static/css/portal.css`` (``.chart…``).

Legibility at 375 px: the drawing is ``VIEW_WIDTH`` (360) user units wide and the stylesheet
lets it shrink to the column; text is ``FONT_SIZE`` (14) units, so on a 375 px phone (about
340 px of column) text stays above 12 CSS px. Labels are wrapped by an estimate of their width
(CJK characters one em, others 0.65 em — generous on purpose) so long Chinese or Russian
labels never leave the ``viewBox``.

API (also Jinja globals, see ``portal/i18n.py``)::

    bar_chart(rows, caption, unit="", series=None, value_format=None, summary=None,
              label_header=None) -> Markup
    column_chart(rows, caption, unit="", series=None, kind="column", value_format=None,
                 summary=None, label_header=None) -> Markup

``rows`` is a sequence of mappings (or objects with these attributes):

* ``label`` — ``str`` or ``Markup``. A ``Markup`` label (e.g. from ``content()``, which marks
  untranslated Chinese) goes into the table as is; the drawing uses its plain text.
* ``value`` — a number or ``None`` (drawn as "—", no bar); for grouped charts ``values``
  instead, one per entry of ``series`` (the legend names).
* ``highlight`` — optional ``True``: the bar gets ``chart-highlight`` (brand colour) and a bold
  label; the table row is marked ``（突出显示）`` in words, not by colour only.

``value_format`` turns a number into text (default ``format_number``; pass ``format_percent``
for rates). ``unit`` is printed once in the caption and the table header, not after every
value. Bars start at zero; negative values are drawn with no length (their number is shown).
``bar_chart`` suits long labels (each label gets the full width above its bar);
``column_chart`` suits a few periods along the x axis (``kind="line"`` draws lines with points).

From a template::

    {{ bar_chart(rows, caption=_("各区县考评排名"), unit=_("名")) }}
    {{ column_chart(rows, caption=_("签约开工率"), kind="line", value_format=format_percent) }}
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flask import g, has_request_context
from flask_babel import gettext as _
from markupsafe import Markup, escape

VIEW_WIDTH = 360
FONT_SIZE = 14
# A CJK font's text box is about 1.45 em tall (Noto Sans CJK: ascent 1.16, descent 0.29), so
# lines are 21 units apart and a line's baseline sits 17 units below its top.
LINE_HEIGHT = 21
BASELINE = 17
MAX_LABEL_LINES = 3
PALETTE = ("#0b57d0", "#a61b1b", "#1a7f37", "#8250df", "#9a6700", "#57606a")
HIGHLIGHT = "#a61b1b"
# Characters that must not begin a line (Chinese/Japanese line-breaking rules, shortened).
_NO_LINE_START = set("，。、；：？！）」』》〉】,.;:?!)]}%％")

_fallback_ids = itertools.count(1)


@dataclass
class _Row:
    label: str
    label_html: Markup
    values: list[float | None]
    highlight: bool = False
    texts: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- text measure


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimated rendered width in user units; over-estimates rather than under."""
    width = 0.0
    for char in text:
        # Ambiguous ones (“ ” · …) are full width in the CJK fonts the pages use.
        if unicodedata.east_asian_width(char) in ("W", "F", "A"):
            width += 1.0
        elif char == " ":
            width += 0.32
        elif unicodedata.category(char).startswith("M"):
            continue
        else:
            width += 0.65
    return width * size


def _tokens(text: str) -> list[str]:
    """Break opportunities: every wide character alone, other runs up to a space."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if char == " ":
            if word:
                tokens.append(word)
                word = ""
            tokens.append(" ")
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            if word:
                tokens.append(word)
                word = ""
            if tokens and char in _NO_LINE_START and tokens[-1] != " ":
                tokens[-1] += char  # keep closing punctuation with what it closes
            else:
                tokens.append(char)
        else:
            word += char
    if word:
        tokens.append(word)
    return tokens


def wrap(text: str, width: float, max_lines: int = MAX_LABEL_LINES,
         size: float = FONT_SIZE) -> list[str]:
    """Greedy line breaking by estimated width; the last line ends in … when cut."""
    lines: list[str] = []
    line = ""
    for token in _tokens(" ".join(text.split())):
        candidate = line + token
        if text_width(candidate.strip(), size) <= width:
            line = candidate
            continue
        if line.strip():
            lines.append(line.strip())
        line = "" if token.isspace() else token
        while text_width(line, size) > width:  # one word wider than the line: cut it
            cut = len(line)
            while cut > 1 and text_width(line[:cut], size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.strip())
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and text_width(last + "…", size) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines or [""]


# ----------------------------------------------------------------------------- helpers


def _chart_id() -> str:
    """Ids unique within a page (a request), stable for tests."""
    if has_request_context():
        g.chart_count = g.get("chart_count", 0) + 1
        return f"chart-{g.chart_count}"
    return f"chart-x{next(_fallback_ids)}"


def _get(row, name, default=None):
    if isinstance(row, Mapping):
        return row.get(name, default)
    return getattr(row, name, default)


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rows(rows: Iterable, series: Sequence[str] | None,
          value_format: Callable[[float | None], str]) -> list[_Row]:
    result = []
    for row in rows:
        label = _get(row, "label", "")
        label_html = label if isinstance(label, Markup) else escape(str(label))
        plain = label.striptags() if isinstance(label, Markup) else str(label)
        if series:
            raw = list(_get(row, "values", None) or [])
            raw += [None] * (len(series) - len(raw))
            values = [_number(v) for v in raw[: len(series)]]
        else:
            values = [_number(_get(row, "value"))]
        texts = [value_format(v) if v is not None else "—" for v in values]
        result.append(_Row(plain, label_html, values, bool(_get(row, "highlight")), texts))
    return result


def _fmt(n: float) -> str:
    """SVG coordinates: short and locale-free."""
    return f"{n:.1f}".rstrip("0").rstrip(".")


def _text(x, y, content, cls="", anchor="start", weight=None) -> Markup:
    extra = Markup("")
    if anchor != "start":
        extra += Markup(' text-anchor="{}"').format(anchor)
    if weight:
        extra += Markup(' font-weight="{}"').format(weight)
    return Markup('<text x="{}" y="{}" font-size="{}"{} class="{}">{}</text>').format(
        _fmt(x), _fmt(y), FONT_SIZE, extra, cls, content)


def _nice_max(maximum: float) -> tuple[float, float]:
    """An axis end and step a reader can add up (1, 2, 2.5, 5 × 10ⁿ), about four steps."""
    if maximum <= 0:
        return 1.0, 0.25
    raw = maximum / 4
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= raw:
            break
    return step * math.ceil(maximum / step - 1e-9), step


def _legend(series: Sequence[str], y: float) -> tuple[list[Markup], float]:
    """Swatches with names, wrapped across lines; returns parts and the height used."""
    parts: list[Markup] = []
    x, line_y = 0.0, y
    for index, name in enumerate(series):
        width = 18 + text_width(name)
        if x and x + width > VIEW_WIDTH:
            x, line_y = 0.0, line_y + LINE_HEIGHT
        name = wrap(name, VIEW_WIDTH - 18, max_lines=1)[0]
        parts.append(Markup('<rect x="{}" y="{}" width="12" height="12" fill="{}" '
                            'class="chart-s{}"/>').format(
            _fmt(x), _fmt(line_y + 6), PALETTE[index % len(PALETTE)], index))
        parts.append(_text(x + 16, line_y + BASELINE, name, "chart-legend"))
        x += 18 + text_width(name) + 12
    return parts, line_y + LINE_HEIGHT - y + 6


def _summary(rows: list[_Row], series: Sequence[str] | None, unit: str) -> str:
    best = None
    for row in rows:
        for index, value in enumerate(row.values):
            if value is not None and (best is None or value > best[0]):
                name = _("%(label)s（%(series)s）", label=row.label,
                         series=series[index]) if series else row.label
                best = (value, name, row.texts[index])
    if best is None:
        return _("共 %(n)d 项，均无数据。", n=len(rows))
    return _("共 %(n)d 项；最高：%(label)s，%(value)s%(unit)s。", n=len(rows), label=best[1],
             value=best[2], unit=" " + unit if unit else "")


def _figure(chart_id: str, caption: str, unit: str, summary: str, width: float, height: float,
            body: list[Markup], rows: list[_Row], series: Sequence[str] | None,
            label_header: str | None, value_format_name: str) -> Markup:
    unit_note = Markup(' <span class="chart-unit">{}</span>').format(
        _("（单位：%(unit)s）", unit=unit)) if unit else Markup("")
    headers = list(series) if series else [_("数值")]
    head = Markup("").join(
        Markup('<th scope="col">{}{}</th>').format(
            name, Markup(' <span class="chart-unit">（{}）</span>').format(unit) if unit else "")
        for name in headers)
    body_rows = []
    for row in rows:
        mark = Markup(' <span class="chart-mark">{}</span>').format(_("（突出显示）")) \
            if row.highlight else Markup("")
        cells = Markup("").join(Markup('<td class="num">{}</td>').format(text)
                                for text in row.texts)
        body_rows.append(Markup('<tr><th scope="row">{}{}</th>{}</tr>').format(
            row.label_html, mark, cells))
    table = Markup(
        '<details class="chart-data"><summary>{show}</summary>'
        '<table class="data chart-table" tabindex="0"><caption>{caption}{unit}</caption>'
        '<thead><tr><th scope="col">{label_header}</th>{head}</tr></thead>'
        '<tbody>{rows}</tbody></table></details>').format(
        show=_("查看数据表"), caption=caption, unit=unit_note,
        label_header=label_header or _("项目"), head=head,
        rows=Markup("").join(body_rows))
    svg = Markup(
        '<svg class="chart-svg chart-{kind}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" aria-labelledby="{id}-title {id}-desc" focusable="false" '
        'xmlns="http://www.w3.org/2000/svg">'
        '<title id="{id}-title">{caption}</title><desc id="{id}-desc">{summary}</desc>'
        '{body}</svg>').format(
        kind=value_format_name, w=_fmt(width), h=_fmt(height), id=chart_id, caption=caption,
        summary=summary, body=Markup("").join(body))
    return Markup(
        '<figure class="chart" id="{id}"><figcaption>{caption}{unit}</figcaption>'
        '{svg}{table}</figure>').format(
        id=chart_id, caption=caption, unit=unit_note, svg=svg, table=table)


def _default_format() -> Callable[[float | None], str]:
    from portal.i18n import format_number

    return format_number


# ----------------------------------------------------------------------------- charts


def bar_chart(rows: Iterable, caption: str, unit: str = "", series: Sequence[str] | None = None,
              value_format: Callable | None = None, summary: str | None = None,
              label_header: str | None = None) -> Markup:
    """Horizontal bars, each label on its own line(s) above its bar(s)."""
    value_format = value_format or _default_format()
    series = [str(name) for name in series] if series else None
    data = _rows(rows, series, value_format)
    chart_id = _chart_id()
    if not data:
        return Markup('<p class="empty">{}</p>').format(_("%(caption)s：暂无数据。",
                                                           caption=caption))
    values = [v for row in data for v in row.values if v is not None]
    top = max(values, default=0.0)
    value_space = max(text_width(t) for row in data for t in row.texts) + 6
    bar_space = VIEW_WIDTH - value_space
    bar_height = 16
    bar_pitch = 22 if series else bar_height  # room for each bar's value text
    body: list[Markup] = []
    y = 0.0
    if series:
        legend, used = _legend(series, y)
        body += legend
        y += used
    for row in data:
        lines = wrap(row.label, VIEW_WIDTH)
        weight = "700" if row.highlight else None
        for line in lines:
            body.append(_text(0, y + BASELINE, line, "chart-label", weight=weight))
            y += LINE_HEIGHT
        y += 4
        for index, (value, text) in enumerate(zip(row.values, row.texts, strict=True)):
            length = bar_space * max(value, 0) / top if value and top > 0 else 0.0
            colour = HIGHLIGHT if row.highlight and not series else PALETTE[index % len(PALETTE)]
            cls = "chart-bar chart-highlight" if row.highlight and not series \
                else f"chart-bar chart-s{index}"
            if value is not None:
                body.append(Markup('<rect x="0" y="{}" width="{}" height="{}" fill="{}" '
                                   'class="{}" data-value="{!r}"/>').format(
                    _fmt(y), _fmt(length), bar_height, colour, cls, value))
            body.append(_text(length + 4, y + bar_height - 3, text, "chart-value"))
            y += bar_pitch
        y += 10
    return _figure(chart_id, caption, unit, summary or _summary(data, series, unit), VIEW_WIDTH,
                   y, body, data, series, label_header, "bar")


def column_chart(rows: Iterable, caption: str, unit: str = "",
                 series: Sequence[str] | None = None, kind: str = "column",
                 value_format: Callable | None = None, summary: str | None = None,
                 label_header: str | None = None) -> Markup:
    """Columns (or lines with points) over a few periods, with a y axis and gridlines."""
    value_format = value_format or _default_format()
    series = [str(name) for name in series] if series else None
    data = _rows(rows, series, value_format)
    chart_id = _chart_id()
    if not data:
        return Markup('<p class="empty">{}</p>').format(_("%(caption)s：暂无数据。",
                                                           caption=caption))
    n_series = len(series) if series else 1
    values = [v for row in data for v in row.values if v is not None]
    axis_max, step = _nice_max(max([0.0, *values]))
    ticks = [step * i for i in range(int(round(axis_max / step)) + 1)]
    tick_texts = [value_format(t) for t in ticks]
    left = max(text_width(t) for t in tick_texts) + 6
    body: list[Markup] = []
    y = 0.0
    if series:
        legend, used = _legend(series, y)
        body += legend
        y += used
    plot_top = y + LINE_HEIGHT  # room for the value labels above the tallest column
    plot_height = 150.0
    baseline = plot_top + plot_height
    slot = (VIEW_WIDTH - left) / len(data)
    label_sets = [wrap(row.label, slot - 4) for row in data]
    for tick, text in zip(ticks, tick_texts, strict=True):
        ty = baseline - plot_height * tick / axis_max
        body.append(Markup('<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d0d7de" '
                           'class="chart-grid"/>').format(_fmt(left), VIEW_WIDTH, _fmt(ty),
                                                          _fmt(ty)))
        body.append(_text(left - 6, ty + 5, text, "chart-tick", anchor="end"))
    marks_start = len(body)  # lines go above the grid, below points and labels
    column = min((slot - 8) / n_series, 40.0)
    fits = all(text_width(t) <= (column if n_series > 1 else slot) - 2
               for row in data for t in row.texts)
    show_values = fits and (kind == "column" or n_series == 1)
    points: list[list[tuple[float, float]]] = [[] for _ in range(n_series)]
    for position, (row, lines) in enumerate(zip(data, label_sets, strict=True)):
        centre = left + slot * (position + 0.5)
        start = centre - column * n_series / 2
        for index, (value, text) in enumerate(zip(row.values, row.texts, strict=True)):
            height = plot_height * max(value or 0, 0) / axis_max
            highlight = row.highlight and not series
            colour = HIGHLIGHT if highlight else PALETTE[index % len(PALETTE)]
            cls = "chart-highlight" if highlight else f"chart-s{index}"
            if kind == "line":
                x = centre
                if value is not None:
                    points[index].append((x, baseline - height))
                    body.append(Markup('<circle cx="{}" cy="{}" r="4" fill="{}" '
                                       'class="chart-point {}" data-value="{!r}"/>').format(
                        _fmt(x), _fmt(baseline - height), colour, cls, value))
            else:
                x = start + column * (index + 0.5)
                if value is not None:
                    body.append(Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="{}" '
                                       'class="chart-bar {}" data-value="{!r}"/>').format(
                        _fmt(start + column * index + 1), _fmt(baseline - height),
                        _fmt(column - 2), _fmt(height), colour, cls, value))
            if show_values and value is not None:
                body.append(_text(x, baseline - height - 6, text, "chart-value", anchor="middle"))
        for number, line in enumerate(lines):
            body.append(_text(centre, baseline + 4 + BASELINE + number * LINE_HEIGHT, line,
                              "chart-label", anchor="middle",
                              weight="700" if row.highlight else None))
    for index, line_points in enumerate(points):
        if kind == "line" and len(line_points) > 1:
            path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in line_points)
            body.insert(marks_start, Markup(
                '<polyline points="{}" fill="none" stroke-width="2" stroke="{}" '
                'class="chart-line chart-s{}"/>').format(path, PALETTE[index % len(PALETTE)],
                                                         index))
    body.append(Markup('<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#57606a" '
                       'class="chart-axis"/>').format(_fmt(left), VIEW_WIDTH, _fmt(baseline),
                                                      _fmt(baseline)))
    height = baseline + 8 + LINE_HEIGHT * max(len(lines) for lines in label_sets)
    return _figure(chart_id, caption, unit, summary or _summary(data, series, unit), VIEW_WIDTH,
                   height, body, data, series, label_header, kind)
