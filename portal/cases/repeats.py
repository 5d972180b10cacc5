"""Repeated submissions: the same sender sending the same thing again within 30 days.

A repeat is never refused (the investor may have lost the access code, or the first ticket
may have gone quiet); it is linked to the earlier ticket (``repeat_of``) so that staff answer
both together. The same sender is the same credit code (demands), phone or e-mail; the same
thing is text that ``difflib`` finds at least 60 % alike (a demand's message, a complaint's
facts), the same site or opportunity for a demand, or the same respondent for a complaint.
Of several earlier matches the latest is linked; its own link leads further back.
"""

from dataclasses import dataclass
from datetime import timedelta
from difflib import SequenceMatcher

from sqlalchemy import func, or_

from portal.extensions import db
from portal.models import Complaint, Demand, User
from portal.scoping import scoped

from . import confidential

WINDOW = timedelta(days=30)
SIMILARITY = 0.6
CANDIDATES = 50  # earlier submissions from the same sender looked at, latest first
# Long texts are compared on their opening: difflib is quadratic, and two copies of one
# complaint already agree there.
COMPARED_CHARS = 3000


def _text(record) -> str:
    value = record.facts if isinstance(record, Complaint) else record.message
    return " ".join((value or "").split())[:COMPARED_CHARS]


def _name(value: str) -> str:
    return "".join((value or "").split()).casefold()


def similar_text(a: str, b: str) -> bool:
    matcher = SequenceMatcher(None, a, b)
    return (matcher.real_quick_ratio() >= SIMILARITY and matcher.quick_ratio() >= SIMILARITY
            and matcher.ratio() >= SIMILARITY)


def _same_thing(record, earlier) -> bool:
    if isinstance(record, Complaint):
        if _name(record.respondent_name) and \
                _name(record.respondent_name) == _name(earlier.respondent_name):
            return True
    else:
        if record.site_id is not None and record.site_id == earlier.site_id:
            return True
        if record.opportunity_id is not None and record.opportunity_id == earlier.opportunity_id:
            return True
    return similar_text(_text(record), _text(earlier))


def _same_sender(model, record) -> list:
    """SQL conditions, one per identifier the record carries."""
    conditions = []
    if record.contact_phone:
        conditions.append(model.contact_phone == record.contact_phone)
    if record.contact_email:
        conditions.append(func.lower(model.contact_email) == record.contact_email.lower())
    if model is Demand and record.credit_code:
        conditions.append(model.credit_code == record.credit_code)
    return conditions


def earlier_submission(record) -> str:
    """The ticket of the latest earlier submission that ``record`` repeats, or ''."""
    model = type(record)
    sender = _same_sender(model, record)
    if not sender or record.submitted_at is None:
        return ""
    stmt = (db.select(model)
            .where(or_(*sender), model.submitted_at >= record.submitted_at - WINDOW,
                   model.submitted_at <= record.submitted_at)
            .order_by(model.submitted_at.desc(), model.id.desc()).limit(CANDIDATES))
    if record.id is not None:
        stmt = stmt.where(model.id != record.id)
    with db.session.no_autoflush:
        for earlier in db.session.scalars(stmt):
            if _same_thing(record, earlier):
                return earlier.ticket
    return ""


def link(record) -> None:
    """Called at submission, in its transaction, before the record is stored."""
    record.repeat_of = earlier_submission(record)


# --- what staff see ----------------------------------------------------------------------


@dataclass
class Linked:
    ticket: str
    kind: str
    visible: bool  # within the staff member's scope: shown as a link


@dataclass
class Links:
    earlier: Linked | None
    later: list[Linked]

    def __bool__(self) -> bool:
        return self.earlier is not None or bool(self.later)


NO_LINKS = Links(None, [])


def links(user: User, record) -> Links:
    """The earlier ticket ``record`` repeats and the later ones that repeat it, as ``user``
    may see them. Where the complainant's identity is withheld from ``user``, no link is
    shown either way: a link to a ticket with a name on it would name the complainant."""
    if confidential.IDENTITY in confidential.hidden_parts(user, record):
        return NO_LINKS
    model = type(record)
    kind = model.__tablename__

    def visible(other) -> bool:
        return confidential.IDENTITY not in confidential.hidden_parts(user, other)

    earlier = None
    if record.repeat_of:
        other = db.session.scalars(db.select(model).filter_by(ticket=record.repeat_of)).first()
        if other is not None and visible(other):
            in_scope = db.session.scalar(scoped(user, model, db.select(model.id)).where(
                model.id == other.id)) is not None
            earlier = Linked(other.ticket, kind, in_scope)
    later = [Linked(other.ticket, kind, True) for other in db.session.scalars(
        scoped(user, model, db.select(model)).filter_by(repeat_of=record.ticket)
        .order_by(model.submitted_at)) if visible(other)]
    return Links(earlier, later)


def flagged(user: User, record) -> bool:
    """Whether the queue marks ``record`` as a repeat for ``user``: as on the ticket page,
    not where either ticket's complainant is withheld from ``user``."""
    if not record.repeat_of or \
            confidential.IDENTITY in confidential.hidden_parts(user, record):
        return False
    model = type(record)
    earlier = db.session.scalars(db.select(model).filter_by(ticket=record.repeat_of)).first()
    return earlier is not None and \
        confidential.IDENTITY not in confidential.hidden_parts(user, earlier)
