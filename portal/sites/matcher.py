"""载体匹配: which land parcels and carriers fit an investor's project, and why.

Areas are quoted as each kind is sold: parcels in 亩 (``area_mu``), carriers (factories,
offices, warehouses, incubators) in m² of floor area (``floor_area_m2``); ``min_area`` and
``max_area`` follow the same rule, as the site list's filter does.

Hard requirements decide whether a site is listed at all: the kinds asked for, the land use
when given, the regions when given (a listed region includes every region below it, so a
county takes in its development zones), every ``must_have`` readiness item, the area range
when given, and an availability other than ``taken``. All but the readiness items are
pushed into the one SQL query; readiness is a JSON list, checked in Python.

Soft requirements score the listed sites. Each criterion that counts for a site has a
weight ``w`` and earns a fraction ``f`` between 0 and 1:

    criterion       w   counts for   counts when                       f
    area           15   carriers     floor_area_m2 given               1 if floor area ≥ it
    price          20   parcels      max_land_price_wan_per_mu given   1 if land price ≤ it
                        carriers     max_rent_yuan_m2_month given      1 if rent ≤ it
    power          15   all          power_kva given                   1 if power_kva ≥ it
    floor_load     10   carriers     floor_load_kn_m2 given            1 if floor load ≥ it
    ceiling_height 10   carriers     ceiling_height_m given            1 if ceiling ≥ it
    readiness      10   all          always                            items present / items
    standard_land  20   parcels      an indicator could be judged      passed / judged

A yes-or-no criterion earns 0 when the site does not state the figure. Readiness counts the
eight 七通一平 items for parcels and seven for carriers (a built site is levelled already, so
``levelled`` is left out). A requirement the investor left blank counts for nothing, so the
score is renormalised over the criteria that count:

    score = ⌊100 × Σ w·f / Σ w + ½⌋   (halves round up; readiness always counts, so Σ w ≥ 10)

标准地 (standard land): a parcel that states control indicators is checked against the
project, using the parcel's own area (``MU_IN_M2`` = 666.6667 m² per 亩):

    亩均投资 investment_per_mu = investment_wan / area_mu            ≥ min_investment_wan_per_mu
    亩均税收 tax_per_mu        = tax_wan / area_mu                   ≥ min_tax_wan_per_mu
    容积率   plot_ratio        = floor_area_m2 / (area_mu × MU_IN_M2) within min/max_plot_ratio
    单位能耗 energy_per_output = energy_t / output_wan                ≤ max_energy_t_per_wan

Values are compared after rounding to six decimals. An indicator the parcel does not state is
not listed; one whose project inputs are missing (or whose divisor is 0) is listed with
``passed=None`` and is not judged. The building coverage (建筑系数) is not checked: it needs
the building footprint, which the investor is not asked for.

Sites are ranked by score, then key. Scoring works on plain rows of the needed columns and
only the ``limit`` best sites are loaded as models and explained in words, so 10,000 sites
take a few tens of milliseconds.
"""

import functools
import heapq
import json
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field

from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.i18n import format_number
from portal.labels import LABELS
from portal.models import LAND_USES, READINESS_ITEMS, SITE_KINDS, Industry, Region, Site
from portal.models.sites import MU_IN_M2

WEIGHTS = {"area": 15, "price": 20, "power": 15, "floor_load": 10, "ceiling_height": 10,
           "readiness": 10, "standard_land": 20}
PARCEL_READINESS = READINESS_ITEMS
CARRIER_READINESS = tuple(item for item in READINESS_ITEMS if item != "levelled")
INDICATORS = ("investment_per_mu", "tax_per_mu", "plot_ratio", "energy_per_output")

NUMBER_FIELDS = ("min_area", "max_area", "max_land_price_wan_per_mu", "max_rent_yuan_m2_month",
                 "power_kva", "floor_load_kn_m2", "ceiling_height_m", "investment_wan",
                 "floor_area_m2", "tax_wan", "energy_t", "output_wan")
LIST_CHOICES = {"kinds": SITE_KINDS, "must_have": READINESS_ITEMS}

FIELD_LABELS = {
    "kinds": _l("载体类型"),
    "industry": _l("产业"),
    "land_use": _l("用地性质"),
    "regions": _l("所在地区"),
    "min_area": _l("最小面积"),
    "max_area": _l("最大面积"),
    "max_land_price_wan_per_mu": _l("土地价格上限"),
    "max_rent_yuan_m2_month": _l("租金上限"),
    "power_kva": _l("用电容量"),
    "floor_load_kn_m2": _l("楼面荷载"),
    "ceiling_height_m": _l("层高"),
    "must_have": _l("必须具备的配套"),
    "investment_wan": _l("计划投资额"),
    "floor_area_m2": _l("计划建筑面积"),
    "tax_wan": _l("预计年税收"),
    "energy_t": _l("年综合能耗"),
    "output_wan": _l("预计年产值"),
}
_EXAMPLES = {"min_area": 50, "max_area": 150, "max_land_price_wan_per_mu": 15,
             "max_rent_yuan_m2_month": 12, "power_kva": 2000, "floor_load_kn_m2": 10,
             "ceiling_height_m": 8, "investment_wan": 30000, "floor_area_m2": 60000,
             "tax_wan": 1500, "energy_t": 3000, "output_wan": 50000,
             "kinds": '["parcel", "factory"]', "must_have": '["power", "road"]',
             "regions": '["datong-edz"]'}
# Beyond any real site or project; a larger figure is a typo or a wrong unit (元 for 万元),
# and answering it would only compare and print absurd numbers.
MAXIMA = {"min_area": 100_000_000, "max_area": 100_000_000,
          "max_land_price_wan_per_mu": 1_000_000, "max_rent_yuan_m2_month": 1_000_000,
          "power_kva": 100_000_000, "floor_load_kn_m2": 10_000, "ceiling_height_m": 1000,
          "investment_wan": 1_000_000_000, "floor_area_m2": 1_000_000_000,
          "tax_wan": 1_000_000_000, "energy_t": 1_000_000_000, "output_wan": 1_000_000_000}
# The smallest yearly output (100 元) the energy ratio divides by, which keeps it finite.
MIN_OUTPUT_WAN = 0.01

# Soft criteria in words: (met, unmet, not stated by the site), with %(have)s and %(need)s.
MESSAGES = {
    "area": (_l("建筑面积 %(have)s 平方米，满足需求 %(need)s 平方米"),
             _l("建筑面积 %(have)s 平方米，小于需求 %(need)s 平方米"), None),
    "land_price": (_l("土地价格 %(have)s 万元/亩，在预算 %(need)s 万元/亩以内"),
                   _l("土地价格 %(have)s 万元/亩，超出预算 %(need)s 万元/亩"),
                   _l("未标明土地价格，请向联系人询价")),
    "rent": (_l("租金 %(have)s 元/平方米·月，在预算 %(need)s 元以内"),
             _l("租金 %(have)s 元/平方米·月，超出预算 %(need)s 元"),
             _l("未标明租金，请向联系人询价")),
    "power": (_l("供电容量 %(have)s kVA，满足需求 %(need)s kVA"),
              _l("供电容量 %(have)s kVA，低于需求 %(need)s kVA"),
              _l("未标明供电容量，请向联系人确认能否提供 %(need)s kVA")),
    "floor_load": (_l("楼面荷载 %(have)s kN/m²，满足需求 %(need)s kN/m²"),
                   _l("楼面荷载 %(have)s kN/m²，低于需求 %(need)s kN/m²"),
                   _l("未标明楼面荷载，请向联系人确认能否达到 %(need)s kN/m²")),
    "ceiling_height": (_l("层高 %(have)s 米，满足需求 %(need)s 米"),
                       _l("层高 %(have)s 米，低于需求 %(need)s 米"),
                       _l("未标明层高，请向联系人确认能否达到 %(need)s 米")),
}
INDICATOR_LABELS = {
    "investment_per_mu": _l("亩均投资"),
    "tax_per_mu": _l("亩均税收"),
    "plot_ratio": _l("容积率"),
    "energy_per_output": _l("单位能耗"),
}
# How an indicator's figure reads, with its unit; the plot ratio has none.
INDICATOR_UNITS = {
    "investment_per_mu": (_l("万元/亩"), _l("%(n)s 万元/亩")),
    "tax_per_mu": (_l("万元/亩"), _l("%(n)s 万元/亩")),
    "plot_ratio": ("", "%(n)s"),
    "energy_per_output": (_l("吨标煤/万元"), _l("%(n)s 吨标煤/万元")),
}

# Phrases around the figures, keyed for ``_Words``.
PHRASES = {
    "all_ready_parcel": _l("七通一平已全部具备"),
    "all_ready": _l("配套已全部具备：%(items)s"),
    "some_ready": _l("已具备 %(n)d/%(total)d 项配套：%(items)s"),
    "not_ready": _l("尚未具备：%(items)s"),
    "indicator_met": _l("%(indicator)s %(value)s，符合标准地要求（%(required)s）"),
    "indicator_low": _l("%(indicator)s %(value)s，低于标准地要求的 %(min)s"),
    "indicator_high": _l("%(indicator)s %(value)s，高于标准地要求的 %(max)s"),
    "between": _l("%(min)s 至 %(max)s"),
    "at_least": _l("不低于 %(min)s"),
    "at_most": _l("不高于 %(max)s"),
}

# What scoring reads of a site, by position: rows of one query for the ranking, the same
# tuple built from a model (``_facts``) for explaining. Indexing a tuple is ten times faster
# than an attribute of a row, which is what keeps 10,000 sites well under 100 ms.
FACTS = ("kind", "area_mu", "floor_area_m2", "land_price_wan_per_mu", "rent_yuan_m2_month",
         "power_kva", "floor_load_kn_m2", "ceiling_height_m", "min_investment_wan_per_mu",
         "min_tax_wan_per_mu", "min_plot_ratio", "max_plot_ratio", "max_energy_t_per_wan")
_AT = {name: i for i, name in enumerate(FACTS)}
_KIND = _AT["kind"]
_STANDARD = operator.itemgetter(*(_AT[name] for name in (
    "area_mu", "min_investment_wan_per_mu", "min_tax_wan_per_mu", "min_plot_ratio",
    "max_plot_ratio", "max_energy_t_per_wan")))
# After the facts, a scoring row holds the readiness as its JSON text (the lists repeat, so
# each distinct one is parsed once), the key and the id.
_SCORED = (*(getattr(Site, name) for name in FACTS),
           db.cast(Site.readiness, db.Text).label("readiness_json"), Site.key, Site.id)
_READINESS, _KEY, _ID = len(FACTS), len(FACTS) + 1, len(FACTS) + 2


@dataclass
class Requirements:
    """What an investor looks for; ``None`` or an empty list means not answered.

    ``min_area``/``max_area`` are in 亩 for parcels and m² of floor area for carriers.
    ``regions`` are slugs; each takes in the regions below it. ``floor_area_m2`` is the
    project's planned floor area: a carrier must offer at least that much, and on a parcel
    it gives the plot ratio. ``industry`` is informational.
    """

    kinds: list[str] = field(default_factory=list)
    industry: str | None = None
    land_use: str | None = None
    regions: list[str] = field(default_factory=list)
    min_area: float | None = None
    max_area: float | None = None
    max_land_price_wan_per_mu: float | None = None  # parcels, 万元/亩
    max_rent_yuan_m2_month: float | None = None  # carriers, 元/m²/月
    power_kva: float | None = None
    floor_load_kn_m2: float | None = None  # carriers only: a parcel is built to suit
    ceiling_height_m: float | None = None  # carriers only
    must_have: list[str] = field(default_factory=list)
    investment_wan: float | None = None  # planned investment, 万元
    floor_area_m2: float | None = None  # planned floor area, m²
    tax_wan: float | None = None  # expected tax a year, 万元
    energy_t: float | None = None  # energy use a year, 吨标煤
    output_wan: float | None = None  # expected output value a year, 万元


@dataclass
class IndicatorCheck:
    """One 标准地 indicator: the parcel's bound against the project's figure."""

    name: str  # one of INDICATORS
    required: str  # the bound in words, e.g. "不低于 300 万元/亩"
    value: float | None  # the project's figure, unrounded; None when inputs are missing
    passed: bool | None  # None when not judged
    unit: str  # "" for the plot ratio
    label: str = ""
    minimum: float | None = None
    maximum: float | None = None


@dataclass
class SiteMatch:
    """A listed site: it meets every hard requirement; the score weighs the soft ones."""

    site: Site
    score: int
    reasons: list[str] = field(default_factory=list)  # soft requirements met
    unmet: list[str] = field(default_factory=list)  # soft requirements missed
    standard_land: list[IndicatorCheck] = field(default_factory=list)


def match(req: Requirements, limit: int | None = 50) -> list[SiteMatch]:
    """The sites that pass every hard requirement, best score first, then by key; at most
    ``limit`` of them (``None``: all).

    One query filters and reads the scoring columns (after one that lists the regions, when
    regions are asked for); one more loads the sites that are returned, with their regions.
    """
    stmt = db.select(*_SCORED).where(Site.availability != "taken")
    if req.kinds:
        stmt = stmt.where(Site.kind.in_(req.kinds))
    if req.land_use:
        stmt = stmt.where(Site.land_use == req.land_use)
    if req.regions:
        stmt = stmt.where(Site.region_id.in_(region_ids(req.regions)))
    area = db.case((Site.kind == "parcel", Site.area_mu), else_=Site.floor_area_m2)
    if req.min_area is not None:
        stmt = stmt.where(area >= req.min_area)
    if req.max_area is not None:
        stmt = stmt.where(area <= req.max_area)

    must, scorer, parsed = set(req.must_have), _Scorer(req), {}
    ranked = []
    # Core execution: rows of plain columns need none of the ORM's loading machinery.
    for row in db.session.connection().execute(stmt):
        text = row[_READINESS]
        readiness = parsed.get(text)
        if readiness is None:
            readiness = parsed[text] = tuple(json.loads(text or "[]"))
        if must.issubset(readiness):
            ranked.append((-scorer.score(row, readiness), row[_KEY], row[_ID]))
    best = sorted(ranked) if limit is None else heapq.nsmallest(limit, ranked)
    ids = [site_id for _rank, _key, site_id in best]
    sites = {site.id: site for site in db.session.scalars(
        db.select(Site).where(Site.id.in_(ids)).options(selectinload(Site.region)))}
    words = _Words()
    return [_explain(sites[site_id], scorer, words) for site_id in ids]


def explain(site: Site, req: Requirements) -> SiteMatch:
    """Score one site and say why; does not apply the hard requirements."""
    return _explain(site, _Scorer(req), _Words())


def standard_land(site: Site, req: Requirements) -> list[IndicatorCheck]:
    """The 标准地 indicators the parcel states, judged against the project."""
    return _standard_land(site, req, _Words())


def _explain(site: Site, scorer: "_Scorer", words: "_Words") -> SiteMatch:
    facts, readiness = _facts(site), tuple(site.readiness or ())
    found = SiteMatch(site, scorer.score(facts, readiness),
                      standard_land=_standard_land(site, scorer.req, words))
    for code, fraction, have, need in scorer.parts(facts, readiness):
        if code == "readiness":
            _say_readiness(site, have, need, found, words)
        elif code == "standard_land":
            _say_standard_land(found.standard_land, found, words)
        else:
            met, unmet, unstated = words.messages[code]
            if have is None:
                found.unmet.append(unstated % {"need": words.number(need)})
            else:
                (found.reasons if fraction else found.unmet).append(
                    (met if fraction else unmet)
                    % {"have": words.number(have), "need": words.number(need)})
    return found


def _standard_land(site: Site, req: Requirements, words: "_Words") -> list[IndicatorCheck]:
    checks = []
    for name, minimum, maximum, value, passed in _indicators(_facts(site), req):
        checks.append(IndicatorCheck(
            name=name, required=_bound(name, minimum, maximum, words), value=value,
            passed=passed, unit=words.units[name][0], label=words.indicators[name],
            minimum=minimum, maximum=maximum))
    return checks


def region_ids(slugs: list[str]) -> set[int]:
    """The ids of the named regions and of every region below them, from one query."""
    rows = db.session.execute(db.select(Region.id, Region.slug, Region.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row.id)
    wanted = set(slugs)
    found, todo = set(), [row.id for row in rows if row.slug in wanted]
    while todo:
        region_id = todo.pop()
        if region_id not in found:
            found.add(region_id)
            todo.extend(children.get(region_id, ()))
    return found


def requirements_from_mapping(data) -> tuple[Requirements, dict[str, str]]:
    """Read requirements from decoded JSON; blank, null and empty lists mean not answered.

    Returns the requirements and a message per bad field; unknown keys are errors too, so a
    misspelt field is not silently ignored.
    """
    if not isinstance(data, Mapping):
        example = '{"kinds": ["parcel"], "power_kva": 2000}'
        return Requirements(), {"requirements": _("发送一个 JSON 对象，如 %(example)s",
                                                  example=example)}
    errors = {key: _("删除此字段；可用字段：%(fields)s", fields=", ".join(FIELD_LABELS))
              for key in data if key not in FIELD_LABELS}
    values = {}
    for name in FIELD_LABELS:
        raw = data.get(name)
        if raw is None or raw == "" or (raw == [] and name not in NUMBER_FIELDS):
            continue
        if name in NUMBER_FIELDS:
            value, error = _read_number(name, raw)
        elif name in ("kinds", "must_have", "regions"):
            value, error = _read_list(name, raw)
        else:
            value, error = _read_text(name, raw)
        if error:
            errors[name] = error
        elif value is not None:
            values[name] = value
    if values.get("regions"):
        known = set(db.session.scalars(
            db.select(Region.slug).where(Region.slug.in_(values["regions"]))))
        unknown = [slug for slug in values["regions"] if slug not in known]
        if unknown:
            del values["regions"]
            errors["regions"] = _("没有代码为“%(value)s”的地区；使用 %(path)s 列出的地区代码",
                                  value=", ".join(unknown), path="/api/v1/regions")
    if "industry" in values and not db.session.scalar(
            db.select(Industry.id).where(Industry.slug == values["industry"])):
        errors["industry"] = _unknown_industry(values.pop("industry"))
    low, high = values.get("min_area"), values.get("max_area")
    if low is not None and high is not None and high < low:
        del values["max_area"]
        errors["max_area"] = _("最大面积须不小于最小面积 %(min)s", min=format_number(low))
    return Requirements(**values), errors


# --- scoring ----------------------------------------------------------------------------

class _Scorer:
    """The soft criteria of one request, sorted out once and applied to many sites."""

    def __init__(self, req: Requirements):
        self.req = req
        # code, position of the site's figure, weight, need, whether the need is a ceiling
        power = ("power", _AT["power_kva"], WEIGHTS["power"], req.power_kva, False)
        parcel = [("land_price", _AT["land_price_wan_per_mu"], WEIGHTS["price"],
                   req.max_land_price_wan_per_mu, True), power]
        carrier = [("area", _AT["floor_area_m2"], WEIGHTS["area"], req.floor_area_m2, False),
                   ("rent", _AT["rent_yuan_m2_month"], WEIGHTS["price"],
                    req.max_rent_yuan_m2_month, True),
                   power,
                   ("floor_load", _AT["floor_load_kn_m2"], WEIGHTS["floor_load"],
                    req.floor_load_kn_m2, False),
                   ("ceiling_height", _AT["ceiling_height_m"], WEIGHTS["ceiling_height"],
                    req.ceiling_height_m, False)]
        self.checks = {"parcel": [c for c in parcel if c[3] is not None],
                       "carrier": [c for c in carrier if c[3] is not None]}
        self.project = any(v is not None for v in (req.investment_wan, req.tax_wan,
                                                   req.floor_area_m2, req.energy_t))

    def score(self, facts, readiness: tuple) -> int:
        """``⌊100 × Σ w·f / Σ w + ½⌋`` over the criteria that count for the site."""
        parcel = facts[_KIND] == "parcel"
        possible = WEIGHTS["readiness"]
        earned = possible * _readiness(parcel, readiness)[0]
        for _code, at, weight, need, at_most in self.checks["parcel" if parcel else "carrier"]:
            possible += weight
            if _meets(facts[at], need, at_most):
                earned += weight
        if parcel and self.project:
            fraction = _standard_land_fraction(facts, self.req)
            if fraction is not None:
                possible += WEIGHTS["standard_land"]
                earned += WEIGHTS["standard_land"] * fraction
        return math.floor(round(100 * earned / possible, 9) + 0.5)

    def parts(self, facts, readiness: tuple) -> list[tuple]:
        """The criteria ``score`` weighs, in order, as ``(code, fraction, have, need)``."""
        parcel = facts[_KIND] == "parcel"
        parts = []
        for code, at, _weight, need, at_most in self.checks["parcel" if parcel else "carrier"]:
            parts.append((code, 1 if _meets(facts[at], need, at_most) else 0, facts[at], need))
        parts.append(("readiness", *_readiness(parcel, readiness)))
        if parcel and self.project:
            fraction = _standard_land_fraction(facts, self.req)
            if fraction is not None:
                parts.append(("standard_land", fraction, None, None))
        return parts


def _facts(site: Site) -> tuple:
    return tuple(getattr(site, name) for name in FACTS)


def _meets(have, need, at_most: bool) -> bool:
    """A site that does not state the figure does not meet the need."""
    return have is not None and (have <= need if at_most else have >= need)


@functools.lru_cache(maxsize=512)
def _readiness(parcel: bool, present: tuple) -> tuple[float, tuple, tuple]:
    """The share of the kind's readiness items present, those present, those missing."""
    items = PARCEL_READINESS if parcel else CARRIER_READINESS
    done = tuple(item for item in items if item in present)
    missing = tuple(item for item in items if item not in present)
    return len(done) / len(items), done, missing


def _standard_land_fraction(facts, req: Requirements) -> float | None:
    """Indicators passed over indicators judged; None when none could be judged."""
    judged = passed = 0
    for check in _indicators(facts, req):
        if check[4] is not None:
            judged += 1
            passed += check[4]
    return passed / judged if judged else None


def _indicators(facts, req: Requirements) -> list[tuple]:
    """``(name, minimum, maximum, value, passed)`` for each indicator the parcel states."""
    if facts[_KIND] != "parcel":
        return []
    area, min_investment, min_tax, min_ratio, max_ratio, max_energy = _STANDARD(facts)
    checks = []
    if min_investment is not None:
        checks.append(_check("investment_per_mu", min_investment, None,
                             req.investment_wan, area))
    if min_tax is not None:
        checks.append(_check("tax_per_mu", min_tax, None, req.tax_wan, area))
    if min_ratio is not None or max_ratio is not None:
        checks.append(_check("plot_ratio", min_ratio, max_ratio,
                             req.floor_area_m2, (area or 0) * MU_IN_M2))
    if max_energy is not None:
        checks.append(_check("energy_per_output", None, max_energy,
                             req.energy_t, req.output_wan))
    return checks


def _check(name: str, minimum, maximum, top, bottom) -> tuple:
    """The project's figure is ``top / bottom``; not judged without both or with a 0."""
    if top is None or not bottom:
        return name, minimum, maximum, None, None
    value = top / bottom
    rounded = round(value, 6)
    passed = (minimum is None or rounded >= minimum) and (maximum is None or rounded <= maximum)
    return name, minimum, maximum, value, passed


# --- words ------------------------------------------------------------------------------

class _Words:
    """The message tables in the current language, and numbers as the locale writes them,
    looked up once per match rather than once per site: flask-babel finds the catalogue
    again on every call, which for fifty sites costs more than scoring thousands."""

    def __init__(self):
        self.locale = get_locale()
        self.phrases = {key: str(text) for key, text in PHRASES.items()}
        self.messages = {code: tuple(None if text is None else str(text) for text in texts)
                         for code, texts in MESSAGES.items()}
        self.readiness = {code: str(text) for code, text in LABELS["readiness"].items()}
        self.indicators = {name: str(text) for name, text in INDICATOR_LABELS.items()}
        self.units = {name: (str(unit), str(amount))
                      for name, (unit, amount) in INDICATOR_UNITS.items()}
        self._numbers: dict = {}

    def number(self, value) -> str:
        text = self._numbers.get(value)
        if text is None:
            text = self._numbers[value] = format_number(value)
        return text

    def amount(self, name: str, value) -> str:
        """An indicator's figure with its unit."""
        return self.units[name][1] % {"n": self.number(value)}

    def listed(self, items: tuple) -> str:
        return format_list([self.readiness[item] for item in items], locale=self.locale)


def _say_readiness(site, done: tuple, missing: tuple, found: SiteMatch, words: _Words) -> None:
    phrases = words.phrases
    if not missing:
        found.reasons.append(phrases["all_ready_parcel"] if site.kind == "parcel"
                             else phrases["all_ready"] % {"items": words.listed(done)})
        return
    if done:
        found.reasons.append(phrases["some_ready"] % {
            "n": len(done), "total": len(done) + len(missing), "items": words.listed(done)})
    found.unmet.append(phrases["not_ready"] % {"items": words.listed(missing)})


def _say_standard_land(checks: list[IndicatorCheck], found: SiteMatch, words: _Words) -> None:
    phrases = words.phrases
    for check in checks:
        if check.passed is None:
            continue
        said = {"indicator": check.label, "value": words.amount(check.name, check.value)}
        if check.passed:
            found.reasons.append(phrases["indicator_met"] % {**said, "required": check.required})
        elif check.minimum is not None and round(check.value, 6) < check.minimum:
            found.unmet.append(phrases["indicator_low"] % {
                **said, "min": words.amount(check.name, check.minimum)})
        else:
            found.unmet.append(phrases["indicator_high"] % {
                **said, "max": words.amount(check.name, check.maximum)})


def _bound(name: str, minimum, maximum, words: _Words) -> str:
    if minimum is not None and maximum is not None:
        return words.phrases["between"] % {"min": words.number(minimum),
                                           "max": words.amount(name, maximum)}
    if minimum is not None:
        return words.phrases["at_least"] % {"min": words.amount(name, minimum)}
    return words.phrases["at_most"] % {"max": words.amount(name, maximum)}


# --- reading JSON -----------------------------------------------------------------------

def too_large(name: str) -> str:
    """The message for a number over ``MAXIMA``, in the request's language."""
    return _("%(field)s不能超过 %(max)s，请核对数字和单位",
             field=FIELD_LABELS[name], max=format_number(MAXIMA[name]))


def too_small_output() -> str:
    return _("%(field)s须不小于 %(min)s 万元，如 %(example)s", field=FIELD_LABELS["output_wan"],
             min=format_number(MIN_OUTPUT_WAN), example=_EXAMPLES["output_wan"])


def _read_number(name: str, raw) -> tuple[float | None, str | None]:
    number = isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)
    if not number or raw < 0:
        return None, _("%(field)s须为不小于 0 的数字，如 %(example)s",
                       field=FIELD_LABELS[name], example=_EXAMPLES[name])
    if raw > MAXIMA[name]:
        return None, too_large(name)
    if name == "output_wan" and raw == 0:
        return None, _("%(field)s须大于 0，如 %(example)s",
                       field=FIELD_LABELS[name], example=_EXAMPLES[name])
    if name == "output_wan" and raw < MIN_OUTPUT_WAN:
        return None, too_small_output()
    return raw, None


def _read_list(name: str, raw) -> tuple[list[str] | None, str | None]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        return None, _("%(field)s须为字符串列表，如 %(example)s",
                       field=FIELD_LABELS[name], example=_EXAMPLES[name])
    values = list(dict.fromkeys(v.strip() for v in raw if v.strip()))
    choices = LIST_CHOICES.get(name)
    if choices and any(v not in choices for v in values):
        return None, _("%(field)s只能包含以下值：%(choices)s",
                       field=FIELD_LABELS[name], choices=", ".join(choices))
    return values or None, None


def _read_text(name: str, raw) -> tuple[str | None, str | None]:
    if name == "land_use":
        if raw not in LAND_USES:
            return None, _("%(field)s须为以下之一：%(choices)s",
                           field=FIELD_LABELS[name], choices=", ".join(LAND_USES))
        return raw, None
    if not isinstance(raw, str):
        return None, _unknown_industry(raw)
    return raw.strip() or None, None


def _unknown_industry(value) -> str:
    return _("没有代码为“%(value)s”的产业；使用 %(path)s 列出的产业代码，如 new-energy",
             value=value, path="/api/v1/industries")
