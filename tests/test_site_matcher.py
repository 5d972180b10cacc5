"""The site matcher: hard filters, scores worked out by hand, 标准地 checks.

score = ⌊100 × Σ w·f / Σ w + ½⌋ over the criteria that count, with weights area 15, price 20,
power 15, floor load 10, ceiling height 10, readiness 10, 标准地 20; see
portal/sites/matcher.py.
"""

import sys

import pytest
from flask import render_template
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.models import Industry, Site
from portal.models.sites import MU_IN_M2
from portal.sites.forms import SiteMatchForm
from portal.sites.matcher import (
    IndicatorCheck,
    Requirements,
    explain,
    match,
    region_ids,
    requirements_from_mapping,
    standard_land,
)
from tests import factories

ALL_BUT_HEAT = ["road", "water", "drainage", "power", "telecom", "gas", "levelled"]
EIGHT = [*ALL_BUT_HEAT, "heat"]
CARRIER_SIX = ["road", "water", "drainage", "power", "telecom", "heat"]  # no gas


def datong_regions() -> dict:
    """山西省 › 大同市 › 平城区 › 大同经开区, and 云冈区 › 云冈经开区 beside 平城区."""
    shanxi = factories.region("shanxi", "province", name="山西省")
    datong = factories.region("datong", "city", name="大同市", parent=shanxi)
    pingcheng = factories.region("pingcheng", "district", name="平城区", parent=datong,
                                 sort_order=1)
    yungang = factories.region("yungang", "district", name="云冈区", parent=datong,
                               sort_order=2)
    edz = factories.region("datong-edz", "zone", name="大同经开区", parent=pingcheng,
                           sort_order=3)
    yedz = factories.region("yungang-edz", "zone", name="云冈经开区", parent=yungang,
                            sort_order=4)
    return {"shanxi": shanxi, "datong": datong, "pingcheng": pingcheng, "yungang": yungang,
            "datong-edz": edz, "yungang-edz": yedz}


def carrier(key="c-1", region_row=None, kind="factory", **kw) -> Site:
    values = {"kind": kind, "name": "测试厂房", "land_use": "industrial",
              "floor_area_m2": 6000.0, "geometry": {"type": "Point", "coordinates": [113.3, 40.0]},
              "latitude": 40.0, "longitude": 113.3, "readiness": CARRIER_SIX}
    values.update(kw)
    row = Site(key=key, region=region_row or factories.region(), **values)
    db.session.add(row)
    db.session.flush()
    return row


def standard_parcel(key="p-std", region_row=None, **kw) -> Site:
    """100 亩 of 标准地 at 15 万元/亩, 5,000 kVA, everything but heat."""
    values = {"area_mu": 100.0, "land_price_wan_per_mu": 15.0, "power_kva": 5000.0,
              "readiness": ALL_BUT_HEAT, "min_investment_wan_per_mu": 300.0,
              "min_tax_wan_per_mu": 20.0, "min_plot_ratio": 1.2, "max_plot_ratio": 2.0,
              "min_building_coverage": 0.4, "max_energy_t_per_wan": 0.5}
    values.update(kw)
    return factories.parcel(key, region_row=region_row or factories.region(), **values)


def industry(slug="new-energy", name="新能源") -> Industry:
    row = Industry(slug=slug, name=name)
    db.session.add(row)
    db.session.flush()
    return row


def keys(matches) -> list[str]:
    return [m.site.key for m in matches]


def by_name(checks: list[IndicatorCheck]) -> dict[str, IndicatorCheck]:
    return {c.name: c for c in checks}


# --- scores by hand ---------------------------------------------------------------------

def test_parcel_score_by_hand(ctx):
    standard_parcel()
    req = Requirements(max_land_price_wan_per_mu=16, power_kva=6000, investment_wan=32000,
                       tax_wan=1500, floor_area_m2=100000, energy_t=3000, output_wan=10000)
    [found] = match(req)
    # price 20×1 + power 15×0 + readiness 10×7/8 + 标准地 20×3/4 = 43.75 of 65 → 67.3
    assert found.score == 67
    assert found.reasons == [
        "土地价格 15 万元/亩，在预算 16 万元/亩以内",
        "已具备 7/8 项配套：通路、通给水、通排水、通电、通信、通燃气和场地平整",
        "亩均投资 320 万元/亩，符合标准地要求（不低于 300 万元/亩）",
        "容积率 1.5，符合标准地要求（1.2 至 2）",
        "单位能耗 0.3 吨标煤/万元，符合标准地要求（不高于 0.5 吨标煤/万元）",
    ]
    assert found.unmet == [
        "供电容量 5,000 kVA，低于需求 6,000 kVA",
        "尚未具备：通热力",
        "亩均税收 15 万元/亩，低于标准地要求的 20 万元/亩",
    ]


def test_carrier_score_by_hand(ctx):
    carrier(rent_yuan_m2_month=10.0, power_kva=800.0, floor_load_kn_m2=30.0,
            ceiling_height_m=8.0)
    req = Requirements(floor_area_m2=5000, max_rent_yuan_m2_month=9, power_kva=630,
                       floor_load_kn_m2=50, investment_wan=30000, tax_wan=1000,
                       max_land_price_wan_per_mu=1)
    [found] = match(req)
    # area 15×1 + rent 20×0 + power 15×1 + floor load 10×0 + readiness 10×6/7
    # = 38.57 of 70 → 55.1; the land price and 标准地 inputs do not count for a carrier.
    assert found.score == 55
    assert found.reasons == [
        "建筑面积 6,000 平方米，满足需求 5,000 平方米",
        "供电容量 800 kVA，满足需求 630 kVA",
        "已具备 6/7 项配套：通路、通给水、通排水、通电、通信和通热力",
    ]
    assert found.unmet == [
        "租金 10 元/平方米·月，超出预算 9 元",
        "楼面荷载 30 kN/m²，低于需求 50 kN/m²",
        "尚未具备：通燃气",
    ]
    assert found.standard_land == []


def test_a_carrier_with_everything_scores_100(ctx):
    carrier(readiness=[*CARRIER_SIX, "gas"], rent_yuan_m2_month=8.0, ceiling_height_m=9.0)
    [found] = match(Requirements(max_rent_yuan_m2_month=8, ceiling_height_m=9))
    assert found.score == 100 and found.unmet == []
    assert found.reasons[-1] == "配套已全部具备：通路、通给水、通排水、通电、通信、通燃气和通热力"


def test_unanswered_requirements_do_not_count(ctx):
    standard_parcel()
    # Nothing answered: only readiness counts, 7/8 = 87.5, halves round up.
    assert match(Requirements())[0].score == 88
    # Power met: (15 + 8.75) / 25 = 95.
    assert match(Requirements(power_kva=5000))[0].score == 95
    # Only the investment is given: one indicator judged and passed, 20 × 1/1.
    # (8.75 + 20) / 30 = 95.8
    found = match(Requirements(investment_wan=30000))[0]
    assert found.score == 96
    assert [c.passed for c in found.standard_land] == [True, None, None, None]


def test_a_figure_the_site_does_not_state_earns_nothing(ctx):
    standard_parcel(power_kva=None, land_price_wan_per_mu=None, readiness=EIGHT)
    [found] = match(Requirements(power_kva=100, max_land_price_wan_per_mu=50))
    # (20×0 + 15×0 + 10×1) / 45 = 22.2
    assert found.score == 22
    assert found.unmet == ["未标明土地价格，请向联系人询价",
                           "未标明供电容量，请向联系人确认能否提供 100 kVA"]
    assert found.reasons == ["七通一平已全部具备"]


def test_ranked_by_score_then_key(ctx):
    place = factories.region()
    standard_parcel("b", place, readiness=EIGHT)
    standard_parcel("a", place, readiness=EIGHT)
    standard_parcel("c", place)
    carrier("d", place, readiness=[])
    result = match(Requirements())
    assert [(m.site.key, m.score) for m in result] == [("a", 100), ("b", 100), ("c", 88),
                                                       ("d", 0)]
    assert keys(match(Requirements(), limit=2)) == ["a", "b"]
    assert keys(match(Requirements(), limit=None)) == ["a", "b", "c", "d"]


# --- hard requirements ------------------------------------------------------------------

def test_taken_sites_are_never_listed(ctx):
    place = factories.region()
    factories.parcel("free", place)
    factories.parcel("talks", place, availability="reserved")
    factories.parcel("gone", place, availability="taken")
    assert keys(match(Requirements())) == ["free", "talks"]


def test_must_have_readiness_items(ctx):
    place = factories.region()
    standard_parcel("no-heat", place)
    standard_parcel("all", place, readiness=EIGHT)
    carrier("carrier", place)
    assert keys(match(Requirements(must_have=["heat", "power"]))) == ["all", "carrier"]
    assert keys(match(Requirements(must_have=["gas"]))) == ["all", "no-heat"]


def test_kind_land_use_and_area_in_each_kinds_unit(ctx):
    place = factories.region()
    factories.parcel("p-50", place, area_mu=50.0)
    factories.parcel("p-200", place, area_mu=200.0)
    factories.parcel("logistics", place, area_mu=60.0, land_use="logistics")
    carrier("f-80", place, floor_area_m2=80.0)
    carrier("f-6000", place, floor_area_m2=6000.0)
    carrier("office", place, kind="office", land_use="commercial", floor_area_m2=90.0)
    # 40–100: 亩 for parcels, m² for carriers. (Carriers rank first: they are 6/7 ready.)
    assert keys(match(Requirements(min_area=40, max_area=100))) == [
        "f-80", "office", "logistics", "p-50"]
    assert keys(match(Requirements(min_area=40, max_area=100, land_use="industrial"))) == [
        "f-80", "p-50"]
    assert keys(match(Requirements(kinds=["office", "parcel"], max_area=100))) == [
        "office", "logistics", "p-50"]
    assert keys(match(Requirements(min_area=5000))) == ["f-6000"]


def test_a_region_includes_the_regions_below_it(ctx):
    regions = datong_regions()
    factories.parcel("in-edz", regions["datong-edz"])
    factories.parcel("in-pingcheng", regions["pingcheng"])
    factories.parcel("in-yungang-edz", regions["yungang-edz"])
    assert keys(match(Requirements(regions=["pingcheng"]))) == ["in-edz", "in-pingcheng"]
    assert keys(match(Requirements(regions=["datong-edz"]))) == ["in-edz"]
    assert keys(match(Requirements(regions=["datong-edz", "yungang"]))) == [
        "in-edz", "in-yungang-edz"]
    assert keys(match(Requirements(regions=["datong"]))) == [
        "in-edz", "in-pingcheng", "in-yungang-edz"]
    assert match(Requirements(regions=["atlantis"])) == []
    assert region_ids(["yungang"]) == {regions["yungang"].id, regions["yungang-edz"].id}


# --- 标准地 ----------------------------------------------------------------------------

@pytest.mark.parametrize(("inputs", "name", "value", "passed"), [
    ({"investment_wan": 15000}, "investment_per_mu", 300.0, True),  # exactly the minimum
    ({"investment_wan": 14999}, "investment_per_mu", 299.98, False),
    ({}, "investment_per_mu", None, None),
    ({"tax_wan": 1000}, "tax_per_mu", 20.0, True),
    ({"tax_wan": 999}, "tax_per_mu", 19.98, False),
    ({"floor_area_m2": 50 * MU_IN_M2}, "plot_ratio", 1.0, True),  # exactly the minimum
    ({"floor_area_m2": 30000}, "plot_ratio", 30000 / (50 * MU_IN_M2), False),
    ({"floor_area_m2": 70000}, "plot_ratio", 70000 / (50 * MU_IN_M2), False),
    ({"energy_t": 500, "output_wan": 1000}, "energy_per_output", 0.5, True),
    ({"energy_t": 600, "output_wan": 1000}, "energy_per_output", 0.6, False),
    ({"energy_t": 600}, "energy_per_output", None, None),
    ({"energy_t": 600, "output_wan": 0}, "energy_per_output", None, None),
])
def test_each_standard_land_indicator(ctx, inputs, name, value, passed):
    site = standard_parcel(area_mu=50.0, min_plot_ratio=1.0, max_plot_ratio=2.0)
    check = by_name(explain(site, Requirements(**inputs)).standard_land)[name]
    assert check.value == value
    assert check.passed is passed


def test_standard_land_table_and_messages(ctx):
    site = standard_parcel(area_mu=50.0, min_plot_ratio=1.0, max_plot_ratio=2.0)
    found = explain(site, Requirements(investment_wan=14999, tax_wan=1000, floor_area_m2=70000,
                                       energy_t=600, output_wan=1000))
    checks = found.standard_land
    assert [(c.name, c.label, c.required, c.unit, c.minimum, c.maximum) for c in checks] == [
        ("investment_per_mu", "亩均投资", "不低于 300 万元/亩", "万元/亩", 300.0, None),
        ("tax_per_mu", "亩均税收", "不低于 20 万元/亩", "万元/亩", 20.0, None),
        ("plot_ratio", "容积率", "1 至 2", "", 1.0, 2.0),
        ("energy_per_output", "单位能耗", "不高于 0.5 吨标煤/万元", "吨标煤/万元", None, 0.5),
    ]
    assert found.unmet[1:] == [
        "亩均投资 299.98 万元/亩，低于标准地要求的 300 万元/亩",
        "容积率 2.1，高于标准地要求的 2",
        "单位能耗 0.6 吨标煤/万元，高于标准地要求的 0.5 吨标煤/万元",
    ]
    # readiness 10×7/8 + 标准地 20×1/4 = 13.75 of 30 → 45.8
    assert found.score == 46
    assert standard_land(site, Requirements(investment_wan=14999, tax_wan=1000,
                                            floor_area_m2=70000, energy_t=600,
                                            output_wan=1000)) == checks
    low = explain(site, Requirements(floor_area_m2=30000))
    assert low.unmet[1:] == ["容积率 0.9，低于标准地要求的 1"]


def test_only_stated_indicators_are_listed(ctx):
    place = factories.region()
    plain = factories.parcel("plain", place, readiness=EIGHT)
    capped = factories.parcel("capped", place, readiness=EIGHT, max_plot_ratio=2.0)
    project = Requirements(investment_wan=30000, floor_area_m2=50000)
    assert not plain.is_standard_land
    assert explain(plain, project).standard_land == []
    # Nothing judged, so 标准地 does not count: readiness alone.
    assert explain(plain, project).score == 100
    [check] = explain(capped, project).standard_land
    assert (check.name, check.required, check.passed) == ("plot_ratio", "不高于 2", True)


# --- requirements_from_mapping ----------------------------------------------------------

def test_requirements_from_a_valid_mapping(ctx):
    datong_regions()
    industry()
    req, errors = requirements_from_mapping({
        "kinds": ["parcel", "factory", "parcel"], "industry": "new-energy",
        "land_use": "industrial", "regions": ["pingcheng"], "min_area": 30, "max_area": 120.5,
        "max_land_price_wan_per_mu": 15, "max_rent_yuan_m2_month": None, "power_kva": 2000,
        "floor_load_kn_m2": "", "ceiling_height_m": 0, "must_have": [], "investment_wan": 30000,
        "floor_area_m2": 60000, "tax_wan": 1500, "energy_t": 3000, "output_wan": 50000,
    })
    assert errors == {}
    assert req == Requirements(
        kinds=["parcel", "factory"], industry="new-energy", land_use="industrial",
        regions=["pingcheng"], min_area=30, max_area=120.5, max_land_price_wan_per_mu=15,
        power_kva=2000, ceiling_height_m=0, investment_wan=30000, floor_area_m2=60000,
        tax_wan=1500, energy_t=3000, output_wan=50000)


def test_requirements_from_mapping_reports_every_bad_field(ctx):
    datong_regions()
    industry()
    req, errors = requirements_from_mapping({
        "kinds": ["castle"], "industry": "spaceships", "land_use": "lunar",
        "regions": ["pingcheng", "atlantis"], "min_area": 100, "max_area": 50,
        "power_kva": "2000", "floor_load_kn_m2": -1, "ceiling_height_m": True,
        "must_have": "power", "output_wan": 0, "tax_wan": float("nan"), "budget": 15,
    })
    assert req == Requirements(min_area=100)
    assert errors == {
        "kinds": "载体类型只能包含以下值：parcel, factory, office, warehouse, incubator",
        "industry": ("没有代码为“spaceships”的产业；使用 /api/v1/industries 列出的产业代码，"
                     "如 new-energy"),
        "land_use": ("用地性质须为以下之一：industrial, logistics, commercial, research, "
                     "mixed, agricultural"),
        "regions": "没有代码为“atlantis”的地区；使用 /api/v1/regions 列出的地区代码",
        "max_area": "最大面积须不小于最小面积 100",
        "power_kva": "用电容量须为不小于 0 的数字，如 2000",
        "floor_load_kn_m2": "楼面荷载须为不小于 0 的数字，如 10",
        "ceiling_height_m": "层高须为不小于 0 的数字，如 8",
        "must_have": '必须具备的配套须为字符串列表，如 ["power", "road"]',
        "output_wan": "预计年产值须大于 0，如 50000",
        "tax_wan": "预计年税收须为不小于 0 的数字，如 1500",
        "budget": errors["budget"],
    }
    assert errors["budget"].startswith("删除此字段；可用字段：kinds, industry, land_use")


def test_requirements_from_mapping_odd_values(ctx):
    req, errors = requirements_from_mapping({"industry": 5, "regions": ["  "], "kinds": [3]})
    assert req == Requirements()
    assert errors == {
        "industry": "没有代码为“5”的产业；使用 /api/v1/industries 列出的产业代码，如 new-energy",
        "kinds": '载体类型须为字符串列表，如 ["parcel", "factory"]',
    }


def test_requirements_from_mapping_needs_an_object(ctx):
    req, errors = requirements_from_mapping(["parcel"])
    assert req == Requirements() and list(errors) == ["requirements"]


# --- the form ---------------------------------------------------------------------------

@pytest.fixture
def form_for(app):
    def build(args):
        with app.test_request_context("/zh/sites/match", query_string=args):
            datong_regions()
            industry()
            form = SiteMatchForm.from_database(MultiDict(args))
            return form, form.validate()

    return build


def test_form_reads_requirements(ctx, form_for):
    form, valid = form_for([("kinds", "parcel"), ("kinds", "factory"), ("region", "pingcheng"),
                            ("land_use", "industrial"), ("min_area", "30"),
                            ("max_area", "120.5"), ("must_have", "power"),
                            ("power_kva", "2000"), ("industry", "new-energy"),
                            ("investment_wan", "30000"), ("output_wan", "0.5"),
                            ("tax_wan", "")])
    assert valid, form.errors
    assert form.to_requirements() == Requirements(
        kinds=["parcel", "factory"], regions=["pingcheng"], land_use="industrial", min_area=30,
        max_area=120.5, must_have=["power"], power_kva=2000, industry="new-energy",
        investment_wan=30000, output_wan=0.5)
    assert [(c.value, c.optgroup) for c in form.region.choices] == [
        ("", None), ("pingcheng", "区、县"), ("yungang", "区、县"), ("datong-edz", "开发区"),
        ("yungang-edz", "开发区")]
    assert form.power_kva.render_kw["inputmode"] == "decimal"


def test_form_messages_say_what_to_enter(ctx, form_for):
    form, valid = form_for([("kinds", "castle"), ("region", "atlantis"), ("min_area", "100"),
                            ("max_area", "50"), ("power_kva", "两千"), ("tax_wan", "-1"),
                            ("output_wan", "0"), ("energy_t", "Infinity"),
                            ("must_have", "wifi")])
    assert not valid
    assert {name: [str(e) for e in errs] for name, errs in form.errors.items()} == {
        "kinds": ["从列表中勾选载体类型"],
        "region": ["从列表中选择区、县或开发区，或选择“不限”"],
        "max_area": ["输入不小于最小面积的最大面积"],
        "power_kva": ["输入用电容量，单位 kVA，如 2000"],
        "tax_wan": ["输入预计年税收，单位万元，如 1500"],
        "output_wan": ["输入预计年产值，单位万元，须大于 0，如 50000"],
        "energy_t": ["输入年综合能耗，单位吨标准煤，如 3000"],
        "must_have": ["从列表中勾选配套条件"],
    }


def test_a_bad_minimum_area_is_the_only_area_message(ctx, form_for):
    form, valid = form_for([("min_area", "many"), ("max_area", "5")])
    assert not valid and list(form.errors) == ["min_area"]


def test_blank_form_is_empty_requirements(ctx, form_for):
    form, valid = form_for([])
    assert valid and form.to_requirements() == Requirements()


# --- the template -----------------------------------------------------------------------

def render(app, args, matches):
    with app.test_request_context("/zh/sites/match", query_string=args):
        form = SiteMatchForm.from_database(MultiDict(args))
        form.validate()
        return render_template("sites/match.html", form=form, matches=matches)


def test_page_shows_scores_reasons_and_the_standard_land_table(app, ctx):
    site = standard_parcel(region_row=datong_regions()["datong-edz"])
    found = explain(site, Requirements(power_kva=6000, investment_wan=32000))
    html = render(app, [("power_kva", "6000")], [found])
    assert "<title>载体匹配" in html
    assert f'href="/zh/sites/{site.id}"' in html
    assert "匹配度 64%" in html  # (15×0 + 10×7/8 + 20×1/1) / 45 = 63.9
    assert "供电容量 5,000 kVA，低于需求 6,000 kVA" in html
    assert "<caption>标准地控制指标</caption>" in html
    assert "<td>320 万元/亩</td>" in html and "<td>未填写</td>" in html


def test_page_with_errors_and_an_empty_result(app, ctx):
    datong_regions()
    html = render(app, [("max_area", "abc"), ("kinds", "castle")], None)
    assert "<title>错误：载体匹配" in html
    assert '<a href="#kinds-0">从列表中勾选载体类型</a>' in html
    assert '<a href="#max_area">输入最大面积' in html
    assert 'value="abc"' in html  # what was typed is kept
    empty = render(app, [("region", "pingcheng"), ("must_have", "heat")], [])
    assert "0 处土地或载体符合您的条件" in empty
    assert "少勾选几项必须具备的配套" in empty and "所在地区选择“不限”" in empty
    assert "放宽面积范围" not in empty


# --- scale ------------------------------------------------------------------------------

def traced() -> bool:
    """Coverage's tracer slows Python code several times over; only untraced runs are timed."""
    try:
        import coverage
    except ImportError:  # pragma: no cover - coverage comes with the test extras
        return sys.gettrace() is not None
    return sys.gettrace() is not None or coverage.Coverage.current() is not None


def test_datong_industrial_land_in_yungang(site_db):
    req = Requirements(kinds=["parcel"], regions=["yungang"], land_use="industrial",
                       min_area=60, max_area=160, power_kva=6000,
                       max_land_price_wan_per_mu=14, investment_wan=30000, tax_wan=1800,
                       floor_area_m2=150000, energy_t=4000, output_wan=12000)
    with site_db():
        found = match(req)
        ranked = [(m.site.key, m.score) for m in found]
        plot_ratio = by_name(found[0].standard_land)["plot_ratio"]
    # dt-parcel-010 (112 亩, 7/8 ready) and dt-parcel-012 (95 亩, reserved, 7/8 ready):
    # price 20 + power 15 + readiness 8.75 + 标准地 20×3/4 (plot ratio too high) = 58.75/65.
    # dt-parcel-008 (150 亩, all ready): 亩均投资 200 < 260 and 亩均税收 12 < 15,
    # 20 + 15 + 10 + 20×2/4 = 55/65. dt-parcel-009 fits too but is taken; 011 is logistics.
    assert ranked == [("dt-parcel-010", 90), ("dt-parcel-012", 90), ("dt-parcel-008", 85)]
    assert plot_ratio.value == 150000 / (112 * MU_IN_M2) and plot_ratio.passed is False
