"""The one function that decides what a staff member may see.

Every staff query, count, export, search and download of tickets goes through ``scoped``:
admins and the city bureau see everything; county, district and zone staff their region and
the zones within it; department staff the complaints addressed to their department and
nothing else. Outside one's scope a record does not exist (404), as in FixMyStreet's
body-permission checks: it is never a filtered-out row that still counts.
"""

from sqlalchemy import false

from portal.models import Complaint, User


def scoped(user: User, model, stmt):
    """``stmt`` (a select over ``model``, a Demand or Complaint) narrowed to ``user``'s scope."""
    if user is None or not user.is_authenticated or not user.active:
        return stmt.where(false())
    if user.role in ("admin", "bureau"):
        return stmt
    if user.role == "region" and user.region is not None:
        from portal.sites.services import region_ids

        return stmt.where(model.region_id.in_(region_ids(user.region.slug)))
    if user.role == "department" and user.department_id is not None and model is Complaint:
        return stmt.where(model.department_id == user.department_id)
    return stmt.where(false())
