"""The back office for regions, industries, 三个一批 figures and service links: each editor
through the browser's forms, who may edit what (404 outside one's scope), the loader's
messages, versions, diff and restore, the public pages, exports, and odd input."""

import csv
import io
import re
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

from portal.content import versions
from portal.extensions import db
from portal.models import (
    AuditEvent,
    BatchFigure,
    ChainLeader,
    ChainNode,
    ContentVersion,
    Industry,
    Region,
    ServiceLink,
    Track,
)
from seed import loader, schema
from tests import factories

PASSWORD = "copper kettle drum"
ADMIN, BUREAU, PC, DEPT = ("admin@example.gov.cn", "bureau@example.gov.cn",
                           "pc@example.gov.cn", "dept@example.gov.cn")
TODAY = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
EN_SUMMARY = "Pingcheng is the historic centre of Datong."


@pytest.fixture
def world(app, monkeypatch):
    """大同 with 平城区 (and its zone) and 云冈区; a track and an industry with a chain map
    and a leader; a 三个一批 figure of each district; two service links; one member of
    staff per role (the region one in 平城区)."""
    monkeypatch.setitem(app.config, "CONTENT_CLOCK", lambda: TODAY)
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        pingcheng = factories.region(
            slug="pingcheng", kind="district", name="平城区", parent=city,
            summary="平城区是大同市的中心城区。", figures={"area_km2": 232, "note": "演示"},
            translations={"en": {"name": "Pingcheng District", "summary": EN_SUMMARY,
                                 "_source": "machine", "_date": "2026-11-21"}})
        factories.region(slug="pc-zone", kind="zone", name="平城开发区", parent=pingcheng,
                         zone_level="provincial")
        yungang = factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
        track = Track(slug="tech", name="科技赛道")
        industry = Industry(slug="equipment", name="装备制造", track=track, is_key=True,
                            summary="轨道交通与新能源装备。")
        industry.chain_nodes = [
            ChainNode(stage="upstream", name="特种钢材", sort_order=0,
                      translations={"en": {"name": "Special steel", "_source": "machine"}}),
            ChainNode(stage="upstream", name="核心零部件", is_gap=True, gap_note="本地配套少",
                      sort_order=1),
            ChainNode(stage="downstream", name="整车制造", sort_order=0),
        ]
        industry.leaders = [ChainLeader(name="中车大同电力机车有限公司", region=pingcheng)]
        db.session.add_all([track, industry])
        db.session.add_all([
            BatchFigure(key="pc-2024-signed", area="平城区", region=pingcheng, period="2024年",
                        batch="signed", projects=12, investment_yi=30.5, source="平城区政府"),
            BatchFigure(key="yg-2024-signed", area="云冈区", region=yungang, period="2024年",
                        batch="signed", projects=8, source="云冈区政府", sort_order=1),
            ServiceLink(key="appeal", category="appeal", name="诉求建议",
                        url="https://www.sxzwfw.gov.cn/", sort_order=0),
            ServiceLink(key="talent", category="talent", name="人才服务",
                        url="https://rc.example.gov.cn/", sort_order=1),
        ])
        department = factories.department()
        factories.staff(email=ADMIN, password=PASSWORD, role="admin")
        factories.staff(email=BUREAU, password=PASSWORD, role="bureau")
        factories.staff(email=PC, password=PASSWORD, role="region", region=pingcheng)
        factories.staff(email=DEPT, password=PASSWORD, role="department", department=department)
        db.session.commit()
        ids = {"industry": industry.id, "pingcheng": pingcheng.id,
               **{b.key: b.id for b in db.session.scalars(db.select(BatchFigure))},
               **{s.key: s.id for s in db.session.scalars(db.select(ServiceLink))}}
        db.session.remove()
    return ids


def login(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


class _Form(HTMLParser):
    """What a browser would send from the page's form ``#record-form``: text inputs, hidden
    fields, ticked boxes, textareas and the selected (or first) option."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self.inside = False
        self.textarea = self.select = None
        self.first_option = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "record-form":
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.data[a["name"]] = a.get("value", "y")
            else:
                self.data[a["name"]] = a.get("value") or ""
        elif tag == "textarea":
            self.textarea = a["name"]
            self.data[self.textarea] = ""
        elif tag == "select":
            self.select, self.first_option = a["name"], None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value", "")
                self.data.setdefault(self.select, self.first_option)
            if "selected" in a:
                self.data[self.select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] += data


def form_of(browser, url) -> dict:
    page = browser.get(url)
    assert page.status_code == 200, url
    parser = _Form()
    parser.feed(page.get_data(as_text=True))
    # Like a browser, a textarea's leading newline is not part of its value.
    return {k: v.removeprefix("\r").removeprefix("\n") for k, v in parser.data.items()}


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def rows_of(response) -> str:
    """The list's rows only (its table body), not the page's header or navigation."""
    return "".join(re.findall(r"<tbody>(.*?)</tbody>", text(response), re.S))


def _latest(ctx_app, kind, record_id):
    with ctx_app.app_context():
        return [(v.number, v.action, v.publication, v.data, v.note)
                for v in versions.history(kind, record_id)]


# --- regions ---------------------------------------------------------------------------------


def test_admin_edits_a_region_and_the_public_page_shows_it(app, world):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/regions/pingcheng")
    assert data["name"] == "平城区" and data["figure_area_km2"] == "232"
    data.update({"summary": "平城区是大同市的中心城区，商贸物流发达。",
                 "figure_population_10k": "107", "figure_gdp_yi": "620.5",
                 "figure_figures_source": "大同市统计年鉴", "contacts-0-name": "平城区招商中心",
                 "contacts-0-phone": "0352-5550101"})
    answer = browser.post("/admin/reference/regions/pingcheng", data=data)
    assert answer.status_code == 302 and answer.location.endswith(
        "/admin/reference/regions/pingcheng")
    with app.app_context():
        region = db.session.scalars(db.select(Region).filter_by(slug="pingcheng")).one()
        assert region.summary == "平城区是大同市的中心城区，商贸物流发达。"
        assert region.figures == {"area_km2": 232, "population_10k": 107, "gdp_yi": 620.5,
                                  "figures_source": "大同市统计年鉴", "note": "演示"}
        assert region.contacts == [{"name": "平城区招商中心", "phone": "0352-5550101"}]
        assert region.translations["en"]["_source"] == "machine"  # not touched
        events = db.session.scalars(db.select(AuditEvent).filter_by(
            action="content_edit", entity_type="region")).all()
        assert [e.entity_id for e in events] == [str(region.id)]
    page = app.test_client().get("/zh/regions/pingcheng")
    assert "商贸物流发达" in text(page) and "0352-5550101" in text(page)
    assert "107" in text(page)
    # The pack's state before the first edit is kept, then the edit.
    kept = _latest(app, "region", world["pingcheng"])
    assert [(n, a) for n, a, *_rest in kept] == [(2, "edit"), (1, "load")]
    assert kept[1][3]["summary"] == "平城区是大同市的中心城区。"


def test_contacts_rows_are_added_and_removed(app, world):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/regions/pingcheng")
    data |= {"contacts-0-name": "甲", "contacts-1-name": "乙"}
    assert browser.post("/admin/reference/regions/pingcheng", data=data).status_code == 302
    data = form_of(browser, "/admin/reference/regions/pingcheng")
    assert data["contacts-1-name"] == "乙" and data["contacts-3-name"] == ""  # two blank rows
    more = browser.post("/admin/reference/regions/pingcheng", data=data | {"more": "contacts"})
    assert more.status_code == 200 and 'name="contacts-4-name"' in text(more)
    data["contacts-0-remove"] = "y"
    assert browser.post("/admin/reference/regions/pingcheng", data=data).status_code == 302
    with app.app_context():
        region = db.session.get(Region, world["pingcheng"])
        assert region.contacts == [{"name": "乙"}]


def test_translations_by_hand_and_reviewed_become_human(app, world):
    browser = login(app, ADMIN)
    listing = text(browser.get("/admin/reference/regions"))
    assert "机器翻译，未审校" in listing and "缺译文" in listing
    data = form_of(browser, "/admin/reference/regions/pingcheng")
    assert data["tr_en_summary"] == EN_SUMMARY
    data |= {"tr_en_summary": "Pingcheng is Datong's central district.",
             "tr_ja_name": "平城区", "tr_ja_summary": "平城区は大同市の中心市街地です。"}
    assert browser.post("/admin/reference/regions/pingcheng", data=data).status_code == 302
    with app.app_context():
        tr = db.session.get(Region, world["pingcheng"]).translations
    assert tr["en"] == {"name": "Pingcheng District",
                        "summary": "Pingcheng is Datong's central district.",
                        "_source": "human", "_date": "2026-12-05"}
    assert tr["ja"]["_source"] == "human"
    assert "ko" not in tr  # nothing typed, nothing stored
    # A reviewed-but-unchanged language: the button marks it.
    with app.app_context():
        region = db.session.get(Region, world["pingcheng"])
        region.translations = {**region.translations,
                               "ko": {"name": "핑청구", "summary": "요약", "_source": "machine"}}
        db.session.commit()
    data = form_of(browser, "/admin/reference/regions/pingcheng")
    assert browser.post("/admin/reference/regions/pingcheng",
                        data=data | {"reviewed": "ko"}).status_code == 302
    with app.app_context():
        ko = db.session.get(Region, world["pingcheng"]).translations["ko"]
    assert ko == {"name": "핑청구", "summary": "요약", "_source": "human", "_date": "2026-12-05"}
    page = text(browser.get("/admin/reference/regions/pingcheng"))
    assert page.count("已审校") >= 3  # en, ja, ko


def _loader_message(file_schema, record) -> tuple[str | None, str]:
    """What the data-pack loader says about ``record`` in its file."""
    with pytest.raises(loader.PackError) as raised:
        loader._validate(Path("x.yaml"), [record], file_schema)
    return raised.value.field, raised.value.problem


REGION = {"slug": "pc-zone", "kind": "zone", "name": "平城开发区", "centroid": [113.3, 40.0]}
BATCH = {"key": "x-1", "area": "平城区", "period": "2024年", "batch": "signed", "projects": 1,
         "source": "文件"}
SERVICE = {"key": "s-1", "category": "talent", "name": "人才", "url": "https://a.example/"}


@pytest.mark.parametrize("url, change, file_schema, record", [
    ("/admin/reference/regions/pc-zone", {"zone_level": "galactic"}, schema.REGIONS,
     REGION | {"zone_level": "galactic"}),
    ("/admin/reference/regions/pc-zone", {"name": ""}, schema.REGIONS, REGION | {"name": ""}),
    ("/admin/reference/batch-figures/new", {"key": "x-1", "area": "平城区", "period": "2024年",
                                            "projects": "many", "source": "文件"},
     schema.BATCH_FIGURES, BATCH | {"projects": "many"}),
    ("/admin/reference/batch-figures/new", {"key": "x-1", "area": "平城区", "period": "2024年",
                                            "projects": "3", "published_rate_percent": "120",
                                            "rate_label": "开工率", "source": "文件"},
     schema.BATCH_FIGURES, BATCH | {"published_rate_percent": 120, "rate_label": "开工率"}),
    ("/admin/reference/batch-figures/new", {"key": "坏 标识", "area": "平城区",
                                            "period": "2024年", "projects": "3",
                                            "source": "文件"},
     schema.BATCH_FIGURES, BATCH | {"key": "坏 标识"}),
    ("/admin/reference/services/new", {"key": "s-1", "category": "astrology", "name": "人才",
                                       "url": "https://a.example/"},
     schema.SERVICES, SERVICE | {"category": "astrology"}),
])
def test_a_bad_value_gets_the_loaders_message(app, world, url, change, file_schema, record):
    browser = login(app, ADMIN)
    data = form_of(browser, url) | change
    answer = browser.post(url, data=data)
    assert answer.status_code == 422
    _field, message = _loader_message(file_schema, record)
    page = text(answer)
    assert message in page
    assert page.count(message) >= 2  # in the summary and beside the field
    assert "<title>错误：" in page


def test_an_unknown_reference_gets_the_loaders_message(app, world):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/industries/equipment")
    data |= {"leaders-0-region": "nowhere", "track": "no-such-track"}
    answer = browser.post("/admin/reference/industries/equipment", data=data)
    assert answer.status_code == 422
    page = text(answer)
    with app.app_context():
        expected = loader.rules.unknown("nowhere"), loader.rules.unknown("no-such-track")
    assert all(message in page for message in expected)
    assert 'id="leaders-0-region-error"' in page and 'id="track-error"' in page


def test_a_figure_must_be_a_number(app, world):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/regions/pingcheng") | {
        "figure_area_km2": "很大", "figure_rank_province": "1.5"}
    answer = browser.post("/admin/reference/regions/pingcheng", data=data)
    assert answer.status_code == 422
    page = text(answer)
    assert "类型应为 number" in page and "类型应为 integer" in page
    assert 'id="figure_area_km2-error"' in page
    with app.app_context():
        assert db.session.get(Region, world["pingcheng"]).figures["area_km2"] == 232


# --- who may -------------------------------------------------------------------------------


def test_region_staff_edit_their_own_region_only(app, world):
    browser = login(app, PC)
    listing = rows_of(browser.get("/admin/reference/regions"))
    assert set(re.findall(r'href="/admin/reference/regions/([\w-]+)"', listing)) == {
        "pingcheng", "pc-zone"}
    data = form_of(browser, "/admin/reference/regions/pingcheng")
    assert browser.post("/admin/reference/regions/pingcheng",
                        data=data | {"summary": "平城区：区里自己改的简介。"}).status_code == 302
    assert "区里自己改的简介" in text(app.test_client().get("/zh/regions/pingcheng"))
    for url in ("/admin/reference/regions/yungang", "/admin/reference/regions/datong",
                "/admin/reference/industries", "/admin/reference/industries/equipment",
                "/admin/reference/industries.csv", "/admin/reference/services",
                "/admin/reference/services/new", f"/admin/reference/services/{world['appeal']}",
                f"/admin/reference/batch-figures/{world['yg-2024-signed']}",
                f"/admin/reference/history/industry/{world['industry']}",
                f"/admin/reference/history/batch_figure/{world['yg-2024-signed']}"):
        assert browser.get(url).status_code == 404, url
    for url in ("/admin/reference/regions/yungang", "/admin/reference/industries/equipment",
                f"/admin/reference/services/{world['appeal']}/up",
                f"/admin/reference/batch-figures/{world['yg-2024-signed']}/delete"):
        assert browser.post(url, data={"name": "改", "summary": "改"}).status_code == 404, url
    with app.app_context():
        assert db.session.scalars(db.select(Region).filter_by(slug="yungang")).one().summary == ""
        assert db.session.get(BatchFigure, world["yg-2024-signed"]) is not None


def test_region_staff_file_figures_under_their_region_only(app, world):
    browser = login(app, PC)
    listing = rows_of(browser.get("/admin/reference/batch-figures"))
    assert "pc-2024-signed" in listing and "yg-2024-signed" not in listing
    data = form_of(browser, "/admin/reference/batch-figures/new")
    assert "yungang" not in text(browser.get("/admin/reference/batch-figures/new"))
    figure = {"key": "pc-2025-started", "area": "平城区", "period": "2025年",
              "batch": "started", "projects": "5", "source": "平城区政府"}
    answer = browser.post("/admin/reference/batch-figures/new",
                          data=data | figure | {"region": "yungang"})
    assert answer.status_code == 422 and "只能选择本辖区" in text(answer)
    answer = browser.post("/admin/reference/batch-figures/new",
                          data=data | figure | {"region": "pc-zone"})
    assert answer.status_code == 302
    with app.app_context():
        row = db.session.scalars(db.select(BatchFigure).filter_by(key="pc-2025-started")).one()
        assert row.region.slug == "pc-zone" and row.projects == 5


def test_department_staff_have_none_of_it(app, world):
    browser = login(app, DEPT)
    for url in ("/admin/reference/", "/admin/reference/regions",
                "/admin/reference/regions/pingcheng", "/admin/reference/batch-figures",
                "/admin/reference/regions.csv"):
        assert browser.get(url).status_code == 404, url
    assert app.test_client().get("/admin/reference/regions").status_code == 302  # sign in


def test_the_bureau_edits_everything(app, world):
    browser = login(app, BUREAU)
    data = form_of(browser, "/admin/reference/industries/equipment")
    assert browser.post("/admin/reference/industries/equipment",
                        data=data | {"summary": "促投局改的简介"}).status_code == 302
    data = form_of(browser, "/admin/reference/regions/yungang")
    assert browser.post("/admin/reference/regions/yungang",
                        data=data | {"summary": "云冈区简介"}).status_code == 302


# --- industries ----------------------------------------------------------------------------


def test_admin_edits_an_industry_chain_and_leaders(app, world):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/industries/equipment")
    assert data["nodes-0-ref"] == "upstream:0" and data["nodes-1-gap"] == "y"
    data |= {
        "name": "高端装备制造", "is_key": "y", "track": "",
        "nodes-0-name": "特种钢材与铸锻件", "nodes-0-order": "3",  # moved after the others
        "nodes-2-remove": "y",  # 整车制造
        "nodes-3-stage": "midstream", "nodes-3-name": "轨道交通装备", "nodes-3-gap": "y",
        "nodes-3-gap_note": "引进整机企业",
        "leaders-1-name": "大同新能源装备公司", "leaders-1-region": "pc-zone",
        "leaders-1-is_demo": "y",
    }
    answer = browser.post("/admin/reference/industries/equipment", data=data)
    assert answer.status_code == 302, text(answer)
    with app.app_context():
        industry = db.session.get(Industry, world["industry"])
        assert (industry.name, industry.track, industry.is_key) == ("高端装备制造", None, True)
        nodes = [(n.stage, n.name, n.is_gap, n.sort_order) for n in sorted(
            industry.chain_nodes, key=lambda n: (n.stage, n.sort_order))]
        assert nodes == [("midstream", "轨道交通装备", True, 0),
                         ("upstream", "核心零部件", True, 0),
                         ("upstream", "特种钢材与铸锻件", False, 1)]
        steel = next(n for n in industry.chain_nodes if n.name.startswith("特种钢材"))
        assert steel.translations["en"]["name"] == "Special steel"  # kept with its row
        assert sorted((leader.name, leader.region.slug, leader.is_demo)
                      for leader in industry.leaders) == [
            ("中车大同电力机车有限公司", "pingcheng", False),
            ("大同新能源装备公司", "pc-zone", True)]
    page = text(app.test_client().get("/zh/industries/equipment"))
    assert "轨道交通装备" in page and "整车制造" not in page and "大同新能源装备公司" in page
    kept = _latest(app, "industry", world["industry"])
    assert kept[0][3]["chain"]["midstream"][0] == {"key": "midstream-1", "name": "轨道交通装备",
                                                    "gap": True, "gap_note": "引进整机企业"}


def test_a_bad_chain_row_is_shown_beside_it(app, world):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/industries/equipment")
    data |= {"nodes-1-name": "", "nodes-1-description": "只有说明没有名称",
             "nodes-0-order": "第一"}
    answer = browser.post("/admin/reference/industries/equipment", data=data)
    assert answer.status_code == 422
    page = text(answer)
    assert 'id="nodes-0-order-error"' in page and "输入整数" in page
    data["nodes-0-order"] = "1"
    answer = browser.post("/admin/reference/industries/equipment", data=data)
    page = text(answer)
    assert answer.status_code == 422 and 'id="nodes-1-name-error"' in page
    _field, message = _loader_message(schema.INDUSTRIES, {
        "slug": "x", "name": "x", "chain": {"upstream": [{"name": ""}]}})
    assert message in page


# --- 三个一批 figures ------------------------------------------------------------------------


def test_batch_figures_create_edit_delete_with_history(app, world):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/batch-figures/new") | {
        "key": "datong-2025-producing", "area": "大同市", "region": "datong",
        "period": "2025年一季度", "batch": "producing", "projects": "21",
        "investment_yi": "88.6", "rate_label": "投产率", "published_rate_percent": "64.5",
        "source": "大同市投资促进局", "tr_en_area": "Datong"}
    answer = browser.post("/admin/reference/batch-figures/new", data=data)
    assert answer.status_code == 302
    with app.app_context():
        row = db.session.scalars(db.select(BatchFigure).filter_by(
            key="datong-2025-producing")).one()
        record_id = row.id
        assert (row.projects, row.investment_yi, row.rate_percent) == (21, 88.6, 64.5)
    assert "2025年一季度" in text(app.test_client().get("/zh/environment/"))
    url = f"/admin/reference/batch-figures/{record_id}"
    data = form_of(browser, url) | {"projects": "22"}
    assert browser.post(url, data=data).status_code == 302
    assert browser.post(url + "/delete").status_code == 302
    with app.app_context():
        assert db.session.get(BatchFigure, record_id) is None
        assert db.session.scalars(db.select(AuditEvent.action).filter_by(
            entity_type="batch_figure", entity_id=str(record_id))).all() == [
            "content_create", "content_edit", "content_delete"]
    kept = _latest(app, "batch_figure", record_id)
    assert [(n, a, p) for n, a, p, *_rest in kept] == [
        (3, "archive", "deleted"), (2, "edit", "published"), (1, "create", "published")]
    assert kept[0][3]["projects"] == 22 and kept[0][3]["key"] == "datong-2025-producing"
    assert "2025年一季度" not in text(app.test_client().get("/zh/environment/"))
    listing = text(browser.get("/admin/reference/batch-figures"))
    assert "已删除" in listing and "datong-2025-producing" in listing
    history = text(browser.get(f"/admin/reference/history/batch_figure/{record_id}"))
    assert "删除" in history and "恢复此版本" not in history
    diff = text(browser.get(f"/admin/reference/history/batch_figure/{record_id}/diff"
                            "?old=1&new=2"))
    assert re.search(r"projects</th><td[^>]*>21</td><td[^>]*>22</td>", diff)
    assert browser.get(url).status_code == 404


# --- service links -------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)",
                                 "data:text/html,<script>", "//evil.example/", "ftp://x/",
                                 "https://", "https://a .example/", "http://a.example/\x01",
                                 "vbscript:msgbox", "https:/\\evil", "tel:", "tel:alert(1)",
                                 "tel:12345;javascript:x", "mailto:a@example.gov.cn"])
def test_a_service_link_must_be_a_web_address(app, world, url):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/services/new") | {
        "key": "finance", "category": "finance", "name": "金融服务", "url": url}
    answer = browser.post("/admin/reference/services/new", data=data)
    assert answer.status_code == 422
    with app.app_context():
        assert db.session.scalars(db.select(ServiceLink).filter_by(key="finance")).first() \
            is None


@pytest.mark.parametrize("url", ["https://jr.example.gov.cn/loans?a=1", "http://10.0.0.1:8080/",
                                 "tel:12345", "tel:+86-352-12345"])
def test_a_web_address_or_a_hotline_is_accepted(app, world, url):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/services/new") | {
        "key": "finance", "category": "finance", "name": "金融服务", "url": url}
    assert browser.post("/admin/reference/services/new", data=data).status_code == 302
    assert f'href="{url}"' in text(app.test_client().get("/zh/services"))


def test_service_links_create_edit_reorder(app, world):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/services/new") | {
        "key": "finance", "category": "finance", "name": "金融服务",
        "url": "https://jr.example.gov.cn/loans?a=1"}
    answer = browser.post("/admin/reference/services/new", data=data)
    assert answer.status_code == 302
    answer = browser.post("/admin/reference/services/new", data=data)
    assert answer.status_code == 422 and "重复的标识" in text(answer)
    url = f"/admin/reference/services/{world['appeal']}"
    data = form_of(browser, url) | {"name": "诉求与建议"}
    assert browser.post(url, data=data).status_code == 302
    assert browser.post(f"/admin/reference/services/{world['appeal']}/down").status_code == 302
    page = text(app.test_client().get("/zh/services"))
    assert page.index("人才服务") < page.index("诉求与建议") < page.index("金融服务")
    kept = _latest(app, "service", world["appeal"])
    assert kept[0][4] == "顺序：第 1 位 → 第 2 位" and kept[0][1] == "edit"
    assert kept[1][3]["name"] == "诉求与建议"
    other = _latest(app, "service", world["talent"])
    assert other[0][4] == "顺序：第 2 位 → 第 1 位"
    # The first link cannot go further up: nothing changes.
    before = len(_latest(app, "service", world["talent"]))
    browser.post(f"/admin/reference/services/{world['talent']}/up")
    assert len(_latest(app, "service", world["talent"])) == before


# --- history, diff, restore ----------------------------------------------------------------


def test_history_diff_and_restore(app, world):
    browser = login(app, ADMIN)
    url = "/admin/reference/regions/pingcheng"
    data = form_of(browser, url)
    browser.post(url, data=data | {"summary": "第二版简介", "tr_en_summary": "Second."})
    history = text(browser.get(f"/admin/reference/history/region/{world['pingcheng']}"))
    assert "数据包载入" in history and "修改" in history and ADMIN in history
    diff = text(browser.get(f"/admin/reference/history/region/{world['pingcheng']}/diff"))
    assert "平城区是大同市的中心城区。" in diff and "第二版简介" in diff
    assert "en.summary" in diff and EN_SUMMARY in diff and "Second." in diff
    answer = browser.post(f"/admin/reference/history/region/{world['pingcheng']}/restore/1")
    assert answer.status_code == 302
    with app.app_context():
        region = db.session.get(Region, world["pingcheng"])
        assert region.summary == "平城区是大同市的中心城区。"
        assert region.translations["en"]["summary"] == EN_SUMMARY
        assert region.translations["en"]["_source"] == "machine"  # as it was
    kept = _latest(app, "region", world["pingcheng"])
    assert [a for _n, a, *_rest in kept] == ["restore", "edit", "load"]
    assert "平城区是大同市的中心城区。" in text(app.test_client().get("/zh/regions/pingcheng"))


@pytest.mark.parametrize("path", [
    "/admin/reference/history/region/999999", "/admin/reference/history/region/1/diff?old=x",
    "/admin/reference/history/policy/1", "/admin/reference/history/region/99999999999",
    "/admin/reference/regions/nowhere", "/admin/reference/batch-figures/0",
    "/admin/reference/services/2147483648"])
def test_unknown_records_are_404(app, world, path):
    assert login(app, ADMIN).get(path).status_code == 404


def test_diff_of_unknown_versions_is_404(app, world):
    browser = login(app, ADMIN)
    url = "/admin/reference/regions/pingcheng"
    browser.post(url, data=form_of(browser, url) | {"summary": "改"})
    base = f"/admin/reference/history/region/{world['pingcheng']}/diff"
    assert browser.get(base + "?old=1&new=2").status_code == 200
    assert browser.get(base + "?old=7&new=2").status_code == 404
    assert browser.get(base + "?old=abc").status_code == 200  # read as the default
    answer = browser.post(f"/admin/reference/history/region/{world['pingcheng']}/restore/99")
    assert answer.status_code == 302
    assert "没有这个版本" in text(browser.get(answer.location))


# --- exports -------------------------------------------------------------------------------


@pytest.mark.parametrize("path, key, expected", [
    ("regions", 1, {"datong", "pingcheng", "pc-zone", "yungang"}),
    ("industries", 1, {"equipment"}),
    ("batch-figures", 0, {"pc-2024-signed", "yg-2024-signed"}),
    ("services", 1, {"appeal", "talent"}),
])
def test_each_list_exports_csv_and_xlsx(app, world, path, key, expected):
    browser = login(app, ADMIN)
    page = text(browser.get(f"/admin/reference/{path}"))
    assert f'href="/admin/reference/{path}.csv"' in page and "导出 Excel" in page
    answer = browser.get(f"/admin/reference/{path}.csv")
    assert answer.status_code == 200 and answer.content_type == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert {row[key] for row in rows[1:]} == expected
    answer = browser.get(f"/admin/reference/{path}.xlsx")
    sheet = [list(r) for r in load_workbook(io.BytesIO(answer.data)).active.iter_rows(
        values_only=True)]
    assert sheet[0] == rows[0] and {row[key] for row in sheet[1:]} == expected
    with app.app_context():
        assert [e.detail["format"] for e in db.session.scalars(db.select(AuditEvent).filter_by(
            action="export").order_by(AuditEvent.id))] == ["csv", "xlsx"]


def test_region_staff_export_their_own_rows(app, world):
    browser = login(app, PC)
    rows = list(csv.reader(io.StringIO(browser.get(
        "/admin/reference/regions.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert {row[1] for row in rows[1:]} == {"pingcheng", "pc-zone"}
    rows = list(csv.reader(io.StringIO(browser.get(
        "/admin/reference/batch-figures.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == ["pc-2024-signed"]
    assert browser.get("/admin/reference/services.xlsx").status_code == 404


# --- odd input -----------------------------------------------------------------------------

ODD = ["", " ", "\x00", "a\x00b", "x" * 5000, "9" * 40, "1e400", "nan", "-1", "１２",
       "<script>alert(1)</script>", "\u202e", "{}", "[]", "0x10", "1_000"]


@pytest.mark.parametrize("value", ODD)
def test_odd_input_never_500(app, world, value):
    browser = login(app, ADMIN)
    targets = {
        "/admin/reference/regions/pingcheng": (
            "name", "zone_level", "figure_area_km2", "figure_rank_province", "contacts-0-name",
            "contacts-99999-email", "tr_en_name", "reviewed", "more"),
        "/admin/reference/industries/equipment": (
            "name", "track", "nodes-0-stage", "nodes-0-order", "nodes-0-ref", "nodes-0-name",
            "leaders-0-region", "leaders-0-ref", "leaders-0-name", "more"),
        "/admin/reference/batch-figures/new": (
            "key", "region", "batch", "projects", "investment_yi", "completed_projects",
            "rate_kind", "rate_part", "rate_whole", "published_rate_percent", "area"),
        "/admin/reference/services/new": ("key", "category", "url", "name"),
    }
    for url, names in targets.items():
        data = form_of(browser, url)
        if url.endswith("/new"):
            data |= {"key": "odd-1", "area": "甲", "period": "乙", "projects": "1",
                     "source": "丙", "name": "丁", "url": "https://a.example/"}
        for name in names:
            answer = browser.post(url, data=data | {name: value})
            assert answer.status_code in (200, 302, 422), (url, name, answer.status_code)
            with app.app_context():  # whatever was saved reads back
                db.session.scalars(db.select(ContentVersion)).all()
    assert browser.get("/admin/reference/regions.xlsx").status_code == 200


# --- the real pack -------------------------------------------------------------------------


def test_every_datong_record_saves_back_unchanged(app):
    """The forms read and write the pack's records without loss: saving each of the Datong
    pack's regions, industries, figures and links as shown passes the pack's rules and
    changes nothing (no new version, nothing audited)."""
    with app.app_context():
        loader.load_pack("datong")
        factories.staff(email=ADMIN, password=PASSWORD, role="admin")
        db.session.commit()
        urls = [f"/admin/reference/regions/{slug}" for slug in db.session.scalars(
            db.select(Region.slug))]
        urls += [f"/admin/reference/industries/{slug}" for slug in db.session.scalars(
            db.select(Industry.slug))]
        urls += [f"/admin/reference/batch-figures/{i}" for i in db.session.scalars(
            db.select(BatchFigure.id))]
        urls += [f"/admin/reference/services/{i}" for i in db.session.scalars(
            db.select(ServiceLink.id))]
    assert len(urls) > 40
    browser = login(app, ADMIN)
    for url in urls:
        answer = browser.post(url, data=form_of(browser, url))
        assert answer.status_code == 302, (url, text(answer)[:2000])
    with app.app_context():
        actions = db.session.scalars(db.select(ContentVersion.action).where(
            ContentVersion.kind.in_(("region", "industry", "batch_figure", "service")))).all()
        assert set(actions) == {"load"} and len(actions) == len(urls)
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(
            AuditEvent.action == "content_edit")) == 0


def test_reloading_the_pack_keeps_reference_records_staff_changed(app, ctx):
    """Regions, industries and figures staff edited (or deleted) stay as staff left them."""
    from portal.content import reference as ref
    from portal.models import BatchFigure, ContentVersion, Region
    from seed.loader import load_pack

    load_pack("datong")
    staff = factories.staff("reload@example.gov.cn", role="admin")
    region = db.session.scalars(db.select(Region).filter_by(slug="datong")).one()
    region.summary = "人工修订的简介"
    ref.keep("region", region, "edit", author=staff)
    figure = db.session.scalars(db.select(BatchFigure).order_by(BatchFigure.id)).first()
    key = figure.key
    db.session.add(ContentVersion(kind="batch_figure", record_id=figure.id, number=99,
                                  action="archive", publication="deleted",
                                  data=ref.to_record("batch_figure", figure), note="",
                                  author_id=staff.id))
    db.session.delete(figure)
    db.session.commit()
    load_pack("datong")
    assert db.session.scalars(db.select(Region.summary).filter_by(slug="datong")).one() == \
        "人工修订的简介"
    assert db.session.scalars(db.select(BatchFigure).filter_by(key=key)).first() is None
