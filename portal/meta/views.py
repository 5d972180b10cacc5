"""Pages for machines and the root redirect: /, /healthz, /robots.txt, /sitemap.xml."""

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, url_for
from sqlalchemy.exc import SQLAlchemyError

import portal
from portal import pagecache
from portal.extensions import db
from portal.i18n import LANGUAGES, preferred_lang
from portal.indexing import INDEX_KINDS, STALE_AFTER, lag, pending
from portal.models import Industry, Opportunity, OutboxJob, Policy, Region, Site
from search import SearchUnavailable, engine

bp = Blueprint("meta", __name__)


@bp.get("/")
def root():
    return redirect(url_for("showcase.home", lang=preferred_lang()), code=302)


@bp.get("/healthz")
def healthz():
    """200 while the database answers; ``degraded`` when search cannot be used or the page
    cache's store (Redis) does not answer (pages are then rendered for every request)."""
    try:
        db.session.execute(db.text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError as exc:
        current_app.logger.error("health check: database unreachable: %s", exc)
        database = "unavailable"
    search = _search_health(database == "ok")
    pages = pagecache.health(current_app)
    if database != "ok":
        status, code = "unavailable", 503
    elif search.get("state") != "ok" or search.get("pending_jobs") or \
            search.get("index") != "current" or pages["state"] == "unavailable":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {"status": status, "database": database, "search": search, "page_cache": pages,
            "version": portal.__version__}
    return jsonify(body), code


def _search_health(database_ok: bool) -> dict:
    """The engine's own health, and whether this node answers searches from a current
    index (``index``: ``current``, ``catching_up`` — the next search catches up first —
    or ``database`` — searches answer from the database with the notice), ``behind``: the
    outbox jobs not yet applied to it. Reports only: it changes nothing."""
    try:
        eng = engine()
        search = eng.health()
    except SearchUnavailable:
        return {"engine": "unknown", "state": "unavailable", "index": "database"}
    if not database_ok:
        search["index"] = "database" if search["state"] == "unavailable" else "unknown"
        return search
    search["pending_jobs"] = pending(older_than=STALE_AFTER)
    if eng.local:
        try:
            behind = lag(eng)
        except SearchUnavailable:
            behind = None
        if behind is None:  # never built here: everything is still to apply
            behind = db.session.scalar(db.select(db.func.count(OutboxJob.id)).where(
                OutboxJob.kind.in_(INDEX_KINDS))) or 0
            current = False
        else:
            current = behind == 0
        failed = getattr(eng, "last_catch_up_error", None)
    else:
        behind, current, failed = search["pending_jobs"], not search["pending_jobs"], None
    if search["state"] == "unavailable" or (failed and not current):
        search["index"] = "database"
    else:
        search["index"] = "current" if current else "catching_up"
    search["behind"] = behind
    return search


@bp.get("/robots.txt")
def robots():
    lines = ["User-agent: *", "Disallow: /admin/", "Disallow: /api/", "Disallow: /display/",
             f"Sitemap: {url_for('meta.sitemap', _external=True)}"]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


@bp.get("/sitemap.xml")
def sitemap():
    pages = []
    for lang in LANGUAGES:
        pages += [url_for(e, lang=lang, _external=True) for e in (
            "showcase.home", "showcase.environment", "policies.index", "sites.index",
            "opportunities.index", "services_chain.index", "glossary.index")]
        pages += [url_for("showcase.region", lang=lang, slug=s, _external=True)
                  for s in db.session.scalars(db.select(Region.slug))]
        pages += [url_for("showcase.industry", lang=lang, slug=s, _external=True)
                  for s in db.session.scalars(db.select(Industry.slug))]
        for endpoint, model, arg in (("policies.detail", Policy, "policy_id"),
                                     ("sites.detail", Site, "site_id"),
                                     ("opportunities.detail", Opportunity, "item_id")):
            pages += [url_for(endpoint, lang=lang, _external=True, **{arg: i})
                      for i in db.session.scalars(db.select(model.id))]
    xml = render_template("sitemap.xml", pages=pages)
    return Response(xml, mimetype="application/xml")
