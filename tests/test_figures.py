"""Figures with their sources, rates computed from their inputs.

- the rates of the Datong pack equal what the source printed, within the rounding of its
  printed inputs, and two the source gets wrong are shown computed with a note;
- the loader and the back office refuse a published rate the inputs cannot give;
- a region figure and a rate's input changed in the database change the home, environment and
  region pages (nothing typed into templates);
- every figure on every region page names its year and its source; demo figures say so.
"""

import re
from html import unescape

import pytest
import yaml

from portal.extensions import db
from portal.models import BatchFigure, Region
from portal.showcase import rates
from seed.loader import PackError, load_pack
from tests.test_admin_reference import ADMIN, form_of, login, world  # noqa: F401  (fixture)
from tests.test_loader import bad_pack  # noqa: F401  (fixture)


def _text(response) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _batch(session, key) -> BatchFigure:
    return session.scalars(db.select(BatchFigure).filter_by(key=key)).one()


# --- the definitions ---------------------------------------------------------------------


@pytest.mark.parametrize("part, whole, published, agrees", [
    (192.3, 223.7, 85.96, True),    # 签约开工率, exact
    (72.36, 179.4, 40.32, True),    # 开工项目投产率: 40.334 from rounded inputs; printed 40.32
    (13.45, 15.95, 84.35, True),    # 84.33 computed, within the inputs' rounding
    (363, 364, 99.73, True),        # 前期手续办结率
    (13.2, 14.38, 91.34, False),    # the special issue's own misprint (91.79)
    (12.14, 14.96, 83.96, False),   # likewise (81.15)
    (192.3, 223.7, 86.5, False),
])
def test_published_rates_are_checked_against_rounded_inputs(part, whole, published, agrees):
    assert rates.published_agrees(published, part, whole) is agrees


def test_rates_need_both_inputs():
    assert rates.compute(1, 0) is None and rates.compute(None, 3) is None
    assert rates.compute(192.3, 223.7) == 85.96


def test_pack_rates_are_computed_and_agree_with_the_source(site_db):
    with site_db() as session:
        signed = _batch(session, "datong-2023-signed")
        assert signed.rate_kind == "signed_started"
        assert signed.rate_percent == 85.96 == signed.published_rate_percent
        started = _batch(session, "datong-2023-started")
        assert started.rate_percent == 40.33 and started.published_rate_percent == 40.32
        assert _batch(session, "datong-2024q1-signed-procedures").rate_percent == 99.73
        misprinted = _batch(session, "datong-round-signed")
        assert misprinted.rate_percent == 91.79 and misprinted.published_rate_percent is None
        assert "91.34%" in misprinted.note  # the printed figure is reported, not hidden
        quoted = _batch(session, "shuozhou-2023-signed")
        assert quoted.rate_is_quoted and quoted.rate_percent == 82.04 and quoted.rate_label
        for row in session.scalars(db.select(BatchFigure)):
            if row.rate_kind:
                assert not row.rate_is_quoted
                whole = rates.whole_of(row.rate_kind, row.investment_yi, row.rate_whole)
                assert rates.published_agrees(row.published_rate_percent, row.rate_part, whole)
            elif row.published_rate_percent is not None:
                assert row.rate_label, row.key  # a quoted rate has its published name


def test_environment_page_shows_how_each_rate_is_computed(site_client):
    page = _text(site_client.get("/zh/environment/"))
    assert ("签约开工率 85.96% = 已开工项目总投资（亿元） 192.3 ÷ 签约项目总投资（亿元） 223.7"
            in page)
    assert "开工项目投产率 40.33%" in page and "来源公布为 40.32%" in page
    assert "开工率 82.04% 公布值" in page


# --- the loader and the back office refuse a rate its inputs cannot give ------------------


def _edit(path, change):
    records = yaml.safe_load(path.read_text("utf-8"))
    change(records)
    path.write_text(yaml.safe_dump(records, allow_unicode=True), "utf-8")


def test_loader_reports_a_mismatching_published_rate(ctx, bad_pack):  # noqa: F811
    def mistype(records):
        records[0]["published_rate_percent"] = 88.7  # the project count's ratio, 102 ÷ 115
    _edit(bad_pack / "batch_figures.yaml", mistype)
    with pytest.raises(PackError) as error:
        load_pack(str(bad_pack))
    message = str(error.value)
    assert "batch_figures.yaml" in message and "datong-2023-signed" in message
    assert "字段 published_rate_percent" in message
    assert "88.7%" in message and "85.96%" in message
    assert db.session.scalar(db.select(db.func.count(BatchFigure.id))) == 0


def test_loader_reports_missing_inputs(ctx, bad_pack):  # noqa: F811
    def drop_input(records):
        del records[1]["rate_part"]
    _edit(bad_pack / "batch_figures.yaml", drop_input)
    with pytest.raises(PackError) as error:
        load_pack(str(bad_pack))
    assert "字段 rate_part" in str(error.value) and "已投产项目已完成投资" in str(error.value)


def test_back_office_refuses_a_mismatching_rate_beside_its_field(app, world):  # noqa: F811
    browser = login(app, ADMIN)
    data = form_of(browser, "/admin/reference/batch-figures/new") | {
        "key": "datong-2025-signed", "area": "大同市", "region": "datong", "period": "2025年",
        "batch": "signed", "projects": "10", "investment_yi": "50", "rate_kind": "signed_started",
        "rate_part": "40", "published_rate_percent": "90", "source": "大同市投资促进局"}
    answer = browser.post("/admin/reference/batch-figures/new", data=data)
    assert answer.status_code == 422
    page = _text(answer)
    assert "公布的比率 90% 与按投入计算的 80% 不符" in page
    data["published_rate_percent"] = "80"
    assert browser.post("/admin/reference/batch-figures/new", data=data).status_code == 302
    with app.app_context():
        row = _batch(db.session, "datong-2025-signed")
        assert (row.rate_kind, row.rate_part, row.rate_percent) == ("signed_started", 40, 80.0)


# --- pages follow the database ------------------------------------------------------------


def test_changed_figure_and_rate_input_change_the_pages(app):
    with app.app_context():
        load_pack("datong")
        db.session.commit()
    client = app.test_client()
    home, environment = _text(client.get("/zh/")), _text(client.get("/zh/environment/"))
    region = _text(client.get("/zh/regions/datong"))
    assert "19.03" in home and "19.03" in region
    assert "85.96%" in environment and "100%" in home  # 7 of 7 zones rated excellent
    with app.app_context():
        city = db.session.scalars(db.select(Region).filter_by(slug="datong")).one()
        city.figures = {**city.figures, "zone_industrial_investment_yi": 21.47,
                        "zones_excellent": 6}
        signed = _batch(db.session, "datong-2023-signed")
        signed.rate_part, signed.published_rate_percent = 201.3, None
        signed.projects = 116
        db.session.commit()
    home, environment = _text(client.get("/zh/")), _text(client.get("/zh/environment/"))
    region = _text(client.get("/zh/regions/datong"))
    assert "21.47" in home and "19.03" not in home
    assert "21.47" in region  # (the city's profile text still quotes 19.03: it is prose)
    assert "85.71%" in region and "85.71%" in home  # 6 ÷ 7, computed, not stored
    assert "89.99%" in environment and "85.96%" not in environment  # 201.3 ÷ 223.7
    assert "116" in home and "116" in environment


# --- every figure has its year and source -------------------------------------------------


def _figures(html: str) -> list[str]:
    block = re.search(r'<dl class="facts figure-list">(.*?)</dl>', html, re.S)
    return re.findall(r"<div><dt>(.*?)</div>", block.group(1), re.S) if block else []


def test_every_figure_on_a_region_page_has_its_year_and_source(site_client, site_db):
    with site_db() as session:
        slugs = session.scalars(db.select(Region.slug)).all()
    seen = 0
    for slug in slugs:
        html = site_client.get(f"/zh/regions/{slug}").get_data(as_text=True)
        for item in _figures(html):
            seen += 1
            meta = unescape(re.sub(r"<[^>]+>", "", re.search(
                r'<span class="figure-meta">(.*?)</span>\s*</dd>', item, re.S).group(1)))
            assert "年份未注明" not in meta and "未注明" not in meta, (slug, item)
            year, source = meta.split(" · 来源：")
            assert re.search(r"20\d\d", year), (slug, meta)
            assert source.strip(), (slug, meta)
            if "演示" in source:
                assert "badge-demo" in item, (slug, item)  # demo figures are marked
    assert seen >= 40


def test_quoted_and_computed_figures_are_marked(site_client):
    html = site_client.get("/zh/regions/datong").get_data(as_text=True)
    items = {re.sub(r"<[^>]+>", "", i.split("</dt>")[0]): i for i in _figures(html)}
    assert "公布值" in items["开发区工业投资占全市比重"]
    assert "按来源数据计算" in items["开发区考核优秀率"] and "100%" in items["开发区考核优秀率"]
    assert "公布值" not in items["开发区工业投资（亿元）"]
    pingcheng = site_client.get("/zh/regions/pingcheng").get_data(as_text=True)
    assert all("演示数据" in item for item in _figures(pingcheng))


def test_zone_rankings_chart_on_the_environment_page(site_client):
    html = site_client.get("/zh/environment/").get_data(as_text=True)
    assert "2023年度全省工业类开发区排名（共 71 家）" in unescape(html)
    figure = re.search(r'<figure class="chart"[^>]*><figcaption>2023年度全省工业类.*?</figure>',
                       unescape(html), re.S).group(0)
    rows = re.findall(r'<tr><th scope="row">(.*?)</th><td class="num">(.*?)</td>', figure)
    assert rows[0] == ("云冈经开区", "第 1 名") and rows[-1] == ("大同经开区", "第 26 名")
