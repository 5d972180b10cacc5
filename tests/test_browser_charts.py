"""The charts and the home page in real Chromium: at 375 px no chart text overlaps another and
every text stays at 12 CSS px or more, no page scrolls sideways, axe finds nothing on the
chart pages, and screenshots of the home and environment pages at 375 and 1280 px are kept."""

import pytest

from tests.test_browser import CHROMIUM, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_a11y import Axe, artifacts_dir, png_size, tab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]

# Every SVG text box on the page, per chart, with the chart's scale (CSS px per user unit).
BOXES = """() => [...document.querySelectorAll('svg.chart-svg, svg.map-preview-svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  return {
    id: svg.closest('figure') ? svg.closest('figure').id : svg.getAttribute('class'),
    svg: {left: box.left, right: box.right, top: box.top, bottom: box.bottom},
    texts: [...svg.querySelectorAll('text')].map(t => {
      const r = t.getBoundingClientRect();
      return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
              px: parseFloat(t.getAttribute('font-size')) * scale,
              number: t.classList.contains('map-zone-number')};
    }),
  };
})"""


def _overlap(a, b, slack=0.5) -> bool:
    return (a["left"] < b["right"] - slack and b["left"] < a["right"] - slack
            and a["top"] < b["bottom"] - slack and b["top"] < a["bottom"] - slack)


def _chart_problems(charts) -> list[str]:
    problems = []
    for chart in charts:
        texts = [t for t in chart["texts"] if not t["number"]]  # numbers sit inside dots
        for i, a in enumerate(texts):
            if a["px"] < 12:
                problems.append(f"{chart['id']}: {a['text']!r} at {a['px']:.1f}px")
            inside = chart["svg"]
            if a["left"] < inside["left"] - 1 or a["right"] > inside["right"] + 1:
                problems.append(f"{chart['id']}: {a['text']!r} leaves the drawing")
            for b in texts[i + 1:]:
                if _overlap(a, b):
                    problems.append(f"{chart['id']}: {a['text']!r} overlaps {b['text']!r}")
    return problems


@pytest.mark.parametrize("lang", ("zh", "en", "ru"))
def test_chart_text_never_overlaps_at_375px(live_server, browser, lang):  # noqa: F811
    with tab(browser, live_server, "standard", viewport={"width": 375, "height": 812},
             is_mobile=True) as page:
        for path in (f"/{lang}/environment/", f"/{lang}/"):
            assert page.goto(live_server + path).status == 200
            page.evaluate("document.fonts.ready.then(() => true)")
            charts = page.evaluate(BOXES)
            assert len(charts) >= (4 if "environment" in path else 2), path
            assert sum(len(c["texts"]) for c in charts) > 20
            problems = _chart_problems(charts)
            assert problems == [], (path, problems)
            sideways = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert sideways <= 0, f"{path} scrolls sideways by {sideways}px"


def test_chart_pages_pass_axe(live_server, browser):  # noqa: F811
    with tab(browser, live_server, "standard", viewport={"width": 375, "height": 812}) as page:
        axe = Axe(page, "standard")
        problems = []
        for path in ("/zh/", "/en/", "/zh/environment/", "/en/environment/",
                     "/ru/environment/"):
            problems += axe.check(live_server, path, 200)
        # The table alternative is in the accessibility tree once opened.
        page.goto(live_server + "/zh/environment/")
        page.locator(".chart-data summary").first.click()
        assert page.get_by_role("table").first.is_visible()
    assert "svg-img-alt" in axe.ran
    assert problems == [], "\n".join(problems)


def test_screenshots_of_home_and_environment(live_server, browser):  # noqa: F811
    folder = artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    for width in (375, 1280):
        with tab(browser, live_server, "standard",
                 viewport={"width": width, "height": 900}) as page:
            for name, path in (("home", "/zh/"), ("environment", "/zh/environment/")):
                target = folder / f"{name}-zh-{width}.png"
                target.unlink(missing_ok=True)
                assert page.goto(live_server + path).status == 200
                page.evaluate("document.fonts.ready.then(() => true)")
                page.screenshot(path=str(target), full_page=True)
                shots.append((target, width))
    for target, width in shots:
        shot_width, height = png_size(target)
        assert shot_width == width and height > 900, (target, shot_width, height)
        assert target.stat().st_size > 20_000, f"{target} is too small to show a page"
