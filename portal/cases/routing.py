"""Where a new ticket goes, and the routing table that decides it for complaints.

A demand or an expression of interest goes to the region of the site or opportunity it came
from, else to the first region the investor preferred, else to the city bureau (no region).
A complaint goes to the body that the first matching rule of the routing table names (by
category and a keyword in the respondent's name), else to the respondent's region, else to
the bureau. The city bureau sees every ticket anyway (``portal.scoping``). Referral (交办) to
a department after submission is here too: it is the same routing, done by hand.
"""

from dataclasses import dataclass

from flask_babel import gettext as _

from portal import audit
from portal.extensions import db
from portal.models import (
    COMPLAINT_CATEGORIES,
    Complaint,
    Demand,
    Department,
    Opportunity,
    Region,
    RoutingRule,
    Site,
    TicketEvent,
)

# Regions that hold tickets; a city or province above them means the city bureau.
HOLDING_KINDS = ("district", "county", "zone")


class RoutingError(ValueError):
    """A rule or referral that cannot be saved; the message is for the staff member."""


def holder(region: Region | None) -> Region | None:
    """The region itself when it can hold a ticket; None (the bureau) for a city or above."""
    return region if region is not None and region.kind in HOLDING_KINDS else None


def demand_region(record: Demand) -> Region | None:
    """The site's region, else the opportunity's, else the first preferred region."""
    for model, ident in ((Site, record.site_id), (Opportunity, record.opportunity_id)):
        found = db.session.get(model, ident) if ident else None
        if found is not None and holder(found.region) is not None:
            return found.region
    for slug in record.preferred_regions or []:  # in the order the investor listed them
        region = holder(db.session.scalars(db.select(Region).filter_by(slug=slug)).first())
        if region is not None:
            return region
    return None


def rules() -> list[RoutingRule]:
    return list(db.session.scalars(
        db.select(RoutingRule).order_by(RoutingRule.sort_order, RoutingRule.id)))


def matching_rule(category: str, respondent_name: str) -> RoutingRule | None:
    """The first rule whose category ("" = any) and keyword ("" = any) both match."""
    name = respondent_name or ""
    for rule in rules():
        if rule.category not in ("", category):
            continue
        if rule.keyword and rule.keyword not in name:
            continue
        return rule
    return None


def complaint_destination(record: Complaint) -> tuple[Region | None, Department | None]:
    """(region, department) for a new complaint; region None means the city bureau."""
    rule = matching_rule(record.category, record.respondent_name)
    region = rule.region if rule is not None and rule.region is not None else None
    if region is None:
        region = record.respondent_region
    return holder(region), rule.department if rule is not None else None


def route_demand(record: Demand) -> None:
    """Set the holding region and 首谈首报 (the region that first registered it)."""
    region = demand_region(record)
    record.region = region
    record.first_region = region


def route_complaint(record: Complaint) -> None:
    """Set the holding region, the answering department and 首接 (first region)."""
    region, department = complaint_destination(record)
    record.region = region
    record.first_region = region
    record.department = department


# --- referral (交办) ----------------------------------------------------------------------


def refer(user, record: Complaint, department: Department, note: str) -> None:
    """交办: the complaint goes to the department that answers it; its staff see it from now
    on, and the referral stays in the internal timeline."""
    if user.role not in ("admin", "bureau", "region"):
        raise RoutingError(_("只有承办区域或市局可以交办"))
    previous = record.department
    text = _("交办：%(department)s；%(note)s", department=department.tr("name"), note=note) \
        if note else _("交办：%(department)s", department=department.tr("name"))
    record.department = department
    record.events.append(TicketEvent(status=record.status, public=False, actor=user,
                                     note=text, kind="referral"))
    audit.record("refer", "complaint", record.ticket,
                 {"to": department.slug, "from": previous.slug if previous else None,
                  "note": note}, actor=user)


# --- the table, as admins edit it ------------------------------------------------------


@dataclass
class RuleValues:
    category: str
    keyword: str
    region: Region | None
    department: Department | None


def _check(values: RuleValues) -> None:
    if values.category not in ("", *COMPLAINT_CATEGORIES):
        raise RoutingError(_("选择投诉类别，或选“任意类别”"))
    if values.region is None and values.department is None:
        raise RoutingError(_("选择承办区域或承办部门，至少一项"))


def _renumber(ordered: list[RoutingRule]) -> None:
    for position, rule in enumerate(ordered):
        rule.sort_order = position * 10


def add_rule(values: RuleValues) -> RoutingRule:
    """A new rule goes to the end of the table (the admin moves it up when it must win)."""
    _check(values)
    ordered = rules()
    rule = RoutingRule(category=values.category, keyword=values.keyword.strip(),
                       region=values.region, department=values.department)
    db.session.add(rule)
    _renumber([*ordered, rule])
    db.session.flush()
    audit.record("routing_rule_add", "routing_rule", str(rule.id), describe(rule))
    return rule


def update_rule(rule: RoutingRule, values: RuleValues) -> None:
    _check(values)
    before = describe(rule)
    rule.category, rule.keyword = values.category, values.keyword.strip()
    rule.region, rule.department = values.region, values.department
    audit.record("routing_rule_edit", "routing_rule", str(rule.id),
                 {"before": before, "after": describe(rule)})


def delete_rule(rule: RoutingRule) -> None:
    audit.record("routing_rule_delete", "routing_rule", str(rule.id), describe(rule))
    db.session.delete(rule)
    db.session.flush()
    _renumber(rules())


def move_rule(rule: RoutingRule, step: int) -> None:
    """Up (-1) or down (+1) one place; the first matching rule wins, so order matters."""
    ordered = rules()
    index = ordered.index(rule)
    target = index + (-1 if step < 0 else 1)
    if not 0 <= target < len(ordered):
        return
    ordered[index], ordered[target] = ordered[target], ordered[index]
    _renumber(ordered)
    audit.record("routing_rule_move", "routing_rule", str(rule.id),
                 {"from": index + 1, "to": target + 1})


def describe(rule: RoutingRule) -> dict:
    return {"category": rule.category, "keyword": rule.keyword,
            "region": rule.region.slug if rule.region else None,
            "department": rule.department.slug if rule.department else None}
