"""/api/v1/openapi.json describes every route under /api/v1, is valid OpenAPI 3, and its
request schemas refuse what the server refuses."""

import re

import jsonschema
import pytest
from openapi_spec_validator import validate

from portal.api.schemas import check_query, query_parameters

IGNORED_METHODS = {"HEAD", "OPTIONS"}  # Flask adds them to every rule


def _document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _openapi_path(rule: str) -> str:
    """/api/v1/policies/<id:policy_id> → /policies/{policy_id}"""
    path = rule.removeprefix("/api/v1")
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", path)


def _schema(doc: dict, name: str) -> dict:
    """A component schema with its references resolved, as plain JSON Schema: OpenAPI 3.0's
    ``nullable`` becomes a null type."""
    components = doc["components"]["schemas"]

    def resolve(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(components[node["$ref"].rsplit("/", 1)[1]])
            node = {k: resolve(v) for k, v in node.items()}
            if node.pop("nullable", False) and "type" in node:
                node["type"] = [node["type"], "null"]
            return node
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(components[name])


def test_every_api_route_and_method_is_documented(site_app, site_client):
    doc = _document(site_client)
    routes = {(_openapi_path(rule.rule), method.lower())
              for rule in site_app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in rule.methods - IGNORED_METHODS}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert routes, "the API has routes"
    assert routes - documented == set(), "undocumented routes"
    assert documented - routes == set(), "documented routes the app does not have"
    assert {("/demands", "post"), ("/complaints", "post"), ("/track/{ticket}", "get")} <= routes


def test_the_document_is_valid_openapi(site_client):
    validate(_document(site_client))


def test_intake_and_tracking_are_described(site_client):
    doc = _document(site_client)
    demand = doc["paths"]["/demands"]["post"]
    assert set(demand["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "attachments" in doc["components"]["schemas"]["DemandForm"]["properties"]
    assert "attachments" not in doc["components"]["schemas"]["Demand"]["properties"]
    headers = {p["name"] for p in demand["parameters"] if p["in"] == "header"}
    assert headers == {"Idempotency-Key"}
    assert {"201", "200", "400", "413", "415", "422", "429"} <= set(demand["responses"])
    assert demand["responses"]["429"]["headers"]["Retry-After"]["required"] is True
    track = doc["paths"]["/track/{ticket}"]["get"]
    assert {(p["name"], p["in"]) for p in track["parameters"]} >= {
        ("ticket", "path"), ("X-Access-Code", "header")}
    assert set(_schema(doc, "Tracking")["required"]) == {
        "ticket", "kind", "status", "events", "rating"}
    assert set(_schema(doc, "Receipt")["required"]) == {"ticket", "access_code", "status"}


def test_every_operation_documents_its_errors_with_the_error_schema(site_client):
    doc = _document(site_client)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert "400" in statuses, (method, path)
            if "requestBody" in operation:
                assert {"413", "415", "422"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            for status, response in operation["responses"].items():
                if status >= "400":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)


def test_request_schemas_come_from_the_validating_code(site_client):
    """Lengths, choices and ranges are the forms' and matchers' own, not a copy."""
    from portal.intake.forms import DemandForm
    from portal.policies.matcher import MAXIMA
    from portal.sites.matcher import LIST_CHOICES

    doc = _document(site_client)
    demand = _schema(doc, "Demand")
    with site_client.application.test_request_context():
        form = DemandForm.from_database(formdata=None, meta={"csrf": False})
        industries = [c.value for c in form.industry.iter_choices()]
    assert demand["properties"]["company_name"]["maxLength"] == 200
    assert demand["properties"]["industry"]["enum"] == [*industries, None]
    assert demand["properties"]["consent"]["enum"] == [True]
    assert set(demand["required"]) >= {"company_name", "contact_name", "contact_phone",
                                       "consent", "investor_type"}
    complaint = _schema(doc, "Complaint")
    assert complaint["properties"]["facts"]["minLength"] == 20
    profile = _schema(doc, "Profile")
    assert profile["properties"]["investment_wan"]["maximum"] == MAXIMA["investment_wan"]
    requirements = _schema(doc, "SiteRequirements")
    assert requirements["properties"]["kinds"]["items"]["enum"] == list(LIST_CHOICES["kinds"])


GOOD_DEMAND = {"investor_type": "foreign", "company_name": "Example GmbH", "country": "德国",
               "registration_number": "HRB 12345", "contact_name": "Anna",
               "contact_phone": "+49 30 1234567", "consent": True}
GOOD_COMPLAINT = {"category": "approval", "company_name": "大同示例有限公司",
                  "respondent_name": "某县行政审批服务管理局",
                  "facts": "申请材料已于三月提交，至今超过法定期限仍未办结，也未说明理由。",
                  "contact_name": "张三", "contact_phone": "13812345678", "consent": True}


@pytest.mark.parametrize("schema_name, path, body, field", [
    ("Demand", "/api/v1/demands", GOOD_DEMAND | {"favourite_colour": "blue"},
     "favourite_colour"),
    ("Demand", "/api/v1/demands", GOOD_DEMAND | {"company_name": "x" * 201}, "company_name"),
    ("Demand", "/api/v1/demands", GOOD_DEMAND | {"consent": False}, "consent"),
    ("Demand", "/api/v1/demands", GOOD_DEMAND | {"currency": "BTC"}, "currency"),
    ("Demand", "/api/v1/demands", GOOD_DEMAND | {"land_mu": -1}, "land_mu"),
    ("Demand", "/api/v1/demands", GOOD_DEMAND | {"company_name": "   "}, "company_name"),
    ("Demand", "/api/v1/demands", GOOD_DEMAND | {"company_name": True}, "company_name"),
    ("Demand", "/api/v1/demands", {k: v for k, v in GOOD_DEMAND.items() if k != "contact_name"},
     "contact_name"),
    ("Complaint", "/api/v1/complaints", GOOD_COMPLAINT | {"facts": "太短"}, "facts"),
    ("Complaint", "/api/v1/complaints", GOOD_COMPLAINT | {"withhold_identity": "yes"},
     "withhold_identity"),
    ("Profile", "/api/v1/policies/match", {"investment_wan": 1e26}, "investment_wan"),
    ("Profile", "/api/v1/policies/match", {"stage": "someday"}, "stage"),
    ("Profile", "/api/v1/policies/match", {"industry": "no-such-industry"}, "industry"),
    ("Profile", "/api/v1/policies/match", {"colour": "blue"}, "colour"),
    ("SiteRequirements", "/api/v1/sites/match", {"kinds": ["castle"]}, "kinds"),
    ("SiteRequirements", "/api/v1/sites/match", {"power_kva": -1}, "power_kva"),
])
def test_what_the_schema_refuses_the_server_refuses(site_client, schema_name, path, body,
                                                    field):
    doc = _document(site_client)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, _schema(doc, schema_name))
    response = site_client.post(path, json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("schema_name, body", [
    ("Demand", GOOD_DEMAND), ("Complaint", GOOD_COMPLAINT),
    ("Profile", {"industry": "new-energy", "investor_type": "foreign", "employees": 120}),
    ("SiteRequirements", {"kinds": ["parcel"], "power_kva": 2000, "regions": ["datong-edz"]}),
])
def test_good_bodies_pass_the_schema(site_client, schema_name, body):
    jsonschema.validate(body, _schema(_document(site_client), schema_name))


def test_the_documented_examples_are_filed(app, client):
    """The examples in the document are real: each one files a ticket that can be tracked."""
    doc = _document(client)
    for name, path in (("Demand", "/api/v1/demands"), ("Complaint", "/api/v1/complaints")):
        example = doc["components"]["schemas"][name]["example"]
        jsonschema.validate(example, _schema(doc, name))
        filed = client.post(path, json=example)
        assert filed.status_code == 201, filed.get_json()
        receipt = filed.get_json()
        tracked = client.get(f"/api/v1/track/{receipt['ticket']}",
                             headers={"X-Access-Code": receipt["access_code"]})
        assert tracked.status_code == 200
        assert tracked.get_json()["status"] == receipt["status"] == "submitted"


@pytest.mark.parametrize("query, field", [
    ("level=galactic", "level"), ("page=0", "page"), ("page=x", "page"),
    ("year=26", "year"), ("lang=xx", "lang"), ("sort=random", "sort"),
    ("industry=no-such-industry", "industry"),
])
def test_policy_filters_the_document_refuses_answer_400(site_client, query, field):
    response = site_client.get(f"/api/v1/policies?{query}")
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("query, field", [
    ("kind=castle", "kind"), ("min_area=-1", "min_area"), ("min_power=1e300", "min_power"),
    ("readiness=road&readiness=teleport", "readiness"), ("crs=mars", "crs"),
    ("region=atlantis", "region"),
])
def test_site_filters_the_document_refuses_answer_400(site_client, query, field):
    response = site_client.get(f"/api/v1/sites.geojson?{query}")
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_query_checks_use_the_documented_parameters(site_app, site_client):
    """``check_query`` enforces exactly what the document publishes for the endpoint."""
    doc = _document(site_client)
    with site_app.test_request_context("/api/v1/policies"):
        params = query_parameters("api.policies")
        assert params == doc["paths"]["/policies"]["get"]["parameters"]
        from werkzeug.datastructures import MultiDict

        assert check_query(params, MultiDict({"level": "municipal", "page": "2"})) == {}
        assert set(check_query(params, MultiDict({"level": "x"}))) == {"level"}


def test_good_and_empty_filters_still_answer(site_client):
    assert site_client.get("/api/v1/policies?level=municipal&page=1&lang=en").status_code == 200
    assert site_client.get("/api/v1/policies?level=&page=&year=").status_code == 200
    response = site_client.get("/api/v1/sites.geojson?kind=parcel&readiness=road&min_area=1")
    assert response.status_code == 200
