"""JSON shapes of the public records (see PRODUCT.md for the ones outside tests rely on)."""

from dataclasses import asdict

from flask import url_for

from portal.models import FactorCost, Industry, Opportunity, Policy, Region, Site
from portal.sites.coords import geometry_to_gcj02, wgs84_to_gcj02


def policy_summary(policy: Policy, snippet: str = "") -> dict:
    return {
        "id": policy.id,
        "title": policy.tr("title"),
        "doc_number": policy.doc_number,
        "issuer": policy.issuer,
        "level": policy.level,
        "published": policy.published.isoformat(),
        "status": policy.status,
        "snippet": snippet or policy.tr("summary"),
        "url": url_for("policies.detail", policy_id=policy.id, _external=True),
    }


def policy_full(policy: Policy) -> dict:
    return policy_summary(policy) | {
        "region": policy.region.slug if policy.region else None,
        "effective_from": policy.effective_from.isoformat() if policy.effective_from else None,
        "effective_to": policy.effective_to.isoformat() if policy.effective_to else None,
        "topics": [t.slug for t in policy.topics],
        "industries": [i.slug for i in policy.industries],
        "summary": policy.tr("summary"),
        "body": policy.tr("body"),
        "interpretation": policy.tr("interpretation"),
        "procedure": policy.tr("procedure"),
        "benefit_mode": policy.benefit_mode or None,
        "eligibility": policy.eligibility,
        "is_demo": policy.is_demo,
    }


def policy_match(match) -> dict:
    """One matcher result; ``reasons`` are the criteria met, ``unmet`` those failed."""
    return {
        "policy": policy_summary(match.policy),
        "score": match.score,
        "reasons": match.met,
        "unmet": match.unmet,
        "unknown": match.unknown,
        "qualifies": match.qualifies,
        "automatic": match.automatic,
    }


def site_properties(site: Site) -> dict:
    return {
        "id": site.id,
        "kind": site.kind,
        "name": site.tr("name"),
        "area_mu": site.area_mu,
        "floor_area_m2": site.floor_area_m2,
        "region": site.region.slug,
        "land_use": site.land_use,
        "status": site.availability,
        "is_demo": site.is_demo,
        "url": url_for("sites.detail", site_id=site.id, _external=True),
    }


def site_feature(site: Site, to_gcj02: bool = False) -> dict:
    geometry = geometry_to_gcj02(site.geometry) if to_gcj02 else site.geometry
    return {"type": "Feature", "geometry": geometry, "properties": site_properties(site)}


def cluster_feature(group: dict, to_gcj02: bool = False) -> dict:
    """A grid cell standing for ``count`` sites, drawn as one bubble at their mean position."""
    lon, lat = group["lon"], group["lat"]
    if to_gcj02:
        lon, lat = wgs84_to_gcj02(lon, lat)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"cluster": True, "count": group["count"]}}


def site_match(match) -> dict:
    return {
        "site": site_properties(match.site),
        "score": match.score,
        "reasons": match.reasons,
        "unmet": match.unmet,
        "standard_land": [asdict(check) for check in match.standard_land],
    }


def site_full(site: Site) -> dict:
    fields = ("address", "land_price_wan_per_mu", "rent_yuan_m2_month", "sale_price_yuan_m2",
              "readiness", "power_kva", "floor_load_kn_m2", "ceiling_height_m", "floors",
              "min_investment_wan_per_mu", "min_tax_wan_per_mu", "min_plot_ratio",
              "max_plot_ratio", "min_building_coverage", "max_energy_t_per_wan",
              "contact_name", "contact_phone", "latitude", "longitude", "geometry")
    return site_properties(site) | {f: getattr(site, f) for f in fields} | {
        "description": site.tr("description")}


def opportunity(item: Opportunity) -> dict:
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.tr("title"),
        "summary": item.tr("summary"),
        "region": item.region.slug if item.region else None,
        "industry": item.industry.slug if item.industry else None,
        "amount_wan": item.amount_wan,
        "published": item.published.isoformat(),
        "deadline": item.deadline.isoformat() if item.deadline else None,
        "status": item.status,
        "is_demo": item.is_demo,
        "url": url_for("opportunities.detail", item_id=item.id, _external=True),
    } | _opportunity_progress(item)


def _opportunity_progress(item: Opportunity) -> dict:
    """Days left and the 揭榜挂帅 phase, by the content clock's date in China."""
    from portal.i18n import china_today
    from portal.opportunities import phases
    from portal.opportunities.services import countdown

    today = china_today()
    left = countdown(item, today)
    current = phases.current(item, today)
    return {
        "closed": left.state == "closed",
        "days_left": left.days if left.state in ("days", "today") else None,
        "phase": current.code if current else None,
        "phases": [{"phase": p.code, "starts": p.starts.isoformat(),
                    "ends": p.ends.isoformat() if p.ends else None, "state": p.state}
                   for p in phases.timeline(item, today)],
    }


def region(item: Region) -> dict:
    return {
        "slug": item.slug,
        "kind": item.kind,
        "name": item.tr("name"),
        "parent": item.parent.slug if item.parent else None,
        "zone_level": item.zone_level or None,
        "centroid": [item.longitude, item.latitude],
        "figures": item.figures,
        "url": url_for("showcase.region", slug=item.slug, _external=True),
    }


def factor_cost(item: FactorCost) -> dict:
    return {
        "key": item.key,
        "region": item.region.slug,
        "category": item.category,
        "item": item.tr("item"),
        "value": item.value,
        "low": item.low,
        "high": item.high,
        "unit": item.tr("unit"),
        "year": item.year,
        "source": item.tr("source"),
        "source_url": item.source_url or None,
        "note": item.tr("note") or None,
        "is_demo": item.is_demo,
    }


def industry(item: Industry) -> dict:
    return {
        "slug": item.slug,
        "name": item.tr("name"),
        "track": item.track.slug if item.track else None,
        "is_key": item.is_key,
        "summary": item.tr("summary"),
        "url": url_for("showcase.industry", slug=item.slug, _external=True),
    }
