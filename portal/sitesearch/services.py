"""One search box over policies, sites and opportunities."""

from dataclasses import dataclass, field

from flask import current_app

from portal.database import like_pattern
from portal.extensions import db
from portal.glossary.services import expand
from portal.models import Opportunity, Policy, Site
from portal.pagecache import do_not_store
from portal.province import scope_query
from search import Query, SearchUnavailable, engine
from search.glossary import Expansion, Match
from search.text import snippet, terms

SECTIONS = (("policy", Policy, Policy.title), ("site", Site, Site.name),
            ("opportunity", Opportunity, Opportunity.title))
PER_SECTION = 5


@dataclass
class Section:
    kind: str
    items: list
    total: int
    snippets: dict[int, str] = field(default_factory=dict)


def search_everything(text: str) -> tuple[list[Section], bool, list[Match]]:
    """The best few of each kind; ``degraded`` when the database answered instead; which
    words were also searched as which Chinese glossary terms."""
    if not terms(text):
        return [], False, []
    expansion = expand(text)
    try:
        return [_from_engine(kind, model, text, expansion)
                for kind, model, _title in SECTIONS], False, expansion.matches
    except SearchUnavailable as exc:
        current_app.logger.warning("search unavailable, answering from the database: %s", exc)
        do_not_store()  # the notice goes when the engine is back
        return [_from_database(kind, model, title, expansion)
                for kind, model, title in SECTIONS], True, expansion.matches


def _from_engine(kind, model, text, expansion: Expansion) -> Section:
    hits = engine().search(scope_query(Query(kind, text, limit=PER_SECTION,
                                             groups=expansion.groups)))
    rows = {r.id: r for r in db.session.scalars(db.select(model).where(model.id.in_(hits.ids)))}
    return Section(kind, [rows[i] for i in hits.ids if i in rows], hits.total, hits.snippets)


def _from_database(kind, model, title, expansion: Expansion) -> Section:
    stmt = db.select(model)
    for group in expansion.groups:
        stmt = stmt.where(db.or_(*(title.ilike(like_pattern(t), escape="\\") for t in group)))
    total = db.session.scalar(stmt.with_only_columns(db.func.count(model.id)))
    items = db.session.scalars(stmt.order_by(model.id.desc()).limit(PER_SECTION)).all()
    body = "body" if hasattr(model, "body") else "description"
    return Section(kind, items, total or 0,
                   {i.id: snippet(getattr(i, body) or "", expansion.flat) for i in items})
