"""An industry's chain map (产业链图谱) drawn on the server as SVG, with its text alternative.

Why SVG from the server and no library: the map is a few kilobytes of markup, needs no script
(the CSP allows none inline), prints, and is read by the same tests that read the page.

Two drawings of the same map are written and the stylesheet shows one:

* ``wide`` (``WIDE_WIDTH`` user units): upstream, midstream and downstream side by side, for
  screens of at least 64rem, where the column is wider than the drawing, so text is never
  smaller than its ``FONT`` size in CSS pixels;
* ``narrow`` (``NARROW_WIDTH`` units, about a 375 px phone's column): the stages one under the
  other with arrows between them, so nothing needs horizontal scrolling.

Text is wrapped by an estimate of its width (CJK one em, other letters 0.65–0.8 em, on
purpose more than real fonts take) and lines are ``LINE`` em apart, more than the CJK fonts'
ascent plus descent, so no two text boxes touch. Gaps (补链) are told by a dashed border, a
hatch pattern and the words "补链方向", not by colour alone.

The SVG is a picture of the structured list under it (stages → nodes → companies, gaps, linked
opportunities and sites), which is what screen readers and keyboards use and what shows when
SVG does not: so the SVG is ``aria-hidden`` and its links, shortcuts for the mouse, are out of
the tab order (``tabindex=-1``). Saying it twice would make a screen reader read every node
twice; an ``img`` role cannot hold links.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from portal.extensions import db
from portal.labels import LABELS
from portal.models import CHAIN_STAGES, ChainNode, Opportunity, Site
from portal.models.industries import site_chain_node

WIDE_WIDTH = 960
NARROW_WIDTH = 340
FONT = 13  # user units; at least 12 CSS px in both layouts
NAME_FONT = 14
STAGE_FONT = 15
LINE = 1.6  # line height in em
PAD = 10
GAP = 12  # between node boxes
ARROW = 34  # room for the arrow between stages


@dataclass
class NodeView:
    """One chain node with what the page shows on it."""

    node: ChainNode
    leaders: list = field(default_factory=list)
    locals: list = field(default_factory=list)
    opportunities: list = field(default_factory=list)
    sites: list = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"chain-node-{self.node.id}"


@dataclass
class ChainMap:
    stages: list[tuple[str, list[NodeView]]]
    wide: Markup
    narrow: Markup

    @property
    def nodes(self) -> list[NodeView]:
        return [view for _stage, views in self.stages for view in views]


def chain_map(industry) -> ChainMap | None:
    """The map of ``industry``, or None when it has no chain nodes. Opportunities and sites
    are read with ``select`` so only live records show on public pages."""
    if not industry.chain_nodes:
        return None
    views = {n.id: NodeView(n) for n in industry.chain_nodes}
    for company in industry.leaders:
        view = views.get(company.chain_node_id)
        if view is not None:
            (view.locals if company.role == "local" else view.leaders).append(company)
    ids = list(views)
    for opp in db.session.scalars(db.select(Opportunity).where(Opportunity.chain_node_id.in_(ids))
                                  .order_by(Opportunity.published.desc(), Opportunity.id)):
        views[opp.chain_node_id].opportunities.append(opp)
    rows = db.session.execute(
        db.select(site_chain_node.c.chain_node_id, Site)
        .join(Site, Site.id == site_chain_node.c.site_id)
        .where(site_chain_node.c.chain_node_id.in_(ids)).order_by(Site.key))
    for node_id, site in rows:
        views[node_id].sites.append(site)
    by_stage = industry.nodes_by_stage()
    stages = [(stage, [views[n.id] for n in sorted(by_stage[stage],
                                                   key=lambda n: (n.sort_order or 0, n.id))])
              for stage in CHAIN_STAGES if by_stage[stage]]
    return ChainMap(stages, _draw(stages, "wide"), _draw(stages, "narrow"))


# --- text -------------------------------------------------------------------------------------


def char_em(ch: str) -> float:
    """A generous estimate of a character's advance in em."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch == " ":
        return 0.35
    if ch.isupper() or ch in "mwжшщюфыЖШЩЮФЫ":
        return 0.8
    if unicodedata.east_asian_width(ch) == "A" and not ch.isalpha():
        return 1.0  # symbols some fonts draw full-width
    if ch.isdigit():
        return 0.62
    if ch in "il.,:;'|!()[]":
        return 0.4
    return 0.65


def text_em(text: str) -> float:
    return sum(char_em(ch) for ch in text)


def _tokens(text: str) -> list[str]:
    """Words (with their trailing space) for alphabetic text, single characters for CJK."""
    out, word = [], ""
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            if word:
                out.append(word)
                word = ""
            if out and ch in "，。、；：）》」』！？" and out[-1]:
                out[-1] += ch  # no line starts with closing punctuation
            else:
                out.append(ch)
        elif ch == " ":
            out.append(word + " ")
            word = ""
        else:
            word += ch
    if word:
        out.append(word)
    return out


def wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` in lines no wider than ``width`` user units at font ``size``."""
    limit = width / size
    lines, line = [], ""
    for token in _tokens(" ".join(text.split())):
        if text_em(line + token.rstrip()) <= limit:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = ""
        while text_em(token.rstrip()) > limit:  # a word longer than the line: cut it
            cut = len(token)
            while cut > 1 and text_em(token[:cut]) > limit:
                cut -= 1
            lines.append(token[:cut])
            token = token[cut:]
        line = token.lstrip()
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


# --- drawing -----------------------------------------------------------------------------------


@dataclass
class _Line:
    text: str
    cls: str
    size: float
    href: str | None = None


def _company_label(company) -> str:
    role = _("链主") if company.role != "local" else _("本地企业")
    return _("%(role)s：%(name)s", role=role, name=company.tr("name"))


def _node_lines(view: NodeView, width: float) -> list[_Line]:
    inner = width - 2 * PAD
    lines = [_Line(t, "cm-name", NAME_FONT) for t in wrap(view.node.tr("name"), inner, NAME_FONT)]
    if view.node.is_gap:
        lines.append(_Line("▲ " + _("补链方向"), "cm-gaptag", FONT))
    for company in view.leaders + view.locals:
        cls = "cm-co cm-leader" if company.role != "local" else "cm-co"
        lines += [_Line(t, cls, FONT) for t in wrap(_company_label(company), inner, FONT)]
    linked = []
    if view.opportunities:
        linked.append(_("投资机会 %(n)d 项", n=len(view.opportunities)))
    if view.sites:
        linked.append(_("可用载体 %(n)d 处", n=len(view.sites)))
    if linked:
        href = "#" + view.anchor
        if len(view.opportunities) == 1 and not view.sites:
            href = url_for("opportunities.detail", item_id=view.opportunities[0].id)
        elif len(view.sites) == 1 and not view.opportunities:
            href = url_for("sites.detail", site_id=view.sites[0].id)
        lines += [_Line(t, "cm-link", FONT, href) for t in wrap(" · ".join(linked), inner, FONT)]
    return lines


def _box_height(lines: list[_Line]) -> float:
    return 2 * PAD + sum(line.size * LINE for line in lines)


def _node_svg(view: NodeView, x: float, y: float, width: float, lines: list[_Line],
              pattern: str) -> tuple[str, float]:
    height = _box_height(lines)
    gap = view.node.is_gap
    parts = [f'<g class="cm-node{" cm-gap" if gap else ""}" data-node="{view.node.id}">',
             f'<rect class="cm-box" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
             f'height="{height:.1f}" rx="4" fill="{"url(#" + pattern + ")" if gap else "#fff"}" '
             f'stroke="{"#a61b1b" if gap else "#57606a"}" stroke-width="{2 if gap else 1}"'
             + (' stroke-dasharray="6 4"' if gap else "") + "/>"]
    cursor = y + PAD
    for line in lines:
        step = line.size * LINE
        # The baseline sits so the glyphs' box is centred in the line's step.
        baseline = cursor + step / 2 + line.size * 0.36
        text = (f'<text class="{line.cls}" x="{x + PAD:.1f}" y="{baseline:.1f}" '
                f'font-size="{line.size}">{escape(line.text)}</text>')
        if line.href:
            text = f'<a href="{escape(line.href)}" tabindex="-1">{text}</a>'
        parts.append(text)
        cursor += step
    parts.append("</g>")
    return "".join(parts), height


def _stage_svg(stage: str, x: float, y: float, width: float) -> tuple[str, float]:
    height = STAGE_FONT * LINE + 8
    label = str(LABELS["chain_stage"][stage])
    return (f'<g class="cm-stage"><rect class="cm-stagebox" x="{x:.1f}" y="{y:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}" fill="#a61b1b"/>'
            f'<text class="cm-stagename" x="{x + width / 2:.1f}" '
            f'y="{y + height / 2 + STAGE_FONT * 0.36:.1f}" font-size="{STAGE_FONT}" '
            f'text-anchor="middle" fill="#fff">{escape(label)}</text></g>', height)


def _arrow(layout: str, x1, y1, x2, y2) -> str:
    return (f'<line class="cm-arrow" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="#57606a" stroke-width="2" marker-end="url(#cm-head-{layout})"/>')


def _draw(stages, layout: str) -> Markup:
    pattern = f"cm-hatch-{layout}"
    body: list[str] = []
    if layout == "wide":
        column = (WIDE_WIDTH - ARROW * (len(stages) - 1)) / len(stages)
        bottom = 0.0
        for i, (stage, views) in enumerate(stages):
            x = i * (column + ARROW)
            part, y = _stage_svg(stage, x, 0, column)
            body.append(part)
            if i:
                mid = y / 2
                body.append(_arrow(layout, x - ARROW + 4, mid, x - 6, mid))
            y += GAP
            for view in views:
                part, height = _node_svg(view, x, y, column, _node_lines(view, column), pattern)
                body.append(part)
                y += height + GAP
            bottom = max(bottom, y)
        width, height = WIDE_WIDTH, bottom
    else:
        y = 0.0
        for i, (stage, views) in enumerate(stages):
            if i:
                body.append(_arrow(layout, NARROW_WIDTH / 2, y, NARROW_WIDTH / 2, y + ARROW - 6))
                y += ARROW
            part, step = _stage_svg(stage, 0, y, NARROW_WIDTH)
            body.append(part)
            y += step + GAP
            for view in views:
                part, step = _node_svg(view, 0, y, NARROW_WIDTH,
                                       _node_lines(view, NARROW_WIDTH), pattern)
                body.append(part)
                y += step + GAP
        width, height = NARROW_WIDTH, y
    defs = (f'<defs><pattern id="{pattern}" width="8" height="8" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="8" height="8" fill="#fff"/>'
            f'<line x1="0" y1="0" x2="0" y2="8" stroke="#f2d4d4" stroke-width="3"/></pattern>'
            f'<marker id="cm-head-{layout}" viewBox="0 0 10 10" refX="8" refY="5" '
            f'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
            f'<path d="M0 0L10 5L0 10z" fill="#57606a"/></marker></defs>')
    svg = (f'<svg class="chainmap-svg chainmap-{layout}" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {width:.0f} {height + 1:.0f}" aria-hidden="true" focusable="false">'
           + defs + "".join(body) + "</svg>")
    return Markup(svg)  # noqa: S704 - every text above went through escape()
