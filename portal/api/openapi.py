"""The OpenAPI 3 description of /api/v1, built per request from the schemas that validate
the requests (``portal.api.schemas``), so it cannot drift from what the server enforces.

Every route under /api/v1 is here (tests/test_openapi.py walks ``app.url_map`` to make
sure), with every status it can answer: 400 for an unreadable request or a query value the
document refuses, 404, 413 over ``MAX_CONTENT_LENGTH``, 415 for another content type, 422
for a body that fails validation (a message per field), 429 with Retry-After on the
per-client limits.
"""

from flask import current_app, url_for

import portal
from portal.exchange import openapi as exchange_openapi
from portal.intake.forms import KEY_PATTERN, ComplaintForm, DemandForm
from portal.intake.validators import credit_code_check_char
from portal.models import (
    AVAILABILITY,
    COMPLAINT_STATUSES,
    DEMAND_STATUSES,
    FACTOR_CATEGORIES,
    OPPORTUNITY_KINDS,
    OPPORTUNITY_STATUSES,
    POLICY_LEVELS,
    POLICY_STATUSES,
    REGION_KINDS,
    SITE_KINDS,
)
from portal.models.opportunities import CHALLENGE_PHASES

from . import schemas

# Fields of the intake forms that only the HTML page uses (CSRF token, honeypot, the key
# carried in the page); the API refuses them as unknown. ``attachments`` is multipart only.
PAGE_ONLY = ("csrf_token", "website", "idempotency_key")


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


def _object(required_fields: list[str], /, **properties) -> dict:
    return {"type": "object", "required": required_fields, "properties": properties}


def _enum(values) -> dict:
    return {"type": "string", "enum": list(values)}


STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number", "nullable": True}
DATE = {"type": "string", "format": "date"}
NULLABLE_DATE = {"type": "string", "format": "date", "nullable": True}

ERRORS = {
    "400": _error("The request could not be read: malformed JSON, a query string that is "
                  "not UTF-8 or holds NUL, a query value this document refuses (see "
                  "``fields``), or a bad Idempotency-Key"),
    "404": _error("No such record"),
    "413": _error("The request body is larger than the server accepts"),
    "415": _error("The body is not of a media type this operation accepts"),
    "422": _error("The body failed validation; ``fields`` has a message per field"),
    "429": {"description": "Too many requests from this client; wait Retry-After seconds",
            "headers": {"Retry-After": {"required": True, "description": "Seconds to wait",
                                        "schema": {"type": "integer", "minimum": 0}}},
            "content": {"application/json": {"schema": _ref("Error")}}},
}


def _errors(*codes: str) -> dict:
    return {code: ERRORS[code] for code in codes}


SCHEMAS = {
    "Error": _object(["error"], error=_object(
        ["code", "message", "fields"],
        code=_enum(["bad_request", "not_found", "too_large", "unsupported_media_type",
                    "invalid", "rate_limited", "method_not_allowed", "unauthorized",
                    "forbidden"]),
        message=STRING,
        fields={"type": "object", "additionalProperties": STRING,
                "description": "field or parameter name → what to do about it"})),
    "PolicySummary": _object(
        ["id", "title", "doc_number", "issuer", "level", "published", "status", "snippet", "url"],
        id=INTEGER, title=STRING, doc_number=STRING, issuer=STRING,
        level=_enum(POLICY_LEVELS), published=DATE, status=_enum(POLICY_STATUSES),
        snippet={"type": "string", "description": "HTML; matches wrapped in <mark>"},
        url={"type": "string", "format": "uri"}),
    "PolicyList": _object(
        ["total", "page", "pages", "items", "facets", "degraded", "expanded"], total=INTEGER,
        page=INTEGER, pages=INTEGER,
        items={"type": "array", "items": _ref("PolicySummary")},
        facets={"type": "object", "description": "field → value → count",
                "additionalProperties": {"type": "object",
                                         "additionalProperties": INTEGER}},
        degraded={"type": "boolean",
                  "description": "true when the search engine was unavailable"},
        expanded={"type": "array", "description": "words of q that were also searched as "
                  "Chinese glossary terms (cross-lingual search)",
                  "items": _object(["typed", "chinese"], typed={"type": "string"},
                                   chinese={"type": "array", "items": {"type": "string"}})}),
    "Policy": {"allOf": [_ref("PolicySummary"), _object(
        ["body", "summary", "interpretation", "procedure", "region", "effective_from",
         "effective_to", "topics", "industries", "benefit_mode", "eligibility", "is_demo"],
        body=STRING, summary=STRING, interpretation=STRING, procedure=STRING,
        region=NULLABLE_STRING, effective_from=NULLABLE_DATE, effective_to=NULLABLE_DATE,
        topics={"type": "array", "items": STRING},
        industries={"type": "array", "items": STRING},
        benefit_mode={"type": "string", "nullable": True,
                      "enum": ["automatic", "instant", "application", None]},
        eligibility={"type": "array", "items": {"type": "object"}},
        is_demo={"type": "boolean"})]},
    "PolicyMatch": _object(
        ["policy", "score", "reasons", "unmet", "unknown", "qualifies", "automatic"],
        policy=_ref("PolicySummary"),
        score={"type": "integer", "minimum": 0, "maximum": 100},
        reasons={"type": "array", "items": STRING}, unmet={"type": "array", "items": STRING},
        unknown={"type": "array", "items": STRING}, qualifies={"type": "boolean"},
        automatic={"type": "boolean", "description": "免申即享: granted without applying"}),
    "MatchResult": _object(["items", "near"],
                           items={"type": "array", "items": _ref("PolicyMatch")},
                           near={"type": "array", "items": _ref("PolicyMatch")}),
    "SiteProperties": _object(
        ["id", "kind", "name", "area_mu", "floor_area_m2", "region", "land_use", "status",
         "is_demo", "url"],
        id=INTEGER, kind=_enum(SITE_KINDS), name=STRING, area_mu=NUMBER,
        floor_area_m2=NUMBER, region=STRING, land_use=STRING, status=_enum(AVAILABILITY),
        is_demo={"type": "boolean"}, url={"type": "string", "format": "uri"}),
    "ClusterProperties": _object(["cluster", "count"], cluster={"type": "boolean"},
                                 count={"type": "integer", "minimum": 1}),
    "FeatureCollection": _object(
        ["type", "features"], type=_enum(["FeatureCollection"]),
        features={"type": "array", "items": _object(
            ["type", "geometry", "properties"], type=_enum(["Feature"]),
            geometry={"type": "object"},
            properties={"oneOf": [_ref("SiteProperties"), _ref("ClusterProperties")]})}),
    "Site": {"allOf": [_ref("SiteProperties"), {"type": "object", "properties": {
        "description": STRING, "address": STRING, "readiness": {"type": "array",
                                                                "items": STRING},
        "geometry": {"type": "object"}, "latitude": NUMBER, "longitude": NUMBER,
        **{name: NUMBER for name in (
            "land_price_wan_per_mu", "rent_yuan_m2_month", "sale_price_yuan_m2", "power_kva",
            "floor_load_kn_m2", "ceiling_height_m", "min_investment_wan_per_mu",
            "min_tax_wan_per_mu", "min_plot_ratio", "max_plot_ratio", "min_building_coverage",
            "max_energy_t_per_wan")},
        "floors": {"type": "integer", "nullable": True},
        "contact_name": STRING, "contact_phone": STRING}}]},
    "IndicatorCheck": _object(
        ["name", "required", "value", "passed", "unit", "label", "minimum", "maximum"],
        name=STRING, required=STRING, value=NUMBER,
        passed={"type": "boolean", "nullable": True}, unit=STRING, label=STRING,
        minimum=NUMBER, maximum=NUMBER),
    "SiteMatch": _object(["site", "score", "reasons", "unmet", "standard_land"],
                         site=_ref("SiteProperties"),
                         score={"type": "integer", "minimum": 0, "maximum": 100},
                         reasons={"type": "array", "items": STRING},
                         unmet={"type": "array", "items": STRING},
                         standard_land={"type": "array", "items": _ref("IndicatorCheck")}),
    "SiteMatchResult": _object(["items"], items={"type": "array", "items": _ref("SiteMatch")}),
    "Opportunity": _object(
        ["id", "kind", "title", "summary", "region", "industry", "amount_wan", "published",
         "deadline", "status", "is_demo", "url"],
        id=INTEGER, kind=_enum(OPPORTUNITY_KINDS), title=STRING, summary=STRING,
        region=NULLABLE_STRING, industry=NULLABLE_STRING, amount_wan=NUMBER, published=DATE,
        deadline=NULLABLE_DATE, status=_enum(OPPORTUNITY_STATUSES),
        is_demo={"type": "boolean"}, url={"type": "string", "format": "uri"},
        closed={"type": "boolean", "description": "closed or past its deadline (China time)"},
        days_left={"type": "integer", "minimum": 0, "nullable": True,
                   "description": "days to the deadline; 0 on its last day; null when "
                                  "closed or without a deadline"},
        phase={"type": "string", "nullable": True, "enum": [*CHALLENGE_PHASES, None],
               "description": "揭榜挂帅: the current phase (the last one begun)"},
        phases={"type": "array", "items": _object(
            ["phase", "starts", "ends", "state"], phase=_enum(CHALLENGE_PHASES),
            starts=DATE, ends=NULLABLE_DATE, state=_enum(["done", "current", "upcoming"]))}),
    "OpportunityList": _object(
        ["total", "page", "pages", "items", "counts", "degraded", "expanded"],
        total=INTEGER, page=INTEGER, pages=INTEGER,
        items={"type": "array", "items": {"allOf": [_ref("Opportunity"), _object(
            ["snippet"], snippet={"type": "string",
                                  "description": "HTML; matches wrapped in <mark>"})]}},
        counts=_object(["kind", "status"],
                       kind={"type": "object", "additionalProperties": INTEGER,
                             "description": "kind → items matching the other filters"},
                       status={"type": "object", "additionalProperties": INTEGER,
                               "description": "status → items matching the other filters"}),
        degraded={"type": "boolean",
                  "description": "true when the search engine was unavailable"},
        expanded={"type": "array", "items": _object(
            ["typed", "chinese"], typed={"type": "string"},
            chinese={"type": "array", "items": {"type": "string"}})}),
    "Region": _object(
        ["slug", "kind", "name", "parent", "zone_level", "centroid", "figures", "url"],
        slug=STRING, kind=_enum(REGION_KINDS), name=STRING, parent=NULLABLE_STRING,
        zone_level={"type": "string", "nullable": True},
        centroid={"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                  "description": "[longitude, latitude]"},
        figures={"type": "object"}, url={"type": "string", "format": "uri"}),
    "FactorCost": _object(
        ["key", "region", "category", "item", "value", "low", "high", "unit", "year", "source",
         "source_url", "note", "is_demo"],
        key=STRING, region=STRING, category=_enum(FACTOR_CATEGORIES), item=STRING,
        value={"type": "number", "minimum": 0}, low=NUMBER, high=NUMBER, unit=STRING,
        year=INTEGER, source=STRING, source_url=NULLABLE_STRING, note=NULLABLE_STRING,
        is_demo={"type": "boolean", "description": "invented for the demo, not published"}),
    "FactorCostList": _object(
        ["region", "items"], region=_ref("Region"),
        items={"type": "array", "items": _ref("FactorCost")}),
    "Industry": _object(["slug", "name", "track", "is_key", "summary", "url"], slug=STRING,
                        name=STRING, track=NULLABLE_STRING, is_key={"type": "boolean"},
                        summary=STRING, url={"type": "string", "format": "uri"}),
    "Receipt": _object(
        ["ticket", "access_code", "status"],
        ticket={"type": "string", "description": "D-… for a demand, C-… for a complaint"},
        access_code={"type": "string", "description": "Shown once; needed to track the "
                                                      "ticket"},
        status=_enum(["submitted"]),
        replayed={"type": "boolean", "description": "true when this answers a repeated "
                                                    "Idempotency-Key"}),
    "Tracking": _object(
        ["ticket", "kind", "status", "events", "rating"], ticket=STRING,
        kind=_enum(["demand", "complaint"]),
        status=_enum(dict.fromkeys((*DEMAND_STATUSES, *COMPLAINT_STATUSES))),
        events={"type": "array", "items": _object(
            ["at", "status", "note"], at={"type": "string", "format": "date-time"},
            status=STRING, note=STRING)},
        rating={"type": "integer", "minimum": 1, "maximum": 5, "nullable": True}),
}


def _list(name: str) -> dict:
    return _json(_object(["items"], items={"type": "array", "items": _ref(name)}))


def _body(schema: dict, multipart: dict | None = None) -> dict:
    content = {"application/json": {"schema": schema}}
    if multipart is not None:
        content["multipart/form-data"] = multipart
    return {"required": True, "content": content}


def _intake_schemas(form_class, name: str) -> dict:
    """The JSON and multipart bodies of a demand or complaint, read from its form."""
    form = form_class.from_database(formdata=None, meta={"csrf": False})
    kind = "demand" if form_class is DemandForm else "complaint"
    # What the form's own validate_<field> methods check, which no validator object says.
    extra = {"site": {"minimum": 1, "maximum": schemas.MAX_ID,
                      "description": "Id of the site the demand is about (see /sites.geojson)"},
             "opportunity": {"minimum": 1, "maximum": schemas.MAX_ID,
                             "description": "Id of the opportunity answered"},
             "credit_code": {"description": "统一社会信用代码, 18 characters with a valid "
                                            "check character; required when investor_type "
                                            "is domestic, ignored otherwise"},
             "country": {"description": "Required when investor_type is foreign or hmt"},
             "registration_number": {"description": "Required when investor_type is "
                                                    "foreign or hmt"}}
    json_schema = schemas.form_schema(form, exclude=(*PAGE_ONLY, "attachments"), extra=extra)
    json_schema["description"] = f"A {kind} as JSON (no attachments)"
    json_schema["example"] = EXAMPLES[kind]
    multipart_schema = schemas.form_schema(form, exclude=PAGE_ONLY, multipart=True,
                                           extra=extra)
    multipart_schema["description"] = f"A {kind} as form data, with attachments"
    return {name: json_schema, f"{name}Form": multipart_schema}


_CONTACT = {"contact_name": "张三", "contact_phone": "13812345678",
            "contact_email": "zhang@example.com", "consent": True}
EXAMPLES = {
    "demand": {"investor_type": "domestic", "company_name": "大同示例新能源科技有限公司",
               "credit_code": "91140200MA0K12345" + credit_code_check_char("91140200MA0K12345"),
               "amount_wan": 5000, "timeline": "6m", "land_mu": 80,
               "message": "新建储能电池模组生产线，需标准厂房或工业用地。", **_CONTACT},
    "complaint": {"category": "approval", "company_name": "大同示例新能源科技有限公司",
                  "respondent_name": "某县行政审批服务管理局",
                  "facts": "2026年3月提交的施工许可申请已超过法定期限仍未办结，也未告知原因。",
                  "desired_outcome": "依法办结并说明延误原因。", **_CONTACT},
}
# A filed ticket can be followed at once: the stateful phase of schemathesis walks this link.
TRACK_LINK = {"trackTicket": {
    "operationId": "trackTicket",
    "parameters": {"ticket": "$response.body#/ticket",
                   "header.X-Access-Code": "$response.body#/access_code"}}}


def _intake_operation(operation_id: str, summary: str, name: str) -> dict:
    return {
        "operationId": operation_id, "summary": summary, "tags": ["intake"],
        "parameters": [
            {"name": "Idempotency-Key", "in": "header", "required": False,
             "description": "Repeat a request safely: the same key with the same body answers "
                            "the first ticket (200, replayed); with another body, 422",
             "schema": {"type": "string", "anyOf": [{"maxLength": 0}, {"pattern": KEY_PATTERN}],
                        "description": "Empty: no key"}},
            schemas.LANG],
        "requestBody": _body(_ref(name), {
            "schema": _ref(f"{name}Form"),
            "encoding": {"attachments": {"contentType": "application/pdf, image/jpeg, "
                                                        "image/png, application/octet-stream"}},
        }),
        "responses": {
            "201": _json(_ref("Receipt"), "Filed: keep the ticket and the access code")
            | {"links": TRACK_LINK},
            "200": _json(_ref("Receipt"), "The answer to an earlier request with the same "
                                          "Idempotency-Key and body") | {"links": TRACK_LINK},
            **_errors("400", "413", "415", "422", "429"),
        },
    }


def _read(operation_id: str, summary: str, response: dict, parameters=None,
          errors=("400",), tags=()) -> dict:
    return {"operationId": operation_id, "summary": summary, "tags": list(tags),
            "parameters": parameters or [schemas.LANG],
            "responses": {"200": response, **_errors(*errors)}}


def _match(operation_id: str, summary: str, body: str, result: str) -> dict:
    return {"operationId": operation_id, "summary": summary, "tags": ["match"],
            "parameters": [schemas.LANG],
            "requestBody": _body(_ref(body)),
            "responses": {"200": _json(_ref(result)), **_errors("400", "413", "415", "422")}}


def document() -> dict:
    components = SCHEMAS | {
        "Profile": schemas.profile_schema(),
        "SiteRequirements": schemas.requirements_schema(),
        **_intake_schemas(DemandForm, "Demand"),
        **_intake_schemas(ComplaintForm, "Complaint"),
        **exchange_openapi.schemas(),
    }
    geojson = {"description": "A FeatureCollection", "content": {
        "application/geo+json": {"schema": _ref("FeatureCollection")}}}
    max_body = current_app.config.get("MAX_CONTENT_LENGTH")
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "永不落幕的招商专区 API",
            "version": portal.__version__,
            "description": "Policies, sites and opportunities of the region, and the filing "
                           "and tracking of investors' demands and complaints. Errors are "
                           "JSON {\"error\": {\"code\", \"message\", \"fields\"}}. Request "
                           f"bodies above {max_body} bytes answer 413.",
        },
        "servers": [{"url": url_for("api.openapi", _external=True).rsplit("/", 1)[0]}],
        "paths": {
            "/openapi.json": {"get": _read(
                "getOpenAPI", "This document",
                {"description": "OpenAPI 3.0", "content": {"application/json": {
                    "schema": {"type": "object"}}}})},
            "/policies": {"get": _read(
                "searchPolicies", "Search and filter policies", _json(_ref("PolicyList")),
                schemas.policy_filters(), tags=["policies"])},
            "/policies/{policy_id}": {"get": _read(
                "getPolicy", "One policy with its full text", _json(_ref("Policy")),
                [schemas.path_id("policy_id"), schemas.LANG], ("400", "404"),
                tags=["policies"])},
            "/policies/match": {"post": _match(
                "matchPolicies", "Policies an enterprise qualifies for, with reasons",
                "Profile", "MatchResult")},
            "/sites.geojson": {"get": _read(
                "sitesGeoJSON", "Land parcels and carriers as GeoJSON", geojson,
                schemas.site_filters(), tags=["sites"])},
            "/sites/match": {"post": _match(
                "matchSites", "Sites ranked for a project's needs, with reasons and unmet "
                              "needs", "SiteRequirements", "SiteMatchResult")},
            "/sites/{site_id}": {"get": _read(
                "getSite", "One site", _json(_ref("Site")),
                [schemas.path_id("site_id"), schemas.LANG], ("400", "404"), tags=["sites"])},
            "/opportunities": {"get": _read(
                "listOpportunities", "Search and filter opportunity lists",
                _json(_ref("OpportunityList")), schemas.opportunity_filters(),
                tags=["opportunities"])},
            "/regions": {"get": _read("listRegions", "Regions", _list("Region"))},
            "/regions/{slug}/factor-costs": {"get": _read(
                "listRegionFactorCosts", "A region's factor costs (要素成本: land, power, "
                "water, gas, heat, wages, freight), each with its year and source",
                _json(_ref("FactorCostList")),
                [{"name": "slug", "in": "path", "required": True, "description":
                  "Region slug (see /regions)", "schema": {"type": "string", "maxLength": 80}},
                 schemas.LANG], ("400", "404"), tags=["regions"])},
            "/industries": {"get": _read("listIndustries", "Industries", _list("Industry"))},
            "/demands": {"post": _intake_operation(
                "createDemand", "File an investment demand (需求对接)", "Demand")},
            "/complaints": {"post": _intake_operation(
                "createComplaint", "File a complaint (投诉)", "Complaint")},
            "/track/{ticket}": {"get": _read(
                "trackTicket", "Follow a demand or complaint; a wrong access code answers "
                               "404 exactly as an unknown ticket does",
                _json(_ref("Tracking")),
                [{"name": "ticket", "in": "path", "required": True,
                  "schema": {"type": "string", "maxLength": 40}},
                 {"name": "X-Access-Code", "in": "header", "required": True,
                  "description": "The access code given when the ticket was filed",
                  "schema": {"type": "string", "maxLength": 40}},
                 schemas.LANG],
                ("400", "404", "429"), tags=["intake"])},
            **exchange_openapi.paths(ERRORS),
        },
        "components": {"schemas": components,
                       "securitySchemes": exchange_openapi.SECURITY_SCHEME},
    }
