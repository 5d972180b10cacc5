"""Make folium load its libraries from static/vendor/ instead of public CDNs.

Government intranets have no internet. folium 0.20 writes a ``<script>`` or ``<link>`` tag for
each URL in the ``default_js`` / ``default_css`` class lists of every ``JSCSSMixin`` subclass,
and every one of those URLs names a public CDN; on an intranet the page waits for each request
to time out and then shows no map. ``use_local_assets`` rewrites the lists once, at start-up:

- ``folium.Map`` keeps only Leaflet. jQuery, Bootstrap, glyphicons, awesome-markers, Font
  Awesome and the rotate CSS are dropped: the portal draws circle markers and styles maps with
  its own CSS. So ``folium.Icon`` (an awesome-marker), ``folium.Popup`` (it builds its content
  with jQuery) and ``folium.GeoJson(url, embed=False)`` (a jQuery ``$.ajax``) do not work here;
  tooltips and ``GeoJsonPopup`` do.
- ``folium.plugins.MarkerCluster`` gets the vendored Leaflet.markercluster, and so does
  ``FastMarkerCluster``, which inherits its lists.
- Every other folium class that brings assets of its own gets empty lists and is named in
  ``UNAVAILABLE``, as are the classes that inherit from one. A page using one shows a map
  without that plugin and a JavaScript error, never a request to the internet. To use one,
  vendor it in ``static/vendor/update.py`` and give it local URLs here.

The URLs are made each time folium reads a list: inside a request by ``url_for('static', ...)``,
so they carry the file's content hash (portal.assets) and the app's script root; outside one
(tests rendering a bare map) from the ``static_url_path`` given here.

Limits: the lists are class attributes, so the rewrite holds for the whole process (outside a
request the last ``static_url_path`` wins). folium's ``add_js_link`` / ``add_css_link`` add to
a list made for that read only, so what they add is lost; do not call them. Outside these
lists, branca colormaps (the legend of ``folium.Choropleth``) and ``folium.VegaLite`` add CDN
links while rendering, and tile layers default to OpenStreetMap's servers (pass
``tiles=None`` and, for MarkerCluster, ``maxZoom``); none of that is rewritten here.
"""

import folium
import folium.plugins
from flask import has_request_context, url_for
from folium.elements import JSCSSMixin

LEAFLET_JS = "vendor/leaflet/leaflet.js"
LEAFLET_CSS = "vendor/leaflet/leaflet.css"
MARKERCLUSTER_JS = "vendor/leaflet.markercluster/leaflet.markercluster.js"
MARKERCLUSTER_CSS = "vendor/leaflet.markercluster/MarkerCluster.css"
MARKERCLUSTER_DEFAULT_CSS = "vendor/leaflet.markercluster/MarkerCluster.Default.css"

# Paths under static/, as url_for("static", filename=...) takes them. Leaflet's CSS reaches the
# images through url(images/...). Written by static/vendor/update.py.
VENDOR_FILES: tuple[str, ...] = (
    LEAFLET_JS,
    LEAFLET_CSS,
    "vendor/leaflet/images/layers-2x.png",
    "vendor/leaflet/images/layers.png",
    "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-shadow.png",
    MARKERCLUSTER_JS,
    MARKERCLUSTER_CSS,
    MARKERCLUSTER_DEFAULT_CSS,
)
# Served to the staff position editor (templates/admin/_geometry.html), not by folium.
EDITOR_FILES: tuple[str, ...] = (
    "vendor/leaflet-draw/leaflet.draw.js", "vendor/leaflet-draw/leaflet.draw.css",
    "vendor/leaflet-draw/images/spritesheet-2x.png", "vendor/leaflet-draw/images/spritesheet.png",
    "vendor/leaflet-draw/images/spritesheet.svg",
)
VENDOR_FILES += EDITOR_FILES

# The names folium gives these links are kept, so its own lookups by name still match.
_LOCAL: dict[type, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    folium.Map: ([("leaflet", LEAFLET_JS)], [("leaflet_css", LEAFLET_CSS)]),
    folium.plugins.MarkerCluster: (
        [("markerclusterjs", MARKERCLUSTER_JS)],
        [
            ("markerclustercss", MARKERCLUSTER_CSS),
            ("markerclusterdefaultcss", MARKERCLUSTER_DEFAULT_CSS),
        ],
    ),
}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _folium_subclasses() -> list[type]:
    """Every JSCSSMixin subclass defined by folium or its plugins, parents before children."""
    found: list[type] = []
    stack = [JSCSSMixin]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return [cls for cls in found if cls.__module__.partition(".")[0] == "folium"]


def _brings_assets(cls: type) -> bool:
    # Presence, not content: an emptied class still counts, so re-importing gives the same answer.
    return "default_js" in vars(cls) or "default_css" in vars(cls)


_FOLIUM_CLASSES = _folium_subclasses()
_EMPTIED = tuple(c for c in _FOLIUM_CLASSES if c not in _LOCAL and _brings_assets(c))

# Qualified names of the folium classes whose libraries are not vendored: do not use them.
UNAVAILABLE: tuple[str, ...] = tuple(
    sorted(
        _qualified(cls)
        for cls in _FOLIUM_CLASSES
        if cls not in _LOCAL and any(base in _EMPTIED for base in cls.__mro__)
    )
)


class _Links:
    """A ``default_js`` / ``default_css`` class attribute whose (name, URL) list is made when
    read, so a fingerprinted URL follows its file (see the module docstring)."""

    def __init__(self, links: list[tuple[str, str]], base: str):
        self.links = links
        self.base = base

    def __get__(self, instance, owner=None) -> list[tuple[str, str]]:
        return [(name, self.url(path)) for name, path in self.links]

    def url(self, path: str) -> str:
        if has_request_context():
            return url_for("static", filename=path)
        return self.base + path


def use_local_assets(static_url_path: str = "/static") -> None:
    """Rewrite folium's asset lists to the vendored files; calling it again changes nothing."""
    base = static_url_path.rstrip("/") + "/"
    for cls, (js, css) in _LOCAL.items():
        cls.default_js = _Links(js, base)
        cls.default_css = _Links(css, base)
    for cls in _EMPTIED:
        cls.default_js = []
        cls.default_css = []
