"""Staff sign-in and the dashboard's figures."""

from flask import abort
from flask_babel import gettext as _

from portal.extensions import db
from portal.models import (
    Attachment,
    AuditEvent,
    Complaint,
    Demand,
    Opportunity,
    Policy,
    Region,
    Site,
    TicketEvent,
    User,
    utcnow,
)


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalars(db.select(User).filter_by(email=email.strip().lower())).first()
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def record_login(user: User, ip: str) -> None:
    user.last_login_at = utcnow()
    db.session.add(AuditEvent(actor=user, action="login", entity_type="user",
                              entity_id=str(user.id), ip=ip or ""))
    db.session.commit()


def area_mismatches(limit: int = 50) -> list[Site]:
    """Parcels whose stated area is more than 5 % off the drawn polygon: staff check them."""
    from portal.sites.geometry import AREA_TOLERANCE

    return db.session.scalars(
        db.select(Site).where(Site.drawn_area_mu.is_not(None), Site.drawn_area_mu > 0,
                              db.func.abs(Site.area_mu - Site.drawn_area_mu)
                              > AREA_TOLERANCE * Site.drawn_area_mu)
        .order_by(Site.key).limit(limit)).all()


def dashboard() -> dict:
    def count(model, **filters):
        return db.session.scalar(db.select(db.func.count(model.id)).filter_by(**filters))

    return {
        "demands_open": db.session.scalar(
            db.select(db.func.count(Demand.id)).where(Demand.status != "closed")),
        "complaints_open": db.session.scalar(
            db.select(db.func.count(Complaint.id)).where(Complaint.status != "closed")),
        "policies": count(Policy),
        "sites": count(Site),
        "opportunities": count(Opportunity, status="open"),
        "area_mismatches": area_mismatches(),
    }


# --- tickets --------------------------------------------------------------------------

KINDS = {"demand": Demand, "complaint": Complaint}


def _visible(user: User, model, stmt):
    """What a role may see: the bureau and admins everything; county and zone staff their
    region and the zones within; department staff the complaints assigned to them."""
    if user.role in ("admin", "bureau"):
        return stmt
    if user.role == "region" and user.region is not None:
        from portal.sites.services import region_ids

        return stmt.where(model.region_id.in_(region_ids(user.region.slug)))
    return stmt.where(model.assignee_id == user.id)


def queue(user: User, kind: str, status: str = "", overdue_only: bool = False) -> list:
    from portal.intake.services import overdue

    model = KINDS[kind]
    stmt = _visible(user, model, db.select(model))
    if status:
        stmt = stmt.filter_by(status=status)
    rows = db.session.scalars(stmt.order_by(model.due_at.asc().nulls_last(),
                                            model.submitted_at.desc()).limit(500)).all()
    return [r for r in rows if overdue(r)] if overdue_only else rows


def get_ticket(user: User, ticket: str):
    model = KINDS["demand" if ticket.startswith("D") else "complaint"]
    record = db.session.scalars(
        _visible(user, model, db.select(model).filter_by(ticket=ticket))).first()
    if record is None:
        abort(404)
    return record


def shows_identity(user: User, record) -> bool:
    """A complainant who asked for it is hidden from the department complained about."""
    return not (isinstance(record, Complaint) and record.withhold_identity
                and user.role == "department")


def transfer(user: User, record, region: Region, reason: str, ip: str = "") -> None:
    """流转: another county or zone takes the ticket; the first one stays on record and the
    deadline clock runs on."""
    previous = record.region.tr("name") if record.region else "—"
    record.region = region
    record.assignee = None
    note = _("流转：%(old)s → %(new)s；理由：%(reason)s", old=previous,
             new=region.tr("name"), reason=reason)
    record.events.append(TicketEvent(status=record.status, public=False, actor=user, note=note))
    db.session.add(AuditEvent(actor=user, action="transfer", entity_type=type(record).__tablename__,
                              entity_id=record.ticket, ip=ip,
                              detail={"to": region.slug, "reason": reason}))


def assign(user: User, record, assignee: User, ip: str = "") -> None:
    record.assignee = assignee
    db.session.add(AuditEvent(actor=user, action="assign", entity_type=type(record).__tablename__,
                              entity_id=record.ticket, ip=ip, detail={"to": assignee.email}))


def attachment_for(user: User, key: str) -> Attachment:
    attachment = db.session.scalars(db.select(Attachment).filter_by(storage_key=key)).first()
    if attachment is None:
        abort(404)
    owner = attachment.demand_id and db.session.get(Demand, attachment.demand_id) or \
        db.session.get(Complaint, attachment.complaint_id)
    get_ticket(user, owner.ticket)  # 404 unless the user may see the ticket
    return attachment


def csv_rows(user: User, kind: str):
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
