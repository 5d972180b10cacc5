"""Pages for machines and the root redirect: /, /healthz, /robots.txt, /sitemap.xml."""

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, url_for
from sqlalchemy.exc import SQLAlchemyError

import portal
from portal import pagecache
from portal.extensions import db
from portal.i18n import LANGUAGES, preferred_lang
from portal.indexing import STALE_AFTER, pending
from portal.models import Industry, Opportunity, Policy, Region, Site
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
    try:
        search = engine().health()
    except SearchUnavailable:
        search = {"engine": "unknown", "state": "unavailable"}
    if database == "ok":
        search["pending_jobs"] = pending(older_than=STALE_AFTER)
    pages = pagecache.health(current_app)
    if database != "ok":
        status, code = "unavailable", 503
    elif search.get("state") != "ok" or search.get("pending_jobs") or \
            pages["state"] == "unavailable":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {"status": status, "database": database, "search": search, "page_cache": pages,
            "version": portal.__version__}
    return jsonify(body), code


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
