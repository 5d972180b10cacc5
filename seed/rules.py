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
from urllib.parse import urlsplit

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
    # "industry-slug/node-key" → chain node (or anything, when checking a pack).
    chain_nodes: dict[str, Any] = field(default_factory=dict)

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
        from portal.content.chain import node_refs

        return cls(regions, {t.slug: t for t in db.session.scalars(db.select(Topic))},
                   {i.slug: i for i in db.session.scalars(db.select(Industry))}, boundaries,
                   node_refs())


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
    for ref in record.get("chain_nodes", []):
        if ref not in known.chain_nodes:
            found.append(Problem("chain_nodes", unknown_node(ref)))
    return found


def unknown_node(ref: str) -> str:
    return _("未知的产业链环节 %(value)s（写作“产业标识/环节标识”）", value=ref)


def _check_opportunity(record: dict, known: Known) -> list[Problem]:
    found = []
    if record.get("region") and record["region"] not in known.regions:
        found.append(Problem("region", unknown(record["region"])))
    if record.get("industry") and record["industry"] not in known.industries:
        found.append(Problem("industry", unknown(record["industry"])))
    node = record.get("chain_node")
    if node and node not in known.chain_nodes:
        found.append(Problem("chain_node", unknown_node(node)))
    elif node and record.get("industry") and node.split("/")[0] != record["industry"]:
        found.append(Problem("chain_node", _(
            "产业链环节 %(node)s 不属于所选产业 %(industry)s", node=node,
            industry=record["industry"])))
    found += date_problems(record, "published", "deadline")
    found += _phase_problems(record)
    return found


def _phase_problems(record: dict) -> list[Problem]:
    """揭榜挂帅 phases: a challenge's only, each phase once and in order (发榜 → 揭榜申报 → 评审
    → 公示 → 授榜), real dates, none ending before it starts or starting before the previous
    one, the application phase within the deadline."""
    from portal.labels import LABELS
    from portal.models.opportunities import CHALLENGE_PHASES

    phases = record.get("phases") or []
    if not phases:
        return []
    if record.get("kind") != "challenge":
        return [Problem("phases", _("只有揭榜挂帅项目有阶段；请删除阶段，或把类型改为揭榜挂帅"))]
    found, previous, last_start = [], -1, None
    for entry in phases:
        name = entry.get("phase")
        label = str(LABELS["challenge_phase"].get(name, name))
        order = CHALLENGE_PHASES.index(name) if name in CHALLENGE_PHASES else -1
        if order <= previous:
            found.append(Problem("phases", _(
                "阶段“%(phase)s”重复或顺序不对：按发榜、揭榜申报、评审、公示、授榜的顺序，"
                "每个阶段只填一次", phase=label)))
        previous = max(previous, order)
        try:
            starts = date.fromisoformat(str(entry.get("starts")))
            ends = date.fromisoformat(str(entry["ends"])) if entry.get("ends") else None
        except ValueError:
            found.append(Problem("phases", _("阶段“%(phase)s”的日期无效，按 2026-06-30 的格式填写",
                                             phase=label)))
            continue
        if ends is not None and ends < starts:
            found.append(Problem("phases", _("阶段“%(phase)s”的结束日期早于开始日期",
                                             phase=label)))
        if last_start is not None and starts < last_start:
            found.append(Problem("phases", _("阶段“%(phase)s”的开始日期早于上一阶段", phase=label)))
        last_start = starts
        deadline = record.get("deadline")
        if name == "apply" and ends is not None and deadline and str(ends) > str(deadline):
            found.append(Problem("phases", _("揭榜申报的结束日期晚于截止日期")))
    return found


CHECKS = {"policy": _check_policy, "site": _check_site, "opportunity": _check_opportunity}


def factor_problems(record: dict, regions) -> list[Problem]:
    """What is wrong with a schema-valid factor cost (要素成本) beyond its schema: the pack's
    loader and the back-office form both ask here, so they say the same. ``regions`` holds
    the region slugs a record may name."""
    found = []
    if record.get("region") not in regions:
        found.append(Problem("region", unknown(record.get("region"))))
    low, high, value = record.get("low"), record.get("high"), record.get("value")
    if (low is None) != (high is None):
        found.append(Problem("high" if high is None else "low",
                             _("范围要同时填写下限和上限，或都不填")))
    elif low is not None and low > high:
        found.append(Problem("high", _("上限 %(high)s 小于下限 %(low)s", high=_shown(high),
                                        low=_shown(low))))
    elif low is not None and value is not None and not low <= value <= high:
        found.append(Problem("value", _("数值 %(value)s 应在下限和上限之间（%(low)s–%(high)s）",
                                        value=_shown(value), low=_shown(low),
                                        high=_shown(high))))
    if record.get("unit") == "%":
        for name in ("value", "low", "high"):
            if record.get(name) is not None and record[name] > 100:
                found.append(Problem(name, _("百分比不能大于 100")))
    latest = date.today().year + 1
    if isinstance(record.get("year"), int) and record["year"] > latest:
        found.append(Problem("year", _("年份不能晚于 %(year)d 年", year=latest)))
    url = record.get("source_url") or ""
    if url and not _web_address(url):
        found.append(Problem("source_url", _("输入以 http:// 或 https:// 开头的完整网址")))
    return found


def batch_problems(record: dict) -> list[Problem]:
    """What is wrong with a schema-valid 三个一批 figure's rate (portal.showcase.rates): the
    inputs its kind needs, and a published rate that the inputs cannot give once rounding is
    allowed for. The pack's loader and the back-office form both ask here."""
    from portal.i18n import format_percent
    from portal.showcase import rates

    found = []
    kind = record.get("rate_kind") or ""
    published = record.get("published_rate_percent")
    if not kind:
        if published is not None and not (record.get("rate_label") or "").strip():
            found.append(Problem("rate_label", _("填写公布比率的名称，如：开工率")))
        return found
    rate_kind = rates.RATE_KINDS[kind]
    part, whole = record.get("rate_part"), rates.whole_of(
        kind, record.get("investment_yi"), record.get("rate_whole"))
    if part is None:
        found.append(Problem("rate_part", _("填写%(input)s", input=rate_kind.part)))
    if whole is None or whole <= 0:
        found.append(Problem("investment_yi" if rate_kind.whole_is_investment else "rate_whole",
                             _("填写%(input)s（大于 0）", input=rate_kind.whole)))
    if found:
        return found
    if part > whole:
        found.append(Problem("rate_part", _("%(part)s不能大于%(whole)s", part=rate_kind.part,
                                            whole=rate_kind.whole)))
    elif not rates.published_agrees(published, part, whole):
        found.append(Problem("published_rate_percent", _(
            "公布的比率 %(published)s 与按投入计算的 %(computed)s 不符（已考虑舍入）；"
            "核对输入，或删去公布值并在说明中注明",
            published=format_percent(published), computed=format_percent(
                rates.compute(part, whole)))))
    return found


def _shown(number) -> str:
    """5.0 and 5 read the same in a message, whether typed in a form or a YAML file."""
    return f"{number:g}"


def _web_address(url: str) -> bool:
    if url != url.strip() or any(ord(c) < 33 or c == "\x7f" for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


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
        "chain_nodes": [known.chain_nodes[r] for r in props.get("chain_nodes", [])],
    })
    return out


def _opportunity_values(o: dict, known: Known) -> dict:
    return {
        "kind": o["kind"], "title": o["title"], "summary": o.get("summary", ""),
        "body": o.get("body", ""), "region": known.regions.get(o.get("region")),
        "industry": known.industries.get(o.get("industry")), "amount_wan": o.get("amount_wan"),
        "chain_node": known.chain_nodes.get(o.get("chain_node")),
        "publisher": o.get("publisher", ""), "contact_name": o.get("contact_name", ""),
        "contact_phone": o.get("contact_phone", ""), "published": _day(o["published"]),
        "deadline": _day(o.get("deadline")), "status": o.get("status", "open"),
        "is_demo": o.get("is_demo", False), "translations": o.get("translations", {}),
        "phases": [dict(p) for p in o.get("phases", [])],
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
        "chain_nodes": sorted(n.ref for n in s.chain_nodes if n.key),
    })
    return _drop_empty(record, keep=("key", "kind", "name", "region", "land_use", "is_demo",
                                     "geometry"))


def _opportunity_record(o) -> dict:
    return _drop_empty({
        "key": o.key, "kind": o.kind, "title": o.title, "summary": o.summary, "body": o.body,
        "region": o.region.slug if o.region else None,
        "industry": o.industry.slug if o.industry else None, "amount_wan": o.amount_wan,
        "chain_node": o.chain_node.ref if o.chain_node and o.chain_node.key else None,
        "publisher": o.publisher, "contact_name": o.contact_name,
        "contact_phone": o.contact_phone, "published": _iso(o.published),
        "deadline": _iso(o.deadline), "status": o.status, "is_demo": bool(o.is_demo),
        "translations": dict(o.translations or {}), "phases": list(o.phases or []),
    }, keep=("key", "kind", "title", "published", "status", "is_demo"))


TO_RECORD = {"policy": _policy_record, "site": _site_record, "opportunity": _opportunity_record}
