"""Publishing that happens by the clock, without anyone acting.

- A record published for a later time goes live when the time passes (its ``publish_at`` is
  cleared and the search index takes it in).
- A policy past its validity (``effective_to``) becomes 已失效 (expired).
- An opportunity past its deadline closes (已结束) and stays closed: it is not reopened by a
  later load or tick. It leaves the default opportunity list (which also hides an item past
  its deadline before the tick has run) and stays readable at its URL and under 往期
  (status=closed); staff archive it only when it should leave the public site.
- A draft for comment past its ``comment_until`` says so on its page (computed when shown:
  nothing to store).

``apply_due`` runs after requests at most every ``CONTENT_TICK`` seconds per process (as the
search outbox catch-up does) and from ``flask content tick``; each change is a version by
nobody (the clock) and an audit event, and reaches search through the outbox.
"""

import time
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from portal.alerts import services as alerts
from portal.audit import record as audit
from portal.extensions import db
from portal.models import Opportunity, Policy, Site

from . import versions
from .workflow import KINDS, now

CHINA = timezone(timedelta(hours=8))
TICK_EVERY = 60.0


def apply_due(at: datetime | None = None) -> dict[str, int]:
    """Apply every change whose time has come; returns counts. The caller's session is
    committed."""
    at = at or now()
    today = at.astimezone(CHINA).date()
    counts = {"went_live": 0, "expired": 0, "closed": 0}
    for model in (Policy, Site, Opportunity):
        due = db.session.scalars(db.select(model).where(
            model.publication == "published", model.publish_at.is_not(None),
            model.publish_at <= at)).all()
        for row in due:
            row.publish_at = None
            versions.record(KINDS[model], row, "publish", note="scheduled")
            audit("content_went_live", KINDS[model], row.id, ip="")
            counts["went_live"] += 1
    for policy in db.session.scalars(db.select(Policy).where(
            Policy.status == "in_force", Policy.effective_to.is_not(None),
            Policy.effective_to < today)):
        policy.status = "expired"
        versions.record("policy", policy, "expire")
        audit("content_expire", "policy", policy.id, ip="")
        counts["expired"] += 1
    for item in db.session.scalars(db.select(Opportunity).where(
            Opportunity.deadline.is_not(None), Opportunity.deadline < today,
            Opportunity.status == "open")):
        item.status = "closed"
        versions.record("opportunity", item, "close")
        audit("content_close", "opportunity", item.id, ip="")
        counts["closed"] += 1
    alerts.run()  # alert mails for policies a load left unannounced; old unconfirmed ones
    db.session.commit()
    return counts


def due(app) -> bool:
    """Whether this process's next tick has come (the page cache then lets the request
    through to the app, so the tick runs)."""
    every = app.config.get("CONTENT_TICK", TICK_EVERY)
    state = app.extensions.get("content_tick")
    return bool(every) and (state is None or time.monotonic() >= state["next"])


def tick(response):
    """After a request, at most every CONTENT_TICK seconds per process (0: never)."""
    every = current_app.config.get("CONTENT_TICK", TICK_EVERY)
    state = current_app.extensions.setdefault("content_tick", {"next": 0.0})
    clock = time.monotonic()
    if every and clock >= state["next"]:
        state["next"] = clock + every
        try:
            apply_due()
        except SQLAlchemyError:
            db.session.rollback()
            current_app.logger.exception("scheduled publishing failed; it is tried again")
    return response
