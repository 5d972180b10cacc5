"""Policy queries: search with facets through the engine, a database fallback, details."""

import re
from dataclasses import dataclass, field, fields
from datetime import date

from flask import abort, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.database import like_pattern
from portal.extensions import db
from portal.glossary.services import expand
from portal.labels import LABELS
from portal.models import POLICY_LEVELS, POLICY_STATUSES, Industry, Policy, Region, Topic
from portal.models.policies import policy_topic
from portal.pagecache import do_not_store
from portal.pagination import PER_PAGE, Page
from portal.province import scope_facets, scope_query
from search import Query, SearchUnavailable, engine
from search.base import SORTS
from search.glossary import Expansion, Match
from search.text import MAX_QUERY, snippet

FACETS = ("level", "status", "issuer", "topic", "industry", "region", "year")
MAX_VALUE = 120


@dataclass
class PolicyFilters:
    """What a visitor asked for, read leniently from a query string: a value that cannot
    be right is dropped, never an error page."""

    q: str = ""
    level: str = ""
    status: str = ""
    issuer: str = ""
    topic: str = ""
    industry: str = ""
    region: str = ""
    year: str = ""
    sort: str = "relevance"

    @classmethod
    def from_args(cls, args) -> "PolicyFilters":
        def value(name: str) -> str:
            raw = args.get(name, "")
            return raw.strip()[:MAX_VALUE] if isinstance(raw, str) else ""

        year = value("year")
        sort = value("sort")
        return cls(
            q=" ".join(args.get("q", "").split())[:MAX_QUERY],
            level=value("level") if value("level") in POLICY_LEVELS else "",
            status=value("status") if value("status") in POLICY_STATUSES else "",
            issuer=value("issuer"), topic=value("topic"), industry=value("industry"),
            region=value("region"),
            year=year if re.fullmatch(r"\d{4}", year) else "",
            sort=sort if sort in SORTS else "relevance",
        )

    def engine_filters(self) -> dict[str, list[str]]:
        return {name: [getattr(self, name)] for name in FACETS if getattr(self, name)}

    def as_args(self, **changes) -> dict:
        """Query-string arguments for a link: these filters with ``changes`` applied."""
        values = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        if values.get("sort") == "relevance":
            values.pop("sort")
        return {k: v for k, v in values.items() if v}

    @property
    def shorter(self) -> str:
        """A broader query to suggest when nothing matched: the first of several terms, or
        the first two characters of a longer Chinese term; empty when there is none."""
        words = self.q.split()
        if len(words) > 1:
            return words[0]
        if len(self.q) > 2 and re.match(r"[\u3400-\u9fff]{3}", self.q):
            return self.q[:2]
        return ""

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in FACETS)


@dataclass
class FacetValue:
    value: str
    label: str
    count: int


@dataclass
class PolicyResults:
    page: Page
    snippets: dict[int, str] = field(default_factory=dict)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # field → value → count
    degraded: bool = False
    # Which of the visitor's words were also searched as which Chinese glossary terms.
    expanded: list[Match] = field(default_factory=list)


def search_policies(filters: PolicyFilters, page: int, per_page: int = PER_PAGE
                    ) -> PolicyResults:
    expansion = expand(filters.q)
    query = scope_query(Query("policy", filters.q, filters.engine_filters(), FACETS,
                              filters.sort, offset=(page - 1) * per_page, limit=per_page,
                              groups=expansion.groups))  # a city entry: its regions
    try:
        hits = engine().search(query)
    except SearchUnavailable as exc:
        current_app.logger.warning("search unavailable, answering from the database: %s", exc)
        do_not_store()  # the notice goes when the engine is back
        return _search_database(filters, expansion, page, per_page)
    rows = {p.id: p for p in db.session.scalars(db.select(Policy).where(Policy.id.in_(hits.ids)))}
    items = [rows[i] for i in hits.ids if i in rows]
    return PolicyResults(Page(items, page, per_page, hits.total), hits.snippets,
                         scope_facets(hits.facets), expanded=expansion.matches)


def labelled(counts: dict[str, dict[str, int]]) -> dict[str, list[FacetValue]]:
    """Facet counts with display labels, in a stable order a person can scan."""
    names = {
        "topic": {t.slug: t.tr("name") for t in db.session.scalars(db.select(Topic))},
        "industry": {i.slug: i.tr("name") for i in db.session.scalars(db.select(Industry))},
        "region": {r.slug: r.tr("name") for r in db.session.scalars(db.select(Region))},
        "level": {k: str(v) for k, v in LABELS["policy_level"].items()},
        "status": {k: str(v) for k, v in LABELS["policy_status"].items()},
    }
    out = {}
    for name in FACETS:
        values = counts.get(name, {})
        labels = names.get(name, {})
        entries = [FacetValue(v, labels.get(v, v), n) for v, n in values.items()]
        if name == "year":
            entries.sort(key=lambda e: e.value, reverse=True)
        elif name in ("level", "status"):
            order = list(labels)
            entries.sort(key=lambda e: order.index(e.value) if e.value in order else 99)
        else:
            entries.sort(key=lambda e: (-e.count, e.label))
        out[name] = entries
    return out


# --- database fallback ---------------------------------------------------------------


def _filtered(filters: PolicyFilters, expansion: Expansion):
    stmt = db.select(Policy)
    for name in ("level", "status", "issuer"):
        if getattr(filters, name):
            stmt = stmt.where(getattr(Policy, name) == getattr(filters, name))
    if filters.topic:
        stmt = stmt.where(Policy.topics.any(Topic.slug == filters.topic))
    if filters.industry:
        stmt = stmt.where(Policy.industries.any(Industry.slug == filters.industry))
    if filters.region:
        stmt = stmt.where(Policy.region.has(Region.slug == filters.region))
    if filters.year:
        year = int(filters.year)
        stmt = stmt.where(Policy.published.between(date(year, 1, 1), date(year, 12, 31)))
    for group in expansion.groups:
        stmt = stmt.where(db.or_(*(column.ilike(like_pattern(term), escape="\\")
                                   for term in group for column in (Policy.title, Policy.body))))
    return stmt


def _search_database(filters: PolicyFilters, expansion: Expansion, page: int, per_page: int
                     ) -> PolicyResults:
    """Slower and unranked, but it answers while the engine is down."""
    stmt = _filtered(filters, expansion).order_by(Policy.published.desc(), Policy.id.desc())
    result = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    items = list(result.items)
    query_terms = expansion.flat
    snippets = {p.id: snippet(p.body, query_terms) for p in items} if query_terms else {}
    ids = _filtered(filters, expansion).with_only_columns(Policy.id).subquery()
    counts = {
        name: dict(db.session.execute(
            db.select(column, db.func.count()).where(Policy.id.in_(db.select(ids)))
            .group_by(column)).all())
        for name, column in (("level", Policy.level), ("status", Policy.status),
                             ("issuer", Policy.issuer))
    }
    return PolicyResults(Page(items, page, per_page, result.total or 0), snippets, counts,
                         degraded=True, expanded=expansion.matches)


# --- one policy ----------------------------------------------------------------------


def get_policy(policy_id: int) -> Policy:
    policy = db.session.scalar(db.select(Policy).filter_by(id=policy_id))
    if policy is None:
        abort(404)
    return policy


def related(policy: Policy, limit: int = 5) -> list[Policy]:
    """Other policies sharing a topic, those sharing most topics first."""
    topic_ids = [t.id for t in policy.topics]
    if not topic_ids:
        return []
    shared = (db.select(policy_topic.c.policy_id, db.func.count().label("n"))
              .where(policy_topic.c.topic_id.in_(topic_ids),
                     policy_topic.c.policy_id != policy.id)
              .group_by(policy_topic.c.policy_id).subquery())
    return db.session.scalars(
        db.select(Policy).join(shared, shared.c.policy_id == Policy.id)
        .order_by(shared.c.n.desc(), Policy.published.desc()).limit(limit)).all()


def newest(limit: int = 30) -> list[Policy]:
    return db.session.scalars(
        db.select(Policy).where(Policy.status != "expired")
        .order_by(Policy.published.desc(), Policy.id.desc()).limit(limit)).all()


# --- what a set of filters selects, for feeds and alerts -------------------------------

FILTER_TITLES = {"q": _l("关键词"), "level": _l("层级"), "status": _l("效力"),
                 "issuer": _l("发布机关"), "topic": _l("主题"), "industry": _l("产业"),
                 "region": _l("区域"), "year": _l("年份")}


def matching(filters: PolicyFilters):
    """SQL selecting the policies ``filters`` select, read the way the database fallback
    reads them (glossary expansion included). Alerts match policies with it inside the
    transaction that publishes them, before the search index has seen them."""
    return _filtered(filters, expand(filters.q))


def described(filters: PolicyFilters) -> list[tuple[str, str]]:
    """(what, value) for every filter set, in the current language: a filtered feed's title
    and an alert mail say what they select. An unknown slug is shown as given."""
    models = {"topic": Topic, "industry": Industry, "region": Region}
    out = []
    for name, title in FILTER_TITLES.items():
        value = getattr(filters, name)
        if not value:
            continue
        if name == "q":
            label = _("“%(q)s”", q=value)
        elif name in models:
            row = db.session.scalar(db.select(models[name]).filter_by(slug=value))
            label = row.tr("name") if row is not None else value
        elif name in ("level", "status"):
            label = str(LABELS[f"policy_{name}"].get(value, value))
        else:
            label = value
        out.append((str(title), label))
    return out


def summary(filters: PolicyFilters) -> str:
    """``described`` as one line, or "all policies" when nothing is filtered."""
    parts = described(filters)
    if not parts:
        return _("全部政策")
    return _("；").join(_("%(what)s：%(value)s", what=what, value=value)
                       for what, value in parts)
