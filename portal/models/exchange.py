"""The exchange with partner platforms (a province and its cities, seed 004 (10); counties
sharing projects, seed 000 (二十)): the API keys partners call with, and the transfers
received from them."""

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import utcnow

# pull: read policies, sites, opportunities and projects changed since a time;
# push: send a project transfer to this deployment.
API_SCOPES = ("pull", "push")


class ApiKey(db.Model):
    """A partner's key for one region tree. Only a SHA-256 of the key is stored; ``prefix``
    (public, shown in lists and audit events) finds the row."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    partner: Mapped[str] = mapped_column(String(80), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    # Space-separated, from API_SCOPES.
    scopes: Mapped[str] = mapped_column(String(80), default="pull")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    region = relationship("Region")
    created_by = relationship("User", foreign_keys=[created_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])

    @property
    def scope_list(self) -> list[str]:
        return [s for s in (self.scopes or "").split() if s in API_SCOPES]

    def allows(self, scope: str) -> bool:
        return scope in self.scope_list

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ExchangeReceipt(db.Model):
    """A project transfer received from a partner: the demand (and proposed transfer) it
    became, and the first answer, given again to the same request (idempotent on the
    partner and its external id)."""

    __tablename__ = "exchange_receipt"
    __table_args__ = (UniqueConstraint("partner", "external_id", name="one_per_external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner: Mapped[str] = mapped_column(String(80))
    external_id: Mapped[str] = mapped_column(String(120))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    # SHA-256 of the canonical JSON body: only the same body gets the first answer back.
    fingerprint: Mapped[str] = mapped_column(String(64))
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfer.id"))
    answer: Mapped[dict] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    api_key = relationship("ApiKey")
    demand = relationship("Demand")
    transfer = relationship("Transfer")
