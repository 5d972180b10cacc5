"""要素成本: what land, power, water, gas, heat, labour and freight cost in a region, each
figure with the year it applies to and the document it comes from.

A site-selection consultant compares these across the city's counties and zones, so every
figure carries its own source and year (a tariff changes every year or two) and an
``is_demo`` flag for figures invented for the demo pack.
"""

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import TranslatableMixin, check_in, non_negative

# In the order the pages show them. ``green_power`` says how much renewable power a region
# can offer (a share in %, or a note on green-power contracts): Datong's strength.
FACTOR_CATEGORIES = ("land", "electricity", "green_power", "water", "gas", "heat", "wage",
                     "logistics")
FACTOR_YEARS = (1990, 2100)


class FactorCost(TranslatableMixin, db.Model):
    """One published (or demo) factor-cost figure of one region, e.g. 大工业用电 1-10千伏
    0.58 元/千瓦时 (2024). A range is ``low``–``high``; ``value`` is then its typical point."""

    __tablename__ = "factor_cost"
    __table_args__ = (
        check_in("category", FACTOR_CATEGORIES),
        *non_negative("value", "low", "high"),
        CheckConstraint(f"year BETWEEN {FACTOR_YEARS[0]} AND {FACTOR_YEARS[1]}",
                        name="year_range"),
        CheckConstraint("low IS NULL OR high IS NULL OR low <= high", name="range_order"),
        CheckConstraint("source <> ''", name="source_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    item: Mapped[str] = mapped_column(String(120))
    value: Mapped[float] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str] = mapped_column(String(500), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    region = relationship("Region")

    @property
    def is_range(self) -> bool:
        return self.low is not None and self.high is not None and self.low != self.high
