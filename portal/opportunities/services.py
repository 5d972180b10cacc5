"""Opportunity lists."""

from flask import abort

from portal.extensions import db
from portal.models import OPPORTUNITY_KINDS, Opportunity
from portal.pagination import Page, paginate


def list_opportunities(kind: str, page: int) -> Page:
    stmt = db.select(Opportunity)
    if kind in OPPORTUNITY_KINDS:
        stmt = stmt.filter_by(kind=kind)
    stmt = stmt.order_by(Opportunity.status.desc(), Opportunity.published.desc(),
                         Opportunity.id.desc())
    return paginate(stmt, page)


def kind_counts() -> dict[str, int]:
    rows = db.session.execute(
        db.select(Opportunity.kind, db.func.count()).group_by(Opportunity.kind))
    return dict(rows.all())


def get_opportunity(item_id: int) -> Opportunity:
    item = db.session.scalar(db.select(Opportunity).filter_by(id=item_id))
    if item is None:
        abort(404)
    return item
