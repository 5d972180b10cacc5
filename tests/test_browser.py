"""What a person sees, in the real Chromium (Debian's /usr/bin/chromium)."""

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]


@pytest.fixture(scope="module")
def live_server(site_app):
    site_app.config.update(SERVER_NAME=None)
    server = make_server("127.0.0.1", 0, site_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    site_app.config.update(SERVER_NAME="portal.test")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield instance
        instance.close()


def test_phone_visitor_switches_language_on_a_policy_search(live_server, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    foreign = []
    page.on("request", lambda r: foreign.append(r.url)
            if not r.url.startswith(live_server) else None)
    page.goto(f"{live_server}/zh/")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    page.get_by_label("搜索政策").fill("土地")
    page.locator(".hero").get_by_role("button", name="搜索").click()
    page.wait_for_url("**/zh/policies/?q=*")
    assert page.locator("main li.card").count() > 0
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/en/policies/?q=*")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Policies"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "policies-en-phone.png"), full_page=True)
    assert foreign == []
    page.close()


def test_skip_link_moves_focus_to_main(live_server, browser):
    page = browser.new_page()
    page.goto(f"{live_server}/zh/")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.close()


def test_map_draws_the_demo_sites_offline_and_follows_the_filters(live_server, browser,
                                                                   site_db):
    from portal.extensions import db
    from portal.models import Site

    with site_db() as s:
        total = s.scalar(db.select(db.func.count(Site.id)))
        parcels = s.scalar(db.select(db.func.count(Site.id)).filter_by(kind="parcel"))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    foreign = []
    page.on("request", lambda r: foreign.append(r.url)
            if not r.url.startswith(live_server) and not r.url.startswith("data:") else None)
    page.goto(f"{live_server}/zh/sites/")
    map_box = page.locator(".site-map .folium-map")
    # Functions, not expression strings: Playwright polls a string with eval, which the CSP
    # forbids (no 'unsafe-eval').
    page.wait_for_function("() => document.querySelector('.folium-map').dataset.features > 0")
    assert int(map_box.get_attribute("data-features")) == total
    assert page.locator(".leaflet-overlay-pane path").count() >= parcels  # polygons drawn

    page.select_option("#kind", "parcel")
    page.wait_for_function(
        f"() => document.querySelector('.folium-map').dataset.features == '{parcels}'")
    page.wait_for_function(
        f"() => document.querySelector('#list-title').textContent.includes('{parcels}')")
    assert "kind=parcel" in page.url
    assert page.locator(".leaflet-marker-pane .leaflet-marker-icon").count() == 0  # no carriers
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sites-map-parcels.png"), full_page=True)
    assert foreign == []
    page.close()


def test_site_list_works_without_javascript(live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/zh/sites/")
    page.select_option("#kind", "factory")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/zh/sites/?kind=factory*")
    kinds = page.locator("#site-list .kicker").all_inner_texts()
    assert kinds and all(k.startswith("标准厂房") for k in kinds)
    context.close()


def test_investor_corrects_a_mistake_and_gets_a_ticket(live_server, browser, site_db):
    from portal.extensions import db
    from portal.models import Site
    from tests.test_intake import valid_credit_code

    with site_db() as s:
        site_id = s.scalars(db.select(Site.id).filter_by(availability="available")).first()
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(f"{live_server}/zh/sites/{site_id}")
    page.get_by_role("link", name="有意向，提交需求").click()
    page.wait_for_url(f"**/zh/demands/new?site={site_id}")
    page.get_by_label("企业名称").fill("大同示例储能科技有限公司")
    page.get_by_label("统一社会信用代码").fill(valid_credit_code()[:-1] + "0")  # a typo
    page.get_by_label("联系人姓名").fill("赵工")
    page.get_by_label("联系电话").fill("138 1234 5678")
    page.get_by_label("我已阅读并同意个人信息处理说明").check()
    page.get_by_role("button", name="提交需求").click()
    assert page.title().startswith("错误：")
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "credit_code"
    assert page.get_by_label("企业名称").input_value() == "大同示例储能科技有限公司"
    page.get_by_label("统一社会信用代码").fill(valid_credit_code())
    page.get_by_label("我已阅读并同意个人信息处理说明").check()
    page.get_by_role("button", name="提交需求").click()
    ticket = page.locator(".ticket").first.inner_text()
    assert ticket.startswith("D-") and len(ticket) == 12
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demand-confirmation-phone.png"), full_page=True)
    page.close()
