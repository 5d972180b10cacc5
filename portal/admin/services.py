"""The back office's queries: the dashboard, queues, tickets, transfers and exports, each
narrowed by ``portal.scoping.scoped``."""

from flask import abort
from flask_babel import gettext as _

from portal import audit
from portal.extensions import db
from portal.models import (
    Attachment,
    Complaint,
    Demand,
    Department,
    Opportunity,
    Policy,
    Region,
    Site,
    TicketEvent,
    User,
)
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
        "policies": count(Policy),
        "sites": count(Site),
        "opportunities": count(Opportunity, status="open"),
        "area_mismatches": area_mismatches() if user.role in ("admin", "bureau") else [],
    }


# --- tickets --------------------------------------------------------------------------

KINDS = {"demand": Demand, "complaint": Complaint}


def queue(user: User, kind: str, status: str = "", overdue_only: bool = False) -> list:
    from portal.intake.services import overdue

    model = KINDS[kind]
    stmt = scoped(user, model, db.select(model))
    if status:
        stmt = stmt.filter_by(status=status)
    rows = db.session.scalars(stmt.order_by(model.due_at.asc().nulls_last(),
                                            model.submitted_at.desc()).limit(500)).all()
    return [r for r in rows if overdue(r)] if overdue_only else rows


def get_ticket(user: User, ticket: str):
    model = KINDS["demand" if ticket.startswith("D") else "complaint"]
    record = db.session.scalars(
        scoped(user, model, db.select(model).filter_by(ticket=ticket[:32]))).first()
    if record is None:
        abort(404)
    return record


def shows_identity(user: User, record) -> bool:
    """A complainant who asked for it is hidden from the department complained about."""
    return not (isinstance(record, Complaint) and record.withhold_identity
                and user.role == "department")


def transfer(user: User, record, region: Region, reason: str) -> None:
    """流转: another county or zone takes the ticket; the first one stays on record and the
    deadline clock runs on."""
    previous = record.region.tr("name") if record.region else "—"
    record.region = region
    record.assignee = None
    note = _("流转：%(old)s → %(new)s；理由：%(reason)s", old=previous,
             new=region.tr("name"), reason=reason)
    record.events.append(TicketEvent(status=record.status, public=False, actor=user, note=note))
    audit.record("transfer", type(record).__tablename__, record.ticket,
                 {"to": region.slug, "reason": reason}, actor=user)


def assign(user: User, record, assignee: User) -> None:
    record.assignee = assignee
    audit.record("assign", type(record).__tablename__, record.ticket, {"to": assignee.email},
                 actor=user)


def refer(user: User, record: Complaint, department: Department, note: str) -> None:
    """交办: the complaint goes to the department that answers it; its staff see it from now
    on, and the referral stays in the internal timeline."""
    previous = record.department
    record.department = department
    text = _("交办：%(department)s；%(note)s", department=department.tr("name"), note=note) \
        if note else _("交办：%(department)s", department=department.tr("name"))
    record.events.append(TicketEvent(status=record.status, public=False, actor=user, note=text))
    audit.record("refer", "complaint", record.ticket,
                 {"to": department.slug, "from": previous.slug if previous else None,
                  "note": note}, actor=user)


def attachment_for(user: User, key: str) -> tuple[Attachment, str, str]:
    """The attachment with the kind and ticket it belongs to, or 404 outside the scope."""
    attachment = db.session.scalars(db.select(Attachment).filter_by(storage_key=key)).first()
    if attachment is None:
        abort(404)
    model, owner_id = (Demand, attachment.demand_id) if attachment.demand_id else \
        (Complaint, attachment.complaint_id)
    ticket = db.session.scalar(scoped(user, model, db.select(model.ticket)).where(
        model.id == owner_id))
    if ticket is None:  # outside the user's scope: as if it did not exist
        abort(404)
    return attachment, model.__tablename__, ticket


def csv_rows(user: User, kind: str):
    """The queue as rows; the caller writes them through ``portal.exports``, which
    neutralises formulas, and audits the export."""
    from portal.intake.services import overdue

    header = ["ticket", "status", "submitted_at", "due_at", "overdue", "region", "company",
              "contact", "phone", "email"]
    yield header
    for r in queue(user, kind):
        identity = shows_identity(user, r)
        yield [r.ticket, r.status, r.submitted_at.isoformat(),
               r.due_at.isoformat() if r.due_at else "", "yes" if overdue(r) else "",
               r.region.slug if r.region else "", r.company_name,
               r.contact_name if identity else "", r.contact_phone if identity else "",
               r.contact_email if identity else ""]
