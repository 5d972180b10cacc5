"""Maps made with folium and embedded in the portal's own pages.

folium writes the Leaflet code; the portal takes only its script and style links (served
from static/vendor, see ``offline``) and its map script, never its full-page template (which
has no lang, no title and a viewport that blocks zooming). Sites are not inlined: the map
fetches them from /api/v1/sites.geojson for the view and the filters in force.
"""

from dataclasses import dataclass

import folium
from branca.element import CssLink, JavascriptLink, MacroElement
from flask import current_app
from flask_babel import gettext as _
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


class SitesLayer(MacroElement):
    """Parcels as polygons coloured by availability, carriers as clustered circles, both
    fetched for the current view; filters arrive as a ``portal:filters`` DOM event."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var cfg = {{ this.config|tojson }};
  var container = map.getContainer();
  var parcels = L.geoJSON(null, {
    style: function (f) {
      var c = cfg.colours[f.properties.status] || cfg.carrier;
      return {color: c, weight: 2, fillColor: c, fillOpacity: 0.35};
    },
    onEachFeature: function (f, layer) { layer.bindPopup(popup(f.properties)); }
  }).addTo(map);
  var carriers = L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 40});
  carriers.addTo(map);
  var cells = L.layerGroup().addTo(map);
  var params = new URLSearchParams(cfg.params);
  var pending = null;
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function popup(p) {
    var area = p.area_mu != null ? p.area_mu + " " + cfg.labels.mu
      : (p.floor_area_m2 != null ? p.floor_area_m2 + " " + cfg.labels.m2 : "");
    return "<strong>" + esc(p.name) + "</strong><br>" + esc(cfg.kinds[p.kind] || p.kind) +
      " · " + esc(cfg.statuses[p.status] || p.status) + (area ? " · " + esc(area) : "") +
      (p.is_demo ? " · " + esc(cfg.labels.demo) : "") +
      '<br><a href="' + esc(p.url) + '">' + esc(cfg.labels.details) + "</a>";
  }
  function draw(fc) {
    parcels.clearLayers(); carriers.clearLayers(); cells.clearLayers();
    var shown = 0;
    fc.features.forEach(function (f) {
      var p = f.properties;
      if (p.cluster) {
        var ll = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
        var bubble = L.marker(ll, {icon: L.divIcon({className: "site-cell",
          html: "<span>" + p.count + "</span>", iconSize: [36, 36]}),
          title: cfg.labels.cluster.replace("%(n)s", p.count)});
        bubble.on("click", function () { map.setView(ll, map.getZoom() + 2); });
        cells.addLayer(bubble);
        shown += p.count;
      } else if (f.geometry.type === "Point") {
        var ll2 = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
        carriers.addLayer(L.circleMarker(ll2, {radius: 7, color: "#fff", weight: 2,
          fillColor: cfg.colours[p.status] || cfg.carrier, fillOpacity: 0.9})
          .bindPopup(popup(p)));
        shown += 1;
      } else if (map.getZoom() < cfg.polygonZoom) {
        // too small to see as outlines: a square marker at the parcel's centre
        var centre = L.geoJSON(f).getBounds().getCenter();
        parcels.addLayer(L.circleMarker(centre, {radius: 6, color: "#fff", weight: 2,
          fillColor: cfg.colours[p.status] || cfg.carrier, fillOpacity: 0.9,
          className: "parcel-dot"}).bindPopup(popup(p)));
        shown += 1;
      } else {
        parcels.addData(f);
        shown += 1;
      }
    });
    container.setAttribute("data-features", String(shown));
    container.dispatchEvent(new CustomEvent("portal:map-drawn", {bubbles: true,
      detail: {count: shown}}));
  }
  function load() {
    var b = map.getBounds();
    var q = new URLSearchParams(params);
    q.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map(function (v) { return Math.max(-180, Math.min(180, v)).toFixed(5); }).join(","));
    q.set("cluster", "1");
    if (cfg.gcj02) { q.set("crs", "gcj02"); }
    if (pending) { pending.abort(); }
    pending = new AbortController();
    container.setAttribute("aria-busy", "true");
    fetch(cfg.api + "?" + q.toString(), {signal: pending.signal,
      headers: {"Accept": "application/geo+json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(draw)
      .catch(function (e) {
        if (e.name !== "AbortError") { container.setAttribute("data-error", "1"); }
      })
      .finally(function () { container.removeAttribute("aria-busy"); });
  }
  map.on("moveend", load);
  map.on("zoomend", function () { container.setAttribute("data-zoom", map.getZoom()); });
  document.addEventListener("portal:filters", function (e) {
    params = new URLSearchParams(e.detail); load();
  });
  if (cfg.bounds) {
    map.fitBounds(cfg.bounds, {animate: false});  // fires moveend, which loads
  } else {
    load();
  }
})();
{% endmacro %}
""")

    def __init__(self, config: dict):
        super().__init__()
        self._name = "SitesLayer"
        self.config = config


class InlineSite(MacroElement):
    """One site drawn from data in the page (the detail page's inset)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var layer = L.geoJSON({{ this.feature|tojson }}, {
    style: function () { return {color: "{{ this.colour }}", weight: 3, fillOpacity: 0.3}; },
    pointToLayer: function (f, ll) {
      return L.circleMarker(ll, {radius: 9, color: "#fff", weight: 2,
        fillColor: "{{ this.colour }}", fillOpacity: 0.95});
    }
  }).addTo(map);
  if (layer.getBounds().isValid()) {
    map.fitBounds(layer.getBounds(), {maxZoom: 15, padding: [20, 20]});
  }
})();
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
