"""Accessibility of every public page type, in each language and both display modes, checked
by axe-core in the real Chromium; and phone screenshots of the non-Chinese pages.

axe-core is vendored under tests/vendor/axe-core (from the npm registry; VERSION.txt gives
its integrity). It is evaluated through the DevTools protocol after each navigation: the
portal's CSP refuses ``page.add_script_tag`` (an inline script without the page's nonce), and
that is as it should be. The rules are WCAG 2.0/2.1 A and AA, WCAG 2.2 AA, and axe's best
practices (landmarks, regions, heading order); in the elder mode also the enhanced (7:1,
AAA) contrast that the 适老化 guidance asks for.

One browser context per language and mode, one tab reused for all its pages, so the file
stays within a few minutes.
"""

import os
import struct
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.test_browser import CHROMIUM, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_csp import examples  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]

ROOT = Path(__file__).resolve().parent.parent
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
LANGS = ("zh", "en", "ja", "ko", "ru")
MODES = ("standard", "elder")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
QUERY = "%E5%9C%9F%E5%9C%B0"  # 土地
PLACE = "%E5%A4%A7%E5%90%8C"  # 大同


def page_paths(lang: str, e: dict) -> list[tuple[str, int]]:
    """Every public page type with its expected status."""
    return [
        (f"/{lang}/", 200),
        (f"/{lang}/environment/", 200),
        (f"/{lang}/regions/{e['region']}", 200),
        (f"/{lang}/industries/{e['industry']}", 200),
        (f"/{lang}/policies/?q={QUERY}", 200),
        (f"/{lang}/policies/{e['policy']}", 200),
        (f"/{lang}/policies/match?investment_wan=5000&employees=120", 200),
        (f"/{lang}/policies/subscribe?level=municipal", 200),
        (f"/{lang}/alerts/confirm/not-a-token", 400),
        (f"/{lang}/alerts/manage/not-a-token", 400),
        (f"/{lang}/alerts/unsubscribe/not-a-token", 400),
        (f"/{lang}/sites/", 200),
        (f"/{lang}/sites/{e['parcel']}", 200),
        (f"/{lang}/sites/match?min_area=abc", 422),  # a field message and its summary
        (f"/{lang}/opportunities/", 200),
        (f"/{lang}/opportunities/{e['opportunity']}", 200),
        (f"/{lang}/services", 200),
        (f"/{lang}/demands/new", 200),
        (f"/{lang}/complaints/new", 200),
        (f"/{lang}/track", 200),
        (f"/{lang}/search?q={PLACE}", 200),
        (f"/{lang}/glossary", 200),
        (f"/{lang}/no-such-page", 404),
    ]


@contextmanager
def tab(browser, base: str, mode: str, **context_args):  # noqa: F811
    """A tab in a fresh context whose ``display`` cookie selects ``mode``."""
    context = browser.new_context(**context_args)
    context.add_cookies([{"name": "display", "value": mode, "url": base}])
    try:
        yield context.new_page()
    finally:
        context.close()


class Axe:
    """Runs the vendored axe-core in a tab and reports violations as readable lines."""

    source = AXE.read_text(encoding="utf-8")

    def __init__(self, page, mode: str):
        self.page = page
        # Beyond the tags: 7:1 contrast (WCAG AAA) where the elder mode promises it.
        self.rules = {"color-contrast-enhanced": {"enabled": mode == "elder"}}
        self.loads = 0
        self.ran: set[str] = set()  # the rules that had something to check

    def check(self, base: str, path: str, status: int) -> list[str]:
        response = self.page.goto(base + path, wait_until="load")
        self.loads += 1
        if response is None or response.status != status:
            return [f"{path}: answered {response and response.status}, not {status}"]
        self.page.evaluate(self.source)
        result = self.page.evaluate(
            """([tags, rules]) => axe.run(document, {
                 runOnly: {type: "tag", values: tags}, rules: rules, resultTypes: ["violations"]
               }).then(r => ({
                 ran: [...r.passes, ...r.violations, ...r.incomplete].map(v => v.id),
                 violations: r.violations.map(v => ({
                   id: v.id, impact: v.impact,
                   targets: v.nodes.map(n => n.target.join(" ") + " — " +
                                             n.failureSummary.split("\\n").slice(1).join(" "))
                 })),
               }))""",
            [TAGS, self.rules])
        self.ran.update(result["ran"])
        lines = []
        for violation in result["violations"]:
            for target in violation["targets"][:5]:
                lines.append(f"{path}: {violation['id']} ({violation['impact']}) at {target}")
            if len(violation["targets"]) > 5:
                lines.append(f"{path}: {violation['id']}: {len(violation['targets']) - 5} more")
        return lines


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lang", LANGS)
def test_public_pages_have_no_axe_violations(live_server, browser, examples,  # noqa: F811
                                             lang, mode):
    with tab(browser, live_server, mode, viewport={"width": 1280, "height": 900}) as page:
        axe = Axe(page, mode)
        problems = []
        for path, status in page_paths(lang, examples):
            problems += axe.check(live_server, path, status)
        assert page.locator("html.elder").count() == (mode == "elder")
    assert axe.loads == len(page_paths(lang, examples))
    assert {"color-contrast", "landmark-one-main", "region", "label"} <= axe.ran
    assert ("color-contrast-enhanced" in axe.ran) is (mode == "elder")
    assert not problems, f"{len(problems)} axe violations ({lang}, {mode}):\n" + \
        "\n".join(problems)


def test_the_matrix_reaches_every_public_page_type(site_app, examples):  # noqa: F811
    """A public page added to the app must be added to ``page_paths``."""
    adapter = site_app.url_map.bind("127.0.0.1")
    reached = {adapter.match(path.split("?")[0], method="GET")[0]
               for path, status in page_paths("zh", examples) if status != 404}
    public = {rule.endpoint for rule in site_app.url_map.iter_rules()
              if "GET" in rule.methods and rule.rule.startswith("/<lang:lang>/")}
    assert "showcase.home" in reached
    assert public - {"policies.feed"} - reached == set(), "add these pages to page_paths"


def test_the_csp_refuses_an_injected_inline_script(live_server, browser):  # noqa: F811
    """Why axe is evaluated over DevTools: a script tag without the nonce does not run."""
    with tab(browser, live_server, "standard") as page:
        page.goto(f"{live_server}/zh/")
        with pytest.raises(PlaywrightError):
            page.add_script_tag(content="window.__injected = 1;")
        assert page.evaluate("typeof window.__injected") == "undefined"


# --- screenshots -----------------------------------------------------------------------------

def artifacts_dir() -> Path:
    return Path(os.environ.get("PORTAL_ARTIFACTS_DIR") or ROOT / "artifacts" / "screenshots")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header, after checking the signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is no PNG"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("lang", ("ja", "ko", "ru"))
def test_phone_screenshots_of_home_and_a_policy(live_server, browser, examples,  # noqa: F811
                                                lang):
    folder = artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    with tab(browser, live_server, "standard", viewport={"width": 375, "height": 812}) as page:
        for name, path in (("home", f"/{lang}/"),
                           ("policy", f"/{lang}/policies/{examples['policy']}")):
            target = folder / f"{name}-{lang}-375.png"
            target.unlink(missing_ok=True)
            assert page.goto(live_server + path).status == 200
            page.evaluate("document.fonts.ready.then(() => true)")
            page.screenshot(path=str(target), full_page=True)
            shots.append(target)
    for target in shots:
        assert target.exists(), target
        width, height = png_size(target)
        assert width == 375 and height > 812, (target, width, height)  # the full page
        assert target.stat().st_size > 20_000, f"{target} is too small to show a page"
