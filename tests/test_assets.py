"""Static files (portal.assets): content-hashed URLs cached for a year, plain names that
revalidate, gzip for text, nothing outside static/."""

import gzip
import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest

from portal.assets import IMMUTABLE, StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "static"
LINK = re.compile(r'(?:src|href)="(/static/[^"]*)"')
HASHED = re.compile(r"/static/(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<suffix>\.[a-z]+)")
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def static_links(client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200
    return LINK.findall(response.get_data(as_text=True))


def plain(url: str) -> str:
    """The static/ path a fingerprinted URL stands for, checking its hash against the file."""
    match = HASHED.fullmatch(url)
    assert match, f"{url} carries no content hash"
    name = match["stem"] + match["suffix"]
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    assert match["digest"] == digest, url
    return name


def test_a_public_page_names_its_styles_by_content_hash(client):
    names = [plain(url) for url in static_links(client, "/zh/")]
    assert {"css/portal.css", "favicon.svg"} <= set(names)


def test_the_sites_map_names_leaflet_and_scripts_by_content_hash(client):
    names = [plain(url) for url in static_links(client, "/zh/sites/")]
    assert {"vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
            "vendor/leaflet.markercluster/leaflet.markercluster.js",
            "vendor/leaflet.markercluster/MarkerCluster.css",
            "vendor/leaflet.markercluster/MarkerCluster.Default.css",
            "js/maps.js", "js/sites.js", "css/portal.css"} <= set(names)


def test_hashed_urls_are_immutable_and_gzipped(client):
    urls = set(static_links(client, "/zh/sites/"))
    assert len(urls) >= 9
    for url in urls:
        original = (STATIC / plain(url)).read_bytes()
        with client.get(url, headers=GZIP) as response:
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == IMMUTABLE
            assert response.headers["Content-Encoding"] == "gzip", url
            assert "Accept-Encoding" in response.headers["Vary"]
            assert int(response.headers["Content-Length"]) == len(response.data) < len(original)
            assert gzip.decompress(response.data) == original
        with client.get(url) as response:  # no Accept-Encoding: the file as it is
            assert response.headers["Cache-Control"] == IMMUTABLE
            assert "Content-Encoding" not in response.headers
            assert response.data == original
            assert int(response.headers["Content-Length"]) == len(original)


def test_images_go_as_they_are(client):
    url = "/static/vendor/leaflet/images/layers.png"
    with client.get(url, headers=GZIP) as response:
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert "Content-Encoding" not in response.headers
        assert response.data == (STATIC / url.removeprefix("/static/")).read_bytes()


def test_leaflets_relative_image_urls_still_resolve(client):
    """url(images/layers.png) in the hashed leaflet.css resolves next to it, by plain name."""
    css_url = next(u for u in static_links(client, "/zh/sites/") if "leaflet/leaflet." in u
                   and u.endswith(".css"))
    css = client.get(css_url).get_data(as_text=True)
    images = set(re.findall(r"url\((images/[^)]+)\)", css))
    assert "images/layers.png" in images
    for image in images:
        with client.get(urljoin(css_url, image)) as response:
            assert response.status_code == 200, image
            assert response.headers["Cache-Control"] == "no-cache"


def test_plain_names_revalidate(client):
    with client.get("/static/css/portal.css") as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-cache"
        etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
    with client.get("/static/css/portal.css", headers={"If-None-Match": etag}) as response:
        assert response.status_code == 304 and response.data == b""
    with client.get("/static/css/portal.css",
                    headers={"If-Modified-Since": modified}) as response:
        assert response.status_code == 304
    with client.get("/static/css/portal.css", headers=GZIP) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        gzip_etag = response.headers["ETag"]
    assert gzip_etag != etag  # two representations, two validators
    with client.get("/static/css/portal.css",
                    headers={**GZIP, "If-None-Match": gzip_etag}) as response:
        assert response.status_code == 304
    with client.get("/static/css/portal.css", headers={"If-None-Match": '"other"'}) as response:
        assert response.status_code == 200


def test_a_stale_hash_gets_the_current_file_without_immutable(client):
    current = plain(next(u for u in static_links(client, "/zh/") if "portal." in u))
    with client.get("/static/css/portal.0123456789.css") as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.data == (STATIC / current).read_bytes()


def test_head_answers_the_headers_of_get(client):
    url = next(u for u in static_links(client, "/zh/") if u.endswith(".css"))
    got = client.get(url, headers=GZIP)
    with client.head(url, headers=GZIP) as response:
        assert response.status_code == 200 and response.data == b""
        for name in ("Content-Length", "Content-Encoding", "ETag", "Cache-Control"):
            assert response.headers[name] == got.headers[name], name


@pytest.mark.parametrize("path", [
    "/static/../portal/assets.py",
    "/static/%2e%2e/portal/assets.py",
    "/static/..%2fportal/assets.py",
    "/static/css/../../pyproject.toml",
    "/static/%2Fetc/passwd",
    "/static//etc/passwd",
    "/static/css//portal.css",
    "/static/css/./portal.css",
    "/static/css",
    "/static/css/",
    "/static/css/portal.css/",
    "/static/css\\portal.css",
    "/static/%ff%fe",
    "/static/" + "a" * 5000,
    "/static/css/portal.17aedac2da",
    "/static/nothing.0123456789.css",
])
def test_nothing_outside_static_is_served(client, path):
    # The router first merges "//" after /static/ (a redirect that stays under /static/).
    assert client.get(path, follow_redirects=True).status_code == 404


def test_nul_is_refused(client):
    assert client.get("/static/css/portal.css%00.png").status_code == 400  # portal.requests


@pytest.mark.parametrize("name", ["../pyproject.toml", "..", "/etc/passwd", "css/../../README.md",
                                  "css/portal.css\x00", "", ".", "css"])
def test_names_the_router_lets_through_find_nothing(name):
    """The view's own guard, whatever the router and the request checks let through."""
    assert StaticFiles(str(STATIC)).find(name) is None


def test_a_symlink_may_not_lead_out_of_static(tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "inside.txt").write_text("public")
    os.symlink(tmp_path / "secret.txt", folder / "leak.txt")
    files = StaticFiles(str(folder))
    assert files.get("inside.txt").data == b"public"
    assert files.get("leak.txt") is None


def test_a_changed_file_gets_a_new_name(tmp_path):
    script = tmp_path / "app.js"
    script.write_text("console.log(1);")
    files = StaticFiles(str(tmp_path))
    first = files.fingerprinted("app.js")
    assert re.fullmatch(r"app\.[0-9a-f]{10}\.js", first)
    assert files.find(first)[1] is True
    script.write_text("console.log(22);")  # another size, so it is read again
    second = files.fingerprinted("app.js")
    assert second != first
    asset, current = files.find(first)
    assert asset.data == b"console.log(22);" and current is False
    assert files.find(second)[1] is True
    assert files.fingerprinted("missing.js") == "missing.js"
