"""Maps made with folium and embedded in the portal's own pages.

folium writes the Leaflet code; the portal takes only its script and style links (served
from static/vendor, see ``offline``) and its map script, never its full-page template (which
has no lang, no title and a viewport that blocks zooming). Sites are not inlined: the map
fetches them from /api/v1/sites.geojson for the view and the filters in force.
"""

from dataclasses import dataclass

import folium
from branca.element import CssLink, JavascriptLink
from flask import current_app, url_for
from flask_babel import gettext as _
from folium.elements import JSCSSMixin
from jinja2 import Template
from markupsafe import Markup
from shapely.geometry import shape

from portal.labels import LABELS

# Availability → colour: green free, amber under negotiation, grey taken.
COLOURS = {"available": "#1a7f37", "reserved": "#9a6700", "taken": "#6e7781"}
CARRIER_COLOUR = "#0b57d0"


@dataclass
class Tiles:
    name: str
    url: str
    attribution: str
    subdomains: str = "abc"
    gcj02: bool = False
    overlay: str = ""  # a label layer drawn above (天地图 annotations)


def tiles(config) -> Tiles | None:
    """The configured base map; None draws no tiles (region outlines on a plain ground)."""
    kind = (config.get("MAP_TILES") or "none").lower()
    attribution = config.get("MAP_TILES_ATTRIBUTION", "")
    key = config.get("MAP_TILES_KEY", "")
    if kind == "osm":
        return Tiles("OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                     attribution or "© OpenStreetMap contributors", "")
    if kind == "tianditu":
        wmts = ("https://t{s}.tianditu.gov.cn/%s_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                "&VERSION=1.0.0&LAYER=%s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=" + key)
        return Tiles("天地图", wmts % ("vec", "vec"), attribution or "© 天地图", "01234567",
                     overlay=wmts % ("cva", "cva"))
    if kind == "gaode":
        return Tiles("高德地图", "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn"
                     "&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                     attribution or "© 高德地图", "1234", gcj02=True)
    if kind == "xyz" and config.get("MAP_TILES_URL"):
        return Tiles("XYZ", config["MAP_TILES_URL"], attribution, config.get(
            "MAP_TILES_SUBDOMAINS", "abc"), gcj02=config.get("MAP_TILES_CRS", "") == "gcj02")
    return None


class _PortalLayer(JSCSSMixin):
    """A layer whose code is static/js/maps.js: folium's inline script only calls it with
    data, so the page's one inline script (marked with the CSP nonce) holds no logic."""

    def __init__(self):
        super().__init__()
        self.default_js = [("portal_maps", url_for("static", filename="js/maps.js"))]
        self.default_css = []


class SitesLayer(_PortalLayer):
    """Parcels as polygons coloured by availability, carriers as clustered circles, both
    fetched for the current view; filters arrive as a ``portal:filters`` DOM event."""

    _template = Template("""
{% macro script(this, kwargs) %}
portalMaps.sitesLayer({{ this._parent.get_name() }}, {{ this.config|tojson }});
{% endmacro %}
""")

    def __init__(self, config: dict):
        super().__init__()
        self._name = "SitesLayer"
        self.config = config


class InlineSite(_PortalLayer):
    """One site drawn from data in the page (the detail page's inset)."""

    _template = Template("""
{% macro script(this, kwargs) %}
portalMaps.inlineSite({{ this._parent.get_name() }}, {{ this.feature|tojson }},
  {{ this.colour|tojson }});
{% endmacro %}
""")

    def __init__(self, feature: dict, colour: str):
        super().__init__()
        self._name = "InlineSite"
        self.feature, self.colour = feature, colour


def _outline_style(feature):
    zone = feature["properties"].get("kind") == "zone"
    return {"color": "#a61b1b" if zone else "#57606a", "weight": 1.5 if zone else 1,
            "fillColor": "#a61b1b" if zone else "#ffffff", "fillOpacity": 0.06 if zone else 0,
            "dashArray": None if zone else "4 4"}


def base_map(*, center: tuple[float, float], zoom: int, outlines: list[dict]) -> folium.Map:
    config = current_app.config
    base = tiles(config)
    m = folium.Map(location=[center[1], center[0]], zoom_start=zoom, tiles=None,
                   control_scale=True, prefer_canvas=False, zoom_control=True,
                   maxZoom=18, minZoom=5)  # markercluster needs a max zoom even without tiles
    if base is not None:
        folium.TileLayer(tiles=base.url, attr=base.attribution, name=base.name,
                         subdomains=base.subdomains or "abc", max_zoom=18).add_to(m)
        if base.overlay:
            folium.TileLayer(tiles=base.overlay, attr=base.attribution, name=base.name,
                             subdomains=base.subdomains, overlay=True).add_to(m)
    if outlines:
        folium.GeoJson({"type": "FeatureCollection", "features": outlines},
                       name=_("区域边界"), style_function=_outline_style,
                       tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
                       interactive=True).add_to(m)
    return m


def bounds(features: list[dict]) -> list[list[float]] | None:
    """[[south, west], [north, east]] around the features, for Leaflet's fitBounds."""
    if not features:
        return None
    west, south, east, north = shape({"type": "GeometryCollection", "geometries": [
        f["geometry"] for f in features]}).bounds
    return [[south, west], [north, east]]


def sites_map(*, center, zoom, outlines, api_url: str, params: dict) -> folium.Map:
    m = base_map(center=center, zoom=zoom, outlines=outlines)
    folium.plugins.MarkerCluster().add_to(m)  # brings the clustering script and styles
    base = tiles(current_app.config)
    SitesLayer({
        "api": api_url,
        "params": params,
        "bounds": bounds(outlines),
        "polygonZoom": 12,
        "gcj02": bool(base and base.gcj02),
        "colours": COLOURS,
        "carrier": CARRIER_COLOUR,
        "kinds": {k: str(v) for k, v in LABELS["site_kind"].items()},
        "statuses": {k: str(v) for k, v in LABELS["availability"].items()},
        "labels": {"mu": _("亩"), "m2": _("平方米"), "details": _("查看详情"),
                   "demo": _("演示数据"), "cluster": _("此处有 %(n)s 处土地或载体，点击放大")},
    }).add_to(m)
    return m


def inset_map(site, outlines) -> folium.Map:
    m = base_map(center=(site.longitude, site.latitude), zoom=14, outlines=outlines)
    feature = {"type": "Feature", "geometry": site.geometry, "properties": {}}
    InlineSite(feature, COLOURS.get(site.availability, CARRIER_COLOUR)).add_to(m)
    return m


@dataclass
class RenderedMap:
    head: Markup
    body: Markup
    script: Markup
    attribution: str
    approval: str


def render(m: folium.Map) -> RenderedMap:
    """The parts of a folium map the portal's templates place themselves."""
    figure = m.get_root()
    figure.render()
    links = [child.render() for child in figure.header._children.values()
             if isinstance(child, (JavascriptLink, CssLink))]
    base = tiles(current_app.config)
    # folium's own output, built from the portal's data with values passed through tojson
    return RenderedMap(Markup("\n".join(links)), Markup(figure.html.render()),  # noqa: S704
                       Markup(figure.script.render()),  # noqa: S704
                       base.attribution if base else "",
                       current_app.config.get("MAP_APPROVAL_NUMBER", ""))
