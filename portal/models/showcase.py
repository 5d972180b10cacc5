"""Figures and links shown on the showcase: 三个一批 statistics and the service chain."""

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import TranslatableMixin, check_in, non_negative

BATCHES = ("signed", "started", "producing")  # 签约一批 / 开工一批 / 投产一批
SERVICE_CATEGORIES = ("appeal", "funding", "affairs", "talent", "finance", "other")


class BatchFigure(TranslatableMixin, db.Model):
    """One 三个一批 figure of a city's development zones, as published in a source document."""

    __tablename__ = "batch_figure"
    __table_args__ = (
        check_in("batch", BATCHES),
        CheckConstraint("rate_percent IS NULL OR rate_percent BETWEEN 0 AND 100",
                        name="rate_range"),
        *non_negative("projects", "investment_yi", "completed_projects"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    area: Mapped[str] = mapped_column(String(60))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    period: Mapped[str] = mapped_column(String(60))
    batch: Mapped[str] = mapped_column(String(16))
    projects: Mapped[int] = mapped_column(Integer)
    investment_yi: Mapped[float | None] = mapped_column(Float)
    completed_projects: Mapped[int | None] = mapped_column(Integer)
    rate_label: Mapped[str] = mapped_column(String(40), default="")
    rate_percent: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    region = relationship("Region")


class ServiceLink(TranslatableMixin, db.Model):
    """A link into the government service platform (服务链), configured per deployment."""

    __tablename__ = "service_link"
    __table_args__ = (check_in("category", SERVICE_CATEGORIES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    category: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
