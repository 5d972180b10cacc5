"""Investor demands and complaints, their timelines and attachments.

Statuses move only through ``portal.intake.workflow`` (one function checks the move, stamps
the time and writes the timeline and audit events in the same transaction); the tables below
only refuse values that no workflow could produce.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import check_in, non_negative, utcnow

if TYPE_CHECKING:
    from .cases import Project

DEMAND_STATUSES = ("submitted", "accepted", "negotiating", "signed", "started", "producing",
                   "closed")
# Which status may follow which: 受理 → 对接中 → 签约 → 开工 → 投产, or closed at any point.
DEMAND_FLOW = {
    "submitted": {"accepted", "closed"},
    "accepted": {"negotiating", "closed"},
    "negotiating": {"signed", "closed"},
    "signed": {"started", "closed"},
    "started": {"producing", "closed"},
    "producing": {"closed"},
    "closed": set(),
}
COMPLAINT_STATUSES = ("submitted", "supplement", "accepted", "rejected", "in_progress",
                      "answered", "closed")
# 受理审查 (with a pause while the complainant supplies missing materials) → 受理 or 不予受理
# → 办理 → 答复 → 办结. A civil dispute between companies is closed as not in scope.
COMPLAINT_FLOW = {
    "submitted": {"supplement", "accepted", "rejected", "closed"},
    "supplement": {"submitted", "accepted", "rejected", "closed"},
    "accepted": {"in_progress", "answered"},
    "in_progress": {"answered", "supplement"},
    "answered": {"closed", "in_progress"},
    "rejected": {"closed"},
    "closed": set(),
}
COMPLAINT_CATEGORIES = ("policy", "approval", "enforcement", "arrears", "factors",
                        "environment", "other")
INVESTOR_TYPES = ("domestic", "foreign", "hmt")


class _Submission:
    """Columns shared by demands and complaints."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, not sequential: reveals neither order nor count.
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    access_code_hash: Mapped[str] = mapped_column(String(255))
    contact_name: Mapped[str] = mapped_column(String(80))
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    language: Mapped[str] = mapped_column(String(8), default="zh")
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A client's key for the same submission sent twice (double click, network retry), and
    # for one day the access code sealed under the server's key, so that a client whose
    # first answer was lost gets the code again with the same key.
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    # SHA-256 of the request that used the key (kind, client and body): only the identical
    # request gets the first answer back.
    idempotency_fingerprint: Mapped[str] = mapped_column(String(64), default="",
                                                         server_default="")
    access_code_sealed: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The deadline clock: starts the day after complete materials arrive, pauses while
    # supplements are awaited (paused_since), keeps paused working days, survives transfers.
    materials_complete_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_working_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    closed_reason: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Working days added to the deadline with a reason (extension_reason).
    extension_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Milestones for the service-performance figures.
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_contact_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # An earlier ticket from the same company, phone or e-mail with similar text (30 days).
    repeat_of: Mapped[str] = mapped_column(String(32), default="", server_default="")


class Demand(_Submission, db.Model):
    __tablename__ = "demand"
    __table_args__ = (
        check_in("status", DEMAND_STATUSES),
        check_in("investor_type", INVESTOR_TYPES),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint("paused_working_days >= 0", name="paused_non_negative"),
        CheckConstraint("length(company_name) > 0", name="company_present"),
        *non_negative("amount_wan"),
    )

    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    company_name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), default="")
    investor_type: Mapped[str] = mapped_column(String(16), default="domestic")
    country: Mapped[str] = mapped_column(String(80), default="")
    registration_number: Mapped[str] = mapped_column(String(80), default="")
    industry_id: Mapped[int | None] = mapped_column(ForeignKey("industry.id"))
    amount_wan: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    timeline: Mapped[str] = mapped_column(String(120), default="")
    # land_mu, building_m2, power_kva, water_t_day, talent, financing
    needs: Mapped[dict] = mapped_column(JSON, default=dict)
    preferred_regions: Mapped[list] = mapped_column(JSON, default=list)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity.id"))
    message: Mapped[str] = mapped_column(Text, default="")
    # 首接负责制: the region answering for it now, the one that first registered it, the person.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    first_region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)

    industry = relationship("Industry")
    region = relationship("Region", foreign_keys=[region_id])
    first_region = relationship("Region", foreign_keys=[first_region_id])
    assignee = relationship("User")
    project: Mapped["Project | None"] = relationship(back_populates="demand")
    site = relationship("Site")
    opportunity = relationship("Opportunity")
    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="demand", order_by="TicketEvent.at"
    )
    # What the submitter sent; files staff attached to a reply have an event_id.
    attachments: Mapped[list["Attachment"]] = relationship(
        order_by="Attachment.id", viewonly=True,
        primaryjoin="and_(Attachment.demand_id == Demand.id, "
                    "Attachment.event_id.is_(None))")


class Complaint(_Submission, db.Model):
    __tablename__ = "complaint"
    __table_args__ = (
        check_in("status", COMPLAINT_STATUSES),
        check_in("category", COMPLAINT_CATEGORIES),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint("paused_working_days >= 0", name="paused_non_negative"),
        CheckConstraint("length(facts) > 0", name="facts_present"),
    )

    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    category: Mapped[str] = mapped_column(String(16))
    company_name: Mapped[str] = mapped_column(String(200), default="")
    respondent_name: Mapped[str] = mapped_column(String(200))
    respondent_region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    facts: Mapped[str] = mapped_column(Text)
    desired_outcome: Mapped[str] = mapped_column(Text, default="")
    withhold_identity: Mapped[bool] = mapped_column(Boolean, default=False)
    trade_secret_note: Mapped[str] = mapped_column(Text, default="")
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    accept_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The department the complaint is addressed to (交办): its staff see it, and only it.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    # 首接: the region that first registered the complaint.
    first_region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))

    department = relationship("Department")
    respondent_region = relationship("Region", foreign_keys=[respondent_region_id])
    region = relationship("Region", foreign_keys=[region_id])
    first_region = relationship("Region", foreign_keys=[first_region_id])
    assignee = relationship("User")
    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="complaint", order_by="TicketEvent.at"
    )
    # What the submitter sent; files staff attached to a reply have an event_id.
    attachments: Mapped[list["Attachment"]] = relationship(
        order_by="Attachment.id", viewonly=True,
        primaryjoin="and_(Attachment.complaint_id == Complaint.id, "
                    "Attachment.event_id.is_(None))")


_EXACTLY_ONE_OWNER = "(demand_id IS NULL) <> (complaint_id IS NULL)"


class TicketEvent(db.Model):
    """One step in a ticket's timeline; ``public`` notes are shown to the submitter."""

    __tablename__ = "ticket_event"
    __table_args__ = (CheckConstraint(_EXACTLY_ONE_OWNER, name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demand.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # status: a status change; note: internal; reply: public answer; transfer, referral,
    # system: what the portal did.
    kind: Mapped[str] = mapped_column(String(16), default="status", server_default="status")

    demand: Mapped[Demand | None] = relationship(back_populates="events")
    complaint: Mapped[Complaint | None] = relationship(back_populates="events")
    actor = relationship("User")


class Attachment(db.Model):
    __tablename__ = "attachment"
    __table_args__ = (
        CheckConstraint(_EXACTLY_ONE_OWNER, name="one_owner"),
        CheckConstraint("size_bytes >= 0", name="size_non_negative"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demand.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # A random key for the staff download URL; the bytes live in the database so that every
    # app node behind a load balancer can serve them.
    # A file staff attached to a public reply (None: sent by the submitter).
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_event.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
