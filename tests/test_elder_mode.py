"""The 适老化 (elder-friendly) display mode: the switch route and its cookie, the page markup,
and in the real Chromium the switch by keyboard, the mode remembered from page to page, the
larger text, and reflow without horizontal scrolling at 200 % and 400 % zoom (a 640 px and a
320 px wide viewport, as WCAG 1.4.10 measures it).
"""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.conftest import make_app
from tests.test_browser import CHROMIUM, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_a11y import page_paths, tab
from tests.test_browser_csp import examples  # noqa: F401  (fixture)

SWITCH = re.compile(r'<a class="display-switch" href="([^"]+)"[^>]*>([^<]+)</a>')
# The English wording of the switch (translations/en); the Chinese is the msgid.
ENGLISH = {"elder": "Easy-read view", "standard": "Standard view"}
ONE_YEAR = 365 * 24 * 3600


@pytest.fixture
def web(site_app):
    """A client that sends only the cookies a test names (its own jar would replace them)."""
    return site_app.test_client(use_cookies=False)


def display_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("display=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def switch_on(client, path: str, display: str | None = None) -> tuple[str, str, str]:
    """The page's <html> tag, the switch's target and its text."""
    headers = {"Cookie": f"display={display}"} if display else {}
    response = client.get(path, headers=headers)
    html = response.get_data(as_text=True)
    found = SWITCH.findall(html)
    assert len(found) == 1, f"{path}: {len(found)} display switches"
    href, text = found[0]
    return re.search(r"<html[^>]*>", html).group(0), href.replace("&amp;", "&"), text


# --- the route ------------------------------------------------------------------------------

def test_switching_on_sets_a_year_long_cookie_and_goes_back(web):
    response = web.get("/display/elder", query_string={"next": "/zh/policies/?q=土地"})
    assert response.status_code == 303
    assert unquote(response.headers["Location"]) == "/zh/policies/?q=土地"
    cookie = display_cookie(response)
    assert cookie.startswith("display=elder;")
    assert f"Max-Age={ONE_YEAR}" in cookie and "Path=/" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in tests: a Secure cookie would never return
    expires = datetime.strptime(re.search(r"Expires=([^;]+)", cookie).group(1),
                                "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert expires - datetime.now(UTC) > timedelta(days=364)


def test_switching_off_sets_the_standard_mode(web):
    response = web.get("/display/standard", query_string={"next": "/en/sites/"})
    assert response.status_code == 303 and response.headers["Location"] == "/en/sites/"
    assert display_cookie(response).startswith("display=standard;")


def test_the_cookie_is_secure_where_sessions_are(databases, tmp_path):
    app = make_app(databases.new("https"), tmp_path, HTTPS=True)
    response = app.test_client().get("/display/elder?next=/zh/",
                                     base_url="https://portal.test")
    assert response.status_code == 303
    assert "Secure" in display_cookie(response).split("; ")


@pytest.mark.parametrize("target", [
    "https://evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "javascript:alert(1)", "evil.example", "",
])
def test_next_outside_the_site_leads_home_in_the_current_language(web, target):
    response = web.get("/display/elder", query_string={"next": target},
                               headers={"Cookie": "lang=ru"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/ru/"
    assert display_cookie(response).startswith("display=elder;")


def test_next_missing_without_a_language_cookie_follows_the_browser(web):
    response = web.get("/display/standard", headers={"Accept-Language": "ja,en;q=0.5"})
    assert response.headers["Location"] == "/ja/"


@pytest.mark.parametrize("mode", ["large", "Elder", "elder.css", "1"])
def test_an_unknown_mode_is_not_found_and_sets_nothing(web, mode):
    response = web.get(f"/display/{mode}?next=/zh/")
    assert response.status_code == 404
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("display=")]


# --- the pages ------------------------------------------------------------------------------

@pytest.mark.parametrize("display, elder", [
    (None, False), ("standard", False), ("elder", True), ("ELDER", False), ("1", False),
    ("elderly", False),
])
def test_only_the_exact_cookie_value_turns_the_mode_on(web, display, elder):
    html_tag, _href, _text = switch_on(web, "/zh/", display)
    assert ('class="elder"' in html_tag) is elder


def test_the_switch_in_chinese_links_to_the_other_mode_and_back_here(web):
    html_tag, href, text = switch_on(web, "/zh/policies/?q=%E5%9C%9F%E5%9C%B0&page=1")
    assert 'class="elder"' not in html_tag and text == "长辈模式"
    assert href.startswith("/display/elder?next=")
    assert parse_qs(urlsplit(href).query)["next"] == ["/zh/policies/?q=%E5%9C%9F%E5%9C%B0&page=1"]
    # Following it lands on the same page with its query.
    response = web.get(href)
    assert unquote(response.headers["Location"]) == "/zh/policies/?q=土地&page=1"

    html_tag, href, text = switch_on(web, "/zh/sites/", "elder")
    assert 'class="elder"' in html_tag and text == "标准模式"
    assert href == "/display/standard?next=/zh/sites/"


def test_the_switch_in_english(web):
    _tag, href, text = switch_on(web, "/en/opportunities/")
    assert text == ENGLISH["elder"] and href == "/display/elder?next=/en/opportunities/"
    _tag, href, text = switch_on(web, "/en/opportunities/", "elder")
    assert text == ENGLISH["standard"] and href.startswith("/display/standard?")


def test_error_and_staff_pages_carry_the_switch(web):
    response = web.get("/zh/no-such-page", headers={"Cookie": "display=elder"})
    assert response.status_code == 404
    assert SWITCH.search(response.get_data(as_text=True)).group(2) == "标准模式"
    _tag, href, text = switch_on(web, "/admin/login")
    assert text == "长辈模式" and href == "/display/elder?next=/admin/login"


def test_pages_that_read_the_mode_vary_by_cookie(web):
    response = web.get("/zh/")
    assert "Cookie" in response.headers.get("Vary", "")


# --- in Chromium ----------------------------------------------------------------------------

FONT_SIZE = "() => parseFloat(getComputedStyle(document.body).fontSize)"
ELDER = "() => document.documentElement.classList.contains('elder')"


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)")
def test_switch_on_by_keyboard_remembered_then_off(live_server, browser,  # noqa: F811
                                                   examples):  # noqa: F811
    policy = f"/zh/policies/{examples['policy']}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server + policy)
    assert not page.evaluate(ELDER) and page.evaluate(FONT_SIZE) == 16

    # Reachable by Tab from the top of the page, named by its visible text.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('display-switch')"):
            break
    else:
        pytest.fail("Tab never reached the display switch")
    switch = page.get_by_role("link", name="长辈模式", exact=True)
    assert switch.evaluate("el => el === document.activeElement")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == live_server + policy  # back on the same page
    assert page.evaluate(ELDER) and page.evaluate(FONT_SIZE) >= 20
    assert page.evaluate("() => parseFloat(getComputedStyle(document.body).lineHeight)") \
        >= 1.7 * 20

    # The switch, now "标准模式": a large target with a strong focus ring.
    switch = page.get_by_role("link", name="标准模式", exact=True)
    switch.focus()
    box = switch.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    assert switch.evaluate("el => parseFloat(getComputedStyle(el).outlineWidth)") >= 3

    # Remembered on the next page, by the cookie the route set.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="政策查询").click()
    page.wait_for_url("**/zh/policies/")
    assert page.evaluate(ELDER) and page.evaluate(FONT_SIZE) >= 20
    cookie = next(c for c in context.cookies() if c["name"] == "display")
    assert cookie["value"] == "elder" and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    # And off again.
    page.get_by_role("link", name="标准模式", exact=True).click()
    page.wait_for_url("**/zh/policies/")
    assert not page.evaluate(ELDER) and page.evaluate(FONT_SIZE) == 16
    assert page.get_by_role("link", name="长辈模式", exact=True).is_visible()
    context.close()


# What sticks out to the right, for the message: the innermost elements past the viewport
# that no scrolling or clipping box holds (a wide table may scroll inside its own box).
OVERFLOW = """() => {
  const width = window.innerWidth;
  const held = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll("body *")].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > width + 1 && !held(el);
  });
  const leaves = wide.filter(el => !wide.some(other => other !== el && el.contains(other)));
  return {
    scroll: document.documentElement.scrollWidth, width: width,
    culprits: leaves.slice(0, 4).map(el => el.tagName.toLowerCase() +
      (el.className && typeof el.className === "string" ? "." + el.className.trim()
        .replace(/\\s+/g, ".") : "") + " right=" + Math.round(el.getBoundingClientRect().right)
      + " «" + (el.textContent || "").trim().slice(0, 30) + "»"),
  };
}"""
SWITCH_SHOWN = """() => {
  const el = document.querySelector(".display-switch");
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= window.innerWidth + 1;
}"""


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)")
@pytest.mark.parametrize("lang", ["zh", "en", "ru"])
def test_elder_pages_reflow_at_200_and_400_percent(live_server, browser, examples,  # noqa: F811
                                                   lang):
    problems, checked = [], 0
    with tab(browser, live_server, "elder", viewport={"width": 640, "height": 900}) as page:
        for path, status in page_paths(lang, examples):
            page.set_viewport_size({"width": 640, "height": 900})
            response = page.goto(live_server + path)
            assert response.status == status, path
            assert page.evaluate(ELDER), path
            for width in (640, 320):
                page.set_viewport_size({"width": width, "height": 900})
                found = page.evaluate(OVERFLOW)
                checked += 1
                if found["scroll"] > found["width"] + 1:
                    problems.append(f"{path} at {width} px: scrollWidth {found['scroll']}: "
                                    + "; ".join(found["culprits"]))
                if not page.evaluate(SWITCH_SHOWN):
                    problems.append(f"{path} at {width} px: the display switch is not in view")
    assert checked == 2 * len(page_paths(lang, examples))
    assert not problems, "\n".join(problems)
