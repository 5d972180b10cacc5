"""Display preferences: the 适老化 (elder-friendly) mode of GB/T 37668 and the MIIT guidance.

The choice lives in one cookie, ``display``, so it needs no account and no script: the switch
in the page header is a plain link to ``/display/<mode>?next=<this page>``, which sets the
cookie and sends the visitor back (303). Templates read it through ``display_mode()``; the
elder mode itself is CSS under ``html.elder`` in static/css/portal.css.

``next`` is followed only when it is a path of this site (one leading "/"); anything else,
``//host``, ``/\\host``, a scheme or a control character that a browser would drop, leads to
the home page of the current language, so the route cannot send anyone elsewhere.
"""

from flask import Blueprint, abort, current_app, g, redirect, request, url_for

from portal.i18n import current_lang

bp = Blueprint("preferences", __name__)

COOKIE = "display"
MODES = ("elder", "standard")
ONE_YEAR = 365 * 24 * 3600


@bp.get("/display/<mode>")
def switch(mode: str):
    if mode not in MODES:
        abort(404)
    response = redirect(safe_next(request.args.get("next", "")), code=303)
    response.set_cookie(COOKIE, mode, max_age=ONE_YEAR, samesite="Lax", httponly=True,
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def safe_next(target: str) -> str:
    """``target`` when it is a path on this site, else the home page of this language."""
    if (target.startswith("/") and not target.startswith(("//", "/\\"))
            and "\\" not in target and target.isprintable()):
        return target
    return url_for("showcase.home", lang=current_lang())


@bp.app_template_global()
def display_mode() -> str:
    """"elder" or "standard" from the cookie; any other value is the standard mode. A page
    that asks varies by the cookie, so no shared cache hands one mode to the other."""
    g.display_read = True
    return "elder" if request.cookies.get(COOKIE) == "elder" else "standard"


@bp.app_template_global()
def display_switch_url() -> str:
    """The header switch: the other mode, then back to this page with its query."""
    here = request.script_root + request.path  # (a city entry's prefix: portal.province)
    if request.query_string:
        here += "?" + request.query_string.decode("utf-8", "replace")
    other = "standard" if display_mode() == "elder" else "elder"
    return url_for("preferences.switch", mode=other, next=here)


@bp.after_app_request
def _vary_on_cookie(response):
    if g.get("display_read"):
        response.vary.add("Cookie")
    return response
