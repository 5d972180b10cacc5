"""The JSON API's shapes that outside platforms rely on (PRODUCT.md)."""

import pytest

from portal import create_app


def test_policies_list_shape(site_client):
    body = site_client.get("/api/v1/policies?level=municipal").get_json()
    assert body["total"] > 0
    item = body["items"][0]
    assert set(item) >= {"id", "title", "doc_number", "issuer", "level", "published", "status",
                         "snippet", "url"}
    assert all(i["level"] == "municipal" for i in body["items"])
    assert "level" in body["facets"]


def test_policy_search_through_the_api_highlights(site_client):
    body = site_client.get("/api/v1/policies?q=标准地").get_json()
    assert body["total"] > 0
    assert any("<mark>标准地</mark>" in i["snippet"] for i in body["items"])


def test_policy_detail_in_english_falls_back_per_field(site_client):
    listing = site_client.get("/api/v1/policies").get_json()
    policy_id = listing["items"][0]["id"]
    zh = site_client.get(f"/api/v1/policies/{policy_id}").get_json()
    en = site_client.get(f"/api/v1/policies/{policy_id}?lang=en").get_json()
    assert zh["body"] and en["body"]
    assert en["title"] != zh["title"]  # every pack policy has an English title
    assert "/en/policies/" in en["url"]


def test_unknown_policy_is_a_json_404(site_client):
    response = site_client.get("/api/v1/policies/999999")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_sites_geojson(site_client):
    body = site_client.get("/api/v1/sites.geojson").get_json()
    assert body["type"] == "FeatureCollection"
    kinds = {f["geometry"]["type"] for f in body["features"]}
    assert kinds == {"Polygon", "Point"}
    props = body["features"][0]["properties"]
    assert set(props) >= {"id", "kind", "name", "area_mu", "region", "status", "url"}


def test_sites_geojson_bbox_filters_and_rejects_junk(site_client):
    everything = site_client.get("/api/v1/sites.geojson").get_json()["features"]
    nothing = site_client.get("/api/v1/sites.geojson?bbox=0,0,1,1").get_json()["features"]
    assert everything and nothing == []
    bad = site_client.get("/api/v1/sites.geojson?bbox=a,b,c")
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/api/v1/opportunities", "/api/v1/regions",
                                  "/api/v1/industries"])
def test_lists(site_client, path):
    assert len(site_client.get(path).get_json()["items"]) > 0


def test_openapi_document_lists_the_paths(site_client):
    doc = site_client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert {"/policies", "/policies/{policy_id}", "/sites.geojson", "/regions"} <= set(
        doc["paths"])


def test_500_page_in_the_page_language(tmp_path, monkeypatch):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
                      "SEARCH_INDEX_DIR": str(tmp_path / "s")})

    @app.get("/<lang:lang>/boom")
    def boom():
        raise RuntimeError("deliberate")

    monkeypatch.setattr(app.logger, "disabled", True)
    client = app.test_client()
    zh, en = client.get("/zh/boom"), client.get("/en/boom")
    assert zh.status_code == en.status_code == 500
    assert "服务器出现错误" in zh.get_data(as_text=True)
    assert '<html lang="en">' in en.get_data(as_text=True)
    assert "服务器出现错误" not in en.get_data(as_text=True)


def test_openapi_document_is_valid_openapi_3(site_client):
    from openapi_spec_validator import validate

    validate(site_client.get("/api/v1/openapi.json").get_json())


def test_policy_list_matches_its_documented_schema(site_client):
    import jsonschema

    doc = site_client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    body = site_client.get("/api/v1/policies?q=土地").get_json()
    summary = {k: v for k, v in schemas["PolicySummary"].items()}
    for item in body["items"]:
        jsonschema.validate(item, summary)
        assert set(item) == set(summary["properties"])


def test_policy_match_through_the_api(site_client):
    response = site_client.post("/api/v1/policies/match", json={
        "industry": "new-energy", "investor_type": "foreign", "stage": "new",
        "investment_wan": 20000, "region": "datong-edz"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["items"], "a foreign new-energy investor qualifies for something"
    first = body["items"][0]
    assert set(first) >= {"policy", "score", "reasons", "unmet"}
    assert 0 <= first["score"] <= 100 and first["reasons"] and first["unmet"] == []
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("payload, field", [
    ({"investment_wan": "lots"}, "investment_wan"),
    ({"investment_wan": -5}, "investment_wan"),
    ({"industry": "no-such-industry"}, "industry"),
    ({"stage": "someday"}, "stage"),
])
def test_policy_match_rejects_bad_input_by_field(site_client, payload, field):
    response = site_client.post("/api/v1/policies/match", json=payload)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_policy_match_needs_json(site_client):
    assert site_client.post("/api/v1/policies/match", data="x=1").status_code == 415
    bad = site_client.post("/api/v1/policies/match", data="{nope",
                           content_type="application/json")
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "bad_request"


def test_geojson_is_gzip_compressed(site_client):
    plain = site_client.get("/api/v1/sites.geojson")
    zipped = site_client.get("/api/v1/sites.geojson", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.data) < len(plain.data) / 3


def test_geojson_filters_match_the_list(site_client):
    args = {"kind": "parcel", "region": "pingcheng", "min_area": "50"}
    features = site_client.get("/api/v1/sites.geojson", query_string=args).get_json()["features"]
    assert features and all(f["properties"]["kind"] == "parcel" and f["properties"]["area_mu"] >= 50
                            for f in features)
    html = site_client.get("/zh/sites/", query_string=args).get_data(as_text=True)
    assert f"共 {len(features)} 处" in html


def test_geojson_clusters_only_when_asked_and_crowded(site_client):
    bbox = "112.0,39.0,115.0,41.0"
    full = site_client.get(f"/api/v1/sites.geojson?bbox={bbox}").get_json()["features"]
    clustered = site_client.get(f"/api/v1/sites.geojson?bbox={bbox}&cluster=1").get_json()
    # the demo pack is small: below the threshold the map gets the sites themselves
    assert len(clustered["features"]) == len(full)


def test_geojson_clusters_add_up(site_client, monkeypatch):
    from portal.sites import services

    monkeypatch.setattr(services, "CLUSTER_ABOVE", 5)
    bbox = "112.0,39.0,115.0,41.0"
    full = site_client.get(f"/api/v1/sites.geojson?bbox={bbox}").get_json()["features"]
    cells = site_client.get(f"/api/v1/sites.geojson?bbox={bbox}&cluster=1").get_json()["features"]
    assert all(c["properties"]["cluster"] for c in cells)
    assert 1 < len(cells) < len(full)
    assert sum(c["properties"]["count"] for c in cells) == len(full)


def test_geojson_in_gcj02(site_client):
    wgs = site_client.get("/api/v1/sites.geojson?kind=factory").get_json()["features"][0]
    gcj = site_client.get("/api/v1/sites.geojson?kind=factory&crs=gcj02").get_json()["features"][0]
    (lon1, lat1), (lon2, lat2) = wgs["geometry"]["coordinates"], gcj["geometry"]["coordinates"]
    assert 0.003 < lon2 - lon1 < 0.01 and 0.0005 < lat2 - lat1 < 0.003  # a few hundred metres


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "10,10,5,5", "0,0,0,999", "nan,0,1,1"])
def test_geojson_rejects_a_bad_bbox(site_client, bbox):
    response = site_client.get("/api/v1/sites.geojson", query_string={"bbox": bbox})
    assert response.status_code == 400


def test_site_match_through_the_api(site_client):
    response = site_client.post("/api/v1/sites/match", json={
        "kinds": ["parcel"], "land_use": "industrial", "regions": ["yungang-edz"],
        "min_area": 60, "max_area": 160, "investment_wan": 50000, "tax_wan": 2000,
        "floor_area_m2": 60000, "energy_t": 3000, "output_wan": 20000})
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert items
    for item in items:
        assert item["site"]["kind"] == "parcel" and 60 <= item["site"]["area_mu"] <= 160
        assert 0 <= item["score"] <= 100
        assert {c["name"] for c in item["standard_land"]} >= {"investment_per_mu"}
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)


@pytest.mark.parametrize("payload, field", [
    ({"power_kva": "much"}, "power_kva"), ({"kinds": ["castle"]}, "kinds"),
    ({"regions": ["atlantis"]}, "regions"), ({"unknown_need": 1}, "unknown_need"),
])
def test_site_match_rejects_bad_input_by_field(site_client, payload, field):
    response = site_client.post("/api/v1/sites/match", json=payload)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
