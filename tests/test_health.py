def test_healthz_reports_database_search_and_version(site_client):
    response = site_client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["search"]["engine"] == "embedded"
    assert body["search"]["documents"] > 0
    assert body["page_cache"] == {"store": "memory", "state": "ok"}
    assert body["version"]


def test_healthz_degraded_when_the_index_is_empty(client):
    body = client.get("/healthz").get_json()
    assert body["database"] == "ok"
    assert body["status"] == "degraded"
    assert body["search"]["state"] == "empty"


def test_healthz_degraded_when_search_is_unreachable(app, client, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    original = app.config["SEARCH_INDEX_DIR"]
    app.extensions.pop("search", None)
    app.config["SEARCH_INDEX_DIR"] = str(blocker / "index")  # cannot be created
    try:
        body = client.get("/healthz").get_json()
    finally:
        app.config["SEARCH_INDEX_DIR"] = original
        app.extensions.pop("search", None)
    assert body["status"] == "degraded"
    assert body["search"]["state"] == "unavailable"


def test_healthz_503_when_the_database_is_unreachable(tmp_path):
    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.db",
                      "SECRET_KEY": "x", "SEARCH_INDEX_DIR": str(tmp_path / "s")})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"
