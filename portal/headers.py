"""Security headers on every response (CSP with per-request nonces, framing, sniffing,
referrer, permissions, HSTS over HTTPS) and no-store on pages that show personal data.

Pages get a Content-Security-Policy whose only inline scripts are the ones a template marks
with ``nonce="{{ csp_nonce() }}"`` (folium's map script); everything else is a file under
/static. Styles need no ``'unsafe-inline'``: the templates carry no ``style=`` attributes, the
portal takes only folium's links (not its ``<style>`` blocks), and Leaflet sets element styles
through the CSSOM, which CSP does not restrict. Images may come from the configured map tile
hosts. Anything that is not HTML (JSON, CSV, files) gets a policy that allows nothing, XML
only what the browser's own XML viewer needs (inline styles, a data: image).

Caches: staff pages and everything under /admin, the answer to a submitted form, the tracking
pages and their API counterparts are ``no-store``; public content pages and static files keep
the caching their views give them.
"""

import logging
import re
import secrets
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

log = logging.getLogger(__name__)

PERMISSIONS = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media",
    "geolocation", "gyroscope", "hid", "idle-detection", "magnetometer", "microphone", "midi",
    "payment", "picture-in-picture", "publickey-credentials-get", "screen-wake-lock", "serial",
    "usb", "xr-spatial-tracking",
))
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": PERMISSIONS,
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
NOTHING = "default-src 'none'; frame-ancestors 'none'"  # JSON, CSV, text and other files
# Browsers show an XML document (sitemap, feed) with a viewer of their own that styles it
# inline and draws a data: icon; neither can run code, and nothing else is allowed.
XML = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"

# Pages whose answer shows what a person typed or their ticket and access code.
PRIVATE_AFTER_POST = {"intake.new_demand", "intake.new_complaint",
                      "api.create_demand", "api.create_complaint"}
PRIVATE = {"api.track"}
PRIVATE_BLUEPRINTS = {"tracking"}

TILE_SETTINGS = ("MAP_TILES", "MAP_TILES_URL", "MAP_TILES_SUBDOMAINS", "MAP_TILES_KEY",
                 "MAP_TILES_CRS")
# What may stand in a CSP host source: a host (a leading "*." allowed) and a port.
HOST = re.compile(r"^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d{1,5})?$|^localhost(:\d{1,5})?$")


def init_app(app: Flask) -> None:
    app.add_template_global(csp_nonce)
    app.after_request(add_headers)


def csp_nonce() -> str:
    """This request's nonce for an inline ``<script>``; made on first use, so pages without
    inline scripts allow none."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def add_headers(response: Response) -> Response:
    headers = response.headers
    for name, value in COMMON.items():
        headers.setdefault(name, value)
    if response.mimetype == "text/html":
        headers["Content-Security-Policy"] = page_policy(g.get("csp_nonce"))
    elif response.mimetype.endswith("xml"):
        headers["Content-Security-Policy"] = XML
    else:
        headers["Content-Security-Policy"] = NOTHING
    if current_app.config.get("HTTPS"):
        headers["Strict-Transport-Security"] = HSTS
    if is_private():
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def is_private() -> bool:
    """Whether this answer may hold personal data, so no browser or proxy may keep it."""
    if request.path == "/admin" or request.path.startswith("/admin/"):
        return True  # every staff page, download and error, signed in or not
    endpoint = request.endpoint or ""
    return (endpoint in PRIVATE or request.blueprint in PRIVATE_BLUEPRINTS
            or (endpoint in PRIVATE_AFTER_POST and request.method == "POST"))


def page_policy(nonce: str | None) -> str:
    config = current_app.config
    tiles = tile_sources(tuple((k, config[k]) for k in TILE_SETTINGS if k in config))
    script = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join((
        "default-src 'self'",
        f"script-src {script}",
        "style-src 'self'",
        " ".join(("img-src 'self' data:", *tiles)),
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ))


@lru_cache(maxsize=16)
def tile_sources(settings: tuple[tuple[str, object], ...]) -> tuple[str, ...]:
    """CSP sources for the configured base map's tile servers (none without tiles).

    Leaflet's ``{s}`` in a host is expanded to each configured subdomain; any other
    placeholder in a host widens it to ``*.`` the rest. A host that cannot be written as a
    CSP source is left out (its tiles are blocked) and logged, never pasted into the header.
    """
    from portal.sites.maps import tiles

    chosen = tiles(dict(settings))
    if chosen is None:
        return ()
    sources: list[str] = []
    for template in (chosen.url, chosen.overlay):
        for source in _sources(template, chosen.subdomains):
            if source not in sources:
                sources.append(source)
    return tuple(sources)


def _sources(template: str, subdomains: str) -> list[str]:
    if not template:
        return []
    parts = urlsplit(template)
    netloc = parts.netloc.rpartition("@")[2]
    hosts = [netloc.replace("{s}", s) for s in subdomains] if "{s}" in netloc and subdomains \
        else [netloc]
    found = []
    for host in hosts:
        if "{" in host:
            labels = host.split(".")
            last = max(i for i, label in enumerate(labels) if "{" in label)
            host = ".".join(["*", *labels[last + 1:]])
        if parts.scheme not in ("", "http", "https") or not HOST.match(host):
            log.warning("map tiles from %r cannot be allowed by the CSP; they will not load",
                        template)
            continue
        found.append(f"{parts.scheme}://{host}" if parts.scheme else host)
    return found
