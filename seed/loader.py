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

from portal.extensions import db
from portal.models import (
    BatchFigure,
    ChainLeader,
    ChainNode,
    Department,
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
from portal.sites import geometry as site_geometry
from seed import schema
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


def _field_label(path) -> str | None:
    names = [str(p) for p in path if not isinstance(p, int)]
    names = [n for n in names if n not in ("features", "properties")]
    return ".".join(names) or None


def _problem(error: jsonschema.ValidationError) -> str:
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


def _validate(file: Path, content, file_schema: dict) -> None:
    validator = jsonschema.Draft202012Validator(file_schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(content))
    if error is None:
        return
    # For oneOf/anyOf, the most specific sub-error names the real field.
    while error.context:
        error = jsonschema.exceptions.best_match(error.context)
    path = list(error.absolute_path)
    field = _field_label(path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [n for n in error.validator_value if n not in error.instance]
        field = ".".join(filter(None, [field, missing[0] if missing else None]))
    raise PackError(str(file), _record_label(content, path), field, _problem(error))


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
    region_slugs = {r["slug"] for r in regions}

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
    for i, ind in enumerate(d["industries.yaml"]):
        label = f"{ind['slug']} (#{i + 1})"
        need("industries.yaml", label, "track", ind.get("track"), tracks)
        for leader in ind.get("leaders", []):
            need("industries.yaml", label, "leaders.region", leader.get("region"), region_slugs)
    policies = d["policies.yaml"]
    _check_unique(str(root / "policies.yaml"), policies, "key")
    for i, p in enumerate(policies):
        label = f"{p['key']} (#{i + 1})"
        need("policies.yaml", label, "region", p.get("region"), region_slugs)
        for slug in p.get("topics", []):
            need("policies.yaml", label, "topics", slug, topics)
        for slug in p.get("industries", []):
            need("policies.yaml", label, "industries", slug, industries)
        if p.get("body_file") and not (root / p["body_file"]).is_file():
            raise PackError(str(root / "policies.yaml"), label, "body_file", _("文件不存在"))
        _check_dates(root / "policies.yaml", label, p, "effective_from", "effective_to")
    features = _features(pack, "sites.geojson")
    _check_unique(str(root / "sites.geojson"), [f["properties"] for f in features], "key")
    for i, feature in enumerate(features):
        props = feature["properties"]
        label = f"{props['key']} (#{i + 1})"
        file = root / "sites.geojson"
        need("sites.geojson", label, "region", props["region"], region_slugs)
        try:
            geom = site_geometry.parse(feature["geometry"], props["kind"])
            site_geometry.check_within(geom, boundaries.get(props["region"]), props["region"])
        except site_geometry.GeometryError as exc:
            raise PackError(str(file), label, "geometry", str(exc)) from exc
        if (props.get("min_plot_ratio") is not None and props.get("max_plot_ratio") is not None
                and props["max_plot_ratio"] < props["min_plot_ratio"]):
            raise PackError(str(file), label, "max_plot_ratio", _("容积率上限小于下限"))
    opportunities = d["opportunities.yaml"]
    _check_unique(str(root / "opportunities.yaml"), opportunities, "key")
    for i, o in enumerate(opportunities):
        label = f"{o['key']} (#{i + 1})"
        need("opportunities.yaml", label, "region", o.get("region"), region_slugs)
        need("opportunities.yaml", label, "industry", o.get("industry"), industries)
        _check_dates(root / "opportunities.yaml", label, o, "published", "deadline")
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
    need("pack.yaml", None, "root", d["pack.yaml"]["root"], region_slugs)


def _check_dates(file: Path, label: str, record: dict, first: str, last: str) -> None:
    for field in (first, last):
        if record.get(field):
            try:
                date.fromisoformat(record[field])
            except ValueError as exc:
                raise PackError(str(file), label, field, _("日期无效")) from exc
    if record.get(first) and record.get(last) and record[last] < record[first]:
        raise PackError(str(file), label, last,
                        _("%(last)s 早于 %(first)s", last=last, first=first))


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
              BatchFigure, ServiceLink, Department, RoutingRule)
    return {m.__tablename__: db.session.query(m).count() for m in models}


def _upsert(model, lookup: dict, values: dict):
    row = db.session.query(model).filter_by(**lookup).one_or_none()
    if row is None:
        row = model(**lookup)
        db.session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    return row


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
    for p in d["policies.yaml"]:
        body = p.get("body") or clean_text((pack.path / p["body_file"]).read_text("utf-8"))
        _upsert(Policy, {"key": p["key"]}, {
            "title": p["title"], "doc_number": p.get("doc_number", ""), "issuer": p["issuer"],
            "level": p["level"], "region": regions.get(p.get("region")),
            "published": _day(p["published"]), "effective_from": _day(p.get("effective_from")),
            "effective_to": _day(p.get("effective_to")), "status": p["status"],
            "summary": p.get("summary", ""), "body": body,
            "interpretation": p.get("interpretation", ""), "procedure": p.get("procedure", ""),
            "benefit_mode": p.get("benefit_mode", ""), "eligibility": p.get("eligibility", []),
            "attachments": p.get("attachments", []),
            "source_url": p.get("source_url", ""), "source_note": p.get("source_note", ""),
            "is_demo": p.get("is_demo", False), "translations": p.get("translations", {}),
            "topics": [topics[s] for s in p.get("topics", [])],
            "industries": [industries[s] for s in p.get("industries", [])],
        })
    for feature in _features(pack, "sites.geojson"):
        _write_site(feature, regions)
    for o in d["opportunities.yaml"]:
        _upsert(Opportunity, {"key": o["key"]}, {
            "kind": o["kind"], "title": o["title"], "summary": o.get("summary", ""),
            "body": o.get("body", ""), "region": regions.get(o.get("region")),
            "industry": industries.get(o.get("industry")), "amount_wan": o.get("amount_wan"),
            "publisher": o.get("publisher", ""), "contact_name": o.get("contact_name", ""),
            "contact_phone": o.get("contact_phone", ""), "published": _day(o["published"]),
            "deadline": _day(o.get("deadline")), "status": o.get("status", "open"),
            "is_demo": o.get("is_demo", False), "translations": o.get("translations", {}),
        })
    for i, b in enumerate(d["batch_figures.yaml"]):
        _upsert(BatchFigure, {"key": b["key"]}, {
            "area": b["area"], "region": regions.get(b.get("region")), "period": b["period"],
            "batch": b["batch"], "projects": b["projects"],
            "investment_yi": b.get("investment_yi"),
            "completed_projects": b.get("completed_projects"),
            "rate_label": b.get("rate_label", ""), "rate_percent": b.get("rate_percent"),
            "note": b.get("note", ""), "source": b["source"], "sort_order": i,
            "translations": b.get("translations", {}),
        })
    for i, s in enumerate(d["services.yaml"]):
        _upsert(ServiceLink, {"key": s["key"]}, {
            "category": s["category"], "name": s["name"],
            "description": s.get("description", ""), "url": s["url"], "sort_order": i,
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
    regions = {}
    for i, r in enumerate(records):
        lon, lat = r["centroid"]
        regions[r["slug"]] = _upsert(Region, {"slug": r["slug"]}, {
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
        industry = _upsert(Industry, {"slug": ind["slug"]}, {
            "name": ind["name"], "track": tracks.get(ind.get("track")),
            "is_key": ind.get("is_key", False), "summary": ind.get("summary", ""),
            "profile": ind.get("profile", ""), "sort_order": i,
            "translations": ind.get("translations", {}),
        })
        # Chain maps belong wholly to the pack: rebuilt on every load.
        industry.chain_nodes = [
            ChainNode(stage=stage, name=n["name"], description=n.get("description", ""),
                      is_gap=n.get("gap", False), gap_note=n.get("gap_note", ""),
                      sort_order=j, translations=n.get("translations", {}))
            for stage, nodes in ind.get("chain", {}).items()
            for j, n in enumerate(nodes)
        ]
        industry.leaders = [
            ChainLeader(name=leader["name"], region=regions.get(leader.get("region")),
                        description=leader.get("description", ""),
                        is_demo=leader.get("is_demo", False),
                        translations=leader.get("translations", {}))
            for leader in ind.get("leaders", [])
        ]
        industries[ind["slug"]] = industry
    return industries


SITE_FIELDS = (
    "kind", "name", "address", "description", "land_use", "area_mu", "floor_area_m2",
    "land_price_wan_per_mu", "rent_yuan_m2_month", "sale_price_yuan_m2", "power_kva",
    "floor_load_kn_m2", "ceiling_height_m", "floors", "min_investment_wan_per_mu",
    "min_tax_wan_per_mu", "min_plot_ratio", "max_plot_ratio", "min_building_coverage",
    "max_energy_t_per_wan", "contact_name", "contact_phone",
)
SITE_DEFAULTS = {"address": "", "description": "", "contact_name": "", "contact_phone": ""}


def _write_site(feature: dict, regions: dict[str, Region]) -> Site:
    props = feature["properties"]
    geom = shape(feature["geometry"])
    point = geom.representative_point()
    values = {name: props.get(name, SITE_DEFAULTS.get(name)) for name in SITE_FIELDS}
    values.update({
        "drawn_area_mu": site_geometry.area_mu(geom) if props["kind"] == "parcel" else None,
        "region": regions[props["region"]],
        "geometry": feature["geometry"],
        "latitude": point.y,
        "longitude": point.x,
        "readiness": props.get("readiness", []),
        "availability": props.get("availability", "available"),
        "available_from": _day(props.get("available_from")),
        "is_demo": props.get("is_demo", False),
        "translations": props.get("translations", {}),
    })
    return _upsert(Site, {"key": props["key"]}, values)
