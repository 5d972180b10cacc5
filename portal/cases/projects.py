"""一项目一档案: the file of an accepted demand from first talk to production.

A project is opened when its demand is accepted (``follow``, called by the one workflow
function) so that no accepted demand is missing from the 三个一批 figures because somebody
forgot a click; ``open_for`` also lets staff open one for a demand accepted before projects
existed. Its stage and the demand's status move together: staff record a stage here
(``advance``) and the demand walks the same steps through ``workflow.transition``, which writes
the timeline and the audit trail; a status change made on the demand itself moves the stage.

The pool (一图两库): the bureau sees every project, a county its own (through ``scoped`` on the
demand) plus the projects other regions offered for transfer (``in_pool``), of which it sees
only non-personal facts.
"""

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_

from portal import audit
from portal.extensions import db
from portal.models import Demand, Project, User
from portal.scoping import scoped

# Project stage → the demand status that means the same step.
STAGE_STATUS = {"negotiating": "negotiating", "signed": "signed", "started": "started",
                "producing": "producing", "closed": "closed"}
NEXT_STAGES = {
    "negotiating": ("signed", "closed"),
    "signed": ("started", "closed"),
    "started": ("producing", "closed"),
    "producing": ("closed",),
    "closed": (),
}
STAGE_DATE = {"signed": "signed_on", "started": "started_on", "producing": "producing_on",
              "closed": "closed_on"}
# Seed 004 (21) 清理退出: signed but not started after 6 months, started but not producing
# after 2 years.
STALL_MONTHS = {"signed": 6, "started": 24}
FIGURE_FIELDS = ("signed_amount_wan", "invested_wan", "expected_output_wan", "jobs")
MANAGERS = ("admin", "bureau", "region")
STAGE_LABELS = {"negotiating": _l("对接中"), "signed": _l("已签约"), "started": _l("已开工"),
                "producing": _l("已投产"), "closed": _l("已结束")}
STALL_LABELS = {"signed": _l("签约满6个月未开工"), "started": _l("开工满2年未投产")}


class ProjectError(ValueError):
    """A stage or figure the file cannot take; the message is for the staff member."""


def today() -> date:
    from portal.intake.deadlines import local_date

    return local_date(datetime.now(UTC))


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day (31 Aug + 6 months: 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def stalled(project: Project, on: date | None = None) -> str:
    """``signed`` (signed, not started after 6 months), ``started`` (started, not producing
    after 2 years) or "" — candidates for 清理退出."""
    on = on or today()
    since = {"signed": project.signed_on, "started": project.started_on}.get(project.stage)
    if since is None:
        return ""
    return project.stage if add_months(since, STALL_MONTHS[project.stage]) <= on else ""


def may_manage(user: User) -> bool:
    return user.role in MANAGERS


# --- the file follows its demand --------------------------------------------------------

def open_for(demand: Demand, *, actor=None, audited: bool = True) -> Project:
    """The demand's project, opened now if it has none (an accepted demand only). Opened by
    the acceptance itself, it needs no audit event of its own: the status change has one."""
    if demand.project is not None:
        return demand.project
    if demand.status in ("submitted", "closed"):
        raise ProjectError(_("需求受理后才能建立项目档案"))
    stage = demand.status if demand.status in STAGE_STATUS else "negotiating"
    project = Project(demand=demand, region_id=demand.region_id, name=demand.company_name[:200],
                      stage=stage, figures={})
    db.session.add(project)
    if audited:
        audit.record("project_open", "demand", demand.ticket, {"stage": stage}, actor=actor)
    return project


def follow(demand: Demand, to_status: str, at: datetime, note: str = "") -> None:
    """Called by ``workflow.transition`` after a demand's status moved: open the file on
    acceptance, keep the stage in step after, and date a stage nobody dated yet."""
    from portal.intake.deadlines import local_date

    if to_status == "accepted" and demand.project is None:
        open_for(demand, audited=False)
        return
    project = demand.project
    if project is None or to_status not in STAGE_STATUS:
        return
    project.stage = to_status
    project.region_id = demand.region_id
    field = STAGE_DATE.get(to_status)
    if field and getattr(project, field) is None:
        setattr(project, field, local_date(at))
    if to_status == "closed" and note and not project.outcome:
        project.outcome = note


def _walk(demand: Demand, target: str) -> list[str]:
    """The demand statuses from its current one to ``target``, in flow order."""
    from portal.models import DEMAND_FLOW

    order = [s for s in DEMAND_FLOW if s != "closed"]
    if target == "closed":
        return ["closed"]
    if demand.status not in order or order.index(target) <= order.index(demand.status):
        return []
    return order[order.index(demand.status) + 1: order.index(target) + 1]


@dataclass
class Progress:
    """What staff record on the file in one go: a stage (or none), its date, figures, a note."""

    stage: str = ""
    on: date | None = None
    signed_amount_wan: float | None = None
    invested_wan: float | None = None
    expected_output_wan: float | None = None
    jobs: int | None = None
    note: str = ""
    name: str = ""


def advance(project: Project, progress: Progress, *, actor: User, ip: str = "") -> None:
    """Record figures and, when ``progress.stage`` is set, move the file and its demand to it.

    Raises ProjectError for a stage the file cannot reach, a date in the future or before the
    previous stage, or a signing without the signed amount.
    """
    from portal.intake import workflow

    stage, on = progress.stage, progress.on or today()
    if stage and stage not in NEXT_STAGES[project.stage]:
        raise ProjectError(_("项目当前阶段不能直接转为所选阶段"))
    if stage and on > today():
        raise ProjectError(_("日期不能晚于今天"))
    if stage:
        previous = [getattr(project, f) for s, f in STAGE_DATE.items()
                    if s != "closed" and getattr(project, f) is not None]
        if previous and on < max(previous):
            raise ProjectError(_("日期不能早于上一阶段的日期"))
    for name in FIGURE_FIELDS:
        value = getattr(progress, name)
        if value is not None:
            setattr(project, name, value)
    if stage == "signed" and not project.signed_amount_wan:
        raise ProjectError(_("签约时填写签约金额（万元）"))
    if stage == "closed" and not progress.note.strip():
        raise ProjectError(_("结束项目时写明结果，如：企业放弃投资"))
    if progress.name.strip():
        project.name = progress.name.strip()[:200]
    demand = project.demand
    if stage:
        steps = _walk(demand, STAGE_STATUS[stage])
        if not steps and demand.status != STAGE_STATUS[stage]:
            raise ProjectError(_("项目当前阶段不能直接转为所选阶段"))
        for i, status in enumerate(steps):
            last = i == len(steps) - 1
            workflow.transition(demand, status, actor=actor, note=progress.note if last else "",
                                public=True, ip=ip)
        project.stage = stage
        setattr(project, STAGE_DATE[stage], on)
        if stage == "closed":
            from portal.cases import notices

            project.outcome = progress.note.strip()
            notices.to_investor(demand, "closed", project.outcome)
    audit.record("project_record", "demand", demand.ticket,
                 {"stage": stage or project.stage, "on": on.isoformat() if stage else None,
                  **{f: getattr(project, f) for f in FIGURE_FIELDS}}, actor=actor, ip=ip)


def offer(project: Project, in_pool: bool, *, actor: User) -> None:
    """Offer the project to the pool for another region to take (or withdraw it)."""
    project.in_pool = in_pool
    audit.record("project_pool" if in_pool else "project_unpool", "demand",
                 project.demand.ticket, {}, actor=actor)


# --- the pool --------------------------------------------------------------------------

def own_ids(user: User):
    """The demand ids of the projects this user's scope holds (a subquery)."""
    return scoped(user, Demand, db.select(Demand.id))


def visible(user: User, stmt):
    """``stmt`` (a select over Project) narrowed to what ``user`` may list: their own
    projects, and for county and zone staff also those offered to the pool."""
    own = Project.demand_id.in_(own_ids(user))
    if user.is_authenticated and user.role == "region" and user.region is not None:
        return stmt.where(or_(own, Project.in_pool))
    return stmt.where(own)


@dataclass
class Filters:
    stage: str = ""
    region: str = ""
    stalled: bool = False
    pool: bool = False
    q: str = ""


@dataclass
class Row:
    """One project as this user may see it: ``mine`` is False for a pool project of another
    region (no ticket link, no contacts)."""

    project: Project
    mine: bool
    stalled: str


def pool(user: User, filters: Filters, *, on: date | None = None) -> list[Row]:
    from portal.sites.services import region_ids

    stmt = visible(user, db.select(Project).join(Demand, Project.demand_id == Demand.id))
    if filters.stage:
        stmt = stmt.where(Project.stage == filters.stage)
    if filters.region:
        stmt = stmt.where(Demand.region_id.in_(region_ids(filters.region) or [-1]))
    if filters.pool:
        stmt = stmt.where(Project.in_pool)
    if filters.q:
        like = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Project.name.like(like, escape="\\"),
                              Demand.company_name.like(like, escape="\\")))
    projects = db.session.scalars(stmt.order_by(Project.updated_at.desc(), Project.id.desc())
                                  .limit(2000)).all()
    mine = set(db.session.scalars(own_ids(user)).all()) if projects else set()
    rows = [Row(p, p.demand_id in mine, stalled(p, on)) for p in projects]
    return [r for r in rows if r.stalled] if filters.stalled else rows


def export_rows(rows: list[Row]):
    """The pool as rows for CSV and XLSX: facts only, never the investor's contacts; the
    ticket only for the user's own projects. Numbers stay numbers (XLSX keeps them typed)."""
    yield [_("项目"), _("企业"), _("编号"), _("区域"), _("行业"), _("阶段"), _("签约金额（万元）"),
           _("已完成投资（万元）"), _("预计年产值（万元）"), _("就业人数"), _("签约日期"),
           _("开工日期"), _("投产日期"), _("结束日期"), _("结果"), _("入库流转"), _("停滞")]
    for row in rows:
        p, d = row.project, row.project.demand
        yield [p.name, d.company_name, d.ticket if row.mine else "",
               d.region.tr("name") if d.region else "",
               d.industry.tr("name") if d.industry else "", str(STAGE_LABELS[p.stage]),
               p.signed_amount_wan, p.invested_wan, p.expected_output_wan, p.jobs,
               _iso(p.signed_on), _iso(p.started_on), _iso(p.producing_on), _iso(p.closed_on),
               p.outcome, _("是") if p.in_pool else "", str(STALL_LABELS.get(row.stalled, ""))]


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
