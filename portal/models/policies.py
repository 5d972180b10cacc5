"""The policy library."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import TimestampMixin, TranslatableMixin, check_in
from .content import PublishableMixin, publication_check

POLICY_LEVELS = ("national", "provincial", "municipal", "county", "zone")
POLICY_STATUSES = ("in_force", "expired", "draft")
# 免申即享 / 即申即享 / 申报; empty for guidance documents that grant nothing directly.
BENEFIT_MODES = ("automatic", "instant", "application", "")

policy_topic = Table(
    "policy_topic",
    db.metadata,
    Column("policy_id", ForeignKey("policy.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True),
)

policy_industry = Table(
    "policy_industry",
    db.metadata,
    Column("policy_id", ForeignKey("policy.id", ondelete="CASCADE"), primary_key=True),
    Column("industry_id", ForeignKey("industry.id", ondelete="CASCADE"), primary_key=True),
)


class Topic(TranslatableMixin, db.Model):
    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class Policy(PublishableMixin, TimestampMixin, TranslatableMixin, db.Model):
    __tablename__ = "policy"
    __table_args__ = (
        publication_check("policy"),
        check_in("level", POLICY_LEVELS),
        check_in("status", POLICY_STATUSES),
        check_in("benefit_mode", BENEFIT_MODES),
        CheckConstraint("length(title) > 0", name="title_present"),
        CheckConstraint(
            "effective_to IS NULL OR effective_from IS NULL OR effective_to >= effective_from",
            name="effective_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    doc_number: Mapped[str] = mapped_column(String(120), default="")
    issuer: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    published: Mapped[date] = mapped_column(Date, index=True)
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    interpretation: Mapped[str] = mapped_column(Text, default="")
    procedure: Mapped[str] = mapped_column(Text, default="")
    benefit_mode: Mapped[str] = mapped_column(String(16), default="")
    # Structured eligibility, evaluated by the policy matcher: a list of
    # {"field": ..., "op": ..., "value": ..., "label": ...} criteria.
    eligibility: Mapped[list] = mapped_column(JSON, default=list)
    # Published files of the document: [{"title": ..., "url": ...}]
    attachments: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    source_url: Mapped[str] = mapped_column(String(500), default="")
    source_note: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # A draft for comment (status "draft") takes comments until this day.
    comment_until: Mapped[date | None] = mapped_column(Date)

    region = relationship("Region")
    topics: Mapped[list[Topic]] = relationship(secondary=policy_topic, order_by=Topic.slug)
    industries = relationship("Industry", secondary=policy_industry, order_by="Industry.slug")

    @property
    def published_at(self) -> datetime:
        return datetime.combine(self.published, datetime.min.time())

    def __repr__(self) -> str:
        return f"<Policy {self.key}>"
