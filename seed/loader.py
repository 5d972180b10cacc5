"""Load a data pack (``seed/<name>/``) into the database in one transaction.

Every file is validated against its schema (``seed.schema``), then references and geometry
are checked, and only then is anything written. A bad record stops the load with a message
naming the file, the record and the field; the database is left as it was. Loading the same
pack twice changes nothing: records are matched on their slug or key and updated in place.
"""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jsonschema
import yaml
from flask_babel import gettext as _
from shapely.geometry import shape
from shapely.validation import explain_validity

from portal.content.chain import node_refs, sync_chain
from portal.extensions import db
from portal.models import (
    BatchFigure,
    ChainLeader,
    ChainNode,
    Department,
    FactorCost,
    Industry,
    Opportunity,
    Policy,
    Region,
    RoutingRule,
    ServiceLink,
    Site,
    Topic,
    Track,
)
from portal.models.showcase import SERVICE_DETAILS
from seed import rules, schema
from seed.textclean import clean_text, join_folded

PACKS_DIR = Path(__file__).resolve().parent


class PackError(Exception):
    """A data pack that cannot be loaded; the message names file, record and field."""

    def __init__(self, file: str, record: str | None, field: str | None, problem: str):
        self.file, self.record, self.field, self.problem = file, record, field, problem
        where = [file]
        if record:
            where.append(_("记录 %(record)s", record=record))
        if field:
            where.append(_("字段 %(field)s", field=field))
        super().__init__("，".join(where) + "：" + problem)


@dataclass
class Pack:
    path: Path
    data: dict

    @property
    def name(self) -> str:
        return self.path.name


def pack_path(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.is_dir():
        return candidate
    return PACKS_DIR / name_or_path


def read_pack(name_or_path: str) -> Pack:
    """Read and validate every file; raises PackError before anything is written."""
    path = pack_path(name_or_path)
    if not (path / "pack.yaml").is_file():
        raise PackError(str(path), None, None, _("不是数据包目录（缺少 pack.yaml）"))
    data = {}
    for filename, file_schema in schema.FILES.items():
        file = path / filename
        if not file.is_file():
            data[filename] = [] if file_schema.get("type") == "array" else {}
            if filename == "pack.yaml":
                raise PackError(str(file), None, None, _("文件不存在"))
            continue
        content = _parse(file)
        _validate(file, content, file_schema)
        data[filename] = content
    pack = Pack(path, data)
    _check_references(pack)
    _stamp_translations(data, data["pack.yaml"].get("translation_sources") or {})
    return pack


def _stamp_translations(node, sources: dict) -> None:
    """Give every language block of every record its ``_source`` and ``_date`` (the pack's
    default for the language where the block names none), so pages can say which
    translations a machine made; and join lines that YAML folding split with a space."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, str):
                node[i] = join_folded(item)
            else:
                _stamp_translations(item, sources)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if isinstance(value, str):
            node[key] = join_folded(value)
            continue
        if key == "translations" and isinstance(value, dict):
            for lang, block in value.items():
                default = sources.get(lang)
                if isinstance(block, dict) and default:
                    block.setdefault("_source", default["source"])
                    block.setdefault("_date", str(default["date"]))
        _stamp_translations(value, sources)


def _parse(file: Path):
    try:
        text = file.read_text(encoding="utf-8")
        return json.loads(text) if file.suffix == ".geojson" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise PackError(str(file), None, None, _("无法解析：%(error)s", error=exc)) from exc


def _record_label(content, path) -> str | None:
    """A readable name for the record at a JSON path: its key or slug, else its position."""
    items = content.get("features") if isinstance(content, dict) else content
    if isinstance(content, dict) and path and path[0] == "features":
        path = path[1:]
    if not isinstance(items, list) or not path or not isinstance(path[0], int):
        return None
    index = path[0]
    record = items[index] if index < len(items) else {}
    if isinstance(record, dict):
        props = record.get("properties", record)
        ident = props.get("key") or props.get("slug") if isinstance(props, dict) else None
        if ident:
            return f"{ident} (#{index + 1})"
    return f"#{index + 1}"


def _validate(file: Path, content, file_schema: dict) -> None:
    validator = jsonschema.Draft202012Validator(file_schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(content))
    if error is None:
        return
    error = rules.specific(error)
    raise PackError(str(file), _record_label(content, list(error.absolute_path)),
                    rules.error_field(error), rules.problem_text(error))


def _features(pack: Pack, filename: str) -> list[dict]:
    return pack.data[filename].get("features", []) if pack.data[filename] else []


def _check_unique(file: str, records: list[dict], field: str) -> None:
    seen = set()
    for index, record in enumerate(records):
        value = record[field]
        if value in seen:
            raise PackError(file, f"{value} (#{index + 1})", field, _("重复的标识"))
        seen.add(value)


def _check_references(pack: Pack) -> None:
    """Slugs point at records that exist; geometry is valid and lies in its region."""
    d, root = pack.data, pack.path
    regions = d["regions.yaml"]
    _check_unique(str(root / "regions.yaml"), regions, "slug")
    # A pack may name regions another pack loaded (a second city under the shared province).
    region_slugs = {r["slug"] for r in regions} | set(_loaded_regions())

    def need(file, record, field, value, known):
        if value and value not in known:
            raise PackError(str(root / file), record, field,
                            _("未知的标识 %(value)s", value=value))

    for i, r in enumerate(regions):
        need("regions.yaml", f"{r['slug']} (#{i + 1})", "parent", r.get("parent"), region_slugs)
    boundaries = {}
    for i, feature in enumerate(_features(pack, "boundaries.geojson")):
        slug = feature["properties"]["slug"]
        label = f"{slug} (#{i + 1})"
        need("boundaries.geojson", label, "slug", slug, region_slugs)
        boundaries[slug] = _valid_shape(root / "boundaries.geojson", label, feature["geometry"])
    tracks = {t["slug"] for t in d["tracks.yaml"]}
    industries = {i["slug"] for i in d["industries.yaml"]}
    topics = {t["slug"] for t in d["topics.yaml"]}
    chain_nodes = {}
    for i, ind in enumerate(d["industries.yaml"]):
        label = f"{ind['slug']} (#{i + 1})"
        need("industries.yaml", label, "track", ind.get("track"), tracks)
        node_keys = set()
        for node in (n for nodes in ind.get("chain", {}).values() for n in nodes):
            if not node.get("key"):
                continue
            if node["key"] in node_keys:
                raise PackError(str(root / "industries.yaml"), label, "chain.key",
                                _("重复的环节标识 %(value)s", value=node["key"]))
            node_keys.add(node["key"])
            chain_nodes[f"{ind['slug']}/{node['key']}"] = ind["slug"]
        for leader in ind.get("leaders", []):
            need("industries.yaml", label, "leaders.region", leader.get("region"), region_slugs)
            need("industries.yaml", label, "leaders.node", leader.get("node"), node_keys)
    known = rules.Known(regions=dict.fromkeys(region_slugs), topics=dict.fromkeys(topics),
                        industries=dict.fromkeys(industries), boundaries=boundaries,
                        chain_nodes=chain_nodes)

    def first_problem(file: str, label: str, kind: str, record: dict) -> None:
        """The per-record rules the back office and the importer apply too."""
        found = rules.check(kind, record, known)
        if found:
            raise PackError(str(root / file), label, found[0].field, found[0].message)

    policies = d["policies.yaml"]
    _check_unique(str(root / "policies.yaml"), policies, "key")
    for i, p in enumerate(policies):
        label = f"{p['key']} (#{i + 1})"
        if p.get("body_file") and not (root / p["body_file"]).is_file():
            raise PackError(str(root / "policies.yaml"), label, "body_file", _("文件不存在"))
        first_problem("policies.yaml", label, "policy", p)
    features = _features(pack, "sites.geojson")
    _check_unique(str(root / "sites.geojson"), [f["properties"] for f in features], "key")
    for i, feature in enumerate(features):
        props = feature["properties"]
        first_problem("sites.geojson", f"{props['key']} (#{i + 1})", "site",
                      {**props, "geometry": feature["geometry"]})
    opportunities = d["opportunities.yaml"]
    _check_unique(str(root / "opportunities.yaml"), opportunities, "key")
    for i, o in enumerate(opportunities):
        first_problem("opportunities.yaml", f"{o['key']} (#{i + 1})", "opportunity", o)
    _check_unique(str(root / "departments.yaml"), d["departments.yaml"], "slug")
    for i, dep in enumerate(d["departments.yaml"]):
        need("departments.yaml", f"{dep['slug']} (#{i + 1})", "region", dep.get("region"),
             region_slugs)
    departments = {dep["slug"] for dep in d["departments.yaml"]}
    seen_rules = set()
    for i, rule in enumerate(d["routing.yaml"]):
        label = f"#{i + 1}"
        need("routing.yaml", label, "region", rule.get("region"), region_slugs)
        need("routing.yaml", label, "department", rule.get("department"), departments)
        match = (rule.get("category", ""), rule.get("keyword", "").strip())
        if match in seen_rules:
            raise PackError(str(root / "routing.yaml"), label, "keyword", _("重复的规则"))
        seen_rules.add(match)
    for i, b in enumerate(d["batch_figures.yaml"]):
        need("batch_figures.yaml", f"{b['key']} (#{i + 1})", "region", b.get("region"),
             region_slugs)
        found = rules.batch_problems(b)
        if found:
            raise PackError(str(root / "batch_figures.yaml"), f"{b['key']} (#{i + 1})",
                            found[0].field, found[0].message)
    _check_unique(str(root / "factor_costs.yaml"), d["factor_costs.yaml"], "key")
    for i, f in enumerate(d["factor_costs.yaml"]):
        found = rules.factor_problems(f, region_slugs)
        if found:
            raise PackError(str(root / "factor_costs.yaml"), f"{f['key']} (#{i + 1})",
                            found[0].field, found[0].message)
    need("pack.yaml", None, "root", d["pack.yaml"]["root"], region_slugs)


def _loaded_regions() -> dict[str, Region]:
    """Regions already in the database (none when there is no app to ask)."""
    from flask import has_app_context

    if not has_app_context():
        return {}
    return {r.slug: r for r in db.session.scalars(db.select(Region))}


def _valid_shape(file: Path, label: str, geometry: dict):
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError) as exc:
        raise PackError(str(file), label, "geometry", _("几何无效：%(error)s", error=exc)) from exc
    if geom.is_empty or not geom.is_valid:
        reason = explain_validity(geom) if not geom.is_empty else "empty"
        raise PackError(str(file), label, "geometry", _("几何无效：%(error)s", error=reason))
    return geom


# --- writing -------------------------------------------------------------------------------


def load_pack(name_or_path: str) -> dict[str, int]:
    """Validate and load a pack in one transaction; return row counts per table."""
    pack = read_pack(name_or_path)
    try:
        _write(pack)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return counts()


def counts() -> dict[str, int]:
    models = (Region, Track, Industry, ChainNode, ChainLeader, Topic, Policy, Site, Opportunity,
              BatchFigure, FactorCost, ServiceLink, Department, RoutingRule)
    return {m.__tablename__: db.session.query(m).count() for m in models}


def _upsert(model, lookup: dict, values: dict, kind: str | None = None):
    """Insert or update a pack record. With ``kind`` (a record staff edit in the back office:
    region, industry, batch_figure, service) a record staff have changed since is left as
    they made it, and one they deleted is not brought back."""
    from portal.content import versions

    row = db.session.query(model).filter_by(**lookup).one_or_none()
    if kind and row is not None and versions.edited_by_staff(kind, row.id):
        row.staff_owned = True
        return row
    if row is None:
        if kind and _deleted_by_staff(kind, lookup):
            return None
        row = model(**lookup)
        db.session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    return row


def _deleted_by_staff(kind: str, lookup: dict) -> bool:
    from portal.models import ContentVersion

    gone = db.session.scalars(db.select(ContentVersion.data).where(
        ContentVersion.kind == kind, ContentVersion.publication == "deleted"))
    return any(all(data.get(k) == v for k, v in lookup.items()) for data in gone)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _write(pack: Pack) -> None:
    d = pack.data
    regions = _write_regions(d["regions.yaml"], _features(pack, "boundaries.geojson"))
    tracks = {
        t["slug"]: _upsert(Track, {"slug": t["slug"]}, {
            "name": t["name"], "summary": t.get("summary", ""), "sort_order": i,
            "translations": t.get("translations", {}),
        })
        for i, t in enumerate(d["tracks.yaml"])
    }
    industries = _write_industries(d["industries.yaml"], tracks, regions)
    topics = {
        t["slug"]: _upsert(Topic, {"slug": t["slug"]}, {
            "name": t["name"], "translations": t.get("translations", {}),
        })
        for t in d["topics.yaml"]
    }
    db.session.flush()
    known = rules.Known(regions, topics, industries, chain_nodes=node_refs())
    for p in d["policies.yaml"]:
        body = p.get("body") or clean_text((pack.path / p["body_file"]).read_text("utf-8"))
        record = {k: v for k, v in p.items() if k != "body_file"} | {"body": body}
        _write_content("policy", Policy, record, known)
    for feature in _features(pack, "sites.geojson"):
        _write_content("site", Site, {**feature["properties"], "geometry": feature["geometry"]},
                       known)
    for o in d["opportunities.yaml"]:
        _write_content("opportunity", Opportunity, o, known)
    for i, b in enumerate(d["batch_figures.yaml"]):
        _upsert(BatchFigure, {"key": b["key"]}, kind="batch_figure", values={
            "area": b["area"], "region": regions.get(b.get("region")), "period": b["period"],
            "batch": b["batch"], "projects": b["projects"],
            "investment_yi": b.get("investment_yi"),
            "completed_projects": b.get("completed_projects"),
            "rate_kind": b.get("rate_kind", ""), "rate_part": b.get("rate_part"),
            "rate_whole": b.get("rate_whole"), "rate_label": b.get("rate_label", ""),
            "published_rate_percent": b.get("published_rate_percent"),
            "note": b.get("note", ""), "source": b["source"], "sort_order": i,
            "translations": b.get("translations", {}),
        })
    for i, f in enumerate(d["factor_costs.yaml"]):
        _upsert(FactorCost, {"key": f["key"]}, kind="factor_cost", values={
            "region": regions[f["region"]], "category": f["category"], "item": f["item"],
            "value": f["value"], "low": f.get("low"), "high": f.get("high"), "unit": f["unit"],
            "year": f["year"], "source": f["source"], "source_url": f.get("source_url", ""),
            "note": f.get("note", ""), "is_demo": f.get("is_demo", False), "sort_order": i,
            "translations": f.get("translations", {}),
        })
    for i, s in enumerate(d["services.yaml"]):
        _upsert(ServiceLink, {"key": s["key"]}, kind="service", values={
            "category": s["category"], "name": s["name"],
            "description": s.get("description", ""), "url": s.get("url", ""), "sort_order": i,
            **{name: s.get(name, "") for name in SERVICE_DETAILS},
            "policy_key": s.get("policy", ""), "is_demo": s.get("is_demo", False),
            "translations": s.get("translations", {}),
        })
    for i, dep in enumerate(d["departments.yaml"]):
        _upsert(Department, {"slug": dep["slug"]}, {
            "name": dep["name"], "region": regions.get(dep.get("region")), "sort_order": i,
            "translations": dep.get("translations", {}),
        })
    db.session.flush()
    _write_routing(d["routing.yaml"], regions)


def _write_routing(records: list[dict], regions: dict[str, Region]) -> None:
    """Rules are matched on (category, keyword) and updated in place; rules an admin added
    stay, and so does the order an admin set (a new rule from the pack goes last)."""
    departments = {dep.slug: dep for dep in db.session.scalars(db.select(Department))}
    last = db.session.scalar(db.select(db.func.max(RoutingRule.sort_order)))
    for rule in records:
        match = {"category": rule.get("category", ""), "keyword": rule.get("keyword", "").strip()}
        row = db.session.scalars(db.select(RoutingRule).filter_by(**match)).first()
        if row is None:
            last = (last if last is not None else -10) + 10
            row = RoutingRule(**match, sort_order=last)
            db.session.add(row)
        row.region = regions.get(rule.get("region"))
        row.department = departments.get(rule.get("department"))
    db.session.flush()


def _write_regions(records: list[dict], boundary_features: list[dict]) -> dict[str, Region]:
    boundaries = {f["properties"]["slug"]: f["geometry"] for f in boundary_features}
    regions = _loaded_regions()  # the pack's own are written below, over these
    for i, r in enumerate(records):
        lon, lat = r["centroid"]
        regions[r["slug"]] = _upsert(Region, {"slug": r["slug"]}, kind="region", values={
            "kind": r["kind"], "name": r["name"], "short_name": r.get("short_name", ""),
            "zone_level": r.get("zone_level", ""), "summary": r.get("summary", ""),
            "profile": r.get("profile", ""), "latitude": lat, "longitude": lon,
            "boundary": boundaries.get(r["slug"]), "figures": r.get("figures", {}),
            "contacts": r.get("contacts", []), "sort_order": i,
            "is_demo": r.get("is_demo", False), "translations": r.get("translations", {}),
        })
    for r in records:  # parents may come later in the file
        regions[r["slug"]].parent = regions.get(r.get("parent"))
    db.session.flush()
    return regions


def _write_industries(records, tracks, regions) -> dict[str, Industry]:
    industries = {}
    for i, ind in enumerate(records):
        industry = _upsert(Industry, {"slug": ind["slug"]}, kind="industry", values={
            "name": ind["name"], "track": tracks.get(ind.get("track")),
            "is_key": ind.get("is_key", False), "summary": ind.get("summary", ""),
            "profile": ind.get("profile", ""), "sort_order": i,
            "translations": ind.get("translations", {}),
        })
        industries[ind["slug"]] = industry
        if getattr(industry, "staff_owned", False):
            continue  # staff keep this industry's chain map now
        # Chain maps belong to the pack until staff edit them: nodes updated in place (records
        # link to them), companies rebuilt on every load.
        sync_chain(industry, ind.get("chain", {}), ind.get("leaders", []), regions)
    return industries


def _write_content(kind: str, model, record: dict, known: rules.Known):
    """A policy, site or opportunity of the pack, with a "load" version when it changed.
    A record staff have edited since (its latest version is theirs) is left as they made it:
    the back office owns it now."""
    from portal.content import versions

    row = db.session.scalars(db.select(model).filter_by(key=record["key"])).one_or_none()
    if row is not None and versions.edited_by_staff(kind, row.id):
        return row
    if row is None:
        row = model(key=record["key"], publication="published")
        db.session.add(row)
    for name, value in rules.values(kind, record, known).items():
        setattr(row, name, value)
    versions.record(kind, row, "load", only_if_changed=True)
    return row
