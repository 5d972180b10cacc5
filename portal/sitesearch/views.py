"""The site-wide search page."""

from flask import Blueprint, render_template, request

from search.text import MAX_QUERY

from . import services

bp = Blueprint("sitesearch", __name__, url_prefix="/<lang:lang>")


@bp.get("/search")
def index():
    q = " ".join(request.args.get("q", "").split())[:MAX_QUERY]
    sections, degraded, expanded = services.search_everything(q)
    return render_template("sitesearch/index.html", q=q, sections=sections, degraded=degraded,
                           expanded=expanded)
