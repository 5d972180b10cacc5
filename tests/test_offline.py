"""Maps work on an intranet: every asset folium writes comes from static/vendor/."""

import importlib
import re
from pathlib import Path

import folium
import folium.plugins
import pytest
from folium.elements import JSCSSMixin

from portal.sites import offline

STATIC = Path(__file__).resolve().parent.parent / "static"
VENDOR = STATIC / "vendor"
NOT_SERVED = {"update.py", "VERSIONS.txt"}
LICENSE_NAME = re.compile(r"licen[cs]e", re.IGNORECASE)
REFERENCE = re.compile(r"""(?:\bsrc|\bhref)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^"')]*)""")


@pytest.fixture(autouse=True)
def local_assets():
    offline.use_local_assets()


def references(text: str) -> list[str]:
    return [src or url for src, url in REFERENCE.findall(text)]


def site_map() -> str:
    """A map like the portal's: clustered circle markers, a GeoJSON layer, no tiles.

    Without a tile layer Leaflet.markercluster needs the map's maxZoom.
    """
    m = folium.Map(location=[40.08, 113.3], zoom_start=9, tiles=None, maxZoom=18)
    cluster = folium.plugins.MarkerCluster(name="载体").add_to(m)
    folium.CircleMarker([40.1, 113.2], radius=6, tooltip="云冈工业园").add_to(cluster)
    points = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "御河新区地块"},
                "geometry": {"type": "Point", "coordinates": [113.35, 40.05]},
            }
        ],
    }
    folium.GeoJson(points, marker=folium.CircleMarker(radius=6, fill=True)).add_to(cluster)
    parcels = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "开发区一号地"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[113.1, 40.0], [113.2, 40.0], [113.2, 40.1], [113.1, 40.0]]],
                },
            }
        ],
    }
    folium.GeoJson(
        parcels,
        name="地块",
        tooltip=folium.GeoJsonTooltip(["name"]),
        popup=folium.GeoJsonPopup(["name"]),
    ).add_to(m)
    folium.LayerControl().add_to(m)
    return m.get_root().render()


def folium_classes() -> list[type]:
    found, stack = [], [JSCSSMixin]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return [c for c in found if c.__module__.partition(".")[0] == "folium"]


def resolve(qualified: str) -> type:
    module, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module), name)


def vendor_versions() -> dict[str, list[str]]:
    """VERSIONS.txt rows by folder: name, version, folder, license, integrity."""
    rows = {}
    for line in (VENDOR / "VERSIONS.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            row = line.split("\t")
            rows[row[2]] = row
    return rows


def test_map_page_refers_only_to_vendored_files():
    html = site_map()
    refs = references(html)
    assert refs, "the map page should load Leaflet"
    assert [r for r in refs if not r.startswith("/static/vendor/")] == []
    assert "http://" not in html and "https://" not in html
    expected = {"/static/" + path for path in offline.VENDOR_FILES
                if not path.endswith(".png") and path not in offline.EDITOR_FILES}
    assert expected <= set(refs)


def test_map_page_does_not_call_jquery():
    """jQuery is not vendored, so folium.Popup and GeoJson(url, embed=False) are off limits."""
    script = site_map()
    assert "$(" not in script and "$." not in script


def test_map_references_exist_under_static():
    for ref in references(site_map()):
        assert (STATIC / ref.removeprefix("/static/")).is_file(), ref


def test_vendor_files_exist_and_nothing_else_is_vendored():
    for path in offline.VENDOR_FILES:
        assert (STATIC / path).is_file(), f"{path} is missing: run static/vendor/update.py"
    on_disk = {
        p.relative_to(STATIC).as_posix()
        for p in VENDOR.rglob("*")
        if p.is_file()
        and p.name not in NOT_SERVED
        and not LICENSE_NAME.search(p.name)
        and "__pycache__" not in p.parts
    }
    assert on_disk == set(offline.VENDOR_FILES)


def test_vendored_css_urls_resolve():
    for path in offline.VENDOR_FILES:
        if not path.endswith(".css"):
            continue
        css = STATIC / path
        for ref in references(css.read_text(encoding="utf-8")):
            if ref.startswith(("#", "data:")):  # IE's behavior: url(#default#VML), inline data
                continue
            assert "://" not in ref, f"{path} loads {ref}"
            assert (css.parent / ref).resolve().is_file(), f"{path}: {ref}"


def test_every_vendored_package_has_a_license_and_a_version_line():
    versions = vendor_versions()
    folders = [p for p in VENDOR.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert folders
    for folder in folders:
        assert any(LICENSE_NAME.search(f.name) for f in folder.iterdir()), folder.name
        row = versions.get(f"vendor/{folder.name}/")
        assert row, f"VERSIONS.txt does not name {folder.name}"
        name, version, _, license_, integrity = row
        assert name and re.fullmatch(r"\d+\.\d+\.\d+", version) and license_
        assert integrity.startswith("sha512-")
    assert len(versions) == len(folders)


def test_unavailable_classes_have_no_assets():
    assert "folium.plugins.draw.Draw" in offline.UNAVAILABLE
    for qualified in offline.UNAVAILABLE:
        cls = resolve(qualified)
        assert cls.default_js == [] and cls.default_css == [], qualified


def test_no_folium_class_points_outside_vendor():
    for cls in folium_classes():
        for _, url in [*cls.default_js, *cls.default_css]:
            assert url.startswith("/static/vendor/"), f"{cls.__qualname__}: {url}"


def test_cluster_variants_and_plain_controls_stay_available():
    assert "folium.plugins.fast_marker_cluster.FastMarkerCluster" not in offline.UNAVAILABLE
    assert "folium.features.Control" not in offline.UNAVAILABLE
    assert folium.plugins.FastMarkerCluster.default_js == folium.plugins.MarkerCluster.default_js


def test_use_local_assets_is_idempotent_and_follows_static_url_path():
    before = (list(folium.Map.default_js), list(folium.Map.default_css))
    offline.use_local_assets()
    assert (folium.Map.default_js, folium.Map.default_css) == before
    try:
        offline.use_local_assets("/assets/")
        assert folium.Map.default_js == [("leaflet", "/assets/vendor/leaflet/leaflet.js")]
    finally:
        offline.use_local_assets()
    assert folium.Map.default_js == before[0]
