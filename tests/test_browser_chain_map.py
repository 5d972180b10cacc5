"""The drawn industry-chain map in the real Chromium, at a phone's 375 px and a desktop's
1280 px: screenshots kept as artifacts, no two boxes and no two lines of text intersecting,
every line inside its box, text at least 12 CSS px, no horizontal scrolling, and no axe
violations on the industry page."""

import pytest

from tests.test_browser import CHROMIUM, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_a11y import Axe, artifacts_dir, png_size, tab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]

WIDTHS = (375, 1280)
# The industry with the most nodes and companies, in the language with the longest words too.
PAGES = (("zh", "advanced-equipment"), ("ru", "advanced-equipment"), ("en", "hydrogen"),
         ("ja", "new-energy"), ("ko", "daylily"))

# Boxes of the visible drawing (display:none gives zero boxes): the node rectangles, the stage
# bands, and every line of text with the node or stage it belongs to.
MEASURE = """() => {
  const svg = [...document.querySelectorAll("svg.chainmap-svg")]
    .find(s => getComputedStyle(s).display !== "none");
  const box = e => { const r = e.getBoundingClientRect();
                     return {x: r.left, y: r.top, w: r.width, h: r.height}; };
  const groups = [...svg.querySelectorAll("g.cm-node, g.cm-stage")];
  const view = svg.viewBox.baseVal;
  return {
    layout: svg.classList.contains("chainmap-wide") ? "wide" : "narrow",
    scale: svg.getBoundingClientRect().width / view.width,
    svg: box(svg),
    boxes: groups.map(g => box(g.querySelector("rect"))),
    texts: groups.flatMap((g, i) => [...g.querySelectorAll("text")].map(t => ({
      group: i, text: t.textContent, size: parseFloat(t.getAttribute("font-size")),
      ...box(t)}))),
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  };
}"""


def intersect(a, b, slack=0.5) -> bool:
    return (a["x"] + slack < b["x"] + b["w"] and b["x"] + slack < a["x"] + a["w"]
            and a["y"] + slack < b["y"] + b["h"] and b["y"] + slack < a["y"] + a["h"])


def inside(inner, outer, slack=0.5) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["w"] <= outer["x"] + outer["w"] + slack
            and inner["y"] + inner["h"] <= outer["y"] + outer["h"] + slack)


def layout_problems(m: dict) -> list[str]:
    found = []
    boxes, texts = m["boxes"], m["texts"]
    for i, a in enumerate(boxes):
        found += [f"boxes {i} and {j} intersect" for j, b in enumerate(boxes[i + 1:], i + 1)
                  if intersect(a, b)]
    for i, a in enumerate(texts):
        found += [f"{a['text']!r} and {b['text']!r} intersect"
                  for b in texts[i + 1:] if intersect(a, b)]
        if not inside(a, boxes[a["group"]]):
            found.append(f"{a['text']!r} leaves its box")
        if a["size"] * m["scale"] < 12:
            found.append(f"{a['text']!r} is {a['size'] * m['scale']:.1f} px")
    if m["scroll"] > m["client"]:
        found.append(f"the page scrolls sideways ({m['scroll']} > {m['client']} px)")
    if m["svg"]["x"] + m["svg"]["w"] > m["client"] + 0.5:
        found.append("the drawing is wider than the window")
    return found


@pytest.mark.parametrize("width", WIDTHS)
def test_chain_map_is_legible_without_overlap_or_sideways_scrolling(live_server, browser,  # noqa: F811
                                                                    width):
    folder = artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    with tab(browser, live_server, "standard", viewport={"width": width, "height": 900}) as page:
        for lang, slug in PAGES:
            assert page.goto(f"{live_server}/{lang}/industries/{slug}").status == 200
            page.evaluate("document.fonts.ready.then(() => true)")
            m = page.evaluate(MEASURE)
            assert m["layout"] == ("narrow" if width < 1024 else "wide")
            assert len(m["boxes"]) >= 6 and len(m["texts"]) >= 10, (lang, slug)
            problems += [f"{lang}/{slug} at {width}px: {p}" for p in layout_problems(m)]
            target = folder / f"industry-{slug}-{lang}-{width}.png"
            target.unlink(missing_ok=True)
            page.screenshot(path=str(target), full_page=True)
            assert png_size(target)[0] == width
            assert target.stat().st_size > 20_000, f"{target} is too small to show a page"
    assert not problems, "\n".join(problems)


def test_the_overlap_check_catches_overlap():
    """The check above is worth something: it flags boxes and lines that do touch."""
    a = {"x": 0, "y": 0, "w": 100, "h": 20}
    m = {"boxes": [a, {"x": 50, "y": 10, "w": 100, "h": 20}],
         "texts": [{"group": 0, "text": "甲", "size": 13, "x": 5, "y": 2, "w": 20, "h": 16},
                   {"group": 0, "text": "乙", "size": 13, "x": 10, "y": 10, "w": 200, "h": 16}],
         "scale": 0.8, "scroll": 400, "client": 375, "svg": {"x": 0, "w": 380}}
    found = " ".join(layout_problems(m))
    for words in ("boxes 0 and 1 intersect", "'甲' and '乙' intersect", "'乙' leaves its box",
                  "10.4 px", "scrolls sideways", "wider than the window"):
        assert words in found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("mode", ("standard", "elder"))
def test_industry_page_has_no_axe_violations(live_server, browser, width, mode):  # noqa: F811
    with tab(browser, live_server, mode, viewport={"width": width, "height": 900}) as page:
        axe = Axe(page, mode)
        problems = []
        for lang, slug in PAGES[:3]:
            problems += axe.check(live_server, f"/{lang}/industries/{slug}", 200)
    assert {"aria-hidden-focus", "color-contrast", "heading-order"} <= axe.ran
    assert not problems, "\n".join(problems)
