"""The site position editor (templates/admin/_geometry.html, static/js/geometry-editor.js) in
the real Chromium, under the portal's real Content-Security-Policy.

The page is served by an app of this module's own, with one test-only route that shows the
field and, on POST, what the server makes of it (geometry_from_upload / geometry_from_text);
the session's shared apps get no extra route.
"""

import json
import re
import threading

import pytest
from flask import render_template_string, request
from playwright.sync_api import expect
from werkzeug.serving import make_server

from portal.sites.geometry import GeometryError, geometry_from_text, geometry_from_upload
from tests.conftest import make_app
from tests.test_browser import CHROMIUM, browser  # noqa: F401  (fixture)
from tests.test_browser_csp import SETTLED, WATCH

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]

CONTENT_HASH = re.compile(r"\.[0-9a-f]{10}(?=\.\w+$)")
BOUNDARY = {"type": "Polygon", "coordinates": [[
    [113.25, 39.95], [113.40, 39.95], [113.40, 40.05], [113.25, 40.05], [113.25, 39.95]]]}
PARCEL = {"type": "Polygon", "coordinates": [[
    [113.30, 39.99], [113.34, 39.99], [113.34, 40.02], [113.30, 40.02], [113.30, 39.99]]]}
PAGE = """{% extends "base.html" %}
{% from "admin/_geometry.html" import geometry_field, geometry_assets %}
{% block title %}位置编辑{% endblock %}
{% block head %}{{ geometry_assets() }}{% endblock %}
{% block content %}
<h1>位置编辑</h1>
{% if result %}<pre id="result">{{ result }}</pre>{% endif %}
<form method="post" enctype="multipart/form-data" novalidate>
{{ geometry_field("geometry", kind, value, boundary, errors=errors) }}
<button type="submit">保存</button>
</form>
{% endblock %}"""
READY = "() => document.querySelector('[data-geometry-editor]').dataset.ready === '1'"
TAKES_CLICKS = """() => {
    const tools = document.querySelector('[data-geometry-editor]').geometryEditor.tools();
    return !tools._toolbars.draw._modes.polygon.handler._disableMarkers;
}"""


def editor_page(kind):
    """GET shows the field; POST reads it as the lead's site form will, and shows the result."""
    value, errors, result = (PARCEL if kind == "parcel" else ""), [], ""
    if request.method == "POST":
        value = request.form.get("geometry", "")
        upload = request.files.get("geometry_file")
        try:
            if upload and upload.filename:
                geometry = geometry_from_upload(upload.read(), kind)
            else:
                geometry = geometry_from_text(value, kind)
            result = json.dumps(geometry)
        except GeometryError as exc:
            errors = [str(exc)]
    return render_template_string(PAGE, kind=kind, value=value, boundary=BOUNDARY,
                                  errors=errors, result=result)


@pytest.fixture(scope="module")
def editor_server(databases, tmp_path_factory):
    app = make_app(databases.new("geometry"), tmp_path_factory.mktemp("geometry"),
                   SERVER_NAME=None)
    app.add_url_rule("/test-geometry/<kind>", "test_geometry", editor_page,
                     methods=["GET", "POST"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


class Tab:
    """A page that records console errors, script errors, CSP violations, failed or foreign
    requests and what each vendored asset answered."""

    def __init__(self, browser, base, **context):  # noqa: F811
        self.base = base
        self.scripts = context.get("java_script_enabled", True)
        # Staff pages have no language prefix: Accept-Language picks the catalog.
        self.context = browser.new_context(viewport={"width": 1200, "height": 900},
                                           locale="zh-CN", **context)
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.assets: dict[str, int] = {}
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type == "error" or "Content Security Policy" in m.text else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(
            f"request failed: {r.url} ({r.failure})"))
        self.page.on("request", lambda r: self.problems.append(f"foreign request: {r.url}")
                     if not r.url.startswith((base, "data:")) else None)
        self.page.on("response", self._response)

    def _response(self, response):
        path = response.url.removeprefix(self.base)
        self.assets[path] = response.status
        if response.status >= 400:
            self.problems.append(f"{response.status} for {response.url}")

    def open(self, path):
        response = self.page.goto(self.base + path)
        assert response.status == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
        return response

    def field(self) -> str:
        return self.page.locator("textarea[name=geometry]").input_value()

    def geometry(self) -> dict | None:
        text = self.field()
        return json.loads(text) if text else None

    def map_point(self, fx: float, fy: float) -> tuple[float, float]:
        """Page coordinates of a point given as fractions of the map's width and height."""
        box = self.page.locator("#geometry-map").bounding_box()
        return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

    def click_map(self, fx, fy):
        self.page.mouse.click(*self.map_point(fx, fy))

    def settle(self):
        self.page.evaluate(SETTLED)

    def check(self):
        """No CSP violation, console or script error, failed or foreign request so far."""
        if self.scripts:  # page.evaluate waits for ever where scripts are off
            self.settle()
            assert self.page.evaluate("() => window.__csp || []") == []
        assert self.problems == []


@pytest.fixture
def tab(browser, editor_server):  # noqa: F811
    opened = []

    def open_tab(**context):
        opened.append(Tab(browser, editor_server, **context))
        return opened[-1]

    yield open_tab
    for t in opened:
        t.context.close()


def test_a_parcel_is_shown_edited_deleted_and_drawn_again(tab):
    t = tab()
    t.open("/test-geometry/parcel")
    page = t.page
    page.wait_for_function(READY)
    assert page.locator("#geometry-map").is_visible()
    assert not page.locator("textarea[name=geometry]").is_visible()  # folded away, still sent
    assert page.locator(".leaflet-overlay-pane path").count() == 2  # boundary and parcel
    assert t.geometry() == PARCEL
    # By content-hashed name (portal.assets); the CSS reaches its sprite by plain name.
    loaded = {CONTENT_HASH.sub("", path): status for path, status in t.assets.items()}
    for asset in ("/static/vendor/leaflet-draw/leaflet.draw.js",
                  "/static/vendor/leaflet-draw/leaflet.draw.css",
                  "/static/vendor/leaflet-draw/images/spritesheet.svg"):
        assert loaded.get(asset) == 200, asset
    # One parcel exists, so only the edit and delete tools are offered.
    assert page.locator("a.leaflet-draw-draw-polygon").count() == 0
    assert page.get_by_title("修改位置").is_visible()

    # Drag a corner: the field follows while editing, before "保存".
    page.get_by_title("修改位置").click()
    handle = page.locator(".leaflet-editing-icon").first
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 30, y + 20, steps=5)
    page.mouse.up()
    edited = t.geometry()
    assert edited["type"] == "Polygon" and edited != PARCEL
    ring = edited["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    moved = [p for p in ring[:-1] if p not in PARCEL["coordinates"][0]]
    assert len(moved) == 1
    page.get_by_role("link", name="保存", exact=True).click()
    assert t.geometry() == edited

    # Delete it: the field empties and the draw tool comes back.
    page.get_by_title("删除位置").click()
    page.locator(".leaflet-overlay-pane path.leaflet-interactive").click()
    assert t.field() == ""
    page.get_by_role("link", name="保存", exact=True).click()
    polygon_tool = page.get_by_title("画地块边界")
    expect(polygon_tool).to_be_visible()  # the tools change once Leaflet.draw is done

    # Draw a new parcel with the mouse: three corners, then the first again to close it.
    # Leaflet.draw ignores a click that comes within 50 ms of the last one, so each click
    # waits until the polygon tool takes clicks again.
    polygon_tool.click()
    assert "单击地图开始画地块边界" in page.locator(".leaflet-draw-tooltip").inner_text()
    corners = [(0.35, 0.35), (0.65, 0.4), (0.5, 0.65)]
    for fx, fy in [*corners, corners[0]]:
        page.wait_for_function(TAKES_CLICKS)
        t.click_map(fx, fy)
    drawn = t.geometry()
    assert drawn["type"] == "Polygon"
    ring = drawn["coordinates"][0]
    assert len(ring) == 4 and ring[0] == ring[-1]
    inside = page.evaluate("""() => {
        const ed = document.querySelector('#geometry-map').geometryEditor;
        return ed.map.containerPointToLatLng([0, 0]).lng;
    }""")
    assert all(lng > inside for lng, _ in ring)  # drawn where it was clicked, not at 0,0
    assert page.locator(".leaflet-overlay-pane path").count() == 2
    expect(page.get_by_title("修改位置")).to_be_visible()
    expect(polygon_tool).to_have_count(0)

    # What the editor wrote is what the server takes.
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert json.loads(page.locator("#result").inner_text()) == drawn
    t.check()


def test_a_carrier_is_placed_with_one_marker(tab):
    t = tab()
    t.open("/test-geometry/factory")
    page = t.page
    page.wait_for_function(READY)
    assert t.field() == ""
    assert page.locator(".leaflet-overlay-pane path").count() == 1  # the boundary only
    assert page.locator("a.leaflet-draw-draw-polygon").count() == 0
    page.get_by_title("标出位置").click()
    t.click_map(0.5, 0.5)
    point = t.geometry()
    assert point["type"] == "Point"
    lng, lat = point["coordinates"]
    assert 113.25 < lng < 113.40 and 39.95 < lat < 40.05  # the map opened on the boundary
    icon = page.locator(".leaflet-marker-pane img.leaflet-marker-icon")
    assert icon.count() == 1
    page.wait_for_function("() => document.querySelector('.leaflet-marker-icon').complete")
    assert icon.evaluate("img => img.naturalWidth") > 0
    expect(page.get_by_title("标出位置")).to_have_count(0)  # exactly one marker

    # Drag it in edit mode.
    page.get_by_title("修改位置").click()
    box = icon.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] - 2, steps=5)
    page.mouse.up()
    assert t.geometry()["coordinates"][0] > lng
    t.check()


def test_a_file_is_drawn_and_a_bowtie_is_refused_on_submit(tab, tmp_path):
    t = tab()
    t.open("/test-geometry/parcel")
    page = t.page
    page.wait_for_function(READY)
    moved = {"type": "Polygon", "coordinates": [[
        [113.36, 39.96], [113.38, 39.96], [113.38, 39.98], [113.36, 39.98], [113.36, 39.96]]]}
    upload = tmp_path / "二号地.geojson"
    upload.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": moved}]}), "utf-8")
    page.set_input_files("#geometry_file", str(upload))
    page.wait_for_function("() => document.getElementById('geometry-status').textContent")
    assert "二号地.geojson" in page.locator("#geometry-status").inner_text()
    assert t.geometry() == moved
    assert page.locator("#geometry_file").input_value() == ""  # the map's shape is sent
    assert page.locator(".leaflet-overlay-pane path").count() == 2

    # A self-intersecting parcel is drawn as it is; the server refuses it with the loader's
    # message (tests/test_site_geometry_upload.py checks that the two messages agree).
    (x0, y0), (x1, y1) = moved["coordinates"][0][0], moved["coordinates"][0][2]
    bowtie = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1],
                                                  [x0, y0]]]}
    upload.write_text(json.dumps(bowtie), "utf-8")
    page.set_input_files("#geometry_file", str(upload))
    page.wait_for_function(
        "(text) => document.querySelector('textarea[name=geometry]').value === text",
        arg=json.dumps(bowtie, separators=(",", ":")))
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    error = page.locator("#geometry-error").inner_text()
    assert "自相交" in error
    with pytest.raises(GeometryError) as expected:
        geometry_from_text(json.dumps(bowtie), "parcel")
    assert error == str(expected.value)
    t.check()


def test_what_the_map_cannot_show_is_left_to_the_server_and_stays_in_view(tab, tmp_path):
    t = tab()
    t.open("/test-geometry/parcel")
    page = t.page
    page.wait_for_function(READY)
    two = tmp_path / "两块地.geojson"
    two.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": PARCEL}] * 2}), "utf-8")
    page.set_input_files("#geometry_file", str(two))
    page.wait_for_function("() => document.getElementById('geometry-status').textContent")
    assert "两块地.geojson" in page.locator("#geometry-status").inner_text()
    assert page.locator("#geometry_file").input_value().endswith("两块地.geojson")
    assert t.geometry() == PARCEL  # the map and the text keep the parcel
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert page.locator("#geometry-error").inner_text() == "文件中应只有一个要素，当前有 2 个"

    # Text the map cannot show is sent back with its error and left unfolded.
    page.wait_for_function(READY)
    page.locator("details.geometry-text summary").click()
    page.locator("textarea[name=geometry]").fill("{113.3, 40.0}")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    page.wait_for_function(READY)
    assert "不是有效的 GeoJSON" in page.locator("#geometry-error").inner_text()
    textarea = page.locator("textarea[name=geometry]")
    assert textarea.is_visible() and textarea.input_value() == "{113.3, 40.0}"
    assert page.get_by_title("画地块边界").is_visible()  # nothing drawn; draw it instead
    t.check()


def test_without_javascript_the_text_and_the_file_remain(tab):
    t = tab(java_script_enabled=False)
    t.open("/test-geometry/parcel")
    page = t.page
    assert not page.locator("#geometry-map").is_visible()
    textarea = page.locator("textarea[name=geometry]")
    assert textarea.is_visible()
    assert json.loads(textarea.input_value()) == PARCEL
    assert "浏览器未启用脚本" in page.content()  # a <noscript> note; Playwright cannot show it
    assert page.get_by_label("上传 GeoJSON 文件").is_visible()
    textarea.fill(json.dumps({"type": "Feature", "geometry": PARCEL}))
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert json.loads(page.locator("#result").inner_text()) == PARCEL
    t.check()
