"""Security headers: a nonce-based CSP on pages, a deny-all one on everything else, the
framing, sniffing, referrer and permissions headers everywhere, HSTS only over HTTPS, and
no-store wherever an answer can hold personal data."""

import base64
import hashlib
import logging
import re

import pytest

from portal import create_app, pagecache
from portal.extensions import db
from portal.headers import tile_sources
from portal.models import Site
from tests import factories
from tests.test_intake import COMPLAINT, demand

EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
NOTHING = "default-src 'none'; frame-ancestors 'none'"
PASSWORD = "correct horse battery"


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in parsed, f"{name} twice in {policy}"
        parsed[name] = values
    return parsed


def assert_common(response):
    for name, value in EVERYWHERE.items():
        assert response.headers.get(name) == value, name
    allowed = dict(item.strip().split("=") for item in
                   response.headers["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert allowed[feature] == "()"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP by default


def assert_page_policy(response):
    csp = directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    assert all(v.startswith("'nonce-") for v in csp["script-src"][1:])
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"][:2] == ["'self'", "data:"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]


def assert_private(response):
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


def assert_cacheable(response):
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "Pragma" not in response.headers


def log_in(app, client, **kw):
    with app.app_context():
        factories.staff(password=PASSWORD, **kw)
        db.session.commit()
    response = client.post("/admin/login", data={"email": "staff@example.gov.cn",
                                                  "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    assert_private(response)


def test_public_page(site_client):
    response = site_client.get("/zh/")
    assert response.status_code == 200
    assert_common(response)
    assert_page_policy(response)
    assert_cacheable(response)


@pytest.mark.parametrize("path", ["/api/v1/regions", "/api/v1/openapi.json", "/healthz",
                                  "/api/v1/policies/999999999", "/robots.txt"])
def test_json_and_other_documents_allow_nothing(site_client, path):
    response = site_client.get(path)
    assert response.status_code in (200, 404)
    assert_common(response)
    assert response.headers["Content-Security-Policy"] == NOTHING
    assert_cacheable(response)


@pytest.mark.parametrize("path", ["/sitemap.xml", "/zh/policies/feed.xml"])
def test_xml_allows_only_the_browsers_viewer(site_client, path):
    response = site_client.get(path)
    assert response.status_code == 200 and response.mimetype.endswith("xml")
    assert_common(response)
    csp = directives(response)
    assert csp == {"default-src": ["'none'"], "style-src": ["'unsafe-inline'"],
                   "img-src": ["data:"], "frame-ancestors": ["'none'"]}
    assert_cacheable(response)


def test_error_pages_carry_the_page_policy(site_client):
    response = site_client.get("/zh/no-such-page")
    assert response.status_code == 404
    assert_common(response)
    assert_page_policy(response)


def test_staff_pages_are_never_stored(app, client):
    signed_out = client.get("/admin/")
    assert signed_out.status_code == 302
    assert_private(signed_out)
    login = client.get("/admin/login")
    assert_private(login)
    assert_page_policy(login)
    log_in(app, client)
    for path in ("/admin/", "/admin/tickets/demand", "/admin/tickets/demand.csv",
                 "/admin/tickets/demand/D-0000000000", "/admin/no-such-page"):
        with client.get(path) as response:  # the CSV is streamed
            assert response.status_code in (200, 404), path
            assert_common(response)
            assert_private(response)
    with client.get("/admin/tickets/demand.csv") as response:
        assert response.headers["Content-Security-Policy"] == NOTHING


def test_the_confirmation_and_a_rejected_form_are_not_stored(client):
    form = client.get("/zh/demands/new")
    assert form.status_code == 200
    assert_cacheable(form)  # an empty form holds nothing personal
    rejected = client.post("/zh/demands/new", data=demand(contact_phone="abc"))
    assert rejected.status_code == 200 and "contact_phone" in rejected.get_data(as_text=True)
    assert_private(rejected)  # it shows what the person typed
    confirmation = client.post("/zh/demands/new", data=demand())
    assert confirmation.status_code == 201
    assert 'class="ticket"' in confirmation.get_data(as_text=True)
    assert_common(confirmation)
    assert_page_policy(confirmation)
    assert_private(confirmation)
    complaint = client.post("/en/complaints/new", data=COMPLAINT)
    assert complaint.status_code == 201
    assert_private(complaint)


def test_tracking_pages_and_their_api_are_not_stored(client):
    html = client.post("/zh/demands/new", data=demand()).get_data(as_text=True)
    ticket = re.search(r'class="ticket">(D-[0-9A-Z]{10})<', html).group(1)
    code = re.search(r'class="ticket">([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})<', html).group(1)
    assert_private(client.get("/zh/track"))
    answer = client.post("/zh/track", data={"ticket": ticket, "access_code": code})
    assert answer.status_code == 200 and ticket in answer.get_data(as_text=True)
    assert_private(answer)
    assert_page_policy(answer)
    assert_private(client.post("/zh/track", data={"ticket": ticket,
                                                  "access_code": "AAAA-AAAA-AAAA-AAAA"}))

    api = client.post("/api/v1/demands",
                      json=demand(amount_wan=20000, land_mu=80) | {"consent": True})
    assert api.status_code == 201
    assert_common(api)
    assert_private(api)
    assert api.headers["Content-Security-Policy"] == NOTHING
    body = api.get_json()
    tracked = client.get(f"/api/v1/track/{body['ticket']}",
                         headers={"X-Access-Code": body["access_code"]})
    assert tracked.status_code == 200
    assert_private(tracked)
    assert_private(client.get("/api/v1/track/D-0000000000", headers={"X-Access-Code": "x"}))
    refused = client.post("/api/v1/complaints", json={"consent": True})
    assert refused.status_code == 422
    assert_private(refused)


def test_static_files_and_content_pages_keep_their_caching(site_client):
    with site_client.get("/static/css/portal.css") as response:
        assert response.status_code == 200
        assert_common(response)
        assert response.headers["Cache-Control"] == "no-cache"  # Flask's: revalidate by ETag
        assert "ETag" in response.headers
    with site_client.get("/static/js/maps.js") as response:
        assert response.mimetype == "text/javascript"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("/zh/policies/", "/en/sites/", "/zh/opportunities/"):
        assert_cacheable(site_client.get(path))


def test_hsts_only_over_https(tmp_path, site_client):
    assert "Strict-Transport-Security" not in site_client.get("/zh/").headers
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "HTTPS": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.db'}",
                      "SEARCH_INDEX_DIR": str(tmp_path / "search"), "SEARCH_CATCH_UP": 0})
    with app.test_client().get("/static/favicon.svg") as response:
        assert response.status_code == 200
        assert response.headers["Strict-Transport-Security"] == \
            "max-age=31536000; includeSubDomains"


def test_a_fresh_nonce_per_request_matches_every_inline_script(site_app, site_client, site_db,
                                                              monkeypatch):
    """Rendered for this request, a page's inline scripts carry a nonce never used before."""
    monkeypatch.setitem(site_app.config, "PAGE_CACHE", False)
    with site_db() as s:
        site_id = s.scalars(db.select(Site.id).filter_by(kind="parcel")).first()
    seen = set()
    for path in ("/zh/sites/", "/zh/sites/", f"/en/sites/{site_id}"):
        response = site_client.get(path)
        nonces = [v.removeprefix("'nonce-").removesuffix("'")
                  for v in directives(response)["script-src"][1:]]
        assert len(nonces) == 1 and len(nonces[0]) >= 22
        html = response.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        assert inline, path  # folium's map script
        assert all(f'nonce="{nonces[0]}"' in attrs for attrs in inline)
        seen.add(nonces[0])
    assert len(seen) == 3


def test_a_kept_page_allows_its_inline_scripts_by_hash(site_client, site_db):
    """Served from the page cache, the same page to everyone: its scripts are allowed by
    their SHA-256, never by a nonce another visitor has seen."""
    with site_db() as s:
        site_id = s.scalars(db.select(Site.id).filter_by(kind="parcel")).first()
    for path in ("/zh/sites/", f"/en/sites/{site_id}"):
        for _ in range(2):
            response = site_client.get(path)
            assert response.headers["X-Cache"] in ("MISS", "HIT")
            sources = directives(response)["script-src"]
            assert sources[0] == "'self'" and not any("nonce" in v for v in sources)
            scripts = re.findall(r"<script>(.*?)</script>", response.get_data(as_text=True),
                                 re.S)
            assert scripts and "nonce=" not in response.get_data(as_text=True)
            hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(x.encode()).digest())
                      .decode() + "'" for x in scripts}
            assert set(sources[1:]) == hashes
        assert response.headers["X-Cache"] == "HIT"


@pytest.mark.parametrize("path", ["/zh/", "/en/sites/", "/zh/policies/", "/zh/demands/new",
                                  "/en/complaints/new", "/zh/track", "/admin/login"])
def test_pages_have_no_inline_handlers_or_styles(site_client, path):
    """The policy allows neither: one would be blocked in the browser."""
    html = site_client.get(path).get_data(as_text=True)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)
    assert not re.search(r"<[^>]+\sstyle\s*=", html)
    assert "javascript:" not in html
    if "<script" not in html.replace("<script src=", ""):
        assert "'nonce-" not in site_client.get(path).headers["Content-Security-Policy"]


@pytest.mark.parametrize("config, expected", [
    ({}, ()),
    ({"MAP_TILES": "osm"}, ("https://tile.openstreetmap.org",)),
    ({"MAP_TILES": "tianditu", "MAP_TILES_KEY": "k"},
     tuple(f"https://t{i}.tianditu.gov.cn" for i in range(8))),
    ({"MAP_TILES": "gaode"}, tuple(f"https://webrd0{i}.is.autonavi.com" for i in range(1, 5))),
    ({"MAP_TILES": "xyz", "MAP_TILES_URL": "https://{s}.tiles.example.com:8443/{z}/{x}/{y}.png",
      "MAP_TILES_SUBDOMAINS": "ab"},
     ("https://a.tiles.example.com:8443", "https://b.tiles.example.com:8443")),
    ({"MAP_TILES": "xyz", "MAP_TILES_URL": "http://{r}.tiles.example.com/{z}/{x}/{y}.png"},
     ("http://*.tiles.example.com",)),
    ({"MAP_TILES": "xyz", "MAP_TILES_URL": "//tiles.example.com/{z}/{x}/{y}.png"},
     ("tiles.example.com",)),
])
def test_tile_hosts(config, expected):
    assert tile_sources(tuple(config.items())) == expected


def test_a_tile_url_that_would_inject_a_directive_is_left_out(caplog):
    caplog.set_level(logging.WARNING, logger="portal.headers")
    url = "https://tiles.example.com;script-src *;/{z}/{x}/{y}.png"
    assert tile_sources((("MAP_TILES", "xyz"), ("MAP_TILES_URL", url))) == ()
    assert "cannot be allowed" in caplog.text


def test_the_configured_tile_host_may_serve_images(site_app, site_client, monkeypatch):
    monkeypatch.setitem(site_app.config, "MAP_TILES", "osm")
    pagecache.clear(site_app)  # a setting changed under a running app
    csp = directives(site_client.get("/zh/sites/"))
    assert csp["img-src"] == ["'self'", "data:", "https://tile.openstreetmap.org"]
    assert csp["connect-src"] == ["'self'"]
