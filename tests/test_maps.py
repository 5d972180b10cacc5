"""Map configuration: tiles, attribution, 审图号, GCJ-02 and the site detail page."""

import re

import pytest

from portal import pagecache
from portal.extensions import db
from portal.models import Site
from portal.sites.coords import geometry_to_gcj02, wgs84_to_gcj02
from portal.sites.maps import tiles


def test_gcj02_matches_the_published_reference_point():
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)


def test_gcj02_leaves_places_outside_china_alone():
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    polygon = {"type": "Polygon", "coordinates": [[[113.3, 40.0], [113.31, 40.0],
                                                   [113.31, 40.01], [113.3, 40.0]]]}
    moved = geometry_to_gcj02(polygon)["coordinates"][0]
    assert len(moved) == 4 and moved[0] != [113.3, 40.0] and moved[0] == moved[-1]


@pytest.mark.parametrize("config, name, gcj02", [
    ({}, None, False),
    ({"MAP_TILES": "none"}, None, False),
    ({"MAP_TILES": "osm"}, "OpenStreetMap", False),
    ({"MAP_TILES": "tianditu", "MAP_TILES_KEY": "k"}, "天地图", False),
    ({"MAP_TILES": "gaode"}, "高德地图", True),
    ({"MAP_TILES": "xyz", "MAP_TILES_URL": "https://tiles.example/{z}/{x}/{y}.png",
      "MAP_TILES_CRS": "gcj02"}, "XYZ", True),
    ({"MAP_TILES": "xyz"}, None, False),  # no URL: no tiles
])
def test_tile_settings(config, name, gcj02):
    chosen = tiles(config)
    assert (chosen.name if chosen else None) == name
    assert (chosen.gcj02 if chosen else False) == gcj02


def test_tianditu_key_reaches_both_layers():
    chosen = tiles({"MAP_TILES": "tianditu", "MAP_TILES_KEY": "SECRET"})
    assert chosen.url.endswith("tk=SECRET") and chosen.overlay.endswith("tk=SECRET")


def test_default_map_has_no_tiles_but_region_outlines(site_client):
    html = site_client.get("/zh/sites/").get_data(as_text=True)
    assert "L.tileLayer" not in html
    assert "L.geoJson(" in html or "L.geoJSON(" in html
    assert "平城区" in html  # an outline's tooltip


def test_configured_tiles_show_attribution_and_approval_number(site_app, site_client,
                                                               monkeypatch):
    monkeypatch.setitem(site_app.config, "MAP_TILES", "osm")
    monkeypatch.setitem(site_app.config, "MAP_APPROVAL_NUMBER", "GS（2026）1234号")
    pagecache.clear(site_app)  # a setting changed under a running app
    html = site_client.get("/zh/sites/").get_data(as_text=True)
    assert "tile.openstreetmap.org" in html
    assert "© OpenStreetMap contributors" in html
    assert "审图号：GS（2026）1234号" in html


def test_gcj02_tiles_make_the_map_ask_for_gcj02(site_app, site_client, monkeypatch):
    monkeypatch.setitem(site_app.config, "MAP_TILES", "gaode")
    pagecache.clear(site_app)  # a setting changed under a running app
    html = site_client.get("/zh/sites/").get_data(as_text=True)
    assert re.search(r'"gcj02": true', html)


def test_site_detail_has_inset_nearby_contact_and_print(site_client, site_db):
    with site_db() as s:
        site = s.scalars(db.select(Site).filter_by(kind="parcel")).first()
        site_id, name = site.id, site.name
    html = site_client.get(f"/zh/sites/{site_id}").get_data(as_text=True)
    assert name in html
    assert 'class="site-map inset"' in html and "portalMaps.inlineSite(" in html
    assert "附近的土地与载体" in html and html.count("/zh/sites/") >= 5
    assert "首接负责人" in html
    assert "data-print" in html and "@media print" not in html  # print CSS in the sheet
    with site_client.get("/static/css/portal.css") as response:
        assert "@media print" in response.get_data(as_text=True)
