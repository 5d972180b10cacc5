"""The one function that decides what a staff member may see.

Every staff query, count, export, search and download of tickets goes through ``scoped``:
admins and the city bureau see everything (in a province deployment, a bureau or admin
whose region is a city sees that city's tree only, as region staff do; with no region or the
province, everything: ``portal.province``); county, district and zone staff their region and
the zones within it, and a ticket proposed to them for transfer (流转) until it is settled;
department staff the complaints addressed to their department and nothing else. Policies,
sites and opportunities follow the same lines: region staff edit their region's records (and
its zones'), the bureau and admins all of them, departments none. Outside
one's scope a record does not exist (404), as in FixMyStreet's body-permission checks: it is
never a filtered-out row that still counts.
"""

from sqlalchemy import false, or_

from portal.extensions import db
from portal.models import (
    BatchFigure,
    Complaint,
    Demand,
    FactorCost,
    Industry,
    Opportunity,
    Policy,
    Region,
    ServiceLink,
    Site,
    Transfer,
    User,
)


def scoped(user: User, model, stmt):
    """``stmt`` (a select over ``model``: a Demand or Complaint, or a staff-published record —
    Policy, Site, Opportunity; or a reference record, see ``_reference``) narrowed to
    ``user``'s scope."""
    if user is None or not user.is_authenticated or not user.active:
        return stmt.where(false())
    if user.role in ("admin", "bureau"):
        from portal.province import several_cities

        if user.region is None or user.region.kind == "province" or not several_cities():
            return stmt  # the deployment's (or the province's) bureau: everything
        if model in (Industry, ServiceLink):  # shared by every city of the deployment
            return stmt
    elif model in REFERENCE:
        return _reference(user, model, stmt)
    if user.role in ("region", "admin", "bureau") and user.region is not None:
        from portal.sites.services import region_ids

        ids = region_ids(user.region.slug)  # a city bureau: the city's tree (province mode)
        if model is Region:
            return stmt.where(Region.id.in_(ids))
        if model in (Policy, Site, Opportunity, BatchFigure, FactorCost):
            return stmt.where(model.region_id.in_(ids))  # the region's own records
        if model not in (Demand, Complaint):  # anything else filed under a region
            return stmt.where(model.region_id.in_(ids) if hasattr(model, "region_id")
                              else false())
        # A ticket proposed to the region (流转待接收) opens for it until it is answered.
        column = Transfer.demand_id if model is Demand else Transfer.complaint_id
        incoming = db.select(column).where(column.is_not(None), Transfer.to_region_id.in_(ids),
                                           Transfer.status.in_(("proposed", "contested")))
        return stmt.where(or_(model.region_id.in_(ids), model.id.in_(incoming)))
    if user.role == "department" and user.department_id is not None and model is Complaint:
        return stmt.where(model.department_id == user.department_id)
    return stmt.where(false())


# --- the public reference records (regions, industries, 三个一批 figures, service links) ---

REFERENCE = (Region, BatchFigure, Industry, ServiceLink, FactorCost)


def _reference(user: User, model, stmt):
    """Region staff: their region's profile (and its zones') and the 三个一批 figures filed
    under it. Industries and service links are the city's: the bureau's and admins' only."""
    if user.role != "region" or user.region is None:
        return stmt.where(false())
    from portal.sites.services import region_ids

    ids = region_ids(user.region.slug)
    if model is Region:
        return stmt.where(Region.id.in_(ids))
    if model in (BatchFigure, FactorCost):  # filed under a region
        return stmt.where(model.region_id.in_(ids))
    return stmt.where(false())
