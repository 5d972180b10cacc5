"""Policy alerts: e-mail subscriptions to new policies that match a visitor's filters.

No account is needed. A subscription is ``pending`` until its address confirms it (double
opt-in) and ``active`` after; unsubscribing deletes it, so an address that left is not kept.
Addresses are personal data: nothing on a public page shows one, and no staff page lists them.

A policy going live writes a ``PolicyRelease`` in the same transaction (``portal.alerts``
listens to the session); announcing a release queues the digests and records an
``AlertDelivery`` per subscriber and policy, so nobody is told of one policy twice.
"""

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import check_in, utcnow

ALERT_STATES = ("pending", "active")
# The search filters a subscription may hold (those of /LANG/policies/).
ALERT_FILTERS = ("q", "level", "topic", "industry", "region", "status")


class AlertSubscription(db.Model):
    __tablename__ = "alert_subscription"
    __table_args__ = (check_in("state", ALERT_STATES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    # The URL language the visitor subscribed in: mails and links are in it.
    language: Mapped[str] = mapped_column(String(8), default="zh")
    # {name: value} for the names in ALERT_FILTERS that were set.
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    # Part of every signed link; replaced on confirmation, so a confirmation link works once.
    nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<AlertSubscription {self.id} {self.state}>"


class PolicyRelease(db.Model):
    """A policy became visible to the public at ``at``; ``announced_at`` once alerts for it
    were queued (or there was nobody to tell)."""

    __tablename__ = "policy_release"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"),
                                           index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    policy = relationship("Policy")


class AlertDelivery(db.Model):
    """This subscriber was sent this policy: never again."""

    __tablename__ = "alert_delivery"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("alert_subscription.id", ondelete="CASCADE"), primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"),
                                           primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
