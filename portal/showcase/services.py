"""Queries behind the showcase: home page, environment, regions, industries."""

from flask import abort

from portal.extensions import db
from portal.labels import FIGURE_LABELS
from portal.models import BatchFigure, Industry, Opportunity, Policy, Region, Site, Track

from . import factors
from .chainmap import chain_map
from .figures import HOME_KEYS, batch_chart_rows, region_figures, zone_rankings
from .mappreview import preview


def root_region() -> Region | None:
    """The current entry's region: a city entry's city; with several cities and no city
    entry, the province; in a single-city deployment the city (``portal.province``)."""
    from portal.province import entry_region

    return entry_region()


def key_figures() -> dict[str, int]:
    zones = db.select(db.func.count(Region.id)).filter_by(kind="zone")
    return {
        "policies": db.session.scalar(db.select(db.func.count(Policy.id))),
        "sites": db.session.scalar(db.select(db.func.count(Site.id))),
        "opportunities": db.session.scalar(
            db.select(db.func.count(Opportunity.id)).filter_by(status="open")),
        "zones": db.session.scalar(zones),
    }


def home_context() -> dict:
    root = root_region()
    batches = batch_figures()
    return {
        "region": root,
        "key_figures": key_region_figures(root),
        "batch_charts": batch_chart_rows(batches),
        "map_preview": home_map(root),
        "tracks": db.session.scalars(db.select(Track).order_by(Track.sort_order)).all(),
        "figures": key_figures(),
        "policies": db.session.scalars(
            db.select(Policy).order_by(Policy.published.desc(), Policy.id.desc()).limit(6)).all(),
        "opportunities": db.session.scalars(
            db.select(Opportunity).filter_by(status="open")
            .order_by(Opportunity.published.desc()).limit(4)).all(),
        "batches": batches,
        # One record per distinct source, to name each source of the chart once.
        "batch_sources": list({rows[0].source: rows[0] for rows in batches.values()}.values()),
    }


def key_region_figures(root: Region | None) -> list:
    """Four of the city's figures for the home page, each with year and source: the HOME_KEYS
    it has, then its others in order."""
    if root is None:
        return []
    shown = region_figures(root, FIGURE_LABELS)
    preferred = [f for key in HOME_KEYS for f in shown if f.key == key]
    return (preferred + [f for f in shown if f not in preferred])[:4]


def home_map(root: Region | None):
    """The home page's map preview: the root's districts and counties with their zones."""
    from flask_babel import gettext as _

    if root is None:
        return None
    below = ("city",) if root.kind == "province" else ("district", "county")
    areas = [r for r in root.children if r.kind in below]
    zones = db.session.scalars(db.select(Region).filter_by(kind="zone")
                               .order_by(Region.sort_order, Region.id)).all()
    return preview(areas, zones, _("%(region)s区县与开发区分布", region=root.tr("name")),
                   _("%(areas)d 个区县的轮廓，%(zones)d 个开发区以编号圆点标出，编号见下方列表。",
                     areas=len(areas), zones=len(zones)))


def batch_figures() -> dict[str, list[BatchFigure]]:
    """三个一批 figures grouped by area and period, in pack order."""
    groups: dict[str, list[BatchFigure]] = {}
    for figure in db.session.scalars(db.select(BatchFigure).order_by(BatchFigure.sort_order)):
        groups.setdefault(f"{figure.tr('area')} · {figure.tr('period')}", []).append(figure)
    return groups


def environment_context() -> dict:
    root = root_region()
    regions = db.session.scalars(db.select(Region).order_by(Region.sort_order)).all()
    return {
        "region": root,
        "counties": [r for r in regions if r.kind in ("district", "county")],
        "zones": [r for r in regions if r.kind == "zone"],
        "tracks": db.session.scalars(db.select(Track).order_by(Track.sort_order)).all(),
        "other_industries": db.session.scalars(
            db.select(Industry).filter_by(track_id=None).order_by(Industry.sort_order)).all(),
        "batches": batch_figures(),
        "batch_charts": batch_chart_rows(batch_figures()),
        "rankings": zone_rankings([r for r in regions if r.kind == "zone"]),
        "factor_costs": factors.comparison(),
    }


def get_region(slug: str) -> Region:
    region = db.session.scalars(db.select(Region).filter_by(slug=slug)).one_or_none()
    if region is None:
        abort(404)
    return region


def region_context(region: Region) -> dict:
    ids = [region.id] + [child.id for child in region.children]
    return {
        "region": region,
        "factor_costs": factors.for_region(region),
        "sites": db.session.scalars(
            db.select(Site).where(Site.region_id.in_(ids)).order_by(Site.key).limit(12)).all(),
        "policies": db.session.scalars(
            db.select(Policy).filter_by(region_id=region.id)
            .order_by(Policy.published.desc()).limit(8)).all(),
        "opportunities": db.session.scalars(
            db.select(Opportunity).where(Opportunity.region_id.in_(ids))
            .order_by(Opportunity.published.desc()).limit(8)).all(),
    }


def get_industry(slug: str) -> Industry:
    industry = db.session.scalars(db.select(Industry).filter_by(slug=slug)).one_or_none()
    if industry is None:
        abort(404)
    return industry


def industry_context(industry: Industry) -> dict:
    return {
        "industry": industry,
        "stages": industry.nodes_by_stage(),
        "chain_map": chain_map(industry),
        "policies": db.session.scalars(
            db.select(Policy).where(Policy.industries.contains(industry))
            .order_by(Policy.published.desc()).limit(8)).all(),
        "opportunities": db.session.scalars(
            db.select(Opportunity).filter_by(industry_id=industry.id)
            .order_by(Opportunity.published.desc()).limit(8)).all(),
    }
