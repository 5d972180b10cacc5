"""The exchange API's part of the OpenAPI document (``portal.api.openapi`` merges it): its
operations, schemas and the bearer-key security scheme. The transfer body is the very schema
``transfers.validation_errors`` checks (``schemas.TRANSFER_SCHEMA``)."""

from portal.api.schemas import LANG
from portal.models.cases import PROJECT_STAGES

from .changes import DEFAULT_LIMIT, MAX_LIMIT
from .schemas import TRANSFER_SCHEMA

SECURITY_SCHEME = {"exchangeKey": {
    "type": "http", "scheme": "bearer",
    "description": "An API key issued to a partner platform by this deployment's admins "
                   "(zx_<prefix>_<secret>), sent as Authorization: Bearer <key>. A key "
                   "belongs to one region tree and has scopes: pull (GET) and push (POST)."}}
SECURITY = [{"exchangeKey": []}]
PULLS = {"policies": ("Policy", "Policies"), "sites": ("Site", "Sites"),
         "opportunities": ("Opportunity", "Opportunities"),
         "projects": ("ExchangeProject", "Projects")}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(errors: dict, *codes: str) -> dict:
    return {code: errors[code] for code in codes}


STRING = {"type": "string"}
NUMBER = {"type": "number", "nullable": True}
DATE = {"type": "string", "format": "date", "nullable": True}
CHANGED = {"type": "string", "format": "date-time",
           "description": "When the record last changed (UTC)"}


def schemas() -> dict:
    project = {"type": "object", "required": [
        "id", "ticket", "name", "company_name", "investor_type", "industry", "region",
        "stage", "in_pool", "amount_wan", "signed_amount_wan", "invested_wan",
        "expected_output_wan", "jobs", "signed_on", "started_on", "producing_on",
        "closed_on", "updated_at"],
        "description": "一项目一档案, without the investor's personal data (no contact "
                       "name, phone or e-mail, no credit code, no notes)",
        "properties": {
            "id": {"type": "integer"}, "ticket": STRING, "name": STRING,
            "company_name": STRING, "investor_type": STRING,
            "industry": {"type": "string", "nullable": True},
            "region": {"type": "string", "nullable": True},
            "stage": {"type": "string", "enum": list(PROJECT_STAGES)},
            "in_pool": {"type": "boolean", "description": "offered for another region to "
                                                          "take (一图两库)"},
            "amount_wan": NUMBER, "signed_amount_wan": NUMBER, "invested_wan": NUMBER,
            "expected_output_wan": NUMBER, "jobs": {"type": "integer", "nullable": True},
            "signed_on": DATE, "started_on": DATE, "producing_on": DATE, "closed_on": DATE,
            "updated_at": CHANGED}}
    out = {
        "ExchangeProject": project,
        "ExchangeRemoved": {"type": "object", "required": ["id", "updated_at"], "properties": {
            "id": {"type": "integer"}, "updated_at": CHANGED}},
        "ExchangeTransfer": TRANSFER_SCHEMA | {"example": {
            "external_id": "D-4K7M2Q9X1B.a1b2c3", "name": "储能电池模组生产线",
            "company_name": "示例新能源科技有限公司", "region": "datong-edz",
            "reason": "本县无法满足 80 亩工业用地需求", "stage": "negotiating",
            "amount_wan": 5000, "contact": {"name": "张三", "phone": "13812345678"}}},
        "ExchangeReceipt": {"type": "object", "required": [
            "ticket", "region", "transfer", "received_at"], "properties": {
            "ticket": {"type": "string", "description": "The demand it became here"},
            "region": STRING,
            "transfer": {"type": "string", "nullable": True, "enum": ["proposed", None],
                         "description": "proposed: waiting in the receiving county's or "
                                        "zone's 流转 queue; null: with the bureau"},
            "received_at": {"type": "string", "format": "date-time"},
            "replayed": {"type": "boolean", "description": "true when this answers a "
                                                          "repeated external_id and body"}}},
    }
    for kind, (item, name) in PULLS.items():
        changed = item if kind == "projects" else {"allOf": [_ref(item), {
            "type": "object", "required": ["updated_at"], "properties": {
                "updated_at": CHANGED}}]}
        out[f"{name}Changes"] = {"type": "object", "required": [
            "items", "removed", "cursor", "more"], "properties": {
            "items": {"type": "array", "items": _ref(changed) if isinstance(changed, str)
                      else changed},
            "removed": {"type": "array", "items": _ref("ExchangeRemoved"),
                        "description": "records that stopped being public (archived, "
                                       "unpublished, scheduled for later) since"},
            "cursor": {"type": "string", "description": "Ask again with it (more: true), "
                                                        "and keep it for the next pull"},
            "more": {"type": "boolean"}}}
    return out


def _parameters() -> list[dict]:
    return [
        {"name": "since", "in": "query", "required": False, "schema": {
            "type": "string", "maxLength": 64},
         "description": "ISO 8601 time: changes at or after it (a date means its midnight; "
                        "no offset means UTC). Required without cursor"},
        {"name": "cursor", "in": "query", "required": False,
         "schema": {"type": "string", "maxLength": 200},
         "description": "The cursor of the previous answer; takes the place of since"},
        {"name": "limit", "in": "query", "required": False, "schema": {
            "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
        LANG]


def paths(errors: dict) -> dict:
    """The exchange operations; ``errors`` are the document's error responses by code."""
    refused = {
        "401": _json(_ref("Error"), "No API key, an unknown or revoked one"),
        "403": _json(_ref("Error"), "The key's scopes or region do not allow this"),
    }
    out = {}
    for kind, (_item, name) in PULLS.items():
        out[f"/exchange/{kind}"] = {"get": {
            "operationId": f"exchange{name}", "tags": ["exchange"], "security": SECURITY,
            "summary": f"{name} of the key's region changed since a time, in change order; "
                       "page with cursor until more is false",
            "parameters": _parameters(),
            "responses": {"200": _json(_ref(f"{name}Changes"), "A page of changes"),
                          **_errors(errors, "400"), **refused, **_errors(errors, "429")}}}
    out["/exchange/transfers"] = {"post": {
        "operationId": "exchangeReceiveTransfer", "tags": ["exchange"], "security": SECURITY,
        "summary": "Receive a project transferred from a partner deployment (push scope); "
                   "idempotent on the partner and external_id",
        "parameters": [LANG],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": _ref("ExchangeTransfer")}}},
        "responses": {
            "201": _json(_ref("ExchangeReceipt"), "Received"),
            "200": _json(_ref("ExchangeReceipt"), "The first answer to the same external_id "
                                                  "and body"),
            **_errors(errors, "400"), **refused, **_errors(errors, "413", "415"),
            "422": _json(_ref("Error"), "The body failed validation, or the external_id "
                                        "was used for another body"),
            **_errors(errors, "429")}}}
    return out
