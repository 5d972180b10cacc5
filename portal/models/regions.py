"""Regions as one hierarchy: province › city › district/county › development zone."""

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import TranslatableMixin, check_in

REGION_KINDS = ("province", "city", "district", "county", "zone")
ZONE_LEVELS = ("national", "provincial", "municipal")
# A child's kind must sit below its parent's kind.
KIND_RANK = {"province": 0, "city": 1, "district": 2, "county": 2, "zone": 3}


class Region(TranslatableMixin, db.Model):
    __tablename__ = "region"
    __table_args__ = (
        check_in("kind", REGION_KINDS),
        check_in("zone_level", ZONE_LEVELS + ("",)),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str] = mapped_column(String(60), default="")
    zone_level: Mapped[str] = mapped_column(String(16), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    profile: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    boundary: Mapped[dict | None] = mapped_column(JSON)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    contacts: Mapped[list] = mapped_column(JSON, default=list)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    parent: Mapped["Region | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Region"]] = relationship(
        back_populates="parent", order_by="Region.sort_order"
    )

    def ancestors(self) -> list["Region"]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    @property
    def is_zone(self) -> bool:
        return self.kind == "zone"

    def __repr__(self) -> str:
        return f"<Region {self.slug}>"
