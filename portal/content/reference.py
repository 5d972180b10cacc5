"""The rest of the public records: regions, industries (with their chain maps and chain
leaders), 三个一批 figures, factor costs (要素成本) and service links.

These have no draft and no review: a saved change is public at once. Like policies they are
kept in the data pack's record format (``to_record``), checked with the pack's JSON Schemas
(``seed.schema`` REGIONS, INDUSTRIES, BATCH_FIGURES, SERVICES, through
``seed.rules.schema_problems``, so a form gets the loader's messages) and references
(``seed.rules.unknown``), and every change — a deletion too — is kept as a ``ContentVersion``
and an audit event, in the caller's transaction (the caller commits).

Who may edit what: admins and the bureau everything; region staff their own region's profile
(and its zones') and the 三个一批 figures filed under it; nobody else anything. The same
lines are drawn for reading by ``portal.scoping.scoped``.
"""

import copy
import re
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import Float, Integer

from portal.audit import record as audit
from portal.extensions import db
from portal.models import (
    CHAIN_STAGES,
    BatchFigure,
    ChainLeader,
    ChainNode,
    ContentVersion,
    FactorCost,
    Industry,
    Policy,
    Region,
    ServiceLink,
    Track,
    User,
)
from portal.models.showcase import SERVICE_DETAILS
from portal.scoping import scoped
from seed import rules, schema

from . import versions
from .chain import sync_chain
from .workflow import ContentError, Invalid, now

KINDS = ("region", "industry", "batch_figure", "service", "factor_cost")
MODELS = {"region": Region, "industry": Industry, "batch_figure": BatchFigure,
          "service": ServiceLink, "factor_cost": FactorCost}
# What region staff may edit (within their region); the rest is the city's.
REGION_KINDS = ("region", "batch_figure", "factor_cost")
CREATABLE = ("batch_figure", "service", "factor_cost")  # regions, industries: the pack's
DELETABLE = ("batch_figure", "factor_cost")
CITY_ROLES = ("admin", "bureau")
LANGS = ("en", "ja", "ko", "ru")
# The fields a visitor reads, translated per language.
TRANSLATED = {
    "region": ("name", "short_name", "summary", "profile"),
    "industry": ("name", "summary", "profile"),
    "batch_figure": ("area", "period", "rate_label", "note", "source"),
    "factor_cost": ("item", "unit", "note", "source"),
    "service": ("name", "description", "department", "address", "hours", "portal_label"),
}
# ContentVersion has no "delete" action: a deletion is kept as the record's last state with
# action "archive" and publication "deleted".
DELETED = "deleted"

_NUMBER = {"type": "number", "minimum": 0}
# The region figures the pages show (portal.labels.FIGURE_LABELS) are numbers where they are
# amounts; the pack's schema only asks for an object, other keys pass as they are.
FIGURES = {
    "type": "object",
    "properties": {
        "area_km2": _NUMBER, "population_10k": _NUMBER, "gdp_yi": _NUMBER,
        "planned_area_km2": _NUMBER, "rank_group": {"type": "string"},
        "rank_province": {"type": "integer", "minimum": 1},
        "enterprises": {"type": "integer", "minimum": 0},
        "figures_source": {"type": "string"},
    },
}
_REGION = schema.REGIONS["items"]
_INDUSTRY = schema.INDUSTRIES["items"]
ITEM_SCHEMAS = {
    "region": {**_REGION, "properties": {**_REGION["properties"], "figures": FIGURES}},
    "industry": _INDUSTRY,
    "batch_figure": schema.BATCH_FIGURES["items"],
    "service": schema.SERVICES["items"],
    "factor_cost": schema.FACTOR_COSTS["items"],
}
# The schema of one row of a record's lists, to say which row a problem is in.
ROW_SCHEMAS = {
    "contacts": _REGION["properties"]["contacts"]["items"],
    "chain": _INDUSTRY["properties"]["chain"]["additionalProperties"]["items"],
    "leaders": _INDUSTRY["properties"]["leaders"]["items"],
}


# --- reading ---------------------------------------------------------------------------------


def _drop_empty(record: dict, keep=()) -> dict:
    return {k: v for k, v in record.items() if k in keep or v not in (None, "", [], {})}


def _copy(value):
    """JSON columns are copied, so editing a record never changes the row behind it."""
    return copy.deepcopy(value) if value else value


def to_record(kind: str, row) -> dict:
    """A stored row as a record in the pack's format (what versions keep)."""
    return TO_RECORD[kind](row)


def _region_record(r: Region) -> dict:
    return _drop_empty({
        "slug": r.slug, "kind": r.kind, "parent": r.parent.slug if r.parent else None,
        "name": r.name, "short_name": r.short_name, "zone_level": r.zone_level,
        "summary": r.summary, "profile": r.profile, "centroid": [r.longitude, r.latitude],
        "figures": _copy(r.figures or {}), "contacts": _copy(r.contacts or []),
        "is_demo": bool(r.is_demo), "translations": _copy(r.translations or {}),
    }, keep=("slug", "kind", "name", "centroid", "is_demo"))


def _node_record(n: ChainNode) -> dict:
    return _drop_empty({
        "key": n.key, "name": n.name, "description": n.description, "gap": bool(n.is_gap),
        "gap_note": n.gap_note, "translations": _copy(n.translations or {}),
    }, keep=("name", "gap"))


def _leader_record(leader: ChainLeader) -> dict:
    return _drop_empty({
        "name": leader.name, "region": leader.region.slug if leader.region else None,
        "node": leader.chain_node.key if leader.chain_node else None,
        "role": leader.role if leader.role != "leader" else None,
        "description": leader.description, "is_demo": bool(leader.is_demo),
        "translations": _copy(leader.translations or {}),
    }, keep=("name", "is_demo"))


def _industry_record(i: Industry) -> dict:
    stages = i.nodes_by_stage()
    chain = {stage: [_node_record(n) for n in sorted(
        stages[stage], key=lambda n: (n.sort_order or 0, n.id or 0))]
        for stage in CHAIN_STAGES if stages[stage]}
    leaders = sorted(i.leaders, key=lambda leader: leader.id or 0)
    return _drop_empty({
        "slug": i.slug, "name": i.name, "track": i.track.slug if i.track else None,
        "is_key": bool(i.is_key), "summary": i.summary, "profile": i.profile,
        "chain": chain, "leaders": [_leader_record(leader) for leader in leaders],
        "translations": _copy(i.translations or {}),
    }, keep=("slug", "name", "is_key"))


def _batch_record(b: BatchFigure) -> dict:
    return _drop_empty({
        "key": b.key, "area": b.area, "region": b.region.slug if b.region else None,
        "period": b.period, "batch": b.batch, "projects": b.projects,
        "investment_yi": b.investment_yi, "completed_projects": b.completed_projects,
        "rate_kind": b.rate_kind, "rate_part": b.rate_part, "rate_whole": b.rate_whole,
        "rate_label": b.rate_label, "published_rate_percent": b.published_rate_percent,
        "note": b.note,
        "source": b.source, "translations": _copy(b.translations or {}),
    }, keep=("key", "area", "period", "batch", "projects", "source"))


def _service_record(s: ServiceLink) -> dict:
    return _drop_empty({
        "key": s.key, "category": s.category, "name": s.name, "description": s.description,
        "url": s.url, **{name: getattr(s, name) for name in SERVICE_DETAILS},
        "policy": s.policy_key, "is_demo": s.is_demo or None,
        "translations": _copy(s.translations or {}),
    }, keep=("key", "category", "name"))


def _factor_record(f: FactorCost) -> dict:
    return _drop_empty({
        "key": f.key, "region": f.region.slug if f.region else None, "category": f.category,
        "item": f.item, "value": f.value, "low": f.low, "high": f.high, "unit": f.unit,
        "year": f.year, "source": f.source, "source_url": f.source_url, "note": f.note,
        "is_demo": bool(f.is_demo), "translations": _copy(f.translations or {}),
    }, keep=("key", "region", "category", "item", "value", "unit", "year", "source",
             "is_demo"))


TO_RECORD = {"factor_cost": _factor_record,
             "region": _region_record, "industry": _industry_record,
             "batch_figure": _batch_record, "service": _service_record}


def translation_status(kind: str, row, lang: str) -> str:
    """"missing" (no block, or a field with Chinese text left untranslated), "machine" (not
    yet reviewed by a person) or "reviewed"."""
    block = (row.translations or {}).get(lang) or {}
    wanted = [name for name in TRANSLATED[kind] if getattr(row, name, None)]
    if not block or any(not block.get(name) for name in wanted):
        return "missing"
    return "reviewed" if block.get("_source") == "human" else "machine"


# --- who may ---------------------------------------------------------------------------------


def in_scope(user: User, kind: str, row) -> bool:
    """Whether ``row`` is within what ``user`` may see (``portal.scoping.scoped``)."""
    model = MODELS[kind]
    return db.session.scalar(scoped(user, model, db.select(model.id).where(
        model.id == row.id))) is not None


def may_edit(user: User, kind: str, row=None) -> bool:
    if user.role in CITY_ROLES:
        return True
    if user.role != "region" or kind not in REGION_KINDS:
        return False
    return row is None or in_scope(user, kind, row)


def region_in_scope(user: User, slug: str | None) -> bool:
    if user.role in CITY_ROLES:
        return True
    return slug is not None and db.session.scalar(scoped(user, Region, db.select(Region.id)
                                                         .filter_by(slug=slug))) is not None


# --- checking --------------------------------------------------------------------------------


def _slugs(model) -> dict:
    return {row.slug: row for row in db.session.scalars(db.select(model))}


def check(kind: str, record: dict, row=None) -> list[rules.Problem]:
    """Everything wrong with one record, schema first; empty when it may be saved."""
    found = rules.schema_problems(record, ITEM_SCHEMAS[kind])
    if found:
        return found
    found = _fits(MODELS[kind], record)
    for group, model in ROW_MODELS.items():
        for item in _rows(record, group):
            found += _fits(model, item, prefix=f"{group}.")
    return found + CHECKS[kind](record, row)


def _rows(record: dict, group: str) -> list[dict]:
    if group == "chain":
        return [n for nodes in (record.get("chain") or {}).values() for n in nodes]
    return record.get(group) or []


def row_problems(kind: str, group: str, item: dict) -> list[rules.Problem]:
    """The problems of one row of a record's list (a contact, a chain node, a leader), for
    a form to show beside that row; the record's own check says the same."""
    found = rules.schema_problems(item, ROW_SCHEMAS[group])
    if found:
        return found
    if group in ROW_MODELS:
        found += _fits(ROW_MODELS[group], item)
    if group == "leaders" and item.get("region") and item["region"] not in _slugs(Region):
        found.append(rules.Problem("region", rules.unknown(item["region"])))
    return found


# The database holds less than the schema allows: texts of a set length, 4-byte integers.
ROW_MODELS = {"chain": ChainNode, "leaders": ChainLeader}
INT_MAX = 2**31 - 1
FLOAT_MAX = 1e300


def _fits(model, record: dict, prefix: str = "") -> list[rules.Problem]:
    found = []
    for column in model.__table__.columns:
        value = record.get(column.name)
        if isinstance(value, bool) or value is None:
            continue
        length = getattr(column.type, "length", None)
        limit = INT_MAX if isinstance(column.type, Integer) else \
            FLOAT_MAX if isinstance(column.type, Float) else None
        if isinstance(value, str) and length and len(value) > length:
            found.append(rules.Problem(prefix + column.name,
                                       _("不能超过 %(max)d 个字", max=length)))
        elif isinstance(value, int | float) and limit and abs(value) > limit:
            found.append(rules.Problem(prefix + column.name, _(
                "值 %(value)s 大于允许的最大值 %(max)s", value=value, max=limit)))
    return found


def _check_region(record: dict, row) -> list[rules.Problem]:
    parent = record.get("parent")
    if parent and (parent not in _slugs(Region) or parent == record["slug"]):
        return [rules.Problem("parent", rules.unknown(parent))]
    return []


def _check_industry(record: dict, row) -> list[rules.Problem]:
    found = []
    if record.get("track") and record["track"] not in _slugs(Track):
        found.append(rules.Problem("track", rules.unknown(record["track"])))
    regions = _slugs(Region)
    keys = [n.get("key") for n in _rows(record, "chain") if n.get("key")]
    for key in {k for k in keys if keys.count(k) > 1}:
        found.append(rules.Problem("chain.key", _("重复的环节标识 %(value)s", value=key)))
    for leader in record.get("leaders", []):
        if leader.get("region") and leader["region"] not in regions:
            found.append(rules.Problem("leaders.region", rules.unknown(leader["region"])))
        if leader.get("node") and leader["node"] not in keys:
            found.append(rules.Problem("leaders.node", rules.unknown(leader["node"])))
    return found


def _key_problems(kind: str, record: dict, row) -> list[rules.Problem]:
    model = MODELS[kind]
    if row is not None and row.key == record["key"]:
        return []
    taken = db.session.scalar(db.select(model.id).filter_by(key=record["key"]))
    return [rules.Problem("key", _("重复的标识"))] if taken is not None else []


def _check_batch(record: dict, row) -> list[rules.Problem]:
    found = _key_problems("batch_figure", record, row)
    if record.get("region") and record["region"] not in _slugs(Region):
        found.append(rules.Problem("region", rules.unknown(record["region"])))
    return found + rules.batch_problems(record)


_TEL = re.compile(r"tel:\+?[0-9][0-9-]{2,19}")


def safe_url(url: str) -> bool:
    """An address a visitor's browser opens as a web page: http or https with a host, and
    nothing (javascript:, data:, a blank or a control character) that could run instead.
    A hotline's ``tel:`` number passes too (the Datong pack's 12345 link is one)."""
    if not url or url != url.strip() or any(ord(c) < 33 or c == "\x7f" for c in url):
        return False
    if _TEL.fullmatch(url):
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _check_service(record: dict, row) -> list[rules.Problem]:
    from portal.services_chain.services import portal_page

    found = _key_problems("service", record, row)
    if not any(record.get(name) for name in ("url", "phone", "address", "portal_path")):
        found.append(rules.Problem("url", _(
            "填写网址、咨询电话、办理地点或本专区页面中的至少一项，让访客知道如何办理")))
    if record.get("url") and not safe_url(record["url"]):
        found.append(rules.Problem("url", _(
            "输入以 http:// 或 https:// 开头的完整网址（服务热线可填 tel: 加号码）")))
    if record.get("portal_path") and portal_page(record["portal_path"]) is None:
        found.append(rules.Problem("portal_path", _(
            "输入本专区的页面路径，以 / 开头、不含语言前缀，如 /complaints/new")))
    if record.get("policy") and db.session.scalar(
            db.select(Policy.id).filter_by(key=record["policy"])) is None:
        found.append(rules.Problem("policy", _(
            "没有标识为 %(key)s 的政策，请填写政策管理中显示的标识", key=record["policy"])))
    return found


def _check_factor(record: dict, row) -> list[rules.Problem]:
    """The pack's rules for a factor cost (``seed.rules.factor_problems``), and a unique key."""
    return _key_problems("factor_cost", record, row) + rules.factor_problems(
        record, _slugs(Region))


CHECKS = {"factor_cost": _check_factor, "region": _check_region, "industry": _check_industry,
          "batch_figure": _check_batch, "service": _check_service}


def _scope_problems(user: User, kind: str, record: dict) -> list[rules.Problem]:
    """Region staff file 三个一批 figures and factor costs only under their own region (or
    its zones)."""
    if kind in DELETABLE and not region_in_scope(user, record.get("region")):
        return [rules.Problem("region", _("只能选择本辖区"))]
    return []


# --- translations ----------------------------------------------------------------------------


def _text(block: dict) -> dict:
    return {k: v for k, v in (block or {}).items() if not k.startswith("_")}


def stamp_translations(before: dict, after: dict, reviewed=()) -> dict:
    """``after``'s translations, with every language a person changed by hand (or marked as
    reviewed, 译文已审校) now ``_source: human`` and dated today; a language left without
    any text is dropped."""
    today = now().date().isoformat()
    out = {}
    for lang, block in (after or {}).items():
        if not isinstance(block, dict):
            out[lang] = block  # the schema check names it
            continue
        if not _text(block):
            continue
        block = dict(block)
        if lang in reviewed or _text(block) != _text((before or {}).get(lang)):
            block.update({"_source": "human", "_date": today})
        out[lang] = block
    return out


# --- writing ---------------------------------------------------------------------------------


def _region_values(row: Region, r: dict) -> None:
    regions = _slugs(Region)
    row.kind, row.name = r["kind"], r["name"]
    row.parent = regions.get(r.get("parent"))
    row.short_name, row.zone_level = r.get("short_name", ""), r.get("zone_level", "")
    row.summary, row.profile = r.get("summary", ""), r.get("profile", "")
    row.longitude, row.latitude = r["centroid"]
    row.figures, row.contacts = r.get("figures", {}), r.get("contacts", [])
    row.is_demo, row.translations = r.get("is_demo", False), r.get("translations", {})


def _industry_values(row: Industry, r: dict) -> None:
    current = _industry_record(row) if row.id else {}
    row.name, row.track = r["name"], _slugs(Track).get(r.get("track"))
    row.is_key = r.get("is_key", False)
    row.summary, row.profile = r.get("summary", ""), r.get("profile", "")
    row.translations = r.get("translations", {})
    # Written only when they changed, as the loader writes them (nodes kept in place).
    if (r.get("chain", {}) != current.get("chain", {})
            or r.get("leaders", []) != current.get("leaders", [])):
        sync_chain(row, r.get("chain", {}), r.get("leaders", []), _slugs(Region))


def _batch_values(row: BatchFigure, b: dict) -> None:
    row.key, row.area, row.period, row.batch = b["key"], b["area"], b["period"], b["batch"]
    row.region = _slugs(Region).get(b.get("region"))
    row.projects, row.investment_yi = b["projects"], b.get("investment_yi")
    row.completed_projects = b.get("completed_projects")
    row.rate_kind, row.rate_label = b.get("rate_kind", ""), b.get("rate_label", "")
    row.rate_part, row.rate_whole = b.get("rate_part"), b.get("rate_whole")
    row.published_rate_percent = b.get("published_rate_percent")
    row.note, row.source = b.get("note", ""), b["source"]
    row.translations = b.get("translations", {})


def _service_values(row: ServiceLink, s: dict) -> None:
    row.key, row.category, row.name = s["key"], s["category"], s["name"]
    row.description, row.url = s.get("description", ""), s.get("url", "")
    for name in SERVICE_DETAILS:
        setattr(row, name, s.get(name, ""))
    row.policy_key, row.is_demo = s.get("policy", ""), bool(s.get("is_demo", False))
    row.translations = s.get("translations", {})


def _factor_values(row: FactorCost, f: dict) -> None:
    row.key, row.region = f["key"], _slugs(Region).get(f["region"])
    row.category, row.item, row.unit = f["category"], f["item"], f["unit"]
    row.value, row.low, row.high = f["value"], f.get("low"), f.get("high")
    row.year, row.source = f["year"], f["source"]
    row.source_url, row.note = f.get("source_url", ""), f.get("note", "")
    row.is_demo, row.translations = f.get("is_demo", False), f.get("translations", {})


VALUES = {"factor_cost": _factor_values, "region": _region_values, "industry": _industry_values,
          "batch_figure": _batch_values, "service": _service_values}


def keep(kind: str, row, action: str, author=None, note: str = "",
         publication: str = "published", only_if_changed: bool = False
         ) -> ContentVersion | None:
    """The row's current state as its next version (the caller commits); with
    ``only_if_changed``, nothing when it equals the last version."""
    db.session.flush()
    last = versions.latest(kind, row.id)
    data = to_record(kind, row)
    if only_if_changed and last is not None and last.data == data \
            and last.publication == publication:
        return None
    version = ContentVersion(kind=kind, record_id=row.id, number=(last.number + 1) if last else 1,
                             action=action, publication=publication, data=data,
                             note=note or "", author_id=getattr(author, "id", None))
    db.session.add(version)
    return version


def _baseline(kind: str, row) -> None:
    """A record that came from the data pack gets its state before the first edit kept, so
    the first change has something to be compared with."""
    if versions.latest(kind, row.id) is None:
        keep(kind, row, "load")


def save(user: User, kind: str, record: dict, row=None, action: str | None = None,
         reviewed=()):
    """Create or change a record from a record dict; ``Invalid`` with every problem when the
    rules refuse it, ``ContentError`` when ``user`` may not. Public at once."""
    if not may_edit(user, kind, row) or (row is None and kind not in CREATABLE):
        raise ContentError(_("您无权修改这条记录"))
    if action != "restore":
        before = to_record(kind, row).get("translations", {}) if row is not None else {}
        record = {**record, "translations": stamp_translations(
            before, record.get("translations", {}), reviewed)}
        if not record["translations"]:
            del record["translations"]
    problems = check(kind, record, row) + _scope_problems(user, kind, record)
    if problems:
        raise Invalid(problems)
    created = row is None
    if created:
        model = MODELS[kind]
        last = db.session.scalar(db.select(db.func.max(model.sort_order)))
        row = model(sort_order=(last if last is not None else -1) + 1)
        db.session.add(row)
    else:
        _baseline(kind, row)
    with db.session.no_autoflush:  # no half-written row reaches the database
        VALUES[kind](row, record)
    action = action or ("create" if created else "edit")
    if keep(kind, row, action, author=user, only_if_changed=not created) is not None:
        audit(f"content_{action}", kind, row.id, actor=user)
    return row


def delete(user: User, kind: str, row) -> ContentVersion:
    """Remove a 三个一批 figure or a factor cost; its last state stays in the history."""
    if kind not in DELETABLE or not may_edit(user, kind, row):
        raise ContentError(_("您无权修改这条记录"))
    _baseline(kind, row)
    version = keep(kind, row, "archive", author=user, publication=DELETED)
    audit("content_delete", kind, row.id, {"key": row.key}, actor=user)
    db.session.delete(row)
    return version


def restore(user: User, kind: str, row, number: int):
    """Make an old version the current state again, as a new version."""
    old = next((v for v in versions.history(kind, row.id) if v.number == number), None)
    if old is None or old.publication == DELETED:
        raise ContentError(_("没有这个版本"))
    return save(user, kind, copy.deepcopy(old.data), row=row, action="restore")


def move(user: User, link: ServiceLink, step: int) -> None:
    """Move a service link up (-1) or down (+1) the list; both links keep a version noting
    their new place."""
    if not may_edit(user, "service", link):
        raise ContentError(_("您无权修改这条记录"))
    links = db.session.scalars(db.select(ServiceLink)
                               .order_by(ServiceLink.sort_order, ServiceLink.id)).all()
    at = links.index(link)
    to = at + step
    if not 0 <= to < len(links):
        return
    other = links[to]
    for item in (link, other):
        _baseline("service", item)
    links[at], links[to] = other, link
    for place, item in enumerate(links):
        item.sort_order = place
    for item, before, after in ((link, at, to), (other, to, at)):
        keep("service", item, "edit", author=user,
             note=_("顺序：第 %(before)d 位 → 第 %(after)d 位", before=before + 1,
                    after=after + 1))
    audit("content_reorder", "service", link.id, {"order": [item.key for item in links]},
          actor=user)


def deleted(user: User, kind: str = "batch_figure") -> list[ContentVersion]:
    """The last versions of deleted records that ``user`` may see, newest first."""
    found = db.session.scalars(db.select(ContentVersion).filter_by(
        kind=kind, publication=DELETED).order_by(ContentVersion.id.desc())).all()
    return [v for v in found if region_in_scope(user, v.data.get("region"))]


def history_visible(user: User, kind: str, record_id: int) -> bool:
    """A record's history is for whoever may see the record; a deleted figure's for whoever
    could see it when it was deleted."""
    model = MODELS[kind]
    if db.session.get(model, record_id) is not None:
        return db.session.scalar(scoped(user, model, db.select(model.id).where(
            model.id == record_id))) is not None
    last = versions.latest(kind, record_id)
    if last is None or last.publication != DELETED:
        return False
    return may_edit(user, kind) and region_in_scope(user, last.data.get("region"))
