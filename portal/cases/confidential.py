"""What the staff of the body a complaint is about may not see.

A complainant may mark trade secrets (``trade_secret_note``) and ask that their identity be
withheld (``withhold_identity``); the files they sent may hold either. None of it reaches the
staff of the region or department complained about, whichever unit holds the ticket and
whatever page, export or download would show it. ``hidden_parts`` decides for one record;
``identity_hidden`` says the same in SQL, for searches that must not match a hidden name.

Who is complained about:
- a ``region`` user whose region is the complaint's respondent region, or a development zone
  inside it (a zone's committee answers to the county or city it sits in). The staff of a
  county under a city that is complained about are another government and are not covered;
  the staff of the county above a zone that is complained about are not covered either.
- a ``department`` user whose department is the complaint's department (交办 sends a
  complaint to the department it concerns).
Admins and the city bureau, who arbitrate complaints, see everything. Demands have no
respondent: nothing in them is hidden.
"""

from sqlalchemy import and_, false

from portal.models import Complaint, Demand, User

IDENTITY = "identity"  # company name, contact name, phone and e-mail
TRADE_SECRET = "trade_secret"  # noqa: S105  (a part name: trade_secret_note)
ATTACHMENTS = "attachments"  # the files the complainant sent (not staff reply files)
NOTHING: frozenset[str] = frozenset()


def _covered_regions(user: User) -> set[int]:
    """Ids of the respondent regions for which ``user`` counts as the body complained
    about: the user's own region and, for a zone, the regions above it."""
    region = user.region if user.role == "region" else None
    if region is None:
        return set()
    ids = {region.id}
    if region.kind == "zone":
        ids |= {r.id for r in region.ancestors()}
    return ids


def complained_about(user: User, record) -> bool:
    """``user`` works for the region or department that ``record`` (a complaint) is about."""
    if not isinstance(record, Complaint) or user is None or not user.is_authenticated:
        return False
    if user.role == "department":
        return user.department_id is not None and user.department_id == record.department_id
    return record.respondent_region_id is not None and \
        record.respondent_region_id in _covered_regions(user)


def hidden_parts(user: User, record) -> frozenset[str]:
    """The parts of ``record`` that ``user`` may not see: a subset of IDENTITY, TRADE_SECRET
    and ATTACHMENTS. Every staff page, export and download asks this before showing them."""
    if not complained_about(user, record):
        return NOTHING
    parts = {TRADE_SECRET, ATTACHMENTS}
    if record.withhold_identity:
        parts.add(IDENTITY)
    return frozenset(parts)


def shown_attachments(user: User, record) -> list:
    """The submitter's files that ``user`` may see (files staff attached to replies are
    the staff's own and are listed with their replies)."""
    if ATTACHMENTS in hidden_parts(user, record):
        return []
    return [a for a in record.attachments if a.event_id is None]


def identity_hidden(user: User, model):
    """SQL: true for the rows of ``model`` whose identity ``user`` may not see. A search by
    company, credit code, phone or e-mail excludes these rows, or its hits would name the
    complainant."""
    if model is Demand or user is None or not user.is_authenticated:
        return false()
    if user.role == "department":
        if user.department_id is None:
            return false()
        about = model.department_id == user.department_id
    else:
        regions = _covered_regions(user)
        if not regions:
            return false()
        about = model.respondent_region_id.in_(regions)
    return and_(model.withhold_identity.is_(True), about)


def secrets_hidden(user: User, model):
    """SQL: true for the rows of ``model`` whose trade secrets and files ``user`` may not
    see (a text search over ``trade_secret_note`` excludes them)."""
    if model is Demand or user is None or not user.is_authenticated:
        return false()
    if user.role == "department":
        return false() if user.department_id is None else \
            model.department_id == user.department_id
    regions = _covered_regions(user)
    return model.respondent_region_id.in_(regions) if regions else false()

