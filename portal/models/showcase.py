"""Figures and links shown on the showcase: 三个一批 statistics and the service chain."""

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import TranslatableMixin, check_in, non_negative

BATCHES = ("signed", "started", "producing")  # 签约一批 / 开工一批 / 投产一批
SERVICE_CATEGORIES = ("appeal", "funding", "affairs", "talent", "finance", "other")
# A service's texts that the data pack, the back office and the column share a name for.
SERVICE_DETAILS = ("department", "phone", "address", "hours", "portal_path", "portal_label",
                   "operator_note")


class BatchFigure(TranslatableMixin, db.Model):
    """One 三个一批 figure of a city's development zones, as published in a source document."""

    __tablename__ = "batch_figure"
    __table_args__ = (
        check_in("batch", BATCHES),
        CheckConstraint("published_rate_percent IS NULL OR published_rate_percent BETWEEN 0 "
                        "AND 100", name="published_rate_range"),
        *non_negative("projects", "investment_yi", "completed_projects", "rate_part",
                      "rate_whole"),
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
    # The rate is computed (portal.showcase.rates): a named kind and its inputs. A rate the
    # source prints without inputs has no kind; it is the quoted published_rate_percent under
    # rate_label. With a kind, published_rate_percent only records what the source printed,
    # checked against the inputs when the record is saved.
    rate_kind: Mapped[str] = mapped_column(String(40), default="")
    rate_part: Mapped[float | None] = mapped_column(Float)
    rate_whole: Mapped[float | None] = mapped_column(Float)
    rate_label: Mapped[str] = mapped_column(String(40), default="")
    published_rate_percent: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    region = relationship("Region")

    @property
    def rate_percent(self) -> float | None:
        """The computed rate; the quoted published one where the source gives no inputs."""
        from portal.showcase import rates

        if self.rate_kind:
            return rates.compute(self.rate_part, rates.whole_of(
                self.rate_kind, self.investment_yi, self.rate_whole))
        return self.published_rate_percent

    @property
    def rate_is_quoted(self) -> bool:
        return not self.rate_kind and self.published_rate_percent is not None

    @property
    def rate_name(self) -> str:
        """The rate's name in the page's language: the kind's, or the quoted one's label."""
        from portal.showcase.rates import RATE_KINDS

        kind = RATE_KINDS.get(self.rate_kind)
        return str(kind.label) if kind else self.tr("rate_label")

    @property
    def rate_formula(self) -> str:
        """How the rate is computed, with this record's inputs, for the page's footnote."""
        from flask_babel import gettext as _

        from portal.i18n import format_number
        from portal.showcase import rates

        kind = rates.RATE_KINDS.get(self.rate_kind)
        whole = rates.whole_of(self.rate_kind, self.investment_yi, self.rate_whole)
        if not kind or self.rate_part is None or whole is None:
            return ""
        return _("%(part_name)s %(part)s ÷ %(whole_name)s %(whole)s", part_name=kind.part,
                 part=format_number(self.rate_part), whole_name=kind.whole,
                 whole=format_number(whole))


class ServiceLink(TranslatableMixin, db.Model):
    """A link into the government service platform (服务链), configured per deployment."""

    __tablename__ = "service_link"
    __table_args__ = (check_in("category", SERVICE_CATEGORIES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    category: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # How to use the service beyond its online address: who provides it, a phone line, the
    # counter and its hours. Translated like the name (``translations``).
    department: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(80), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    hours: Mapped[str] = mapped_column(String(200), default="")
    # The related policy (its key) and the portal's own page for it, a path under the
    # language prefix such as ``/complaints/new`` or ``/policies/?topic=talent``.
    policy_key: Mapped[str] = mapped_column(String(80), default="")
    portal_path: Mapped[str] = mapped_column(String(300), default="")
    portal_label: Mapped[str] = mapped_column(String(120), default="")
    # For staff only: how this deployment configured the link; never shown on public pages.
    operator_note: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
