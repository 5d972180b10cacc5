"""Land parcels (polygons) and carriers (points): standard factories, offices, warehouses,
incubators."""

from datetime import date

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import TimestampMixin, TranslatableMixin, check_in, non_negative
from .content import PublishableMixin, publication_check

SITE_KINDS = ("parcel", "factory", "office", "warehouse", "incubator")
CARRIER_KINDS = SITE_KINDS[1:]
LAND_USES = ("industrial", "logistics", "commercial", "research", "mixed", "agricultural")
AVAILABILITY = ("available", "reserved", "taken")
# 七通一平: road, water supply, drainage, power, telecom, gas, heat, and a levelled site.
READINESS_ITEMS = ("road", "water", "drainage", "power", "telecom", "gas", "heat", "levelled")
MU_IN_M2 = 666.6667


class Site(PublishableMixin, TimestampMixin, TranslatableMixin, db.Model):
    __tablename__ = "site"
    __table_args__ = (
        publication_check("site"),
        check_in("kind", SITE_KINDS),
        check_in("land_use", LAND_USES),
        check_in("availability", AVAILABILITY),
        CheckConstraint("length(name) > 0", name="name_present"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("kind <> 'parcel' OR area_mu IS NOT NULL", name="parcel_has_area"),
        CheckConstraint(
            "kind = 'parcel' OR floor_area_m2 IS NOT NULL", name="carrier_has_floor_area"
        ),
        CheckConstraint(
            "min_plot_ratio IS NULL OR max_plot_ratio IS NULL OR max_plot_ratio >= min_plot_ratio",
            name="plot_ratio_order",
        ),
        *non_negative(
            "area_mu",
            "drawn_area_mu",
            "floor_area_m2",
            "land_price_wan_per_mu",
            "rent_yuan_m2_month",
            "sale_price_yuan_m2",
            "power_kva",
            "floor_load_kn_m2",
            "ceiling_height_m",
            "floors",
            "min_investment_wan_per_mu",
            "min_tax_wan_per_mu",
            "min_plot_ratio",
            "max_plot_ratio",
            "min_building_coverage",
            "max_energy_t_per_wan",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # GeoJSON geometry in WGS-84: a Polygon for parcels, a Point for carriers.
    geometry: Mapped[dict] = mapped_column(JSON)
    latitude: Mapped[float] = mapped_column(Float, index=True)
    longitude: Mapped[float] = mapped_column(Float, index=True)
    land_use: Mapped[str] = mapped_column(String(16), index=True)
    area_mu: Mapped[float | None] = mapped_column(Float)
    # The area of the drawn polygon, kept to flag a stated area that does not match it.
    drawn_area_mu: Mapped[float | None] = mapped_column(Float)
    floor_area_m2: Mapped[float | None] = mapped_column(Float)
    land_price_wan_per_mu: Mapped[float | None] = mapped_column(Float)
    rent_yuan_m2_month: Mapped[float | None] = mapped_column(Float)
    sale_price_yuan_m2: Mapped[float | None] = mapped_column(Float)
    readiness: Mapped[list] = mapped_column(JSON, default=list)
    power_kva: Mapped[float | None] = mapped_column(Float)
    floor_load_kn_m2: Mapped[float | None] = mapped_column(Float)
    ceiling_height_m: Mapped[float | None] = mapped_column(Float)
    floors: Mapped[int | None] = mapped_column(Integer)
    # 标准地 indicators (minimums the investor must meet, maximum energy use).
    min_investment_wan_per_mu: Mapped[float | None] = mapped_column(Float)
    min_tax_wan_per_mu: Mapped[float | None] = mapped_column(Float)
    min_plot_ratio: Mapped[float | None] = mapped_column(Float)
    max_plot_ratio: Mapped[float | None] = mapped_column(Float)
    min_building_coverage: Mapped[float | None] = mapped_column(Float)
    max_energy_t_per_wan: Mapped[float | None] = mapped_column(Float)
    availability: Mapped[str] = mapped_column(String(16), default="available", index=True)
    available_from: Mapped[date | None] = mapped_column(Date)
    contact_name: Mapped[str] = mapped_column(String(80), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    region = relationship("Region")
    # The chain links this parcel or building is offered for.
    chain_nodes = relationship("ChainNode", secondary="site_chain_node",
                               order_by="ChainNode.sort_order")

    @property
    def is_parcel(self) -> bool:
        return self.kind == "parcel"

    @property
    def is_standard_land(self) -> bool:
        """标准地: a parcel sold with published investment, tax, density and energy minimums."""
        return self.is_parcel and self.min_investment_wan_per_mu is not None

    @property
    def area_mismatch(self) -> float | None:
        """How far the stated area is from the drawn one (0.08 = 8 %); None if unknown."""
        if not self.area_mu or not self.drawn_area_mu:
            return None
        return abs(self.area_mu - self.drawn_area_mu) / self.drawn_area_mu

    @property
    def area_m2(self) -> float | None:
        if self.area_mu is not None:
            return self.area_mu * MU_IN_M2
        return self.floor_area_m2

    def __repr__(self) -> str:
        return f"<Site {self.key}>"
