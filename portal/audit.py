"""The audit trail: one event for every staff action and every read of personal data.

Events are only ever added (the caller's transaction commits them with the change they
record); nothing in the application updates or deletes one, and on PostgreSQL a trigger
refuses to. Times are stored with their time zone (UTC) and shown in Asia/Shanghai.
"""

from flask import has_request_context, request
from flask_login import current_user

from portal.extensions import db
from portal.models import AuditEvent, utcnow

# Kept at least this long (等保 2.0 asks for six months); nothing in the application purges.
RETENTION_DAYS = 180


def client_address() -> str:
    """The client's address; behind a trusted proxy ProxyFix has already put it here."""
    return (request.remote_addr or "")[:64] if has_request_context() else ""


def record(action: str, entity_type: str = "", entity_id: str = "", detail: dict | None = None,
           *, actor=None, ip: str | None = None) -> AuditEvent:
    """Add one event to the session; it is written when the caller commits."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    event = AuditEvent(actor=actor, action=action[:60], entity_type=entity_type[:40],
                       entity_id=str(entity_id)[:80], detail=detail or {},
                       ip=client_address() if ip is None else ip[:64], at=utcnow())
    db.session.add(event)
    return event


def record_now(action: str, entity_type: str = "", entity_id: str = "",
               detail: dict | None = None, **kw) -> None:
    """Record a read (or a refusal) that changes nothing else, and commit it at once."""
    record(action, entity_type, entity_id, detail, **kw)
    db.session.commit()
