"""Opportunity lists: scene opportunities, investment projects, 揭榜挂帅 challenges,
capability and demand lists."""

from datetime import date

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, Float, ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import TimestampMixin, TranslatableMixin, check_in, non_negative
from .content import PublishableMixin, publication_check

OPPORTUNITY_KINDS = ("scene", "project", "challenge", "capability", "demand")
OPPORTUNITY_STATUSES = ("open", "closed")
# 揭榜挂帅 in order: 发榜 → 揭榜申报 → 评审 → 公示 → 授榜.
CHALLENGE_PHASES = ("publish", "apply", "review", "notice", "award")


class Opportunity(PublishableMixin, TimestampMixin, TranslatableMixin, db.Model):
    __tablename__ = "opportunity"
    __table_args__ = (
        publication_check("opportunity"),
        check_in("kind", OPPORTUNITY_KINDS),
        check_in("status", OPPORTUNITY_STATUSES),
        CheckConstraint("length(title) > 0", name="title_present"),
        CheckConstraint("deadline IS NULL OR deadline >= published", name="deadline_order"),
        *non_negative("amount_wan"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    industry_id: Mapped[int | None] = mapped_column(ForeignKey("industry.id"), index=True)
    # The chain link (补链 or not) this opportunity fills.
    chain_node_id: Mapped[int | None] = mapped_column(
        ForeignKey("chain_node.id", ondelete="SET NULL"), index=True)
    amount_wan: Mapped[float | None] = mapped_column(Float)
    publisher: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(80), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    published: Mapped[date] = mapped_column(Date, index=True)
    deadline: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # A challenge's phases, in order: [{"phase": "apply", "starts": "2026-06-15",
    # "ends": "2026-08-31"}, …] (ISO dates; ``ends`` optional). The current phase is computed
    # from the dates when shown (``portal.opportunities.phases``), never stored.
    phases: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))

    region = relationship("Region")
    industry = relationship("Industry")
    chain_node = relationship("ChainNode")
