"""Land parcels and carriers: filtered lists and details."""

from dataclasses import dataclass

from flask import abort

from portal.extensions import db
from portal.models import LAND_USES, SITE_KINDS, Region, Site
from portal.pagination import Page, paginate


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None


@dataclass
class SiteFilters:
    kind: str = ""
    region: str = ""
    land_use: str = ""
    min_area: float | None = None
    max_area: float | None = None

    @classmethod
    def from_args(cls, args) -> "SiteFilters":
        kind, land_use = args.get("kind", ""), args.get("land_use", "")
        return cls(
            kind=kind if kind in SITE_KINDS else "",
            region=args.get("region", "")[:80],
            land_use=land_use if land_use in LAND_USES else "",
            min_area=_number(args.get("min_area")),
            max_area=_number(args.get("max_area")),
        )

    def as_args(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def list_sites(filters: SiteFilters, page: int) -> Page:
    """Areas are in 亩 for parcels and m² for carriers, as each kind is quoted."""
    stmt = db.select(Site)
    if filters.kind:
        stmt = stmt.filter_by(kind=filters.kind)
    if filters.land_use:
        stmt = stmt.filter_by(land_use=filters.land_use)
    if filters.region:
        region = db.session.scalars(db.select(Region).filter_by(slug=filters.region)).first()
        ids = [region.id] + [c.id for c in region.children] if region else [-1]
        stmt = stmt.where(Site.region_id.in_(ids))
    area = db.func.coalesce(Site.area_mu, Site.floor_area_m2)
    if filters.min_area is not None:
        stmt = stmt.where(area >= filters.min_area)
    if filters.max_area is not None:
        stmt = stmt.where(area <= filters.max_area)
    return paginate(stmt.order_by(Site.kind, Site.key), page)


def get_site(site_id: int) -> Site:
    site = db.session.get(Site, site_id)
    if site is None:
        abort(404)
    return site


def filter_regions() -> list[Region]:
    return db.session.scalars(
        db.select(Region).where(Region.kind.in_(("district", "county", "zone")))
        .order_by(Region.sort_order)).all()
