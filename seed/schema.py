"""JSON Schemas of a data pack's files. A pack is a folder under ``seed/`` (see README)."""

_SLUG = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": 80}
_KEY = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$", "maxLength": 80}
_TEXT = {"type": "string"}
_TITLE = {"type": "string", "minLength": 1}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_NONNEG = {"type": "number", "minimum": 0}
_LANGS = ("en", "ja", "ko", "ru")
_SOURCES = ("human", "machine")
# Language → field → text. ``_source`` and ``_date`` say who translated the block and when;
# left out, the pack's ``translation_sources`` say it for the whole language.
_TRANSLATIONS = {
    "type": "object",
    "propertyNames": {"enum": list(_LANGS)},
    "additionalProperties": {
        "type": "object",
        "properties": {"_source": {"enum": list(_SOURCES)}, "_date": _DATE},
        "additionalProperties": {"type": "string"},
    },
}
_CONTACT = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": _TITLE, "role": _TEXT, "phone": _TEXT, "email": _TEXT, "address": _TEXT,
    },
    "additionalProperties": False,
}
_POSITION = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3}
_RING = {"type": "array", "items": _POSITION, "minItems": 4}
POLYGON = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"const": "Polygon"},
        "coordinates": {"type": "array", "items": _RING, "minItems": 1},
    },
}
MULTIPOLYGON = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"const": "MultiPolygon"},
        "coordinates": {"type": "array", "items": {"type": "array", "items": _RING}},
    },
}
POINT = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {"type": {"const": "Point"}, "coordinates": _POSITION},
}


def _records(item: dict) -> dict:
    return {"type": "array", "items": item}


PACK = {
    "type": "object",
    "required": ["name", "root", "title"],
    "properties": {
        "name": _SLUG,
        "root": _SLUG,
        "title": _TITLE,
        "description": _TEXT,
        "demo_notice": _TEXT,
        "translation_sources": {
            "type": "object",
            "propertyNames": {"enum": list(_LANGS)},
            "additionalProperties": {
                "type": "object", "required": ["source", "date"],
                "properties": {"source": {"enum": list(_SOURCES)}, "date": _DATE},
                "additionalProperties": False,
            },
        },
        "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
}

REGIONS = _records({
    "type": "object",
    "required": ["slug", "kind", "name", "centroid"],
    "properties": {
        "slug": _SLUG,
        "kind": {"enum": ["province", "city", "district", "county", "zone"]},
        "parent": _SLUG,
        "name": _TITLE,
        "short_name": _TEXT,
        "zone_level": {"enum": ["national", "provincial", "municipal", ""]},
        "summary": _TEXT,
        "profile": _TEXT,
        "centroid": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "figures": {"type": "object"},
        "contacts": {"type": "array", "items": _CONTACT},
        "is_demo": {"type": "boolean"},
        "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
})

BOUNDARIES = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": _records({
            "type": "object",
            "required": ["type", "properties", "geometry"],
            "properties": {
                "type": {"const": "Feature"},
                "properties": {
                    "type": "object",
                    "required": ["slug"],
                    "properties": {"slug": _SLUG},
                },
                "geometry": {"oneOf": [POLYGON, MULTIPOLYGON]},
            },
        }),
    },
}

TRACKS = _records({
    "type": "object",
    "required": ["slug", "name"],
    "properties": {
        "slug": _SLUG, "name": _TITLE, "summary": _TEXT, "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
})

# A chain node named from another file: "industry-slug/node-key".
CHAIN_REF = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*$",
             "maxLength": 161}

_CHAIN_NODE = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "key": _SLUG,
        "name": _TITLE, "description": _TEXT, "gap": {"type": "boolean"}, "gap_note": _TEXT,
        "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
}

INDUSTRIES = _records({
    "type": "object",
    "required": ["slug", "name"],
    "properties": {
        "slug": _SLUG,
        "name": _TITLE,
        "track": _SLUG,
        "is_key": {"type": "boolean"},
        "summary": _TEXT,
        "profile": _TEXT,
        "chain": {
            "type": "object",
            "propertyNames": {"enum": ["upstream", "midstream", "downstream"]},
            "additionalProperties": {"type": "array", "items": _CHAIN_NODE},
        },
        "leaders": _records({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": _TITLE, "region": _SLUG, "description": _TEXT,
                # The node (its key) the company works on; 链主 or a local company.
                "node": _SLUG, "role": {"enum": ["leader", "local"]},
                "is_demo": {"type": "boolean"}, "translations": _TRANSLATIONS,
            },
            "additionalProperties": False,
        }),
        "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
})

TOPICS = _records({
    "type": "object",
    "required": ["slug", "name"],
    "properties": {"slug": _SLUG, "name": _TITLE, "translations": _TRANSLATIONS},
    "additionalProperties": False,
})

_CRITERION = {
    "type": "object",
    "required": ["field", "op", "value"],
    "properties": {
        "field": {"enum": ["industry", "region", "investor_type", "stage", "size",
                           "investment_wan", "employees", "revenue_wan", "years_registered"]},
        "op": {"enum": ["in", "not_in", "gte", "lte", "eq"]},
        "value": {},
        "label": _TEXT,
    },
    "additionalProperties": False,
}

POLICIES = _records({
    "type": "object",
    "required": ["key", "title", "issuer", "level", "published", "status"],
    "properties": {
        "key": _KEY,
        "title": _TITLE,
        "doc_number": _TEXT,
        "issuer": _TITLE,
        "level": {"enum": ["national", "provincial", "municipal", "county", "zone"]},
        "region": _SLUG,
        "published": _DATE,
        "effective_from": _DATE,
        "effective_to": _DATE,
        "status": {"enum": ["in_force", "expired", "draft"]},
        "comment_until": _DATE,
        "topics": {"type": "array", "items": _SLUG},
        "industries": {"type": "array", "items": _SLUG},
        "summary": _TEXT,
        "body": _TITLE,
        "body_file": _TITLE,
        "interpretation": _TEXT,
        "procedure": _TEXT,
        "benefit_mode": {"enum": ["automatic", "instant", "application", ""]},
        "eligibility": {"type": "array", "items": _CRITERION},
        "attachments": {"type": "array", "items": {
            "type": "object", "required": ["title", "url"],
            "properties": {"title": _TITLE, "url": {"type": "string", "minLength": 1}},
            "additionalProperties": False}},
        "source_url": _TEXT,
        "source_note": _TEXT,
        "is_demo": {"type": "boolean"},
        "translations": _TRANSLATIONS,
    },
    "oneOf": [{"required": ["body"]}, {"required": ["body_file"]}],
    "additionalProperties": False,
})

_SITE_PROPERTIES = {
    "type": "object",
    "required": ["key", "kind", "name", "region", "land_use"],
    "properties": {
        "key": _KEY,
        "kind": {"enum": ["parcel", "factory", "office", "warehouse", "incubator"]},
        "name": _TITLE,
        "region": _SLUG,
        "address": _TEXT,
        "description": _TEXT,
        "land_use": {"enum": ["industrial", "logistics", "commercial", "research", "mixed",
                              "agricultural"]},
        "area_mu": _NONNEG,
        "floor_area_m2": _NONNEG,
        "land_price_wan_per_mu": _NONNEG,
        "rent_yuan_m2_month": _NONNEG,
        "sale_price_yuan_m2": _NONNEG,
        "readiness": {"type": "array", "uniqueItems": True, "items": {"enum": [
            "road", "water", "drainage", "power", "telecom", "gas", "heat", "levelled"]}},
        "power_kva": _NONNEG,
        "floor_load_kn_m2": _NONNEG,
        "ceiling_height_m": _NONNEG,
        "floors": {"type": "integer", "minimum": 1},
        "min_investment_wan_per_mu": _NONNEG,
        "min_tax_wan_per_mu": _NONNEG,
        "min_plot_ratio": _NONNEG,
        "max_plot_ratio": _NONNEG,
        "min_building_coverage": _NONNEG,
        "max_energy_t_per_wan": _NONNEG,
        "availability": {"enum": ["available", "reserved", "taken"]},
        "available_from": _DATE,
        "contact_name": _TEXT,
        "contact_phone": _TEXT,
        "chain_nodes": {"type": "array", "uniqueItems": True, "items": CHAIN_REF},
        "is_demo": {"type": "boolean"},
        "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
    "if": {"properties": {"kind": {"const": "parcel"}}},
    "then": {"required": ["area_mu"]},
    "else": {"required": ["floor_area_m2"]},
}

SITES = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": _records({
            "type": "object",
            "required": ["type", "properties", "geometry"],
            "properties": {
                "type": {"const": "Feature"},
                "properties": _SITE_PROPERTIES,
                "geometry": {"oneOf": [POLYGON, POINT]},
            },
        }),
    },
}

OPPORTUNITIES = _records({
    "type": "object",
    "required": ["key", "kind", "title", "published"],
    "properties": {
        "key": _KEY,
        "kind": {"enum": ["scene", "project", "challenge", "capability", "demand"]},
        "title": _TITLE,
        "summary": _TEXT,
        "body": _TEXT,
        "region": _SLUG,
        "industry": _SLUG,
        "chain_node": CHAIN_REF,
        "amount_wan": _NONNEG,
        "publisher": _TEXT,
        "contact_name": _TEXT,
        "contact_phone": _TEXT,
        "published": _DATE,
        "deadline": _DATE,
        "status": {"enum": ["open", "closed"]},
        "is_demo": {"type": "boolean"},
        # 揭榜挂帅 only: the phases in order, each with its dates (see seed.rules).
        "phases": {"type": "array", "maxItems": 5, "items": {
            "type": "object",
            "required": ["phase", "starts"],
            "properties": {
                "phase": {"enum": ["publish", "apply", "review", "notice", "award"]},
                "starts": _DATE,
                "ends": _DATE,
            },
            "additionalProperties": False,
        }},
        "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
})

BATCH_FIGURES = _records({
    "type": "object",
    "required": ["key", "area", "period", "batch", "projects", "source"],
    "properties": {
        "key": _KEY,
        "area": _TITLE,
        "region": _SLUG,
        "period": _TITLE,
        "batch": {"enum": ["signed", "started", "producing"]},
        "projects": {"type": "integer", "minimum": 0},
        "investment_yi": _NONNEG,
        "completed_projects": {"type": "integer", "minimum": 0},
        # A computed rate: its kind (portal.showcase.rates.RATE_KINDS) and inputs; the
        # published rate, if given, must agree with them (seed.rules.batch_problems). Without a
        # kind, published_rate_percent is a quoted value under rate_label.
        "rate_kind": {"enum": ["", "signed_started", "started_producing", "emerging_share",
                               "procedures_done"]},
        "rate_part": _NONNEG,
        "rate_whole": _NONNEG,
        "rate_label": _TEXT,
        "published_rate_percent": {"type": "number", "minimum": 0, "maximum": 100},
        "note": _TEXT,
        "source": _TITLE,
        "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
})

# 要素成本 (portal.models.factors): one figure of one region, with its year and source. A
# range is low–high with value its typical point; demo figures say so (is_demo).
FACTOR_CATEGORIES = ("land", "electricity", "green_power", "water", "gas", "heat", "wage",
                     "logistics")
FACTOR_COSTS = _records({
    "type": "object",
    "required": ["key", "region", "category", "item", "value", "unit", "year", "source"],
    "properties": {
        "key": _KEY,
        "region": _SLUG,
        "category": {"enum": list(FACTOR_CATEGORIES)},
        "item": _TITLE,
        "value": _NONNEG,
        "low": _NONNEG,
        "high": _NONNEG,
        "unit": _TITLE,
        "year": {"type": "integer", "minimum": 1990, "maximum": 2100},
        "source": _TITLE,
        "source_url": _TEXT,
        "note": _TEXT,
        "is_demo": {"type": "boolean"},
        "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
})

SERVICES = _records({
    "type": "object",
    "required": ["key", "category", "name"],
    "properties": {
        "key": _KEY,
        "category": {"enum": ["appeal", "funding", "affairs", "talent", "finance", "other"]},
        "name": _TITLE,
        "description": _TEXT,  # what the service is for
        "url": {"type": "string", "minLength": 1},  # where to use it online
        "department": _TEXT,  # who provides it
        "phone": {"type": "string", "pattern": r"^\+?[0-9][0-9 -]{1,30}$"},
        "address": _TEXT,  # the counter
        "hours": _TEXT,
        "policy": _KEY,  # the related policy's key
        "portal_path": _TEXT,  # the portal's own page, e.g. /complaints/new
        "portal_label": _TEXT,
        "operator_note": _TEXT,  # for staff only, never shown on public pages
        "is_demo": {"type": "boolean"},
        "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
})

DEPARTMENTS = _records({
    "type": "object",
    "required": ["slug", "name"],
    "properties": {
        "slug": _SLUG,
        "name": _TITLE,
        "region": _SLUG,
        "translations": _TRANSLATIONS,
    },
    "additionalProperties": False,
})

# The routing table for complaints (portal.cases.routing): the first rule whose category
# (left out: any) and keyword (left out: any) match names a department, a region or both.
ROUTING = _records({
    "type": "object",
    "properties": {
        "category": {"enum": ["", "policy", "approval", "enforcement", "arrears", "factors",
                              "environment", "other"]},
        "keyword": {"type": "string", "maxLength": 80},
        "region": _SLUG,
        "department": _SLUG,
    },
    "anyOf": [{"required": ["region"]}, {"required": ["department"]}],
    "additionalProperties": False,
})

# File name → schema, in load order (later files refer to earlier ones by slug).
FILES = {
    "pack.yaml": PACK,
    "regions.yaml": REGIONS,
    "boundaries.geojson": BOUNDARIES,
    "tracks.yaml": TRACKS,
    "industries.yaml": INDUSTRIES,
    "topics.yaml": TOPICS,
    "policies.yaml": POLICIES,
    "sites.geojson": SITES,
    "opportunities.yaml": OPPORTUNITIES,
    "batch_figures.yaml": BATCH_FIGURES,
    "factor_costs.yaml": FACTOR_COSTS,
    "services.yaml": SERVICES,
    "departments.yaml": DEPARTMENTS,
    "routing.yaml": ROUTING,
}

# The investment glossary (seed/glossary/<category>.yaml), shared by every pack: Chinese terms
# with their English, Japanese, Korean and Russian forms and a one-line note. The commonest
# terms carry all five languages.
_GLOSSARY_LANGS = ("zh", "en", "ja", "ko", "ru")
_FORM_LIST = {"type": "array", "items": _TITLE}
GLOSSARY = _records({
    "type": "object",
    "required": ["zh", "en", "note"],
    "properties": {
        **{lang: _TITLE for lang in _GLOSSARY_LANGS},
        **{f"{lang}_also": _FORM_LIST for lang in _GLOSSARY_LANGS},
        "common": {"type": "boolean"},
        "note": {
            "type": "object",
            "required": ["zh", "en"],
            "properties": {lang: _TITLE for lang in _GLOSSARY_LANGS},
            "additionalProperties": False,
        },
    },
    "if": {"required": ["common"], "properties": {"common": {"const": True}}},
    "then": {"required": ["ja", "ko", "ru"],
             "properties": {"note": {"required": list(_GLOSSARY_LANGS)}}},
    "additionalProperties": False,
})
