"""Province mode: several cities in one deployment, each with its own public entry.

A deployment with one city region behaves as it always has: ``/LANG/…`` is that city and
nothing here changes a query. With several cities (each loaded from its own data pack under
the shared province region):

- ``/LANG/…`` is the province level and sees across every city;
- each city has its own entry, a path prefix ``/<city-slug>/LANG/…`` (and ``/<city>/api/v1/…``)
  and, optionally, a host (``PORTAL_CITY_HOSTS=datong=invest.datong.example,…``). The WSGI
  middleware ``CityEntries`` moves the prefix into ``SCRIPT_NAME`` (so every ``url_for``
  builds the city's links) and keeps the city's slug in the request environ (``ENVIRON``).
  It sits in front of the page cache, whose key holds ``SCRIPT_NAME`` and the host, so a city's
  page is never answered for another entry.
- under a city entry, every ORM query a public page makes sees only that city's region tree
  and the regions above it (a province policy applies everywhere), through one
  ``do_orm_execute`` criterion, as ``portal.content.workflow`` does for publication; searches
  add the same regions as a filter (``scope_query``).

Staff are scoped by their region in ``portal.scoping``: a bureau or admin with a city region
is that city's; with none, or the province, they see across all cities.
"""

import logging
import threading

from flask import Flask, abort, g, has_request_context, request
from sqlalchemy import event, or_
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import with_loader_criteria

from portal.extensions import db
from portal.models import (
    BatchFigure,
    ChainLeader,
    Complaint,
    Demand,
    FactorCost,
    Opportunity,
    Policy,
    PublicVersion,
    Region,
    Site,
)

log = logging.getLogger(__name__)

ENVIRON = "portal.city"
# Records a city entry narrows by their region. Policies, sites and opportunities must lie in
# the city's tree or above it (a province policy applies to every city): one with no region
# at all is shown at the province level only, as the search index (which files a policy
# under its own region) can find it there and nowhere else. Figures and chain companies with
# no region are the deployment's and show everywhere.
OPTIONAL_REGION = (BatchFigure, ChainLeader)
REQUIRED_REGION = (Policy, Opportunity, Site, FactorCost)
# First path segments that are never a city (the app's own top-level paths).
RESERVED = frozenset({"", "admin", "api", "static", "healthz", "sitemap.xml", "robots.txt",
                      "zh", "en", "ja", "ko", "ru", "display", "favicon.ico"})


def parse_hosts(value: str) -> dict[str, str]:
    """``datong=invest.datong.example,shuozhou=invest.shuozhou.example`` → host → slug."""
    hosts = {}
    for part in (value or "").split(","):
        slug, sep, host = part.partition("=")
        if sep and slug.strip() and host.strip():
            hosts[host.strip().lower()] = slug.strip()
    return hosts


def init_app(app: Flask) -> None:
    """Call after the page cache is installed (this middleware goes in front of it) and
    before any proxy fix (which then goes in front of this, so the host is the visitor's)."""
    if isinstance(app.config.get("CITY_HOSTS", ""), str):
        app.config["CITY_HOSTS"] = parse_hosts(app.config.get("CITY_HOSTS", ""))
    app.wsgi_app = CityEntries(app, app.wsgi_app)
    app.before_request(_check_entry)
    from flask_sqlalchemy.session import Session as FlaskSession

    if not event.contains(FlaskSession, "do_orm_execute", _only_this_city):
        event.listen(FlaskSession, "do_orm_execute", _only_this_city)
        event.listen(FlaskSession, "before_flush", _tickets_to_the_city)


# --- the entry: WSGI ---------------------------------------------------------------------


class CityEntries:
    """Moves ``/<city>`` from PATH_INFO to SCRIPT_NAME and notes the city, when the
    deployment has several cities; a host named in ``CITY_HOSTS`` is its city's entry."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._lock = threading.Lock()
        self._token: str | None = None
        self._cities: frozenset[str] = frozenset()
        self._reserved: frozenset[str] | None = None

    def __call__(self, environ, start_response):
        environ.pop(ENVIRON, None)
        host = (environ.get("HTTP_HOST") or "").split(":")[0].lower()
        by_host = self.app.config.get("CITY_HOSTS") or {}
        path = environ.get("PATH_INFO", "")
        first, _sep, rest = path.lstrip("/").partition("/")
        if host in by_host:
            environ[ENVIRON] = by_host[host]
        elif first not in self.reserved() and first in self.cities():
            environ[ENVIRON] = first
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + "/" + first
            environ["PATH_INFO"] = "/" + rest
        return self.wsgi_app(environ, start_response)

    def reserved(self) -> frozenset[str]:
        """First path segments of the app's own routes: never a city (and no query)."""
        if self._reserved is None:
            self._reserved = RESERVED | {
                rule.rule.lstrip("/").split("/", 1)[0] for rule in self.app.url_map.iter_rules()
                if not rule.rule.startswith("/<")}
        return self._reserved

    def cities(self) -> frozenset[str]:
        """The city slugs when there are several (else none), read again whenever the public
        version changed (regions are public content: any change replaces it)."""
        try:
            with self.app.app_context():
                token = db.session.scalar(db.select(PublicVersion.token)
                                          .where(PublicVersion.id == 1))
                if token is not None and token == self._token:
                    return self._cities
                slugs = frozenset(db.session.scalars(
                    db.select(Region.slug).where(Region.kind == "city")))
        except SQLAlchemyError:  # no database yet (being set up): no city entries
            log.warning("city entries unavailable", exc_info=True)
            return frozenset()
        with self._lock:
            self._token, self._cities = token, slugs if len(slugs) > 1 else frozenset()
        return self._cities


# --- the entry: inside the app -----------------------------------------------------------


def city_slug() -> str | None:
    """The city of this request's entry (path or host), or None: the deployment's own level."""
    return request.environ.get(ENVIRON) if has_request_context() else None


def _check_entry():
    """A host naming a region that is not a city (a setting gone stale) answers 404."""
    if city_slug() is not None and _scope() is None:
        abort(404)


def _tree() -> tuple[dict[int, tuple], dict[int, int | None]]:
    """Every region's id → (slug, kind, parent id), and id → parent id: one light query
    (no outlines) per request."""
    if "province_regions" not in g:
        g.province_regions = {row.id: (row.slug, row.kind, row.parent_id)
                              for row in db.session.execute(
                                  db.select(Region.id, Region.slug, Region.kind,
                                            Region.parent_id)
                                  .execution_options(province_unscoped=True))}
    return g.province_regions, {i: r[2] for i, r in g.province_regions.items()}


def subtree_ids(region_id: int, parents: dict[int, int | None] | None = None) -> set[int]:
    """The region and every region below it (``parents``: id → parent id, default: read)."""
    if parents is None:
        parents = dict(db.session.execute(db.select(Region.id, Region.parent_id)).all())
    ids, frontier = {region_id}, {region_id}
    while frontier:
        frontier = {i for i, p in parents.items() if p in frontier} - ids
        ids |= frontier
    return ids


def _scope() -> dict | None:
    """For a city entry: the city, the ids it sees (its tree and the regions above it) and
    their slugs. None outside a city entry, or for an unknown city."""
    slug = city_slug()
    if slug is None:
        return None
    if "province_scope" not in g:
        regions, parents = _tree()
        city_id = next((i for i, (s, kind, _p) in regions.items()
                        if s == slug and kind == "city"), None)
        scope = None
        if city_id is not None:
            tree = subtree_ids(city_id, parents)
            ids, node = set(tree), parents.get(city_id)
            while node is not None:
                ids.add(node)
                node = parents.get(node)
            scope = {"city_id": city_id, "city_slug": slug, "ids": ids,
                     "slugs": sorted(regions[i][0] for i in ids)}
        g.province_scope = scope
    return g.province_scope


def several_cities() -> bool:
    """Province mode: more than one city region (read once per request)."""
    if has_request_context() and "province_several" in g:
        return g.province_several
    several = (db.session.scalar(db.select(db.func.count(Region.id))
                                 .where(Region.kind == "city")
                                 .execution_options(province_unscoped=True)) or 0) > 1
    if has_request_context():
        g.province_several = several
    return several


def entry_region() -> Region | None:
    """The region the current entry stands for: the city of a city entry; with several
    cities and no city entry, the province above them; else the first city (or region)."""
    if has_request_context() and "province_entry" in g:
        return g.province_entry
    scope = _scope()
    if scope is not None:
        region = db.session.get(Region, scope["city_id"])
    else:
        region = _deployment_region()
    if has_request_context():
        g.province_entry = region
    return region


def _deployment_region() -> Region | None:
    cities = db.session.scalars(db.select(Region).filter_by(kind="city")
                                .order_by(Region.id)).all()
    if len(cities) > 1:
        province = cities[0].parent
        while province is not None and province.kind != "province":
            province = province.parent
        if province is not None:
            return province
    return cities[0] if cities else db.session.scalars(
        db.select(Region).order_by(Region.id)).first()


def scope_slugs() -> list[str] | None:
    """Region slugs a city entry's searches accept; None: no narrowing."""
    scope = _scope() if has_request_context() else None
    return scope["slugs"] if scope else None


def scope_query(query):
    """A search ``Query`` narrowed to the city entry: its ``region`` filter keeps only the
    entry's regions (a region chosen outside them selects nothing). A policy is indexed under
    its own region (the city's tree and the regions above it apply); a site or opportunity
    under its region and every region above it, so the city's slug finds its tree."""
    slugs = scope_slugs()
    if slugs is None:
        return query
    if query.kind != "policy":
        slugs = [_scope()["city_slug"]]
    chosen = query.filters.get("region") or []
    allowed = [s for s in chosen if s in slugs] if chosen else list(slugs)
    query.filters = {**query.filters, "region": allowed or ["-"]}
    return query


def scope_facets(facets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Facet counts without the regions a city entry does not show."""
    slugs = scope_slugs()
    if slugs is None or "region" not in facets:
        return facets
    return {**facets, "region": {k: v for k, v in facets["region"].items() if k in slugs}}


def _public_request() -> bool:
    return has_request_context() and not request.path.startswith("/admin")


def _only_this_city(state) -> None:
    if not state.is_select or not _public_request() or city_slug() is None \
            or state.execution_options.get("province_unscoped"):
        return
    scope = _scope()
    if scope is None:
        return
    ids = sorted(scope["ids"])
    options = [with_loader_criteria(Region, Region.id.in_(ids))]
    options += [with_loader_criteria(model, or_(model.region_id.is_(None),
                                                model.region_id.in_(ids)))
                for model in OPTIONAL_REGION]
    options += [with_loader_criteria(model, model.region_id.in_(ids))
                for model in REQUIRED_REGION]
    state.statement = state.statement.options(*options)


def _tickets_to_the_city(session, _context, _instances) -> None:
    """A demand or complaint sent through a city entry with no region of its own goes to
    that city's bureau."""
    if city_slug() is None:
        return
    for obj in session.new:
        if isinstance(obj, Demand | Complaint) and obj.region is None:
            scope = _scope()
            if scope is not None:
                city = session.get(Region, scope["city_id"])
                obj.region = city
                if obj.first_region is None:
                    obj.first_region = city
