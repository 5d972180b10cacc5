"""The OpenAPI 3 description of /api/v1."""

from flask import url_for

import portal


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _object(required_fields: list[str], /, **properties) -> dict:
    return {"type": "object", "required": required_fields, "properties": properties}


STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number", "nullable": True}
ERROR = _json(_ref("Error"), "Error")
LANG = _query("lang", "Language of translated fields and links: zh, en, ja, ko, ru "
                      "(default: Accept-Language, then zh)",
              {"type": "string", "enum": ["zh", "en", "ja", "ko", "ru"]})

SCHEMAS = {
    "Error": _object(["error"], error=_object(
        ["code", "message", "fields"], code=STRING, message=STRING,
        fields={"type": "object", "additionalProperties": STRING})),
    "PolicySummary": _object(
        ["id", "title", "doc_number", "issuer", "level", "published", "status", "snippet", "url"],
        id=INTEGER, title=STRING, doc_number=STRING, issuer=STRING,
        level={"type": "string", "enum": ["national", "provincial", "municipal", "county",
                                          "zone"]},
        published={"type": "string", "format": "date"},
        status={"type": "string", "enum": ["in_force", "expired", "draft"]},
        snippet={"type": "string", "description": "HTML; matches wrapped in <mark>"},
        url={"type": "string", "format": "uri"}),
    "PolicyList": _object(
        ["total", "items", "facets"], total=INTEGER, page=INTEGER, pages=INTEGER,
        items={"type": "array", "items": _ref("PolicySummary")},
        facets={"type": "object", "description": "field → value → count",
                "additionalProperties": {"type": "object",
                                         "additionalProperties": INTEGER}},
        degraded={"type": "boolean",
                  "description": "true when the search engine was unavailable"}),
    "Policy": {"allOf": [_ref("PolicySummary"), _object(
        ["body"], body=STRING, summary=STRING, interpretation=STRING, procedure=STRING,
        region=NULLABLE_STRING,
        effective_from={"type": "string", "format": "date", "nullable": True},
        effective_to={"type": "string", "format": "date", "nullable": True},
        topics={"type": "array", "items": STRING},
        industries={"type": "array", "items": STRING},
        benefit_mode={"type": "string", "nullable": True,
                      "enum": ["automatic", "instant", "application", None]},
        eligibility={"type": "array", "items": {"type": "object"}},
        attachments={"type": "array", "items": _object(["title", "url"], title=STRING,
                                                       url=STRING)},
        is_demo={"type": "boolean"})]},
    "Profile": {"type": "object", "description": "An enterprise describing itself",
                "properties": {
                    "industry": {"type": "string", "description": "industry slug"},
                    "region": {"type": "string", "description": "region slug"},
                    "investor_type": {"type": "string", "enum": ["domestic", "foreign", "hmt"]},
                    "stage": {"type": "string",
                              "enum": ["new", "expansion", "rnd", "listing"]},
                    "size": {"type": "string", "enum": ["micro", "small", "medium", "large"]},
                    "investment_wan": {"type": "number", "minimum": 0},
                    "employees": {"type": "integer", "minimum": 0},
                    "revenue_wan": {"type": "number", "minimum": 0},
                    "years_registered": {"type": "number", "minimum": 0}}},
    "PolicyMatch": _object(
        ["policy", "score", "reasons", "unmet"], policy=_ref("PolicySummary"),
        score={"type": "integer", "minimum": 0, "maximum": 100},
        reasons={"type": "array", "items": STRING}, unmet={"type": "array", "items": STRING},
        unknown={"type": "array", "items": STRING}, qualifies={"type": "boolean"},
        automatic={"type": "boolean", "description": "免申即享: granted without applying"}),
    "MatchResult": _object(["items"], items={"type": "array", "items": _ref("PolicyMatch")},
                           near={"type": "array", "items": _ref("PolicyMatch")}),
    "SiteProperties": _object(
        ["id", "kind", "name", "area_mu", "region", "status", "url"], id=INTEGER,
        kind={"type": "string", "enum": ["parcel", "factory", "office", "warehouse",
                                         "incubator"]},
        name=STRING, area_mu=NUMBER, floor_area_m2=NUMBER, region=STRING, land_use=STRING,
        status={"type": "string", "enum": ["available", "reserved", "taken"]},
        is_demo={"type": "boolean"}, url=STRING),
    "FeatureCollection": _object(
        ["type", "features"], type={"type": "string", "enum": ["FeatureCollection"]},
        features={"type": "array", "items": _object(
            ["type", "geometry", "properties"], type={"type": "string", "enum": ["Feature"]},
            geometry={"type": "object"}, properties=_ref("SiteProperties"))}),
    "SiteRequirements": {"type": "object", "description": "What a project needs of a site",
                         "properties": {
                             "kinds": {"type": "array", "items": {"type": "string", "enum": [
                                 "parcel", "factory", "office", "warehouse", "incubator"]}},
                             "industry": STRING, "land_use": STRING,
                             "regions": {"type": "array", "items": STRING},
                             "must_have": {"type": "array", "items": STRING},
                             **{name: {"type": "number", "minimum": 0} for name in (
                                 "min_area", "max_area", "max_land_price_wan_per_mu",
                                 "max_rent_yuan_m2_month", "power_kva", "floor_load_kn_m2",
                                 "ceiling_height_m", "investment_wan", "floor_area_m2",
                                 "tax_wan", "energy_t", "output_wan")}}},
    "IndicatorCheck": _object(["name", "required", "value", "passed", "unit"], name=STRING,
                              required=STRING, value=NUMBER,
                              passed={"type": "boolean", "nullable": True}, unit=STRING,
                              label=STRING, minimum=NUMBER, maximum=NUMBER),
    "SiteMatch": _object(["site", "score", "reasons", "unmet"], site=_ref("SiteProperties"),
                         score={"type": "integer", "minimum": 0, "maximum": 100},
                         reasons={"type": "array", "items": STRING},
                         unmet={"type": "array", "items": STRING},
                         standard_land={"type": "array", "items": _ref("IndicatorCheck")}),
    "SiteMatchResult": _object(["items"], items={"type": "array", "items": _ref("SiteMatch")}),
    "List": _object(["items"], items={"type": "array", "items": {"type": "object"}}),
}


def document() -> dict:
    policy_filters = [
        _query("q", "Full-text query; Chinese substrings of any length match, every term "
                    "must occur, quotes group a phrase, other characters are literal"),
        _query("level", "national, provincial, municipal, county or zone"),
        _query("status", "in_force, expired or draft"), _query("issuer", "Issuing body"),
        _query("topic", "Topic slug"), _query("industry", "Industry slug"),
        _query("region", "Region slug"), _query("year", "Year published, e.g. 2026"),
        _query("sort", "relevance (default) or date",
               {"type": "string", "enum": ["relevance", "date"]}),
        _query("page", "Page number from 1 (20 a page)", {"type": "integer", "minimum": 1}),
        LANG,
    ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "永不落幕的招商专区 API",
            "version": portal.__version__,
            "description": "Policies, sites and opportunities of the region, for provincial "
                           "platforms and partners.",
        },
        "servers": [{"url": url_for("api.openapi", _external=True).rsplit("/", 1)[0]}],
        "paths": {
            "/policies": {"get": {
                "operationId": "searchPolicies", "summary": "Search and filter policies",
                "parameters": policy_filters,
                "responses": {"200": _json(_ref("PolicyList"))},
            }},
            "/policies/{policy_id}": {"get": {
                "operationId": "getPolicy", "summary": "One policy with its full text",
                "parameters": [_id("policy_id"), LANG],
                "responses": {"200": _json(_ref("Policy")), "404": ERROR},
            }},
            "/policies/match": {"post": {
                "operationId": "matchPolicies",
                "summary": "Policies an enterprise qualifies for, with reasons",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("Profile")}}},
                "responses": {"200": _json(_ref("MatchResult")), "400": ERROR,
                              "415": ERROR, "422": ERROR},
            }},
            "/sites.geojson": {"get": {
                "operationId": "sitesGeoJSON", "summary": "Land parcels and carriers as GeoJSON",
                "parameters": [_query("bbox", "west,south,east,north in WGS-84"),
                               _query("kind", "parcel, factory, office, warehouse, incubator"),
                               _query("region", "Region slug (includes the zones within)"),
                               _query("land_use", "industrial, logistics, commercial, …"),
                               _query("min_area", "Minimum area in area_unit"),
                               _query("max_area", "Maximum area in area_unit"),
                               _query("area_unit", "mu (default: parcels) or m2"),
                               _query("cluster", "1: grid clusters when the view is crowded"),
                               _query("crs", "gcj02 to convert positions for GCJ-02 tiles"),
                               LANG],
                "responses": {"200": {"description": "A FeatureCollection", "content": {
                    "application/geo+json": {"schema": _ref("FeatureCollection")}}},
                    "400": ERROR},
            }},
            "/sites/match": {"post": {
                "operationId": "matchSites",
                "summary": "Sites ranked for a project's needs, with reasons and unmet needs",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("SiteRequirements")}}},
                "responses": {"200": _json(_ref("SiteMatchResult")), "400": ERROR,
                              "415": ERROR, "422": ERROR},
            }},
            "/sites/{site_id}": {"get": {
                "operationId": "getSite", "summary": "One site",
                "parameters": [_id("site_id"), LANG],
                "responses": {"200": _json({"type": "object"}), "404": ERROR},
            }},
            "/opportunities": {"get": {"operationId": "listOpportunities",
                                       "summary": "Opportunity lists", "parameters": [LANG],
                                       "responses": {"200": _json(_ref("List"))}}},
            "/regions": {"get": {"operationId": "listRegions", "summary": "Regions",
                                 "parameters": [LANG],
                                 "responses": {"200": _json(_ref("List"))}}},
            "/industries": {"get": {"operationId": "listIndustries", "summary": "Industries",
                                    "parameters": [LANG],
                                    "responses": {"200": _json(_ref("List"))}}},
        },
        "components": {"schemas": SCHEMAS},
    }
