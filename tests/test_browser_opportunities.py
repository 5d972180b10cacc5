"""The opportunities page in the real Chromium: screenshots at 375 and 1280 px kept as
artifacts, no sideways scrolling on a phone, axe clean with filters, a search, an error and
a challenge's phases on screen, and the filter form used as a person would."""

from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.models import Opportunity
from tests.test_browser import CHROMIUM, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_a11y import Axe, artifacts_dir, png_size, tab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]

NOON = datetime(2026, 12, 5, 4, tzinfo=UTC)  # 12:00 in China


@pytest.fixture
def fixed_clock(site_app, monkeypatch):
    monkeypatch.setitem(site_app.config, "CONTENT_CLOCK", lambda: NOON)


@pytest.fixture
def challenge_id(site_db):
    with site_db() as s:
        return s.scalar(db.select(Opportunity.id).filter_by(key="dt-challenge-002"))


@pytest.mark.parametrize("width", (375, 1280))
def test_screenshots_and_no_sideways_scroll(live_server, browser, fixed_clock,  # noqa: F811
                                            challenge_id, width):
    folder = artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    shots = {"opportunities": "/zh/opportunities/?industry=hydrogen&status=all",
             "opportunities-search": "/en/opportunities/?q=hydrogen",
             "opportunity-challenge": f"/zh/opportunities/{challenge_id}"}
    with tab(browser, live_server, "standard", viewport={"width": width, "height": 900}) as page:
        for name, path in shots.items():
            target = folder / f"{name}-{width}.png"
            target.unlink(missing_ok=True)
            assert page.goto(live_server + path).status == 200
            page.evaluate("document.fonts.ready.then(() => true)")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
            page.screenshot(path=str(target), full_page=True)
            shot_width, height = png_size(target)
            assert shot_width == width and height > 900, (target, shot_width, height)
            assert target.stat().st_size > 20_000, f"{target} is too small to show a page"


@pytest.mark.parametrize("mode", ("standard", "elder"))
def test_axe_clean(live_server, browser, fixed_clock, challenge_id, mode):  # noqa: F811
    paths = [("/zh/opportunities/", 200),
             ("/zh/opportunities/?q=%E6%B0%A2%E8%83%BD&status=all&min_amount=100", 200),
             ("/ru/opportunities/?q=%D0%B2%D0%BE%D0%B4%D0%BE%D1%80%D0%BE%D0%B4", 200),
             ("/zh/opportunities/?min_amount=abc&deadline_by=x", 422),
             (f"/zh/opportunities/{challenge_id}", 200),
             (f"/en/opportunities/{challenge_id}", 200)]
    with tab(browser, live_server, mode, viewport={"width": 375, "height": 812}) as page:
        axe = Axe(page, mode)
        problems = [line for path, status in paths for line in axe.check(live_server, path,
                                                                          status)]
    assert axe.loads == len(paths) and "label" in axe.ran
    assert not problems, "\n".join(problems)


def test_filtering_with_the_form(live_server, browser, fixed_clock, site_db):  # noqa: F811
    with site_db() as s:
        open_challenges = s.scalar(db.select(db.func.count(Opportunity.id)).where(
            Opportunity.kind == "challenge", Opportunity.status == "open"))
    with tab(browser, live_server, "standard", viewport={"width": 375, "height": 812}) as page:
        page.goto(f"{live_server}/zh/opportunities/")
        page.get_by_role("link", name="揭榜挂帅").first.click()
        page.wait_for_load_state()
        assert page.locator(".opp-item").count() == open_challenges
        page.fill("#min_amount", "350")
        page.get_by_role("button", name="查找").click()
        page.wait_for_load_state()
        assert "kind=challenge" in page.url and "min_amount=350" in page.url
        assert page.locator(".opp-item").count() == 1  # 400 万元, the only one above 350
        assert page.locator("#min_amount").input_value() == "350"
        page.fill("#max_amount", "100")
        page.get_by_role("button", name="查找").click()
        page.wait_for_load_state()
        assert page.title().startswith("错误：")
        page.locator(".error-summary a").first.click()
        assert page.evaluate("document.activeElement.id") == "max_amount"
        page.get_by_role("link", name="清除全部筛选").first.click()
        page.wait_for_load_state()
        assert page.url.endswith("/zh/opportunities/")
