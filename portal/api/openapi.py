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


ERROR = {"description": "Error", "content": {"application/json": {"schema": _ref("Error")}}}
LIST = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}}}


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "永不落幕的招商专区 API",
            "version": portal.__version__,
            "description": "Policies, sites and opportunities of the region, for provincial "
                           "platforms and partners. Translated fields follow ?lang= "
                           "(zh, en, ja, ko, ru) or Accept-Language.",
        },
        "servers": [{"url": url_for("api.openapi", _external=True).rsplit("/", 1)[0]}],
        "paths": {
            "/policies": {"get": {
                "summary": "Search and filter policies",
                "parameters": [
                    _query("q", "Full-text query (Chinese substrings work)"),
                    _query("level", "national, provincial, municipal, county or zone"),
                    _query("topic", "Topic slug"), _query("industry", "Industry slug"),
                    _query("region", "Region slug"),
                    _query("status", "in_force, expired or draft"),
                    _query("page", "Page number from 1", {"type": "integer", "minimum": 1}),
                ],
                "responses": {"200": _json(_ref("PolicyList"))},
            }},
            "/policies/{policy_id}": {"get": {
                "summary": "One policy with its full text",
                "parameters": [_id("policy_id")],
                "responses": {"200": _json({"type": "object"}), "404": ERROR},
            }},
            "/sites.geojson": {"get": {
                "summary": "Land parcels and carriers as GeoJSON",
                "parameters": [_query("bbox", "west,south,east,north in WGS-84"),
                               _query("kind", "parcel, factory, office, warehouse, incubator")],
                "responses": {"200": {"description": "A FeatureCollection", "content": {
                    "application/geo+json": {"schema": {"type": "object"}}}}, "400": ERROR},
            }},
            "/sites/{site_id}": {"get": {
                "summary": "One site", "parameters": [_id("site_id")],
                "responses": {"200": _json({"type": "object"}), "404": ERROR},
            }},
            "/opportunities": {"get": {"summary": "Opportunity lists",
                                       "responses": {"200": _json(LIST)}}},
            "/regions": {"get": {"summary": "Regions", "responses": {"200": _json(LIST)}}},
            "/industries": {"get": {"summary": "Industries", "responses": {"200": _json(LIST)}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message", "fields"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "fields": {"type": "object"}}}}},
            "PolicySummary": {"type": "object", "properties": {
                name: {"type": "string"} for name in
                ("title", "doc_number", "issuer", "level", "published", "status", "snippet",
                 "url")} | {"id": {"type": "integer"}}},
            "PolicyList": {"type": "object", "properties": {
                "total": {"type": "integer"},
                "items": {"type": "array", "items": _ref("PolicySummary")},
                "facets": {"type": "object"}}},
        }},
    }
