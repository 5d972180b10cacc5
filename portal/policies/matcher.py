"""政策匹配: which in-force policies an enterprise profile qualifies for.

The rules are data, as in OpenFisca: a policy's ``eligibility`` is a list of criteria
``{"field", "op", "value", "label"}`` (``seed/schema.py``), and this module only knows how the
five operators read over the nine profile fields. A new policy needs no code.

Each criterion ends up in one of three lists: met, unmet, or unknown (the profile left the
field blank). A policy qualifies when nothing is unmet and at least one criterion is met, so a
sparse profile still finds policies; the score ranks fuller matches first:

    score = round(100 × met / (met + unmet + unknown)), halves rounded up.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

from babel.lists import format_list
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import load_only

from portal.extensions import db
from portal.i18n import format_number
from portal.labels import LABELS
from portal.models import Industry, Policy, Region

# The values the Datong pack's criteria use; "domestic" is the answer no foreign-investment
# criterion accepts.
INVESTOR_TYPES = ("domestic", "foreign", "hmt")
STAGES = ("new", "expansion", "rnd", "listing")
SIZES = ("micro", "small", "medium", "large")
CHOICES = {"investor_type": INVESTOR_TYPES, "stage": STAGES, "size": SIZES}
SLUG_FIELDS = ("industry", "region")
NUMBER_FIELDS = ("investment_wan", "employees", "revenue_wan", "years_registered")
INTEGER_FIELDS = ("employees",)
OPS = ("in", "not_in", "gte", "lte", "eq")

FIELD_LABELS = {
    "industry": _l("产业"),
    "region": _l("所在地区"),
    "investor_type": _l("投资主体"),
    "stage": _l("项目阶段"),
    "size": _l("企业规模"),
    "investment_wan": _l("投资额"),
    "employees": _l("从业人数"),
    "revenue_wan": _l("年营业收入"),
    "years_registered": _l("注册年限"),
}
VALUE_LABELS = {name: LABELS[name] for name in ("investor_type", "stage", "size")}
# How a number of each field reads, with its unit.
AMOUNTS = {
    "investment_wan": _l("%(n)s 万元"),
    "employees": _l("%(n)s 人"),
    "revenue_wan": _l("%(n)s 万元"),
    "years_registered": _l("%(n)s 年"),
}
_EXAMPLES = {"investment_wan": 5000, "employees": 120, "revenue_wan": 20000,
             "years_registered": 3}
# Beyond any real enterprise (10 万亿元, ten million staff): a larger figure is a typo or a
# wrong unit, and answering it would only compare and print absurd numbers.
MAXIMA = {"investment_wan": 1_000_000_000, "employees": 10_000_000,
          "revenue_wan": 1_000_000_000, "years_registered": 1000}

# slug → ancestor slugs, as a dict or a function.
Ancestry = Mapping[str, list[str]] | Callable[[str], list[str]]
# field ("industry", "region") → slug → display name.
Names = Mapping[str, Mapping[str, str]]


@dataclass
class Profile:
    """What an enterprise tells the matcher; ``None`` means not answered."""

    industry: str | None = None
    region: str | None = None
    investor_type: str | None = None
    stage: str | None = None
    size: str | None = None
    investment_wan: float | None = None
    employees: int | None = None
    revenue_wan: float | None = None
    years_registered: float | None = None

    def answered(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


@dataclass
class Match:
    policy: Policy
    score: int = 0
    met: list[str] = field(default_factory=list)
    unmet: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    qualifies: bool = False
    automatic: bool = False  # 免申即享: granted without an application


@dataclass
class MatchResult:
    profile: Profile
    items: list[Match]  # qualifying policies, best first
    near: list[Match]  # fail exactly one criterion and meet at least one, best first
    considered: int  # in-force policies with criteria that were evaluated


def region_ancestry() -> dict[str, list[str]]:
    """Every region's ancestors, nearest first, from one query."""
    rows = db.session.execute(db.select(Region.id, Region.slug, Region.parent_id)).all()
    slugs = {row.id: row.slug for row in rows}
    parents = {row.id: row.parent_id for row in rows}
    ancestry = {}
    for region_id, slug in slugs.items():
        chain, seen, parent = [], {region_id}, parents[region_id]
        while parent is not None and parent not in seen:
            chain.append(slugs[parent])
            seen.add(parent)
            parent = parents.get(parent)
        ancestry[slug] = chain
    return ancestry


def evaluate(policy: Policy, profile: Profile, region_ancestry: Ancestry,
             names: Names | None = None) -> Match:
    """Judge each of the policy's criteria against the profile.

    ``names`` gives display names for industry and region slugs; without it the reasons
    show slugs. Criteria that cannot be evaluated (a comparison on a slug, a value of the
    wrong type) are logged and left out of every count.
    """
    ancestors = _lookup(region_ancestry)
    found = Match(policy, automatic=policy.benefit_mode == "automatic")
    for criterion in policy.eligibility or []:
        _judge(criterion, profile, ancestors, names or {}, found)
    counted = len(found.met) + len(found.unmet) + len(found.unknown)
    found.score = math.floor(100 * len(found.met) / counted + 0.5) if counted else 0
    found.qualifies = not found.unmet and bool(found.met)
    return found


def match(profile: Profile, *, include_near: bool = True) -> MatchResult:
    """Evaluate every in-force policy that states criteria; rank by score, then newest."""
    # PostgreSQL's json type has no equality, so "has criteria" compares the stored text;
    # a JSON null passes that test and is dropped below.
    rows = db.session.scalars(
        db.select(Policy)
        .where(Policy.status == "in_force",
               db.or_(Policy.effective_to.is_(None), Policy.effective_to >= date.today()),
               db.cast(Policy.eligibility, db.Text) != "[]")
        .order_by(Policy.published.desc(), Policy.id.desc()))
    policies = [p for p in rows if p.eligibility]
    ancestry, names = region_ancestry(), _names()
    matches = [evaluate(p, profile, ancestry, names) for p in policies]
    # Sorting is stable, so equal scores keep the query's newest-first order.
    matches.sort(key=lambda m: m.score, reverse=True)
    return MatchResult(
        profile=profile,
        items=[m for m in matches if m.qualifies],
        near=[m for m in matches if len(m.unmet) == 1 and m.met] if include_near else [],
        considered=len(policies),
    )


def profile_from_mapping(data) -> tuple[Profile, dict[str, str]]:
    """Read a profile from decoded JSON; blank and null values mean not answered.

    Returns the profile and a message per bad field; unknown keys are errors too, so a
    misspelt field is not silently ignored.
    """
    if not isinstance(data, Mapping):
        return Profile(), {"profile": _("发送一个 JSON 对象，如 %(example)s",
                                        example='{"industry": "new-energy"}')}
    errors = {key: _("删除此字段；可用字段：%(fields)s", fields=", ".join(FIELD_LABELS))
              for key in data if key not in FIELD_LABELS}
    values = {}
    for name in FIELD_LABELS:
        raw = data.get(name)
        if raw is None or raw == "":
            continue
        value, error = _read_number(name, raw) if name in NUMBER_FIELDS else _read_text(name, raw)
        if error:
            errors[name] = error
        elif value is not None:
            values[name] = value
    for name, model in (("industry", Industry), ("region", Region)):
        if name in values and not db.session.scalar(
                db.select(model.id).where(model.slug == values[name])):
            errors[name] = _unknown_slug(name, values.pop(name))
    return Profile(**values), errors


def too_large(name: str) -> str:
    """The message for a number over ``MAXIMA``, in the request's language."""
    return _("%(field)s不能超过 %(max)s，请核对数字和单位",
             field=FIELD_LABELS[name], max=_show(name, MAXIMA[name], {}))


def _read_number(name: str, raw) -> tuple[float | int | None, str | None]:
    number = isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)
    if number and raw > MAXIMA[name]:
        return None, too_large(name)
    if name in INTEGER_FIELDS:
        if not number or raw < 0 or raw != int(raw):
            return None, _("%(field)s须为不小于 0 的整数，如 %(example)s",
                           field=FIELD_LABELS[name], example=_EXAMPLES[name])
        return int(raw), None
    if not number or raw < 0:
        return None, _("%(field)s须为不小于 0 的数字，如 %(example)s",
                       field=FIELD_LABELS[name], example=_EXAMPLES[name])
    return raw, None


def _read_text(name: str, raw) -> tuple[str | None, str | None]:
    if name in CHOICES:
        if raw not in CHOICES[name]:
            return None, _("%(field)s须为以下之一：%(choices)s",
                           field=FIELD_LABELS[name], choices=", ".join(CHOICES[name]))
        return raw, None
    if not isinstance(raw, str):
        return None, _unknown_slug(name, raw)
    return raw.strip() or None, None


def _unknown_slug(name: str, value) -> str:
    if name == "industry":
        return _("没有代码为“%(value)s”的产业；使用 %(path)s 列出的产业代码，如 new-energy",
                 value=value, path="/api/v1/industries")
    return _("没有代码为“%(value)s”的地区；使用 %(path)s 列出的地区代码",
             value=value, path="/api/v1/regions")


def _lookup(ancestry: Ancestry) -> Callable[[str], list[str]]:
    if isinstance(ancestry, Mapping):
        return lambda slug: ancestry.get(slug, [])
    return ancestry


def _names() -> dict[str, dict[str, str]]:
    def load(model):
        rows = db.session.scalars(
            db.select(model).options(load_only(model.slug, model.name, model.translations)))
        return {row.slug: row.tr("name") for row in rows}

    return {"industry": load(Industry), "region": load(Region)}


def _judge(criterion: dict, profile: Profile, ancestors: Callable[[str], list[str]],
           names: Names, found: Match) -> None:
    name, op, expected = criterion.get("field"), criterion.get("op"), criterion.get("value")
    if not _valid(name, op, expected):
        current_app.logger.warning("policy %s: cannot evaluate criterion %r",
                                   found.policy.key, criterion)
        return
    label = criterion.get("label") or ""
    value = getattr(profile, name)
    if value is None:
        found.unknown.append(_tagged(label, _("%(requirement)s（您未填写）",
                                              requirement=_requirement(name, op, expected, names))))
        return
    within = [value, *ancestors(value)] if name == "region" else [value]
    if _holds(op, expected, within):
        shown = _show(name, value, names)
        via = next((v for v in within[1:] if v in _as_list(expected)), None)
        if op in ("in", "eq") and via is not None:
            shown = _("%(region)s（位于%(area)s）", region=shown, area=_show(name, via, names))
        found.met.append(_("符合“%(label)s”：%(value)s", label=label, value=shown) if label
                         else _("%(field)s符合：%(value)s", field=FIELD_LABELS[name], value=shown))
    else:
        found.unmet.append(_tagged(label, _(
            "%(requirement)s（您填写 %(value)s）",
            requirement=_requirement(name, op, expected, names), value=_show(name, value, names))))


def _valid(name, op, expected) -> bool:
    if name not in FIELD_LABELS or op not in OPS:
        return False
    if op in ("gte", "lte"):
        return name in NUMBER_FIELDS and _is_number(expected)
    values = _as_list(expected)
    kind = _is_number if name in NUMBER_FIELDS else _is_text
    return bool(values) and all(kind(v) for v in values)


def _holds(op: str, expected, within: list) -> bool:
    value = within[0]
    if op == "gte":
        return value >= expected
    if op == "lte":
        return value <= expected
    hit = any(v in _as_list(expected) for v in within)
    return not hit if op == "not_in" else hit


def _requirement(name: str, op: str, expected, names: Names) -> str:
    label = FIELD_LABELS[name]
    if op == "gte":
        return _("%(field)s须不低于 %(min)s", field=label, min=_show(name, expected, names))
    if op == "lte":
        return _("%(field)s须不超过 %(max)s", field=label, max=_show(name, expected, names))
    listed = format_list([_show(name, v, names) for v in _as_list(expected)], style="or",
                         locale=get_locale())
    if op == "not_in":
        return _("%(field)s不能为%(values)s", field=label, values=listed)
    return _("%(field)s须为%(values)s", field=label, values=listed)


def _tagged(label: str, reason: str) -> str:
    return _("%(label)s：%(reason)s", label=label, reason=reason) if label else reason


def _show(name: str, value, names: Names) -> str:
    if name in NUMBER_FIELDS:
        return str(AMOUNTS[name]) % {"n": format_number(value)}
    if name in VALUE_LABELS:
        return str(VALUE_LABELS[name].get(value, value))
    return names.get(name, {}).get(value, value)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _is_number(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _is_text(value) -> bool:
    return isinstance(value, str)
