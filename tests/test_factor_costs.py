"""要素成本 (factor costs): the Datong pack's figures, the rules the loader and the back office
share, who may edit which region's figures, versions and audit events, the public pages
(read from the database, every figure with its year and source) and the API."""

import csv
import io
import re
import shutil
from html import unescape

import pytest
import yaml

from portal.extensions import db
from portal.models import (
    FACTOR_CATEGORIES,
    AuditEvent,
    ContentVersion,
    FactorCost,
    Region,
)
from seed import loader, rules
from tests import factories
from tests.test_admin_reference import form_of

PASSWORD = "copper kettle drum"
ADMIN, PC, ZONE = "admin@example.gov.cn", "pc@example.gov.cn", "zone@example.gov.cn"
SOURCE = "大同市发展和改革委员会关于调整非居民用水价格的通知"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def login(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def _factor(region, key, category="water", **kw) -> FactorCost:
    values = {"item": "非居民用水", "value": 5.5, "unit": "元/立方米", "year": 2024,
              "source": SOURCE, "translations": {"en": {
                  "item": "Non-residential water", "unit": "CNY/m³",
                  "source": "Datong DRC notice on non-residential water prices"}}}
    values.update(kw)
    row = FactorCost(key=key, region=region, category=category, **values)
    db.session.add(row)
    return row


@pytest.fixture
def world(app):
    """大同 with 平城区 (and a zone in it) and 云冈区, a few factor costs of each, and an
    admin, a 平城区 member of staff and a member of the zone's staff."""
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市",
                                translations={"en": {"name": "Datong"}})
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区",
                                     parent=city, translations={"en": {"name": "Pingcheng"}})
        zone = factories.region(slug="pc-zone", kind="zone", name="平城开发区", parent=pingcheng)
        yungang = factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
        rows = {
            "city-water": _factor(city, "city-water"),
            "city-power": _factor(city, "city-power", "electricity", item="大工业用电（1-10千伏）",
                                  value=0.58, unit="元/千瓦时", sort_order=1,
                                  source="国网山西省电力公司代理购电价格表", is_demo=True,
                                  translations={"en": {"item": "Large industrial power (1-10 kV)",
                                                       "unit": "CNY/kWh"}}),
            "pc-water": _factor(pingcheng, "pc-water", value=5.2, sort_order=2),
            "zone-water": _factor(zone, "zone-water", value=4.9, sort_order=3,
                                  source_url="https://fgw.example.gov.cn/water"),
            "zone-wage": _factor(zone, "zone-wage", "wage", item="制造业一线员工月平均工资",
                                 value=4700, low=4000, high=5800, unit="元/月", sort_order=4,
                                 is_demo=True, source="演示数据"),
            "yg-water": _factor(yungang, "yg-water", value=5.1, sort_order=5),
        }
        factories.staff(email=ADMIN, password=PASSWORD, role="admin")
        factories.staff(email=PC, password=PASSWORD, role="region", region=pingcheng)
        factories.staff(email=ZONE, password=PASSWORD, role="region", region=zone)
        db.session.commit()
        ids = {key: row.id for key, row in rows.items()}
        db.session.remove()
    return ids


def _value(app, record_id):
    with app.app_context():
        return db.session.scalar(db.select(FactorCost.value).filter_by(id=record_id))


# --- the Datong pack -------------------------------------------------------------------------


def test_the_pack_has_factor_costs_for_the_city_every_county_and_every_zone(site_db):
    with site_db() as s:
        regions = s.scalars(db.select(Region).where(
            Region.kind.in_(("city", "district", "county", "zone")))).all()
        assert len(regions) == 20
        for region in regions:
            categories = {f.category for f in s.scalars(
                db.select(FactorCost).filter_by(region_id=region.id))}
            assert categories == set(FACTOR_CATEGORIES), region.slug
        factors = s.scalars(db.select(FactorCost)).all()
        assert len(factors) == 183
        for f in factors:
            assert f.source and 2000 <= f.year <= 2100 and f.unit, f.key
            assert f.is_demo == f.source.startswith("演示数据"), f.key
            assert f.is_translated("item", "en") and f.is_translated("unit", "en"), f.key
        # Consistent demo figures: power is priced the same across the Shanxi grid.
        power = {f.value for f in factors if f.item == "大工业用电（1-10千伏）"}
        assert power == {0.58}


def test_loading_the_pack_twice_changes_nothing_and_keeps_staff_edits(app):
    with app.app_context():
        first = loader.load_pack("datong")
        assert first["factor_cost"] == 183
        row = db.session.scalars(db.select(FactorCost).filter_by(key="xinrong-water-1")).one()
        admin = factories.staff(email=ADMIN, password=PASSWORD, role="admin")
        from portal.content import reference

        record = reference.to_record("factor_cost", row) | {"value": 9.99}
        reference.save(admin, "factor_cost", record, row=row)
        db.session.commit()
        again = loader.load_pack("datong")
        assert again == first
        kept = db.session.scalars(db.select(FactorCost).filter_by(key="xinrong-water-1")).one()
        assert kept.value == 9.99  # the back office owns it now
        db.session.remove()


# --- one set of rules ------------------------------------------------------------------------


def _bad_pack(tmp_path, **change) -> str:
    """A copy of the Datong pack whose first factor cost has ``change`` applied."""
    pack = tmp_path / "datong"
    shutil.copytree(loader.PACKS_DIR / "datong", pack)
    file = pack / "factor_costs.yaml"
    records = yaml.safe_load(file.read_text("utf-8"))
    records[0].update(change)
    file.write_text(yaml.safe_dump(records, allow_unicode=True), "utf-8")
    return str(pack)


@pytest.mark.parametrize("change, field, message", [
    ({"low": 9.0, "high": 5.0}, "high", "上限 5 小于下限 9"),
    ({"value": -1}, "value", "值 -1 小于允许的最小值 0"),
    ({"year": 1850}, "year", "值 1850 小于允许的最小值 1990"),
    ({"unit": "%", "value": 120, "low": 100, "high": 130}, "value", "百分比不能大于 100"),
    ({"category": "coal"}, "category", "值 coal 不在允许范围内"),
])
def test_the_loader_and_the_form_refuse_a_bad_figure_with_the_same_message(
        app, world, tmp_path, change, field, message):
    with app.app_context():
        with pytest.raises(loader.PackError) as caught:
            loader.read_pack(_bad_pack(tmp_path, **change))
    assert caught.value.field == field and message in caught.value.problem
    assert "datong-land-1" in str(caught.value)

    browser = login(app, ADMIN)
    url = f"/admin/reference/factor-costs/{world['pc-water']}"
    data = form_of(browser, url)
    data |= {k: str(v) for k, v in change.items()}
    answer = browser.post(url, data=data)
    assert answer.status_code == 422
    page = text(answer)
    assert page.startswith("<!doctype html>") or "<html" in page
    assert message in page and "<title>错误：" in page
    assert _value(app, world["pc-water"]) == 5.2  # nothing changed


def test_a_figure_that_is_not_a_number_gets_a_clear_message(app, world):
    browser = login(app, ADMIN)
    url = f"/admin/reference/factor-costs/{world['pc-water']}"
    for typed, expected in (("五元", "类型应为 number"), ("", "缺少必填字段 value"),
                            ("1e400", "类型应为 number")):
        data = form_of(browser, url) | {"value": typed}
        answer = browser.post(url, data=data)
        assert answer.status_code == 422, typed
        assert expected in text(answer), typed
    data = form_of(browser, url) | {"year": "2024.5"}
    assert "类型应为 integer" in text(browser.post(url, data=data))
    data = form_of(browser, url) | {"source_url": "javascript:alert(1)"}
    assert "输入以 http:// 或 https:// 开头的完整网址" in text(browser.post(url, data=data))
    assert _value(app, world["pc-water"]) == 5.2


def test_the_rules_function_is_the_one_the_loader_uses(app):
    with app.app_context():
        found = rules.factor_problems({"region": "nowhere", "value": 3, "low": 1, "unit": "元"},
                                      {"datong"})
    assert [p.field for p in found] == ["region", "high"]


# --- who may edit, versions, audit -----------------------------------------------------------


def test_zone_staff_edit_their_own_figures_only(app, world):
    browser = login(app, ZONE)
    listed = text(browser.get("/admin/reference/factor-costs"))
    assert "zone-water" in listed and "pc-water" not in listed and "yg-water" not in listed
    for other in ("pc-water", "yg-water", "city-water"):
        url = f"/admin/reference/factor-costs/{world[other]}"
        assert browser.get(url).status_code == 404
        assert browser.post(url, data={"value": "1"}).status_code == 404
        assert browser.post(url + "/delete").status_code == 404
        assert browser.get(f"/admin/reference/history/factor_cost/{world[other]}"
                           ).status_code == 404
    csv_text = browser.get("/admin/reference/factor-costs.csv").get_data(as_text=True)
    assert "zone-water" in csv_text and "pc-water" not in csv_text

    # Its own figure: saved. Moving it to another region: refused, nothing saved.
    url = f"/admin/reference/factor-costs/{world['zone-water']}"
    data = form_of(browser, url)
    assert browser.post(url, data=data | {"value": "4.5"}).status_code == 302
    assert _value(app, world["zone-water"]) == 4.5
    answer = browser.post("/admin/reference/factor-costs/new", data=data | {
        "key": "zone-new", "region": "yungang", "value": "1"})
    assert answer.status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(FactorCost.id).filter_by(key="zone-new")) is None

    # 平城区 staff see their district's figures and its zone's.
    listed = text(login(app, PC).get("/admin/reference/factor-costs"))
    assert "pc-water" in listed and "zone-water" in listed and "yg-water" not in listed


def test_every_edit_is_a_version_and_an_audit_event(app, world):
    browser = login(app, ADMIN)
    url = f"/admin/reference/factor-costs/{world['yg-water']}"
    data = form_of(browser, url)
    assert data["value"] == "5.1" and data["year"] == "2024" and data["source"] == SOURCE
    assert browser.post(url, data=data | {"value": "5.35"}).status_code == 302
    assert browser.post(url, data=data | {"value": "5.35", "year": "2025"}).status_code == 302
    assert browser.post(url, data=data | {"value": "5.35", "year": "2025"}).status_code == 302
    with app.app_context():
        found = db.session.scalars(db.select(ContentVersion).filter_by(
            kind="factor_cost", record_id=world["yg-water"]).order_by(ContentVersion.number)).all()
        assert [(v.action, v.data["value"], v.data["year"]) for v in found] == [
            ("load", 5.1, 2024), ("edit", 5.35, 2024), ("edit", 5.35, 2025)]  # no empty edit
        events = db.session.scalars(db.select(AuditEvent).filter_by(
            entity_type="factor_cost", entity_id=str(world["yg-water"]))).all()
        assert [e.action for e in events] == ["content_edit", "content_edit"]
    history = text(browser.get(f"/admin/reference/history/factor_cost/{world['yg-water']}"))
    assert "非居民用水" in history
    # Restore the first version: a new version, the old figure public again.
    assert browser.post(f"/admin/reference/history/factor_cost/{world['yg-water']}/restore/1"
                        ).status_code == 302
    assert _value(app, world["yg-water"]) == 5.1


def test_admin_adds_and_deletes_a_figure(app, world):
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/factor-costs/new") | {
        "key": "yg-heat", "region": "yungang", "category": "heat", "item": "非居民集中供热",
        "value": "38", "unit": "元/平方米·采暖期", "year": "2024", "source": "演示数据",
        "is_demo": "y", "tr_en_item": "Non-residential district heating"}
    answer = browser.post("/admin/reference/factor-costs/new", data=data)
    assert answer.status_code == 302, text(answer)
    with app.app_context():
        row = db.session.scalars(db.select(FactorCost).filter_by(key="yg-heat")).one()
        assert (row.region.slug, row.value, row.is_demo) == ("yungang", 38, True)
        assert row.translations["en"]["_source"] == "human"
        record_id = row.id
    assert "非居民集中供热" in text(app.test_client().get("/zh/regions/yungang"))
    assert browser.post(f"/admin/reference/factor-costs/{record_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(FactorCost, record_id) is None
    assert "非居民集中供热" not in text(app.test_client().get("/zh/regions/yungang"))
    assert "yg-heat" in text(browser.get("/admin/reference/factor-costs"))  # under 已删除


def test_the_list_exports_as_csv_and_xlsx(app, world):
    browser = login(app, ADMIN)
    answer = browser.get("/admin/reference/factor-costs.csv")
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["标识", "所属区域", "类别", "项目"]
    zone = next(r for r in rows if r[0] == "zone-wage")
    assert zone[1:9] == ["平城开发区", "用工成本", "制造业一线员工月平均工资", "4700.0", "4000.0",
                         "5800.0", "元/月", "2024"]
    assert browser.get("/admin/reference/factor-costs.xlsx").status_code == 200


# --- the public pages ------------------------------------------------------------------------


def _environment_section(client, lang="zh") -> str:
    page = text(client.get(f"/{lang}/environment/"))
    return page[page.index('id="factor-costs-title"'):page.index("</section>",
                                                                   page.index("factor-costs"))]


def test_a_changed_figure_changes_the_environment_and_the_region_page(app, world):
    client = app.test_client()
    assert "5.2 元/立方米" in _environment_section(client)
    assert "5.2" in text(client.get("/zh/regions/pingcheng"))
    with app.app_context():
        row = db.session.get(FactorCost, world["pc-water"])
        row.value, row.year, row.source = 6.75, 2025, "平城区水价调整公告"
        db.session.commit()
    section = _environment_section(client)
    assert "6.75 元/立方米" in section and "5.2 元/立方米" not in section
    assert "平城区水价调整公告" in section
    region = text(client.get("/zh/regions/pingcheng"))
    assert "6.75" in region and "2025年" in region and "平城区水价调整公告" in region


def test_every_figure_on_the_pages_shows_its_year_and_source(app, world):
    client = app.test_client()
    section = _environment_section(client)
    cells = re.findall(r"<td>(.*?)</td>", section, re.S)
    assert len([c for c in cells if c != "—"]) == 6
    sources = dict(re.findall(r'<li id="factor-source-(\d+)">(.*?)</li>', section, re.S))
    for cell in cells:
        if cell == "—":
            continue
        year, number = re.search(r'(\d{4}) · <a href="#factor-source-(\d+)">', cell).groups()
        assert year == "2024" and sources[number].strip()
    assert SOURCE in section and "演示数据" in section
    assert '<a href="https://fgw.example.gov.cn/water"' in section

    region = text(client.get("/zh/regions/pc-zone"))
    table = region[region.index('class="data factor-list"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", table, re.S)
    assert len(rows) == 2
    for row in rows:
        assert "2024年" in row
    assert SOURCE in rows[0] and "演示数据" in rows[1]
    assert "4,700" in rows[1] and "4,000" in rows[1] and "5,800" in rows[1]  # the range


def test_a_region_without_figures_has_no_factor_section(app, world):
    with app.app_context():
        factories.region(slug="empty", kind="county", name="空县")
        db.session.commit()
    assert 'id="factor-costs-title"' not in text(app.test_client().get("/zh/regions/empty"))


def test_the_english_pages_show_translated_figures(site_client):
    section = _environment_section(site_client, "en")
    assert "CNY/kWh" in section and "Large industrial power (1–10 kV)" in section
    assert "元/千瓦时" not in section and "大工业用电" not in section
    assert "Demo data" in section
    region = text(site_client.get("/en/regions/datong"))
    assert "Large industrial power (110 kV)" in region and "CNY 10,000/mu" in region
    assert "Renewable share of installed generating capacity" in region


def test_the_environment_page_draws_land_and_green_power_with_a_table_alternative(
        site_client):
    section = _environment_section(site_client)
    figures = re.findall(r'<figure class="chart[^"]*".*?</figure>', section, re.S)
    assert len(figures) == 2
    for figure in figures:
        assert "<svg" in figure and "<table" in figure
    assert "平城区" in figures[0] and "11.2" in figures[0]
    assert "大同经济技术开发区" not in figures[0]  # counties and districts, in the table
    assert "新荣区" in figures[1] and "70" in figures[1]


# --- the API ---------------------------------------------------------------------------------


def test_the_api_gives_a_regions_factor_costs_with_year_and_source(app, world):
    client = app.test_client()
    answer = client.get("/api/v1/regions/pc-zone/factor-costs?lang=en")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["region"]["slug"] == "pc-zone"
    assert [(f["key"], f["value"], f["year"]) for f in body["items"]] == [
        ("zone-water", 4.9, 2024), ("zone-wage", 4700, 2024)]
    water = body["items"][0]
    assert water["item"] == "Non-residential water" and water["unit"] == "CNY/m³"
    assert water["source_url"] == "https://fgw.example.gov.cn/water"
    assert body["items"][1]["low"] == 4000 and body["items"][1]["is_demo"] is True
    assert client.get("/api/v1/regions/nowhere/factor-costs").status_code == 404
    assert client.get("/api/v1/regions/pc-zone/factor-costs?lang=xx").status_code == 400
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/regions/{slug}/factor-costs" in doc["paths"]
    assert "FactorCost" in doc["components"]["schemas"]
