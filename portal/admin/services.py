"""The back office's queries: the dashboard, queues, tickets, transfers and exports, each
narrowed by ``portal.scoping.scoped``."""

from dataclasses import asdict, dataclass

from flask import abort
from sqlalchemy import and_, not_, or_
from sqlalchemy.orm import selectinload

from portal import audit
from portal.extensions import db
from portal.models import (
    Attachment,
    Complaint,
    Demand,
    Opportunity,
    Policy,
    Site,
    User,
    utcnow,
)
from portal.pagination import PER_PAGE, Page, paginate
from portal.scoping import scoped


def area_mismatches(limit: int = 50) -> list[Site]:
    """Parcels whose stated area is more than 5 % off the drawn polygon: staff check them."""
    from portal.sites.geometry import AREA_TOLERANCE

    return db.session.scalars(
        db.select(Site).where(Site.drawn_area_mu.is_not(None), Site.drawn_area_mu > 0,
                              db.func.abs(Site.area_mu - Site.drawn_area_mu)
                              > AREA_TOLERANCE * Site.drawn_area_mu)
        .order_by(Site.key).limit(limit)).all()


def dashboard(user: User) -> dict:
    """Figures for what this user may see: ticket counts go through the scoping function;
    public content counts are the same for everyone."""
    def count(model, **filters):
        return db.session.scalar(db.select(db.func.count(model.id)).filter_by(**filters))

    def open_tickets(model):
        stmt = scoped(user, model, db.select(db.func.count(model.id)).select_from(model))
        return db.session.scalar(stmt.where(model.status != "closed"))

    return {
        "demands_open": open_tickets(Demand),
        "complaints_open": open_tickets(Complaint),
        "queues": {kind: queue_figures(user, kind) for kind in KINDS},
        "policies": count(Policy),
        "sites": count(Site),
        "opportunities": count(Opportunity, status="open"),
        "area_mismatches": area_mismatches() if user.role in ("admin", "bureau") else [],
        "performance": _performance(user),
    }


def _performance(user: User) -> dict:
    from portal.cases import stats

    return stats.dashboard(user)


# --- tickets --------------------------------------------------------------------------

KINDS = {"demand": Demand, "complaint": Complaint}


OPEN = "open"  # a status filter: every status but closed
DEADLINE_FILTERS = ("overdue", "due_soon")
# Rows an export, a deadline filter or a deadline count reads at most.
QUEUE_LIMIT = 10_000


@dataclass(frozen=True)
class QueueFilters:
    """What a queue is narrowed to, each value already checked (``portal.admin.queues``)."""

    q: str = ""  # ticket, company, credit code or text
    owner: str = ""  # "me", "none" or a user id
    region: str = ""  # a region's slug: the region and the zones within it
    status: str = ""  # a status, or OPEN
    category: str = ""  # complaints only
    deadline: str = ""  # one of DEADLINE_FILTERS

    def args(self) -> dict[str, str]:
        """The filters in use, as query-string arguments (links, the export, the log)."""
        return {name: value for name, value in asdict(self).items() if value}


def _search(user: User, model, text: str):
    """The rows whose ticket, company, credit code or text contains ``text``. A company or
    credit code does not match where the complainant's identity is hidden from ``user``:
    the hit would name them."""
    from portal.cases.confidential import identity_hidden
    from portal.database import like_pattern
    from portal.intake.tickets import normalise_ticket

    pattern = like_pattern(text)

    def like(column):
        return column.ilike(pattern, escape="\\")

    identity = [like(model.company_name)]
    if model is Demand:
        identity.append(like(model.credit_code))
        texts = [like(model.message)]
    else:
        texts = [like(model.facts), like(model.respondent_name)]
    return or_(model.ticket == normalise_ticket(text), like(model.ticket), *texts,
               and_(or_(*identity), not_(identity_hidden(user, model))))


def _selected(user: User, kind: str, filters: QueueFilters):
    """The scoped select of the queue's rows, every filter but the deadline flags applied
    in SQL (those narrow it to tickets whose clock runs; ``state`` decides the rest)."""
    from portal.cases import deadlines

    model = KINDS[kind]
    stmt = scoped(user, model, db.select(model))
    if filters.q:
        stmt = stmt.where(_search(user, model, filters.q))
    if filters.owner == "me":
        stmt = stmt.where(model.assignee_id == user.id)
    elif filters.owner == "none":
        stmt = stmt.where(model.assignee_id.is_(None))
    elif filters.owner.isdigit():
        stmt = stmt.where(model.assignee_id == int(filters.owner))
    if filters.region:
        from portal.sites.services import region_ids

        stmt = stmt.where(model.region_id.in_(region_ids(filters.region) or [-1]))
    if filters.status == OPEN:
        stmt = stmt.where(model.status != "closed")
    elif filters.status:
        stmt = stmt.where(model.status == filters.status)
    if filters.category and model is Complaint:
        stmt = stmt.where(model.category == filters.category)
    if filters.deadline:
        stmt = stmt.where(model.status.in_(sorted(deadlines.running_statuses(model))),
                          model.paused_since.is_(None))
    return stmt.options(selectinload(model.region), selectinload(model.assignee)).order_by(
        deadlines.due_column(model).asc().nulls_last(), model.submitted_at.desc(),
        model.id.desc())


def queue(user: User, kind: str, filters: QueueFilters | None = None, page: int = 1,
          per_page: int = PER_PAGE) -> Page:
    """One page of the queue. Without a deadline filter the database pages it; with one,
    ``portal.cases.deadlines.state`` judges every ticket whose clock runs (the same
    function the ticket page, the counts and the export use)."""
    filters = filters or QueueFilters()
    stmt = _selected(user, kind, filters)
    if not filters.deadline:
        return paginate(stmt, page, per_page)
    rows = _deadline_rows(stmt, filters.deadline)
    start = (page - 1) * per_page
    return Page(rows[start:start + per_page], page, per_page, len(rows))


def queue_rows(user: User, kind: str, filters: QueueFilters | None = None) -> list:
    """Every row of the queue (at most QUEUE_LIMIT), in queue order: for the export."""
    filters = filters or QueueFilters()
    stmt = _selected(user, kind, filters)
    if filters.deadline:
        return _deadline_rows(stmt, filters.deadline)
    return list(db.session.scalars(stmt.limit(QUEUE_LIMIT)))


def _deadline_rows(stmt, flag: str) -> list:
    from portal.cases import deadlines

    now = utcnow()
    judged = [(r, deadlines.state(r, now)) for r in db.session.scalars(stmt.limit(QUEUE_LIMIT))]
    hits = [(r, s) for r, s in judged if deadlines.matches(s, flag)]
    hits.sort(key=lambda pair: (pair[1].due_at is None, pair[1].due_at or now))
    return [r for r, _state in hits]


def queue_figures(user: User, kind: str) -> dict:
    """The dashboard's tiles for one kind: open, overdue, due soon, mine, unassigned, each
    with the queue filters its link opens (the same filters give the same count)."""
    def count(filters: QueueFilters) -> int:
        if filters.deadline:
            return len(_deadline_rows(_selected(user, kind, filters), filters.deadline))
        stmt = _selected(user, kind, filters).order_by(None).options()
        return db.session.scalar(db.select(db.func.count()).select_from(stmt.subquery()))

    tiles = {
        "open": QueueFilters(status=OPEN),
        "overdue": QueueFilters(deadline="overdue"),
        "due_soon": QueueFilters(deadline="due_soon"),
        "unassigned": QueueFilters(owner="none", status=OPEN),
    }
    if user.role in ("bureau", "region"):  # the roles that own tickets
        tiles["mine"] = QueueFilters(owner="me", status=OPEN)
    return {name: {"count": count(filters), "args": filters.args()}
            for name, filters in tiles.items()}


def get_ticket(user: User, ticket: str, kind: str | None = None):
    """The ticket within the user's scope, or 404; with ``kind`` (from a URL), a ticket of
    another kind is as unknown as a missing one."""
    if kind is not None and kind not in KINDS:
        abort(404)
    model = KINDS[kind or ("demand" if ticket.startswith("D") else "complaint")]
    record = db.session.scalars(
        scoped(user, model, db.select(model).filter_by(ticket=ticket[:32]))).first()
    if record is None:
        abort(404)
    return record


def shows_identity(user: User, record) -> bool:
    """A complainant who asked for it is hidden from the body complained about."""
    from portal.cases.confidential import IDENTITY, hidden_parts

    return IDENTITY not in hidden_parts(user, record)


def assign(user: User, record, assignee: User) -> None:
    record.assignee = assignee
    audit.record("assign", type(record).__tablename__, record.ticket, {"to": assignee.email},
                 actor=user)


def attachment_for(user: User, key: str) -> tuple[Attachment, str, str]:
    """The attachment with the kind and ticket it belongs to, or 404 outside the scope and
    for a complainant's file hidden from the body complained about."""
    from portal.cases.confidential import ATTACHMENTS, hidden_parts

    attachment = db.session.scalars(db.select(Attachment).filter_by(storage_key=key)).first()
    if attachment is None:
        abort(404)
    model, owner_id = (Demand, attachment.demand_id) if attachment.demand_id else \
        (Complaint, attachment.complaint_id)
    record = db.session.scalar(scoped(user, model, db.select(model)).where(
        model.id == owner_id))
    if record is None:  # outside the user's scope: as if it did not exist
        abort(404)
    if attachment.event_id is None and ATTACHMENTS in hidden_parts(user, record):
        abort(404)
    return attachment, model.__tablename__, record.ticket


def csv_rows(user: User, kind: str, filters: QueueFilters | None = None):
    """The queue, with the same filters, as rows; the caller writes them through
    ``portal.exports``, which neutralises formulas, and audits the export. The deadline
    columns come from ``portal.cases.deadlines.state``, as on every page."""
    from portal.cases import deadlines
    from portal.cases.owners import display_name

    header = ["ticket", "status", "submitted_at", "due_at", "overdue", "region", "company",
              "contact", "phone", "email", "rating", "deadline", "due_soon", "owner"]
    demands = kind == "demand"
    # What a demand is about (the site or opportunity it came from), by name.
    yield header + (["site", "opportunity"] if demands else [])
    now = utcnow()
    rows = queue_rows(user, kind, filters)
    if demands:
        _load_subjects(rows)
    for r in rows:
        identity = shows_identity(user, r)
        state = deadlines.state(r, now)
        yield [r.ticket, r.status, r.submitted_at.isoformat(),
               state.due_at.isoformat() if state.due_at else "", "yes" if state.overdue else "",
               r.region.slug if r.region else "", r.company_name if identity else "",
               r.contact_name if identity else "", r.contact_phone if identity else "",
               r.contact_email if identity else "", r.rating or "", state.kind or "",
               "yes" if state.due_soon else "", display_name(r.assignee)] + (
            [r.site.name if r.site else "", r.opportunity.title if r.opportunity else ""]
            if demands else [])


def _load_subjects(rows) -> None:
    """One query per kind for the rows' sites and opportunities: the rows then find them in
    the session, not with a query each."""
    from portal.models import Opportunity, Site

    for model, column in ((Site, "site_id"), (Opportunity, "opportunity_id")):
        ids = {getattr(r, column) for r in rows} - {None}
        if ids:
            db.session.scalars(db.select(model).where(model.id.in_(ids))).all()
