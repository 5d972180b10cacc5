"""What staff do with a ticket beyond its status: transfers between regions (流转), response
templates, the routing table, and the project file (一项目一档案) an accepted demand becomes."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import TranslatableMixin, check_in, non_negative, utcnow

TRANSFER_STATUSES = ("proposed", "accepted", "returned", "contested", "decided", "withdrawn")
PROJECT_STAGES = ("negotiating", "signed", "started", "producing", "closed")
TEMPLATE_KINDS = ("demand", "complaint")
_ONE_TICKET = "(demand_id IS NULL) <> (complaint_id IS NULL)"


class Transfer(db.Model):
    """A proposed 流转 of a ticket from the region holding it to another: the receiving region
    accepts or returns it with a reason; when both claim a project, the city bureau decides.
    Statistics and tax of a transferred project are shared as agreed (seed 000 (六), 004 (20))."""

    __tablename__ = "transfer"
    __table_args__ = (
        CheckConstraint(_ONE_TICKET, name="one_ticket"),
        check_in("status", TRANSFER_STATUSES),
        CheckConstraint("stats_share_percent IS NULL OR stats_share_percent BETWEEN 0 AND 100",
                        name="stats_share_range"),
        CheckConstraint("tax_share_percent IS NULL OR tax_share_percent BETWEEN 0 AND 100",
                        name="tax_share_range"),
        CheckConstraint("from_region_id IS NULL OR from_region_id <> to_region_id",
                        name="another_region"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demand.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    from_region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    to_region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    reason: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")  # why returned, or the decision
    # The receiving region's share of the project's statistics and tax, in percent.
    stats_share_percent: Mapped[int | None] = mapped_column(Integer)
    tax_share_percent: Mapped[int | None] = mapped_column(Integer)
    share_note: Mapped[str] = mapped_column(Text, default="")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    from_region = relationship("Region", foreign_keys=[from_region_id])
    to_region = relationship("Region", foreign_keys=[to_region_id])
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    answered_by = relationship("User", foreign_keys=[answered_by_id])


class ResponseTemplate(TranslatableMixin, db.Model):
    """A reply staff start from, per ticket kind and (for complaints) category."""

    __tablename__ = "response_template"
    __table_args__ = (check_in("kind", TEMPLATE_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16), default="")  # "": any category
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class RoutingRule(db.Model):
    """Where a new complaint goes: the first rule whose category and respondent keyword match
    names the region and the department that answer it (from the data pack; admins edit it)."""

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(16), default="")  # "": any category
    keyword: Mapped[str] = mapped_column(String(80), default="")  # in the respondent's name
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    region = relationship("Region")
    department = relationship("Department")


class Project(db.Model):
    """一项目一档案: the file of an accepted demand from first talk to production, with the
    figures staff record at each stage (seed 000 (二十四), 004 (18), (21))."""

    __tablename__ = "project"
    __table_args__ = (
        check_in("stage", PROJECT_STAGES),
        *non_negative("signed_amount_wan", "invested_wan", "expected_output_wan", "jobs"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), unique=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(16), default="negotiating", index=True)
    outcome: Mapped[str] = mapped_column(Text, default="")
    signed_amount_wan: Mapped[float | None] = mapped_column(Float)
    invested_wan: Mapped[float | None] = mapped_column(Float)
    expected_output_wan: Mapped[float | None] = mapped_column(Float)
    jobs: Mapped[int | None] = mapped_column(Integer)
    signed_on: Mapped[date | None] = mapped_column(Date)
    started_on: Mapped[date | None] = mapped_column(Date)
    producing_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    # Offered to the project pool for another region to take (一图两库).
    in_pool: Mapped[bool] = mapped_column(Boolean, default=False)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)  # further figures by stage
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    demand = relationship("Demand", back_populates="project")
    region = relationship("Region")
