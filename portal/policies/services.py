"""Policy queries: filtered lists, full-text search with a database fallback, facets."""

from dataclasses import dataclass, field

from flask import abort, current_app

from portal.extensions import db
from portal.models import POLICY_LEVELS, POLICY_STATUSES, Industry, Policy, Region, Topic
from portal.pagination import PER_PAGE, Page
from search import SearchUnavailable, engine

MAX_QUERY = 200


@dataclass
class PolicyFilters:
    q: str = ""
    level: str = ""
    topic: str = ""
    industry: str = ""
    region: str = ""
    status: str = ""

    @classmethod
    def from_args(cls, args) -> "PolicyFilters":
        """Read filters from a query string; unknown values are dropped rather than failing."""
        level = args.get("level", "")
        status = args.get("status", "")
        return cls(
            q=" ".join(args.get("q", "").split())[:MAX_QUERY],
            level=level if level in POLICY_LEVELS else "",
            topic=args.get("topic", "")[:80],
            industry=args.get("industry", "")[:80],
            region=args.get("region", "")[:80],
            status=status if status in POLICY_STATUSES else "",
        )

    def as_args(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass
class PolicyResults:
    page: Page
    snippets: dict[int, str] = field(default_factory=dict)
    degraded: bool = False


def _filtered(filters: PolicyFilters):
    stmt = db.select(Policy)
    if filters.level:
        stmt = stmt.filter_by(level=filters.level)
    if filters.status:
        stmt = stmt.filter_by(status=filters.status)
    if filters.topic:
        stmt = stmt.where(Policy.topics.any(Topic.slug == filters.topic))
    if filters.industry:
        stmt = stmt.where(Policy.industries.any(Industry.slug == filters.industry))
    if filters.region:
        stmt = stmt.join(Region, Policy.region_id == Region.id).where(
            Region.slug == filters.region)
    return stmt


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_policies(filters: PolicyFilters, page: int) -> PolicyResults:
    stmt = _filtered(filters)
    if not filters.q:
        stmt = stmt.order_by(Policy.published.desc(), Policy.id.desc())
        result = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
        return PolicyResults(Page(list(result.items), page, PER_PAGE, result.total or 0))
    try:
        # Rank every match in the engine, then keep those the filters allow, in rank order.
        hits = engine().search("policy", filters.q, limit=10_000)
    except SearchUnavailable as exc:
        current_app.logger.warning("search unavailable, using the database: %s", exc)
        return _search_database(stmt, filters.q, page)
    allowed = set(db.session.scalars(
        stmt.with_only_columns(Policy.id).where(Policy.id.in_(hits.ids))))
    ranked = [i for i in hits.ids if i in allowed]
    chosen = ranked[(page - 1) * PER_PAGE: page * PER_PAGE]
    rows = {p.id: p for p in db.session.scalars(db.select(Policy).where(Policy.id.in_(chosen)))}
    items = [rows[i] for i in chosen if i in rows]
    return PolicyResults(Page(items, page, PER_PAGE, len(ranked)),
                         {i: hits.snippets.get(i, "") for i in chosen})


def _search_database(stmt, q: str, page: int) -> PolicyResults:
    for term in q.split():
        pattern = _like(term)
        stmt = stmt.where(db.or_(Policy.title.like(pattern, escape="\\"),
                                 Policy.body.like(pattern, escape="\\")))
    stmt = stmt.order_by(Policy.published.desc(), Policy.id.desc())
    result = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    return PolicyResults(Page(list(result.items), page, PER_PAGE, result.total or 0),
                         degraded=True)


def facet_options() -> dict:
    """The choices each filter offers, with how many policies each holds."""
    def counts(column):
        rows = db.session.execute(db.select(column, db.func.count()).group_by(column))
        return dict(rows.all())

    topics = db.session.execute(
        db.select(Topic, db.func.count(Policy.id)).join(Topic, Policy.topics)
        .group_by(Topic.id).order_by(Topic.slug)).all()
    industries = db.session.execute(
        db.select(Industry, db.func.count(Policy.id)).join(Industry, Policy.industries)
        .group_by(Industry.id).order_by(Industry.sort_order)).all()
    return {
        "level": counts(Policy.level),
        "status": counts(Policy.status),
        "topics": topics,
        "industries": industries,
    }


def get_policy(policy_id: int) -> Policy:
    policy = db.session.get(Policy, policy_id)
    if policy is None:
        abort(404)
    return policy


def related(policy: Policy, limit: int = 5) -> list[Policy]:
    topic_ids = [t.id for t in policy.topics]
    if not topic_ids:
        return []
    return db.session.scalars(
        db.select(Policy).where(Policy.id != policy.id,
                                Policy.topics.any(Topic.id.in_(topic_ids)))
        .order_by(Policy.published.desc()).limit(limit)).all()


def newest(limit: int = 30) -> list[Policy]:
    return db.session.scalars(
        db.select(Policy).where(Policy.status != "expired")
        .order_by(Policy.published.desc(), Policy.id.desc()).limit(limit)).all()
