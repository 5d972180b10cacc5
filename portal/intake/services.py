"""Taking in demands and complaints: one transaction holds the record, its files, its first
timeline event, its confirmation mail and its staff alert, and only then is the ticket shown.
"""

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from portal.cases import repeats, routing
from portal.extensions import db
from portal.models import AuditEvent, Complaint, Demand, Region, TicketEvent, User, utcnow

from . import attachments, deadlines, tickets

SHANGHAI = ZoneInfo("Asia/Shanghai")
MODELS = {"demand": Demand, "complaint": Complaint}


@dataclass
class Receipt:
    kind: str
    ticket: str
    status: str
    access_code: str | None  # None when a repeated submission returns the first one's ticket
    replayed: bool = False


def end_of_day(day) -> datetime:
    """23:59:59 in Shanghai of a calendar day, in UTC (SQLite keeps no time zone)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used for a different request (another body, or
    another client); nothing was stored and the first ticket is not revealed."""


def fingerprint(kind: str, client: str, values: dict,
                files: list[attachments.Checked]) -> str:
    """SHA-256 of what makes two requests the same one: the kind, the client's address, the
    validated values in a canonical form (records by id, keys sorted) and each file's name
    and hash, in order."""
    canonical = json.dumps(
        {"kind": kind, "client": client, "values": values,
         "files": [[f.filename, f.sha256] for f in files]},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_canonical)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _canonical(value):
    if isinstance(value, db.Model):
        return f"{type(value).__tablename__}:{value.id}"
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def _existing(kind: str, key: str | None, fingerprint: str) -> Receipt | None:
    """The first answer for this key when the request is the same one; IdempotencyConflict
    when the key was used by a different request (a record from before fingerprints, whose
    request cannot be compared, counts as different)."""
    if not key:
        return None
    record = db.session.scalars(
        db.select(MODELS[kind]).filter_by(idempotency_key=key)).first()
    if record is None:
        return None
    if not hmac.compare_digest(record.idempotency_fingerprint or "", fingerprint):
        db.session.rollback()
        raise IdempotencyConflict(key)
    return Receipt(kind, record.ticket, record.status,
                   tickets.unseal(record.access_code_sealed), replayed=True)


Mail = tuple[str, str, str]  # to, subject, body


def _save(kind: str, record, files: list[attachments.Checked], key: str | None,
          fingerprint: str, notify: Callable[[str, str], list[Mail]]) -> Receipt:
    """Insert the record under a fresh random ticket (drawing again on the rare collision),
    then its files, first timeline event, audit event and mail, and commit them together.

    Two requests with one key can both find it unused; the unique key lets only one insert,
    and the other, refused, answers as if it had come second (a replay or a conflict)."""
    from portal.mail import queue_mail

    code = tickets.new_access_code()
    record.access_code_hash = tickets.hash_code(code)
    record.idempotency_key = key or None
    record.idempotency_fingerprint = fingerprint if key else ""
    record.access_code_sealed = tickets.seal(code) if key else ""
    for attempt in range(3):
        record.ticket = tickets.new_ticket(kind)
        db.session.add(record)
        try:
            db.session.flush()
            break
        except IntegrityError:
            db.session.rollback()
            replay = _existing(kind, key, fingerprint)
            if replay is not None:  # the same submission, committed by another request
                return replay
            if attempt == 2:
                raise
    record.events.append(TicketEvent(status=record.status, note=_("已收到您的提交。"),
                                     public=True))
    for checked in files:
        attachments.store(checked, **{kind: record})
    db.session.add(AuditEvent(action="submitted", entity_type=kind, entity_id=record.ticket,
                              detail={"language": record.language, "files": len(files)}))
    for to, subject, body in notify(record.ticket, code):
        queue_mail(to, subject, body)
    receipt = Receipt(kind, record.ticket, record.status, code)  # read before commit expires
    db.session.commit()  # acknowledged only after this
    return receipt


def _staff_alerts(region: Region | None, kind: str, ticket: str, subject: Callable[[], str],
                  body: Callable[[], str], department=None) -> list[Mail]:
    """Mail for the staff who answer for the region (or the bureau when none is set), each in
    the staff member's language (``subject`` and ``body`` are called under it) with a link to
    the ticket."""
    from portal.cases.notices import staff_alerts

    stmt = db.select(User).where(User.active.is_(True))
    audience = db.or_(User.region_id == region.id, User.role == "bureau") \
        if region is not None else User.role.in_(("bureau", "admin"))
    if department is not None:  # the department the complaint was routed to
        audience = db.or_(audience, db.and_(User.role == "department",
                                            User.department_id == department.id))
    stmt = stmt.where(audience)
    return staff_alerts(db.session.scalars(stmt), kind, ticket, subject, body)


def submit_demand(values: dict, files: list, *, key: str | None, language: str,
                  client: str = "") -> Receipt:
    """Raises IdempotencyConflict when ``key`` was used by a different request."""
    signed = fingerprint("demand", client, values, files)
    replay = _existing("demand", key, signed)
    if replay is not None:
        return replay
    now = utcnow()
    regions = values.pop("preferred_regions", [])
    record = Demand(status="submitted", language=language, consent_at=now, submitted_at=now,
                    materials_complete_at=now, preferred_regions=regions, **values)
    routing.route_demand(record)  # the site's or opportunity's region; 首谈首报
    first = record.region
    today = deadlines.local_date(now)
    record.due_at = end_of_day(deadlines.add_working_days(today,
                                                          deadlines.deadline_days("demand")))
    def notify(ticket: str, code: str) -> list[Mail]:
        mails = _staff_alerts(
            first, "demand", ticket, lambda: _("新的投资需求：%(ticket)s", ticket=ticket),
            lambda: _("%(company)s 提交了投资需求 %(ticket)s，请在 1 个工作日内确认。",
                      company=record.company_name, ticket=ticket))
        if record.contact_email:
            mails.append((record.contact_email, _("投资需求已收到：%(ticket)s", ticket=ticket),
                          _("您好，%(name)s：\n\n我们已收到您的投资需求，编号 %(ticket)s，"
                            "访问码 %(code)s。\n请妥善保存访问码，凭编号和访问码可查询办理进度。\n",
                            name=record.contact_name, ticket=ticket, code=code)))
        return mails

    repeats.link(record)
    return _save("demand", record, files, key, signed, notify)


def submit_complaint(values: dict, files: list, *, key: str | None, language: str,
                     client: str = "") -> Receipt:
    """Raises IdempotencyConflict when ``key`` was used by a different request."""
    signed = fingerprint("complaint", client, values, files)
    replay = _existing("complaint", key, signed)
    if replay is not None:
        return replay
    now = utcnow()
    record = Complaint(status="submitted", language=language, consent_at=now,
                       submitted_at=now, materials_complete_at=now, **values)
    routing.route_complaint(record)  # the routing table: region and department; 首接
    today = deadlines.local_date(now)
    record.accept_due_at = end_of_day(deadlines.add_working_days(
        today, deadlines.deadline_days("complaint_accept")))
    record.due_at = end_of_day(deadlines.add_working_days(
        today, deadlines.deadline_days("complaint_conclude")))
    def notify(ticket: str, code: str) -> list[Mail]:
        from portal.labels import LABELS

        mails = _staff_alerts(
            record.region, "complaint", ticket, lambda: _("新的投诉：%(ticket)s", ticket=ticket),
            lambda: _("收到一件“%(category)s”类投诉 %(ticket)s，请在受理期限内处理。",
                      category=str(LABELS["complaint_category"][record.category]),
                      ticket=ticket), department=record.department)
        if record.contact_email:
            mails.append((record.contact_email, _("投诉已收到：%(ticket)s", ticket=ticket),
                          _("您好，%(name)s：\n\n我们已收到您的投诉，编号 %(ticket)s，"
                            "访问码 %(code)s。\n我们将在 %(days)d 个工作日内决定是否受理，"
                            "并在本平台告知。\n",
                            name=record.contact_name, ticket=ticket, code=code,
                            days=deadlines.deadline_days("complaint_accept"))))
        return mails

    repeats.link(record)
    return _save("complaint", record, files, key, signed, notify)


def after_submission() -> None:
    """Send what the submission queued; a mail server that is down only delays the mail."""
    from portal.mail import drain_mail_quietly

    drain_mail_quietly()


# --- tracking ---------------------------------------------------------------------------


def find(ticket: str, code: str) -> Demand | Complaint | None:
    """The ticket when the code matches; None for a wrong code or an unknown ticket alike."""
    number = tickets.normalise_ticket(ticket)
    model = {"D": Demand, "C": Complaint}.get(number[:1])
    record = db.session.scalars(db.select(model).filter_by(ticket=number)).first() \
        if model else None
    if not tickets.code_matches(code, record.access_code_hash if record else None):
        return None
    return record


def public_events(record) -> list[TicketEvent]:
    return [e for e in record.events if e.public]


def rate(record, rating: int, comment: str) -> None:
    if record.status != "closed":
        raise ValueError(_("办结后才能评价"))
    if record.rating is not None:
        raise ValueError(_("您已评价过，感谢您的反馈"))
    record.rating, record.rating_comment, record.rated_at = rating, comment, utcnow()
    db.session.add(AuditEvent(action="rated", entity_type=type(record).__tablename__,
                              entity_id=record.ticket, detail={"rating": rating}))
    db.session.commit()


def provisional_deadline(record) -> bool:
    """Thin wrapper: ``portal.cases.deadlines.state(record).provisional``."""
    from portal.cases.deadlines import state

    return state(record).provisional


def overdue(record) -> bool:
    """Thin wrapper: ``portal.cases.deadlines.state(record).overdue``."""
    from portal.cases.deadlines import state

    return state(record).overdue
