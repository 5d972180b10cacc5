"""The policy matcher: criteria as data, scores worked out by hand.

score = round-half-up(100 × met / (met + unmet + unknown)); see portal/policies/matcher.py.
"""

import logging
from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.models import Industry
from portal.policies.forms import MatchForm
from portal.policies.matcher import (
    Match,
    Profile,
    evaluate,
    match,
    profile_from_mapping,
    region_ancestry,
)
from tests import factories


def rule(field, op, value, label=None) -> dict:
    criterion = {"field": field, "op": op, "value": value}
    if label:
        criterion["label"] = label
    return criterion


def datong_regions() -> None:
    """山西省 › 大同市 › 平城区 › 大同经开区, and 云冈区 beside 平城区."""
    shanxi = factories.region("shanxi", "province", name="山西省")
    datong = factories.region("datong", "city", name="大同市", parent=shanxi)
    pingcheng = factories.region("pingcheng", "district", name="平城区", parent=datong)
    factories.region("yungang", "district", name="云冈区", parent=datong)
    factories.region("datong-edz", "zone", name="大同经开区", parent=pingcheng)


def industry(slug, name, sort_order=0) -> Industry:
    row = Industry(slug=slug, name=name, sort_order=sort_order)
    db.session.add(row)
    db.session.flush()
    return row


def counts(found: Match) -> tuple[int, int, int]:
    return len(found.met), len(found.unmet), len(found.unknown)


NO_REGIONS: dict = {}


# --- evaluate ---------------------------------------------------------------------------

def test_unanswered_criteria_lower_the_score_but_do_not_disqualify(ctx):
    policy = factories.policy(eligibility=[
        rule("industry", "in", ["new-energy", "hydrogen"]),
        rule("investment_wan", "gte", 5000),
        rule("size", "in", ["small", "medium"]),
    ])
    found = evaluate(policy, Profile(industry="new-energy", investment_wan=6000), NO_REGIONS)
    assert counts(found) == (2, 0, 1)
    assert found.score == 67  # 100 × 2/3 = 66.7
    assert found.qualifies and not found.automatic
    assert found.met == ["产业符合：new-energy", "投资额符合：6,000 万元"]
    assert found.unknown == ["企业规模须为小型企业或中型企业（您未填写）"]


def test_one_unmet_criterion_disqualifies_and_says_what_is_missing(ctx):
    policy = factories.policy(eligibility=[
        rule("industry", "in", ["new-energy"]),
        rule("investment_wan", "gte", 5000),
        rule("size", "in", ["small", "medium"]),
    ])
    found = evaluate(policy, Profile(industry="new-energy", investment_wan=3000), NO_REGIONS)
    assert counts(found) == (1, 1, 1)
    assert found.score == 33
    assert not found.qualifies
    assert found.unmet == ["投资额须不低于 5,000 万元（您填写 3,000 万元）"]


def test_score_rounds_halves_up(ctx):
    others = ["region", "investor_type", "stage", "size"]
    policy = factories.policy(eligibility=[
        rule("industry", "in", ["new-energy"]),
        *[rule(name, "in", ["x"]) for name in others],
        rule("investment_wan", "gte", 1), rule("employees", "gte", 1),
        rule("revenue_wan", "gte", 1),
    ])
    found = evaluate(policy, Profile(industry="new-energy"), NO_REGIONS)
    assert counts(found) == (1, 0, 7)
    assert found.score == 13  # 12.5 rounds up, not to the even 12


def test_nothing_met_does_not_qualify(ctx):
    policy = factories.policy(eligibility=[rule("stage", "in", ["listing"])])
    found = evaluate(policy, Profile(), NO_REGIONS)
    assert counts(found) == (0, 0, 1)
    assert found.score == 0 and not found.qualifies


def test_every_operator(ctx):
    policy = factories.policy(eligibility=[
        rule("investor_type", "not_in", ["foreign", "hmt"]),
        rule("stage", "eq", "new"),
        rule("years_registered", "lte", 3),
        rule("employees", "gte", 10),
        rule("revenue_wan", "eq", 100),
    ])
    profile = Profile(investor_type="domestic", stage="expansion", years_registered=2,
                      employees=10, revenue_wan=100.0)
    found = evaluate(policy, profile, NO_REGIONS)
    assert counts(found) == (4, 1, 0)
    assert found.score == 80
    assert found.met == ["投资主体符合：内资企业", "注册年限符合：2 年", "从业人数符合：10 人",
                         "年营业收入符合：100 万元"]
    assert found.unmet == ["项目阶段须为新设或新落地项目（您填写 增资扩产）"]

    foreign = evaluate(policy, Profile(investor_type="hmt", years_registered=4), NO_REGIONS)
    assert foreign.unmet == [
        "投资主体不能为外商投资企业或港澳台投资企业（您填写 港澳台投资企业）",
        "注册年限须不超过 3 年（您填写 4 年）",
    ]


def test_labels_from_the_data_name_the_requirement(ctx):
    policy = factories.policy(eligibility=[
        rule("industry", "in", ["new-energy"], label="工业类项目"),
        rule("investment_wan", "gte", 10000, label="固定资产投资1亿元以上"),
        rule("stage", "in", ["new", "expansion"], label="新建或扩建项目"),
    ])
    found = evaluate(policy, Profile(industry="new-energy", investment_wan=5000), NO_REGIONS,
                     names={"industry": {"new-energy": "新能源"}})
    assert found.met == ["符合“工业类项目”：新能源"]
    assert found.unmet == ["固定资产投资1亿元以上：投资额须不低于 10,000 万元（您填写 5,000 万元）"]
    assert found.unknown == ["新建或扩建项目：项目阶段须为新设或新落地项目或增资扩产（您未填写）"]


def test_benefit_mode_automatic_is_flagged(ctx):
    policy = factories.policy(benefit_mode="automatic",
                              eligibility=[rule("size", "in", ["small"])])
    found = evaluate(policy, Profile(size="small"), NO_REGIONS)
    assert found.automatic and found.qualifies and found.score == 100
    instant = factories.policy("p-2", benefit_mode="instant",
                               eligibility=[rule("size", "in", ["small"])])
    assert not evaluate(instant, Profile(size="small"), NO_REGIONS).automatic


def test_criteria_that_cannot_be_evaluated_are_skipped_and_logged(app, ctx, caplog, monkeypatch):
    # app.logger is the process-wide "portal" logger; another test may have disabled it.
    monkeypatch.setattr(app.logger, "disabled", False)
    policy = factories.policy(eligibility=[
        rule("industry", "gte", 3),
        rule("investment_wan", "gte", "a lot"),
        rule("colour", "in", ["red"]),
        rule("size", "in", []),
        rule("size", "in", ["small"]),
    ])
    with caplog.at_level(logging.WARNING):
        found = evaluate(policy, Profile(industry="x", investment_wan=1, size="small"),
                         NO_REGIONS)
    assert counts(found) == (1, 0, 0) and found.score == 100
    assert caplog.text.count("cannot evaluate criterion") == 4


# --- regions ----------------------------------------------------------------------------

def test_region_ancestry_from_one_query(ctx):
    datong_regions()
    assert region_ancestry() == {
        "shanxi": [],
        "datong": ["shanxi"],
        "pingcheng": ["datong", "shanxi"],
        "yungang": ["datong", "shanxi"],
        "datong-edz": ["pingcheng", "datong", "shanxi"],
    }


def test_a_zone_qualifies_for_policies_of_the_areas_around_it(ctx):
    datong_regions()
    ancestry = region_ancestry()
    names = {"region": {"datong": "大同市", "datong-edz": "大同经开区"}}
    city_wide = factories.policy(eligibility=[rule("region", "in", ["datong"])])
    found = evaluate(city_wide, Profile(region="datong-edz"), ancestry, names)
    assert found.qualifies and found.met == ["所在地区符合：大同经开区（位于大同市）"]

    neighbour = factories.policy("p-2", eligibility=[rule("region", "in", ["yungang"])])
    assert not evaluate(neighbour, Profile(region="datong-edz"), ancestry).qualifies
    # Ancestry only climbs: a city-level company is not inside one of its districts.
    assert not evaluate(neighbour, Profile(region="datong"), ancestry).qualifies

    outside = factories.policy("p-3", eligibility=[rule("region", "not_in", ["pingcheng"])])
    found = evaluate(outside, Profile(region="datong-edz"), ancestry)
    assert found.unmet == ["所在地区不能为pingcheng（您填写 datong-edz）"]


def test_ancestry_may_be_a_function(ctx):
    policy = factories.policy(eligibility=[rule("region", "eq", "datong")])
    found = evaluate(policy, Profile(region="edz"), lambda slug: ["datong"])
    assert found.qualifies and found.score == 100


# --- match ------------------------------------------------------------------------------

def test_match_ranks_qualifying_policies_and_lists_near_misses(ctx):
    datong_regions()
    energy = [rule("industry", "in", ["new-energy"])]
    factories.policy("full", published=date(2025, 1, 1),
                     eligibility=energy + [rule("region", "in", ["datong"])])
    factories.policy("half-old", published=date(2024, 1, 1),
                     eligibility=energy + [rule("size", "in", ["small"])])
    factories.policy("half-new", published=date(2025, 6, 1), benefit_mode="automatic",
                     eligibility=energy + [rule("employees", "gte", 50)])
    factories.policy("near", eligibility=energy + [rule("investment_wan", "gte", 10000)])
    factories.policy("far", eligibility=[rule("industry", "in", ["hydrogen"]),
                                         rule("region", "in", ["yungang"])])
    factories.policy("other-industry", eligibility=[rule("industry", "in", ["hydrogen"])])
    factories.policy("expired", status="expired", eligibility=energy)
    factories.policy("draft", status="draft", eligibility=energy)
    factories.policy("lapsed", effective_to=date(2020, 12, 31), eligibility=energy)
    factories.policy("no-criteria")

    result = match(Profile(industry="new-energy", region="datong-edz", investment_wan=3000))

    assert [(m.policy.key, m.score) for m in result.items] == [
        ("full", 100), ("half-new", 50), ("half-old", 50)]
    assert [m.automatic for m in result.items] == [False, True, False]
    # "far" misses two criteria, so it is in neither list; "other-industry" misses its only
    # criterion, and a policy that nothing speaks for is no near miss.
    assert [(m.policy.key, m.score) for m in result.near] == [("near", 50)]
    assert result.near[0].unmet == ["投资额须不低于 10,000 万元（您填写 3,000 万元）"]
    assert result.considered == 6


def test_match_without_near_misses(ctx):
    factories.policy("near", eligibility=[rule("stage", "in", ["rnd"])])
    result = match(Profile(stage="new"), include_near=False)
    assert result.items == [] and result.near == [] and result.considered == 1


def test_match_shows_names_not_slugs(ctx):
    industry("new-energy", "新能源")
    factories.policy(eligibility=[rule("industry", "in", ["new-energy"])])
    result = match(Profile(industry="new-energy"))
    assert result.items[0].met == ["产业符合：新能源"]


# --- profile_from_mapping ---------------------------------------------------------------

def test_profile_from_a_valid_mapping(ctx):
    datong_regions()
    industry("new-energy", "新能源")
    profile, errors = profile_from_mapping({
        "industry": "new-energy", "region": "datong-edz", "investor_type": "foreign",
        "stage": "new", "size": "", "investment_wan": 12000.5, "employees": 80,
        "revenue_wan": None, "years_registered": 0,
    })
    assert errors == {}
    assert profile == Profile(industry="new-energy", region="datong-edz",
                              investor_type="foreign", stage="new", investment_wan=12000.5,
                              employees=80, years_registered=0)


def test_profile_from_mapping_reports_every_bad_field(ctx):
    industry("new-energy", "新能源")
    profile, errors = profile_from_mapping({
        "industry": "spaceships", "region": "atlantis", "investor_type": "martian",
        "stage": 3, "investment_wan": "5000", "employees": 1.5, "revenue_wan": -1,
        "years_registered": True, "investment": 5000,
    })
    assert profile == Profile()
    assert set(errors) == {"industry", "region", "investor_type", "stage", "investment_wan",
                           "employees", "revenue_wan", "years_registered", "investment"}
    assert errors["industry"] == ("没有代码为“spaceships”的产业；使用 /api/v1/industries "
                                  "列出的产业代码，如 new-energy")
    assert errors["investor_type"] == "投资主体须为以下之一：domestic, foreign, hmt"
    assert errors["investment_wan"] == "投资额须为不小于 0 的数字，如 5000"
    assert errors["employees"] == "从业人数须为不小于 0 的整数，如 120"
    assert errors["investment"].startswith("删除此字段；可用字段：industry, region")


def test_profile_from_mapping_needs_an_object(ctx):
    profile, errors = profile_from_mapping(["new-energy"])
    assert profile == Profile() and list(errors) == ["profile"]


# --- the form ---------------------------------------------------------------------------

@pytest.fixture
def form_for(app):
    def build(**args):
        with app.test_request_context("/zh/policies/match", query_string=args):
            datong_regions()
            industry("new-energy", "新能源")
            form = MatchForm.from_database(MultiDict(args))
            return form, form.validate()

    return build


def test_form_reads_a_profile(ctx, form_for):
    form, valid = form_for(industry="new-energy", region="datong-edz", stage="new",
                           investment_wan="12000", revenue_wan="1.5", employees="80",
                           years_registered="", size="")
    assert valid, form.errors
    assert form.to_profile() == Profile(industry="new-energy", region="datong-edz", stage="new",
                                        investment_wan=12000, revenue_wan=1.5, employees=80)
    assert [(c.value, c.optgroup) for c in form.region.choices] == [
        ("", None), ("pingcheng", "区、县"), ("yungang", "区、县"), ("datong-edz", "开发区")]


def test_form_messages_say_what_to_enter(ctx, form_for):
    form, valid = form_for(industry="spaceships", investment_wan="五千", employees="-3",
                           revenue_wan="Infinity", years_registered="1.5")
    assert not valid
    assert {name: [str(e) for e in errors] for name, errors in form.errors.items()} == {
        "industry": ["从列表中选择产业，或选择“未填写”"],
        "investment_wan": ["输入投资额，单位万元，如 5000"],
        "employees": ["输入从业人数，用整数，如 120"],
        "revenue_wan": ["输入年营业收入，单位万元，如 20000"],
        "years_registered": ["输入注册年限，用整年数，如 3"],
    }


def test_blank_form_is_an_empty_profile(ctx, form_for):
    form, valid = form_for()
    assert valid and form.to_profile() == Profile()


# --- the Datong pack --------------------------------------------------------------------

def test_datong_foreign_new_energy_company_in_the_edz(site_db):
    profile = Profile(industry="new-energy", region="datong-edz", investor_type="foreign",
                      stage="new", investment_wan=12000)
    with site_db():
        result = match(profile)
    scores = {m.policy.key: m.score for m in result.items}
    # demo-004 and demo-028 (foreign investment), demo-003 (≥1亿元, new project),
    # demo-044 (the EDZ's own policy), demo-001 (industrial land for new energy).
    assert {"demo-001", "demo-003", "demo-004", "demo-028", "demo-044"} <= set(scores)
    assert scores["demo-003"] == 100
    # 平城区's headquarters reward: the EDZ lies in 平城区, revenue was not given.
    assert scores["demo-040"] == 50
    # Expired and draft policies stay out, however well they fit.
    assert not {"demo-012", "demo-039", "demo-041", "demo-042"} & set(scores)
    # The EDZ's equipment policy wants another industry: one step away.
    near = {m.policy.key: m.unmet for m in result.near}
    assert near["demo-045"] == [
        "高端装备及低空装备：产业须为高端装备制造或低空经济（您填写 新能源）"]
