"""One set of rules for a policy, a site and an opportunity, wherever the record comes from.

The data-pack loader, the back-office forms and the bulk importer all turn what they read into
a record in the pack's format (a dict: ``title``, ``region`` as a slug, dates as ISO text,
``translations`` …; a site's ``geometry`` beside its properties) and ask this module what is
wrong with it. So a self-intersecting parcel, an unknown region or a deadline before the
publication date get the same message in a pack, a form and a spreadsheet row. Writing goes
through here too: ``values`` turns a checked record into model attributes, ``to_record`` turns
a stored row back into a record (for version history, diff, restore and export).
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import jsonschema
from flask_babel import gettext as _
from shapely.geometry import shape

from portal.sites import geometry as site_geometry

from . import schema

KINDS = ("policy", "site", "opportunity")
ITEM_SCHEMAS = {
    "policy": schema.POLICIES["items"],
    "site": {**schema._SITE_PROPERTIES,
             "properties": {**schema._SITE_PROPERTIES["properties"],
                            "geometry": {"type": "object"}}},
    "opportunity": schema.OPPORTUNITIES["items"],
}
SITE_FIELDS = (
    "kind", "name", "address", "description", "land_use", "area_mu", "floor_area_m2",
    "land_price_wan_per_mu", "rent_yuan_m2_month", "sale_price_yuan_m2", "power_kva",
    "floor_load_kn_m2", "ceiling_height_m", "floors", "min_investment_wan_per_mu",
    "min_tax_wan_per_mu", "min_plot_ratio", "max_plot_ratio", "min_building_coverage",
    "max_energy_t_per_wan", "contact_name", "contact_phone",
)
SITE_DEFAULTS = {"address": "", "description": "", "contact_name": "", "contact_phone": ""}


@dataclass
class Problem:
    field: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass
class Known:
    """What a record may refer to: slug → row (or anything) for regions, topics and
    industries, and region slug → shapely boundary."""

    regions: dict[str, Any] = field(default_factory=dict)
    topics: dict[str, Any] = field(default_factory=dict)
    industries: dict[str, Any] = field(default_factory=dict)
    boundaries: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_database(cls) -> "Known":
        from portal.extensions import db
        from portal.models import Industry, Region, Topic

        regions = {r.slug: r for r in db.session.scalars(db.select(Region))}
        boundaries = {}
        for slug, region in regions.items():
            if region.boundary:
                try:
                    boundaries[slug] = shape(region.boundary)
                except (ValueError, TypeError, AttributeError):
                    continue
        return cls(regions, {t.slug: t for t in db.session.scalars(db.select(Topic))},
                   {i.slug: i for i in db.session.scalars(db.select(Industry))}, boundaries)


# --- messages ------------------------------------------------------------------------------


def problem_text(error: jsonschema.ValidationError) -> str:
    """A schema error as a sentence that says what to do, in the user's language."""
    v, value = error.validator, error.validator_value
    if v == "required":
        missing = [name for name in value if name not in (error.instance or {})]
        return _("缺少必填字段 %(name)s", name=", ".join(missing))
    if v == "minimum":
        return _("值 %(value)s 小于允许的最小值 %(min)s", value=error.instance, min=value)
    if v == "maximum":
        return _("值 %(value)s 大于允许的最大值 %(max)s", value=error.instance, max=value)
    if v == "minItems":
        return _("至少需要 %(n)d 项，实际 %(actual)d 项", n=value, actual=len(error.instance))
    if v == "minLength":
        return _("不能为空")
    if v in ("enum", "const"):
        allowed = ", ".join(map(str, value if v == "enum" else [value]))
        return _("值 %(value)s 不在允许范围内（%(allowed)s）", value=error.instance,
                 allowed=allowed)
    if v == "type":
        return _("类型应为 %(type)s", type=value)
    if v == "pattern":
        return _("值 %(value)s 格式不正确", value=error.instance)
    if v == "additionalProperties":
        return _("包含未定义的字段：%(detail)s", detail=error.message)
    return error.message


def field_label(path) -> str | None:
    names = [str(p) for p in path if not isinstance(p, int)]
    names = [n for n in names if n not in ("features", "properties")]
    return ".".join(names) or None


def specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf/anyOf, the most specific sub-error names the real field."""
    while error.context:
        error = jsonschema.exceptions.best_match(error.context)
    return error


def error_field(error: jsonschema.ValidationError) -> str | None:
    name = field_label(list(error.absolute_path))
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [n for n in error.validator_value if n not in error.instance]
        name = ".".join(filter(None, [name, missing[0] if missing else None]))
    return name


def schema_problems(record: dict, item_schema: dict) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(item_schema)
    found = []
    for error in sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path)):
        error = specific(error)
        found.append(Problem(error_field(error), problem_text(error)))
    return found


# --- checks ----------------------------------------------------------------------------


def unknown(value: str) -> str:
    return _("未知的标识 %(value)s", value=value)


def date_problems(record: dict, first: str, last: str) -> list[Problem]:
    found = []
    for name in (first, last):
        if record.get(name):
            try:
                date.fromisoformat(str(record[name]))
            except ValueError:
                found.append(Problem(name, _("日期无效")))
    if not found and record.get(first) and record.get(last) and \
            str(record[last]) < str(record[first]):
        found.append(Problem(last, _("%(last)s 早于 %(first)s", last=last, first=first)))
    return found


def check(kind: str, record: dict, known: Known) -> list[Problem]:
    """Everything wrong with one record, schema first; empty when it may be saved."""
    found = schema_problems(record, ITEM_SCHEMAS[kind])
    if found:
        return found
    return CHECKS[kind](record, known)


def _check_policy(record: dict, known: Known) -> list[Problem]:
    found = []
    if record.get("region") and record["region"] not in known.regions:
        found.append(Problem("region", unknown(record["region"])))
    for name, pool in (("topics", known.topics), ("industries", known.industries)):
        for slug in record.get(name, []):
            if slug not in pool:
                found.append(Problem(name, unknown(slug)))
    found += date_problems(record, "effective_from", "effective_to")
    found += date_problems(record, "published", "comment_until")
    return found


def _check_site(record: dict, known: Known) -> list[Problem]:
    found = []
    region = record.get("region")
    if region not in known.regions:
        return [Problem("region", unknown(region))]
    try:
        geom = site_geometry.parse(record.get("geometry"), record["kind"])
        site_geometry.check_within(geom, known.boundaries.get(region), region)
    except site_geometry.GeometryError as exc:
        found.append(Problem("geometry", str(exc)))
    if (record.get("min_plot_ratio") is not None and record.get("max_plot_ratio") is not None
            and record["max_plot_ratio"] < record["min_plot_ratio"]):
        found.append(Problem("max_plot_ratio", _("容积率上限小于下限")))
    return found


def _check_opportunity(record: dict, known: Known) -> list[Problem]:
    found = []
    if record.get("region") and record["region"] not in known.regions:
        found.append(Problem("region", unknown(record["region"])))
    if record.get("industry") and record["industry"] not in known.industries:
        found.append(Problem("industry", unknown(record["industry"])))
    found += date_problems(record, "published", "deadline")
    return found


CHECKS = {"policy": _check_policy, "site": _check_site, "opportunity": _check_opportunity}


# --- writing ---------------------------------------------------------------------------


def _day(value) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def values(kind: str, record: dict, known: Known) -> dict:
    """Model attributes for a checked record (``known`` maps slugs to rows)."""
    return VALUES[kind](record, known)


def _policy_values(p: dict, known: Known) -> dict:
    return {
        "title": p["title"], "doc_number": p.get("doc_number", ""), "issuer": p["issuer"],
        "level": p["level"], "region": known.regions.get(p.get("region")),
        "published": _day(p["published"]), "effective_from": _day(p.get("effective_from")),
        "effective_to": _day(p.get("effective_to")), "status": p["status"],
        "comment_until": _day(p.get("comment_until")),
        "summary": p.get("summary", ""), "body": p["body"],
        "interpretation": p.get("interpretation", ""), "procedure": p.get("procedure", ""),
        "benefit_mode": p.get("benefit_mode", ""), "eligibility": p.get("eligibility", []),
        "attachments": p.get("attachments", []),
        "source_url": p.get("source_url", ""), "source_note": p.get("source_note", ""),
        "is_demo": p.get("is_demo", False), "translations": p.get("translations", {}),
        "topics": [known.topics[s] for s in p.get("topics", [])],
        "industries": [known.industries[s] for s in p.get("industries", [])],
    }


def _site_values(props: dict, known: Known) -> dict:
    geom = shape(props["geometry"])
    point = geom.representative_point()
    out = {name: props.get(name, SITE_DEFAULTS.get(name)) for name in SITE_FIELDS}
    out.update({
        "drawn_area_mu": site_geometry.area_mu(geom) if props["kind"] == "parcel" else None,
        "region": known.regions[props["region"]],
        "geometry": props["geometry"],
        "latitude": point.y,
        "longitude": point.x,
        "readiness": props.get("readiness", []),
        "availability": props.get("availability", "available"),
        "available_from": _day(props.get("available_from")),
        "is_demo": props.get("is_demo", False),
        "translations": props.get("translations", {}),
    })
    return out


def _opportunity_values(o: dict, known: Known) -> dict:
    return {
        "kind": o["kind"], "title": o["title"], "summary": o.get("summary", ""),
        "body": o.get("body", ""), "region": known.regions.get(o.get("region")),
        "industry": known.industries.get(o.get("industry")), "amount_wan": o.get("amount_wan"),
        "publisher": o.get("publisher", ""), "contact_name": o.get("contact_name", ""),
        "contact_phone": o.get("contact_phone", ""), "published": _day(o["published"]),
        "deadline": _day(o.get("deadline")), "status": o.get("status", "open"),
        "is_demo": o.get("is_demo", False), "translations": o.get("translations", {}),
    }


VALUES = {"policy": _policy_values, "site": _site_values, "opportunity": _opportunity_values}


# --- reading back ------------------------------------------------------------------------


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _drop_empty(record: dict, keep=()) -> dict:
    return {k: v for k, v in record.items()
            if k in keep or v not in (None, "", [], {})}


def to_record(kind: str, row) -> dict:
    """A stored row as a record in the pack's format (what versions keep)."""
    return TO_RECORD[kind](row)


def _policy_record(p) -> dict:
    return _drop_empty({
        "key": p.key, "title": p.title, "doc_number": p.doc_number, "issuer": p.issuer,
        "level": p.level, "region": p.region.slug if p.region else None,
        "published": _iso(p.published), "effective_from": _iso(p.effective_from),
        "effective_to": _iso(p.effective_to), "status": p.status,
        "comment_until": _iso(p.comment_until),
        "topics": sorted(t.slug for t in p.topics),
        "industries": sorted(i.slug for i in p.industries),
        "summary": p.summary, "body": p.body, "interpretation": p.interpretation,
        "procedure": p.procedure, "benefit_mode": p.benefit_mode,
        "eligibility": list(p.eligibility or []), "attachments": list(p.attachments or []),
        "source_url": p.source_url, "source_note": p.source_note, "is_demo": bool(p.is_demo),
        "translations": dict(p.translations or {}),
    }, keep=("key", "title", "issuer", "level", "published", "status", "body", "is_demo"))


def _site_record(s) -> dict:
    record = {name: getattr(s, name) for name in SITE_FIELDS}
    record.update({
        "key": s.key, "region": s.region.slug if s.region else None,
        "readiness": list(s.readiness or []), "availability": s.availability,
        "available_from": _iso(s.available_from), "is_demo": bool(s.is_demo),
        "translations": dict(s.translations or {}), "geometry": s.geometry,
    })
    return _drop_empty(record, keep=("key", "kind", "name", "region", "land_use", "is_demo",
                                     "geometry"))


def _opportunity_record(o) -> dict:
    return _drop_empty({
        "key": o.key, "kind": o.kind, "title": o.title, "summary": o.summary, "body": o.body,
        "region": o.region.slug if o.region else None,
        "industry": o.industry.slug if o.industry else None, "amount_wan": o.amount_wan,
        "publisher": o.publisher, "contact_name": o.contact_name,
        "contact_phone": o.contact_phone, "published": _iso(o.published),
        "deadline": _iso(o.deadline), "status": o.status, "is_demo": bool(o.is_demo),
        "translations": dict(o.translations or {}),
    }, keep=("key", "kind", "title", "published", "status", "is_demo"))


TO_RECORD = {"policy": _policy_record, "site": _site_record, "opportunity": _opportunity_record}
