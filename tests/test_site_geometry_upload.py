"""A site's position from staff: an uploaded GeoJSON file or the value the map editor posts,
checked by the same ``parse`` as a data pack, and the form field that carries both."""

import json
import math
import re
import shutil
from html.parser import HTMLParser

import pytest
from flask import render_template_string

from portal.sites.geometry import (
    MAX_GEOJSON_BYTES,
    MAX_VERTICES,
    GeometryError,
    geometry_from_text,
    geometry_from_upload,
)
from seed.loader import PACKS_DIR, PackError, read_pack

SQUARE = {"type": "Polygon", "coordinates": [[
    [113.3, 40.0], [113.3011742, 40.0], [113.3011742, 40.0008993], [113.3, 40.0008993],
    [113.3, 40.0]]]}
POINT = {"type": "Point", "coordinates": [113.31, 40.01]}
CONTENT_HASH = re.compile(r"\.[0-9a-f]{10}(?=\.\w+$)")  # portal.assets names files by content


def feature(geometry, **properties):
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(*features, **extra):
    return {"type": "FeatureCollection", "features": list(features), **extra}


def upload(document, kind="parcel") -> dict:
    return geometry_from_upload(json.dumps(document).encode("utf-8"), kind)


def refusal(document, kind="parcel") -> str:
    data = document if isinstance(document, bytes) else json.dumps(document).encode("utf-8")
    with pytest.raises(GeometryError) as error:
        geometry_from_upload(data, kind)
    return str(error.value)


def bowtie(ring):
    """A parcel's first and third corners joined crosswise: a polygon that crosses itself."""
    (x0, y0), (x1, y1) = ring[0][:2], ring[2][:2]
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1],
                                                [x0, y0]]]}


def circle(vertices: int) -> dict:
    ring = [[113.3 + 0.01 * math.cos(2 * math.pi * i / vertices),
             40.0 + 0.01 * math.sin(2 * math.pi * i / vertices)] for i in range(vertices - 1)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


# --- what is taken ----------------------------------------------------------------------------


@pytest.mark.parametrize("document", [
    SQUARE,
    feature(SQUARE, name="一号地"),
    collection(feature(SQUARE)),
    collection(feature(SQUARE), crs={"type": "name",
                                     "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}),
    collection(feature(SQUARE), crs={"type": "name", "properties": {"name": "EPSG:4490"}}),
    {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]]},
    {**SQUARE, "bbox": [113.3, 40.0, 113.3011742, 40.0008993]},
], ids=["polygon", "feature", "collection", "crs84", "cgcs2000", "multipolygon-of-one", "bbox"])
def test_a_parcel_is_read_from_each_form_of_geojson(ctx, document):
    assert upload(document) == SQUARE


def test_a_carrier_is_a_point(ctx):
    assert upload(collection(feature(POINT)), kind="factory") == POINT
    assert upload({"type": "MultiPoint", "coordinates": [POINT["coordinates"]]},
                  kind="office") == POINT


def test_a_byte_order_mark_and_the_size_limit_itself_are_fine(ctx):
    text = json.dumps(feature(SQUARE)).encode("utf-8")
    assert geometry_from_upload(b"\xef\xbb\xbf" + text, "parcel") == SQUARE
    padded = text + b" " * (MAX_GEOJSON_BYTES - len(text))
    assert len(padded) == MAX_GEOJSON_BYTES
    assert geometry_from_upload(padded, "parcel") == SQUARE


def test_the_vertex_limit_itself_is_fine(ctx):
    assert len(upload(circle(MAX_VERTICES))["coordinates"][0]) == MAX_VERTICES


def test_the_drawn_value_is_read_like_a_file(ctx):
    # What Leaflet writes for a drawn polygon and a placed marker.
    assert geometry_from_text(json.dumps(SQUARE), "parcel") == SQUARE
    assert geometry_from_text("  " + json.dumps(feature(POINT)) + "\n", "warehouse") == POINT


# --- what is refused, and what staff read -----------------------------------------------------


def test_two_features_are_refused(ctx):
    message = refusal(collection(feature(SQUARE), feature(SQUARE)))
    assert message == "文件中应只有一个要素，当前有 2 个"
    assert refusal(collection()) == "文件中应只有一个要素，当前有 0 个"


def test_a_point_for_a_parcel_is_refused(ctx):
    assert refusal(feature(POINT)) == "地块应为面（Polygon），当前为 Point"
    assert refusal(SQUARE, kind="factory") == "载体位置应为点（Point），当前为 Polygon"


def test_a_multipolygon_of_several_parcels_is_refused(ctx):
    two = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]] * 2}
    assert refusal(two) == "地块应为一块面（Polygon），当前的 MultiPolygon 有 2 块"


def test_a_feature_without_geometry_is_refused(ctx):
    assert "geometry 为空" in refusal(feature(None))


def test_a_projected_coordinate_system_is_named(ctx):
    gauss = collection(feature(SQUARE), crs={"type": "name",
                                             "properties": {"name": "EPSG:4547"}})
    message = refusal(gauss)
    assert "EPSG:4547" in message and "WGS-84" in message


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00",
    "地块,经度,纬度\n一号地,113.3,40.0\n".encode("gbk"),
    b"{\"type\": \"Polygon\", \"coordinates\": [[",
    b"[113.3, 40.0]",
    b"{\"name\": \"no type\"}",
    b"[" * 100_000,
], ids=["binary", "gbk-csv", "truncated", "array", "no-type", "deep-nesting"])
def test_not_geojson_is_refused(ctx, data):
    assert refusal(data) == "文件不是有效的 GeoJSON，请选择 GIS 软件导出的 .geojson 或 .json 文件"


@pytest.mark.parametrize("coordinates", [
    ["113.31", "40.01"], [True, False], [[113.31, 40.01]], [113.31], [113.31, 40.01, 0, 0],
], ids=["strings", "booleans", "nested", "one-number", "four-numbers"])
def test_coordinates_shapely_would_bend_are_refused(ctx, coordinates):
    """shapely reads "113.31", true or [[x, y]] as a point; the stored GeoJSON must not."""
    message = refusal({"type": "Point", "coordinates": coordinates}, kind="factory")
    assert message == "坐标格式不正确：每个点应为 [经度, 纬度] 两个数"


def test_nan_is_not_json(ctx):
    ring = [[113.3, 40.0], [113.31, 40.0], [113.31, 40.01], [113.3, 40.0]]
    text = json.dumps({"type": "Polygon", "coordinates": [[[float("nan"), 40.0], *ring[1:]]]})
    assert "NaN" in text
    assert refusal(text.encode()) == refusal(b"{")
    with pytest.raises(GeometryError):
        geometry_from_text(text, "parcel")


def test_an_oversize_file_is_refused_before_it_is_read(ctx):
    text = json.dumps(feature(SQUARE)).encode("utf-8")
    message = refusal(text + b" " * (MAX_GEOJSON_BYTES + 1 - len(text)))
    assert message == "文件超过 2 MB，请在 GIS 软件中简化边界后再上传"


def test_too_many_vertices_are_refused(ctx):
    message = refusal(circle(MAX_VERTICES + 1))
    assert message == f"边界有 {MAX_VERTICES + 1} 个点，超过上限 {MAX_VERTICES} 个，" \
                      "请在 GIS 软件中简化后再上传"


@pytest.mark.parametrize("text, message", [
    ("", "请在地图上标出位置，或上传 GeoJSON 文件"),
    (None, "请在地图上标出位置，或上传 GeoJSON 文件"),
    ("{not json", "位置不是有效的 GeoJSON，请在地图上重新标出，或上传 GeoJSON 文件"),
    (json.dumps(collection(feature(POINT), feature(POINT))),
     "GeoJSON 中应只有一个要素，当前有 2 个"),
    (" " * MAX_GEOJSON_BYTES + "{}", "位置数据超过 2 MB，请在 GIS 软件中简化边界后上传文件"),
])
def test_a_bad_drawn_value_is_refused(ctx, text, message):
    with pytest.raises(GeometryError) as error:
        geometry_from_text(text, "factory")
    assert str(error.value) == message


def test_a_bowtie_gets_the_loaders_message(ctx, tmp_path):
    """Staff who upload a self-intersecting parcel read what the data-pack loader says."""
    pack = tmp_path / "pack"
    shutil.copytree(PACKS_DIR / "datong", pack)
    sites = json.loads((pack / "sites.geojson").read_text("utf-8"))
    parcel = next(f for f in sites["features"] if f["properties"]["kind"] == "parcel")
    crossed = bowtie(parcel["geometry"]["coordinates"][0])
    parcel["geometry"] = crossed
    (pack / "sites.geojson").write_text(json.dumps(sites, ensure_ascii=False), "utf-8")

    with pytest.raises(PackError) as loaded:
        read_pack(str(pack))
    assert loaded.value.field == "geometry"
    assert "自相交" in loaded.value.problem

    assert refusal(feature(crossed, key=parcel["properties"]["key"])) == loaded.value.problem
    with pytest.raises(GeometryError) as drawn:
        geometry_from_text(json.dumps(crossed), "parcel")
    assert str(drawn.value) == loaded.value.problem


# --- the form field ---------------------------------------------------------------------------


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each textarea."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.textareas: list[str] = []
        self._in_textarea = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_textarea = tag == "textarea"
        if self._in_textarea:
            self.textareas.append("")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._in_textarea = False

    def handle_data(self, data):
        if self._in_textarea:
            self.textareas[-1] += data

    def one(self, tag, **attrs) -> dict:
        found = [a for t, a in self.tags if t == tag and all(a.get(k) == v
                                                             for k, v in attrs.items())]
        assert len(found) == 1, (tag, attrs, found)
        return found[0]


def render_field(app, **kwargs) -> Elements:
    page = ('{% from "admin/_geometry.html" import geometry_field, geometry_assets %}'
            "{{ geometry_assets() }}{{ geometry_field(**field) }}")
    with app.test_request_context("/admin/sites/new"):
        return Elements(render_template_string(page, field=kwargs))


NAMED = {"type": "Polygon", "coordinates": [[[113.3, 40.0], [113.4, 40.0], [113.4, 40.1],
                                             [113.3, 40.0]]], "note": "\"引号\" <b>&'"}


@pytest.mark.parametrize("value", [NAMED, json.dumps(NAMED, ensure_ascii=False)],
                         ids=["dict", "text"])
def test_the_field_carries_the_geometry_intact(app, value):
    html = render_field(app, form_field_name="geometry", kind="parcel", value_json=value,
                        boundary_json={"type": "Polygon", "coordinates": [[[113, 39.9]]]})
    box = html.one("div", id="geometry-map")
    assert json.loads(box["data-geometry"]) == NAMED
    assert json.loads(box["data-boundary"])["coordinates"] == [[[113, 39.9]]]
    assert box["data-kind"] == "parcel" and box["data-field"] == "geometry"
    assert "hidden" in box  # shown by the script; without it the text and the file remain
    html.one("textarea", name="geometry", id="geometry")
    assert json.loads(html.textareas[0]) == NAMED
    assert "open" in html.one("details")


def test_the_field_offers_a_labelled_file_input_and_the_assets(app):
    html = render_field(app, form_field_name="site_geometry", kind="factory", value_json="",
                        boundary_json=None, errors=["地块应为面（Polygon），当前为 Point"])
    file = html.one("input", type="file", name="site_geometry_file", id="site_geometry_file")
    assert file["accept"].split(",")[:2] == [".geojson", ".json"]
    html.one("label", **{"for": "site_geometry_file"})
    html.one("label", **{"for": "site_geometry"})
    box = html.one("div", id="site_geometry-map")
    assert box["data-geometry"] == "" and box["data-boundary"] == ""
    assert html.one("textarea", name="site_geometry")["aria-invalid"] == "true"
    assert html.one("fieldset")["aria-describedby"] == "site_geometry-hint site_geometry-error"
    scripts = [CONTENT_HASH.sub("", a["src"]) for t, a in html.tags if t == "script"]
    assert scripts == ["/static/vendor/leaflet/leaflet.js",
                       "/static/vendor/leaflet-draw/leaflet.draw.js",
                       "/static/js/geometry-editor.js"]
    styles = [CONTENT_HASH.sub("", a["href"]) for t, a in html.tags if t == "link"]
    assert styles == ["/static/vendor/leaflet/leaflet.css",
                      "/static/vendor/leaflet-draw/leaflet.draw.css"]
    assert not any("style" in a or any(k.startswith("on") for k in a) for _, a in html.tags)


def test_the_file_hint_states_the_real_size_limit(app):
    with app.test_request_context("/"):
        page = render_template_string('{% from "admin/_geometry.html" import geometry_field %}'
                                      '{{ geometry_field("g", "parcel", "", "") }}')
    assert f"不超过 {MAX_GEOJSON_BYTES // 2**20} MB" in page
