"""Land parcels and carriers: the filters shared by the list, the map and the API."""

import math
from dataclasses import dataclass, field, fields

from flask import abort
from flask_babel import gettext as _

from portal.extensions import db
from portal.i18n import format_number
from portal.models import AVAILABILITY, LAND_USES, READINESS_ITEMS, SITE_KINDS, Region, Site
from portal.models.sites import MU_IN_M2
from portal.pagination import Page, paginate

AREA_UNITS = ("mu", "m2")
# A grid of at most this many cells per side when the map asks for clusters.
CLUSTER_GRID = 12
CLUSTER_ABOVE = 300  # more features than this in view → clusters


# The largest figure each number filter takes; beyond it a value is a typo or a wrong unit.
# Areas are 亩 or m² (``area_unit``), prices 万元/亩 and 元/m²/月, the project's indicators
# 万元/亩 and 吨标煤/万元.
FILTER_MAXIMA = {"min_area": 100_000_000, "max_area": 100_000_000, "max_land_price": 1_000_000,
                 "max_rent": 1_000_000, "min_power": 100_000_000, "min_floor_load": 10_000,
                 "min_ceiling": 1000, "investment_intensity": 1_000_000_000,
                 "tax_per_mu": 1_000_000_000, "energy": 1_000_000}


def _number(name: str, value: str) -> float:
    """The filter's number; ValueError when it is not one from 0 to its maximum."""
    number = float(value.strip().replace(",", ""))  # ValueError for junk
    if not 0 <= number <= FILTER_MAXIMA[name]:  # NaN fails both comparisons
        raise ValueError(value)
    return number


@dataclass
class SiteFilters:
    """What a visitor filters by, read leniently from a query string."""

    kind: str = ""
    region: str = ""
    land_use: str = ""
    availability: str = ""
    min_area: float | None = None
    max_area: float | None = None
    area_unit: str = "mu"
    max_land_price: float | None = None  # 万元/亩
    max_rent: float | None = None  # 元/m²/月
    readiness: list[str] = field(default_factory=list)  # all of these
    min_power: float | None = None  # kVA
    min_floor_load: float | None = None  # kN/m²
    min_ceiling: float | None = None  # m
    standard_land: bool = False
    # 标准地: parcels whose requirement the project can meet
    investment_intensity: float | None = None  # project's 万元/亩 ≥ parcel minimum
    tax_per_mu: float | None = None  # project's 万元/亩 ≥ parcel minimum
    energy: float | None = None  # project's 吨标煤/万元 ≤ parcel maximum
    # A number filter that is not a number in range is not applied: its message, and what
    # was typed (kept in the field so the visitor can correct it).
    errors: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)

    NUMBERS = ("min_area", "max_area", "max_land_price", "max_rent", "min_power",
               "min_floor_load", "min_ceiling", "investment_intensity", "tax_per_mu", "energy")

    @classmethod
    def from_args(cls, args) -> "SiteFilters":
        def choice(name, allowed):
            value = args.get(name, "")
            return value if value in allowed else ""

        readiness = args.getlist("readiness") if hasattr(args, "getlist") else []
        numbers, errors, typed = {}, {}, {}
        for name in cls.NUMBERS:
            value = args.get(name) or ""
            if not value.strip():
                continue
            try:
                numbers[name] = _number(name, value)
            except ValueError:
                errors[name] = _("输入 0 至 %(max)s 之间的数字，或留空表示不限",
                                 max=format_number(FILTER_MAXIMA[name]))
                typed[name] = value[:40]
        return cls(
            kind=choice("kind", SITE_KINDS),
            region=args.get("region", "")[:80],
            land_use=choice("land_use", LAND_USES),
            availability=choice("availability", AVAILABILITY),
            area_unit=choice("area_unit", AREA_UNITS) or "mu",
            readiness=[r for r in dict.fromkeys(readiness) if r in READINESS_ITEMS],
            standard_land=args.get("standard_land", "") in ("1", "on", "true"),
            errors=errors, typed=typed, **numbers,
        )

    def as_args(self, **changes) -> dict:
        """The applied filters as query arguments (for links to other pages of the list)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)
                  if f.name not in ("errors", "typed")} | changes
        if values.get("area_unit") == "mu":
            values.pop("area_unit")
        values["standard_land"] = "1" if values.get("standard_land") else ""
        return {k: v for k, v in values.items() if v not in (None, "", [], False)}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def region_ids(slug: str) -> list[int]:
    """The region and every region below it (a county and its zones)."""
    from portal.province import subtree_ids

    region_id = db.session.scalars(db.select(Region.id).filter_by(slug=slug)).first()
    return [] if region_id is None else sorted(subtree_ids(region_id))


def filtered(filters: SiteFilters, stmt=None):
    """``stmt`` (default: all sites) narrowed by the filters, in SQL on either database."""
    stmt = db.select(Site) if stmt is None else stmt
    for name in ("kind", "land_use", "availability"):
        if getattr(filters, name):
            stmt = stmt.where(getattr(Site, name) == getattr(filters, name))
    if filters.region:
        stmt = stmt.where(Site.region_id.in_(region_ids(filters.region) or [-1]))
    to_mu = 1 / MU_IN_M2 if filters.area_unit == "m2" else 1
    to_m2 = 1 if filters.area_unit == "m2" else MU_IN_M2
    if filters.min_area is not None:
        stmt = stmt.where(db.or_(Site.area_mu >= filters.min_area * to_mu,
                                 Site.floor_area_m2 >= filters.min_area * to_m2))
    if filters.max_area is not None:
        stmt = stmt.where(db.or_(Site.area_mu <= filters.max_area * to_mu,
                                 db.and_(Site.area_mu.is_(None),
                                         Site.floor_area_m2 <= filters.max_area * to_m2)))
    if filters.max_land_price is not None:
        stmt = stmt.where(Site.land_price_wan_per_mu <= filters.max_land_price)
    if filters.max_rent is not None:
        stmt = stmt.where(Site.rent_yuan_m2_month <= filters.max_rent)
    for item in filters.readiness:
        stmt = stmt.where(db.cast(Site.readiness, db.String).like(f'%"{item}"%'))
    for column, value in ((Site.power_kva, filters.min_power),
                          (Site.floor_load_kn_m2, filters.min_floor_load),
                          (Site.ceiling_height_m, filters.min_ceiling)):
        if value is not None:
            stmt = stmt.where(column >= value)
    if filters.standard_land:
        stmt = stmt.where(Site.kind == "parcel", Site.min_investment_wan_per_mu.is_not(None))
    if filters.investment_intensity is not None:
        stmt = stmt.where(db.or_(Site.min_investment_wan_per_mu.is_(None),
                                 Site.min_investment_wan_per_mu <= filters.investment_intensity))
    if filters.tax_per_mu is not None:
        stmt = stmt.where(db.or_(Site.min_tax_wan_per_mu.is_(None),
                                 Site.min_tax_wan_per_mu <= filters.tax_per_mu))
    if filters.energy is not None:
        stmt = stmt.where(db.or_(Site.max_energy_t_per_wan.is_(None),
                                 Site.max_energy_t_per_wan >= filters.energy))
    return stmt


def list_sites(filters: SiteFilters, page: int) -> Page:
    return paginate(filtered(filters).order_by(Site.kind, Site.key), page)


def in_bbox(stmt, bbox: tuple[float, float, float, float]):
    west, south, east, north = bbox
    return stmt.where(Site.longitude.between(west, east), Site.latitude.between(south, north))


def clusters(filters: SiteFilters, bbox) -> list[dict] | None:
    """Grid clusters for a crowded view, or None when the sites can be drawn one by one."""
    base = in_bbox(filtered(filters, db.select(Site.id)), bbox).subquery()
    count = db.session.scalar(db.select(db.func.count()).select_from(base))
    if count <= CLUSTER_ABOVE:
        return None
    west, south, east, north = bbox
    width = max((east - west) / CLUSTER_GRID, 1e-9)
    height = max((north - south) / CLUSTER_GRID, 1e-9)
    col = db.cast(db.func.floor((Site.longitude - west) / width), db.Integer)
    row = db.cast(db.func.floor((Site.latitude - south) / height), db.Integer)
    stmt = (db.select(col.label("col"), row.label("row"), db.func.count().label("n"),
                      db.func.avg(Site.longitude), db.func.avg(Site.latitude))
            .where(Site.id.in_(db.select(base.c.id))).group_by(col, row))
    return [{"count": n, "lon": lon, "lat": lat}
            for _c, _r, n, lon, lat in db.session.execute(stmt)]


def get_site(site_id: int) -> Site:
    site = db.session.scalar(db.select(Site).filter_by(id=site_id))
    if site is None:
        abort(404)
    return site


def nearby(site: Site, limit: int = 5) -> list[Site]:
    """The closest other available sites (degrees scaled for latitude; fine at city scale)."""
    scale = math.cos(math.radians(site.latitude)) ** 2
    distance = ((Site.longitude - site.longitude) * (Site.longitude - site.longitude) * scale
                + (Site.latitude - site.latitude) * (Site.latitude - site.latitude))
    return db.session.scalars(
        db.select(Site).where(Site.id != site.id, Site.availability != "taken")
        .order_by(distance).limit(limit)).all()


def filter_regions() -> list[Region]:
    return db.session.scalars(
        db.select(Region).where(Region.kind.in_(("district", "county", "zone")))
        .order_by(Region.sort_order)).all()


def map_view() -> tuple[tuple[float, float], int]:
    """Centre (lon, lat) and zoom that show the deployment's own region."""
    from portal.showcase.services import root_region

    root = root_region()
    if root is None:
        return (116.4, 39.9), 5
    return (root.longitude, root.latitude), 8 if root.kind == "province" else 9


def outlines(region: Region | None = None) -> list[dict]:
    """Region outlines for the map: every county and zone, or one region and its zones."""
    stmt = db.select(Region).where(Region.kind.in_(("district", "county", "zone")))
    if region is not None:
        stmt = stmt.where(Region.id.in_(region_ids(region.slug)))
    return [{"type": "Feature", "geometry": r.boundary,
             "properties": {"name": r.tr("name"), "kind": r.kind}}
            for r in db.session.scalars(stmt.order_by(Region.sort_order)) if r.boundary]


def contact(site: Site) -> dict | None:
    """Who answers for this site (首接负责): its own contact, else its zone's first contact."""
    if site.contact_name or site.contact_phone:
        return {"name": site.contact_name, "phone": site.contact_phone,
                "role": "", "unit": site.region.tr("name")}
    for region in [site.region, *reversed(site.region.ancestors())]:
        if region.contacts:
            first = region.contacts[0]
            return {"name": first.get("name", ""), "phone": first.get("phone", ""),
                    "role": first.get("role", ""), "unit": region.tr("name")}
    return None
