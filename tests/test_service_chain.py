"""The service chain (服务链): per category the deployment's concrete services from the data
pack, each with who provides it and how to use it; the portal's own pages and related
policies linked; the back office edits every field; staff notes never reach a public page."""

import re
from html import unescape
from pathlib import Path

import pytest
import yaml

from portal.extensions import db
from portal.models import Policy, ServiceLink
from portal.services_chain.services import portal_page
from tests import factories
from tests.test_browser import CHROMIUM, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_a11y import artifacts_dir
from tests.test_browser_a11y import tab as browser_tab

PACK = Path(__file__).resolve().parent.parent / "seed" / "datong" / "services.yaml"
LANGS = ("zh", "en", "ja", "ko", "ru")
CATEGORIES = ("appeal", "funding", "affairs", "talent", "finance")
# Words an operator's note is written in (the old pack said 链接按部署环境配置 in each language).
OPERATOR_WORDS = ("部署", "配置", "deploy", "configured", "デプロイ", "設定され", "배포",
                  "설정됩니다", "развёртыван", "настраивается")
PASSWORD = "copper kettle drum"
ADMIN = "admin@example.gov.cn"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def section(page: str, category: str) -> str:
    found = re.search(rf'<section class="service-category" id="category-{category}".*?</section>',
                      page, re.S)
    assert found, category
    return found.group(0)


def pack_services() -> list[dict]:
    return yaml.safe_load(PACK.read_text("utf-8"))


# --- the Datong pack -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ("zh", "en"))
def test_every_category_has_the_packs_services(site_client, lang):
    page = text(site_client.get(f"/{lang}/services"))
    for category in CATEGORIES:
        records = [s for s in pack_services() if s["category"] == category]
        assert records, category
        part = section(page, category)
        for record in records:
            name = record["name"] if lang == "zh" else record["translations"]["en"]["name"]
            assert name in part, (category, name)


def test_each_service_says_who_provides_it_and_how_to_use_it(site_client, site_db):
    page = text(site_client.get("/en/services"))
    with site_db() as s:
        scheme = s.scalars(db.select(Policy).filter_by(key="demo-006")).one()
    appeal, funding, affairs = (section(page, c) for c in ("appeal", "funding", "affairs"))
    # The portal's own complaint form, and the hotline by phone with its hours.
    assert 'href="/en/complaints/new"' in appeal and "File a complaint in this portal" in appeal
    assert 'href="tel:12345"' in appeal and "24 hours a day" in appeal
    # Online on the provincial platform, the policy search filtered by topic, the policy.
    assert 'href="https://www.sxzwfw.gov.cn/"' in funding
    assert 'href="/en/policies/?topic=fiscal-subsidy"' in funding
    assert f'href="/en/policies/{scheme.id}"' in funding
    # A counter, who runs it, and its details marked as demo data.
    assert "Datong Administrative Approval Service Bureau" in affairs
    assert "General service counters, Datong Government Service Centre" in affairs
    assert "Demo data" in affairs or "演示数据" in affairs
    # Links to the portal's own pages resolve: no page of the pack answers 404.
    for path in re.findall(r'href="(/en/[^"]+)"', page):
        assert site_client.get(path.replace("&amp;", "&")).status_code == 200, path


@pytest.mark.parametrize("lang", LANGS)
def test_no_operator_note_on_the_public_page(site_client, lang):
    page = text(site_client.get(f"/{lang}/services"))
    main = page[page.index("<main"):page.index("</main>")]
    for word in OPERATOR_WORDS:
        assert word.lower() not in main.lower(), word
    for record in pack_services():
        if record.get("operator_note"):
            assert record["operator_note"] not in page


def test_the_pack_writes_no_operator_note_where_visitors_read():
    visitor_fields = ("name", "description", "department", "address", "hours", "portal_label")
    for record in pack_services():
        blocks = [record] + list(record.get("translations", {}).values())
        for block in blocks:
            for name in visitor_fields:
                value = (block.get(name) or "").lower()
                assert not any(w.lower() in value for w in OPERATOR_WORDS), (
                    record["key"], name, value)
        # and every record can be used somehow
        assert any(record.get(k) for k in ("url", "phone", "address", "portal_path")), record


def test_every_visitor_text_has_english(site_db):
    with site_db() as s:
        for link in s.scalars(db.select(ServiceLink)):
            for name in ("name", "description", "department", "address", "hours",
                         "portal_label"):
                if getattr(link, name):
                    assert link.is_translated(name, "en"), (link.key, name)
            for lang in ("ja", "ko", "ru"):
                assert link.is_translated("name", lang) and link.is_translated(
                    "description", lang), (link.key, lang)


# --- the database decides --------------------------------------------------------------------


def test_a_change_in_the_database_shows_on_the_page(app, client):
    with app.app_context():
        factories.region(slug="datong")
        factories.policy(key="p-talent", title="人才十条")
        db.session.add(ServiceLink(
            key="talent-office", category="talent", name="人才服务窗口",
            description="人才认定", department="甲市人社局", phone="0352-1234567",
            address="甲市政务大厅三楼", hours="工作日", portal_path="/policies/?topic=talent",
            portal_label="看人才政策", policy_key="p-talent",
            operator_note="内部：电话由人社局提供", sort_order=0))
        db.session.commit()
    page = text(client.get("/zh/services"))
    assert "人才服务窗口" in page and "甲市人社局" in page and "甲市政务大厅三楼" in page
    assert 'href="tel:0352-1234567"' in page and 'href="/zh/policies/?topic=talent"' in page
    assert "人才十条" in page and "内部：电话由人社局提供" not in page
    with app.app_context():
        link = db.session.scalars(db.select(ServiceLink)).one()
        link.department, link.portal_path = "乙市人社局", "/no-such-page"
        db.session.commit()
    page = text(client.get("/zh/services"))
    assert "乙市人社局" in page and "甲市人社局" not in page
    assert "/zh/no-such-page" not in page  # a path that leads nowhere is not linked
    assert "看人才政策" not in page


def test_an_unpublished_policy_is_not_linked(app, client):
    with app.app_context():
        factories.region(slug="datong")
        factories.policy(key="p-draft", title="草稿政策", publication="draft")
        db.session.add(ServiceLink(key="s", category="funding", name="资金服务",
                                   url="https://zj.example.gov.cn/", policy_key="p-draft"))
        db.session.commit()
    page = text(client.get("/zh/services"))
    assert "资金服务" in page and "草稿政策" not in page


@pytest.mark.parametrize("path,ok", [
    ("/complaints/new", True), ("/policies/?topic=talent", True), ("/policies/match", True),
    ("/", True), ("//evil.example/", False), ("https://evil.example/", False),
    ("/no-such-page", False), ("/admin/", False), ("complaints/new", False),
    ("/complaints/new#x", False), ("/complaints/new\n", False), ("/\\evil", False), ("", False),
])
def test_only_the_portals_own_pages_are_portal_paths(app, path, ok):
    with app.test_request_context("/en/services"):
        assert (portal_page(path) == f"/en{path}") if ok else portal_page(path) is None


# --- the back office -------------------------------------------------------------------------


@pytest.fixture
def staff(app):
    with app.app_context():
        factories.region(slug="datong")
        factories.policy(key="p-1", title="奖补办法")
        factories.staff(email=ADMIN, password=PASSWORD, role="admin")
        db.session.commit()
    session = app.test_client()
    assert session.post("/admin/login", data={"email": ADMIN, "password": PASSWORD}
                        ).status_code == 302
    return session


NEW = {"key": "hall", "category": "affairs", "name": "政务大厅", "description": "现场办理",
       "url": "", "department": "市审批局", "phone": "0352-7654321", "address": "市政务大厅",
       "hours": "工作日", "policy": "p-1", "portal_path": "/complaints/new",
       "portal_label": "在本专区投诉", "operator_note": "地址待核实", "is_demo": "y",
       "tr_en_name": "Service hall", "tr_en_department": "City approval bureau",
       "tr_en_address": "City service hall", "tr_en_hours": "Working days",
       "tr_en_description": "In person", "tr_en_portal_label": "Complain here"}


def test_staff_edit_every_field_and_see_the_note(app, staff):
    assert staff.post("/admin/reference/services/new", data=NEW).status_code == 302
    with app.app_context():
        link = db.session.scalars(db.select(ServiceLink).filter_by(key="hall")).one()
        assert (link.department, link.phone, link.policy_key, link.is_demo,
                link.operator_note) == ("市审批局", "0352-7654321", "p-1", True, "地址待核实")
        link_id = link.id
    edit = text(staff.get(f"/admin/reference/services/{link_id}"))
    assert "地址待核实" in edit and "City approval bureau" in edit
    page = text(app.test_client().get("/en/services"))
    assert "City approval bureau" in page and "City service hall" in page
    assert 'href="/en/complaints/new"' in page and "Complain here" in page
    assert "地址待核实" not in page
    assert "地址待核实" in text(staff.get("/admin/reference/services.csv"))


@pytest.mark.parametrize("field,value,message", [
    ("portal_path", "https://evil.example/", "输入本专区的页面路径"),
    ("portal_path", "/no-such-page", "输入本专区的页面路径"),
    ("policy", "no-such-policy", "没有标识为 no-such-policy 的政策"),
    ("url", "javascript:alert(1)", "输入以 http:// 或 https:// 开头的完整网址"),
])
def test_bad_service_fields_are_refused_with_a_message(app, staff, field, value, message):
    answer = staff.post("/admin/reference/services/new", data=NEW | {field: value})
    assert answer.status_code == 422 and message in text(answer)
    with app.app_context():
        assert db.session.scalars(db.select(ServiceLink)).first() is None


def test_a_service_needs_a_way_to_use_it(app, staff):
    bare = NEW | {"url": "", "phone": "", "address": "", "portal_path": ""}
    answer = staff.post("/admin/reference/services/new", data=bare)
    assert answer.status_code == 422 and "至少一项" in text(answer)


# --- phones ----------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium")
@pytest.mark.parametrize("lang", ("zh", "ru"))
def test_services_page_fits_a_phone(live_server, browser, lang):  # noqa: F811
    folder = artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with browser_tab(browser, live_server, "standard", viewport={"width": 375, "height": 812},
                     is_mobile=True) as page:
        response = page.goto(f"{live_server}/{lang}/services", wait_until="load")
        assert response.status == 200
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{overflow}px of horizontal scroll"
        assert page.locator(".service-category").count() >= len(CATEGORIES)
        page.screenshot(path=str(folder / f"services-{lang}-375.png"), full_page=True)
