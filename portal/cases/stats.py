"""Figures drawn from the records, never typed in: 三个一批, service performance and ratings.

Every figure is counted over what ``portal.scoping.scoped`` lets the user see (a county its
own tickets and projects, the bureau all), so a county's page adds up to its own work.

三个一批 for a period (a year, a quarter, or "since" a year, as the published "2023年以来"):

- 签约一批: projects signed in the period; total investment = Σ signed amount. 签约开工率 =
  total investment of those of them started by the period's end ÷ their total investment
  (seed 003: 192.3 ÷ 223.7 亿元 = 85.96 %).
- 开工一批: projects started in the period; total investment and investment completed.
  开工项目投产率 = investment completed of those of them producing by the period's end ÷ the
  batch's total investment (seed 003: 72.36 ÷ 179.4 亿元 = 40.33 %; published 40.32 %, the
  published totals being rounded).
- 投产一批: projects that went into production in the period; total investment and expected
  annual output. Seed 003's 产业项目投产率 needs an "industrial project" mark the files do not
  keep, so it is shown only as published.

Service performance (what the UK Data Hub's SPI report measures), per ticket, in Chinese
working days (``deadlines.working_days_between`` from the Shanghai date of submission):
to acceptance (``accepted_at``), to first contact by staff (``first_contact_at``), and for a
demand to signing (its project's ``signed_on``). "Within the deadline": the ticket met the
deadline ``portal.cases.deadlines.state`` says it is or was last under (a demand's
acknowledgement, a complaint's acceptance or conclusion, pauses and extensions included); a
ticket whose deadline has not passed yet is not counted.
"""

import functools
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import BatchFigure, Complaint, Demand, Project, User
from portal.scoping import scoped

# --- periods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date
    label: str


class PeriodError(ValueError):
    """A period the page cannot read; the message is for the staff member."""


def period(key: str = "", on: date | None = None) -> Period:
    """``2026`` (a year), ``2026Q1`` (a quarter) or ``since2023`` (1 Jan 2023 to today);
    empty: the current year."""
    on = on or today()
    key = (key or str(on.year)).strip()
    try:
        if key.startswith("since") and len(key) == 9:
            year = int(key[5:])
            return Period(key, date(year, 1, 1), on,
                          _("%(year)d年以来（截至%(today)s）", year=year,
                            today=on.isoformat()))
        if len(key) == 6 and key[4] in "Qq" and key[5] in "1234":
            year, quarter = int(key[:4]), int(key[5])
            start = date(year, 3 * quarter - 2, 1)
            end = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
            end = date.fromordinal(end.toordinal() - 1)
            return Period(f"{year}Q{quarter}", start, end,
                          _("%(year)d年第%(quarter)d季度", year=year, quarter=quarter))
        if len(key) == 4:
            year = int(key)
            return Period(key, date(year, 1, 1), date(year, 12, 31),
                          _("%(year)d年", year=year))
    except ValueError:
        pass
    raise PeriodError(_("统计期格式为 2026（年度）、2026Q1（季度）或 since2023（某年以来）"))


def today() -> date:
    from portal.intake.deadlines import local_date

    return local_date(datetime.now(UTC))


# --- 三个一批 ----------------------------------------------------------------------------


@dataclass
class Batch:
    """One of the three batches in a period, with its rate (None when nothing to divide)."""

    batch: str
    projects: int = 0
    investment_wan: float = 0.0
    invested_wan: float = 0.0
    output_wan: float = 0.0
    next_projects: int = 0  # of them, started (签约一批) or producing (开工一批)
    next_wan: float = 0.0  # the numerator of the rate
    rate_percent: float | None = None
    rate_label: str = ""


def _in(day: date | None, p: Period) -> bool:
    return day is not None and p.start <= day <= p.end


def _by(day: date | None, p: Period) -> bool:
    return day is not None and day <= p.end


def own_projects(user: User) -> list[Project]:
    """The projects of the user's own tickets (not the pool offered by others)."""
    own = scoped(user, Demand, db.select(Demand.id))
    return db.session.scalars(db.select(Project).where(Project.demand_id.in_(own))
                              .order_by(Project.id)).all()


def batches(projects: Iterable[Project], p: Period) -> list[Batch]:
    signed = Batch("signed", rate_label=_("签约开工率"))
    started = Batch("started", rate_label=_("开工项目投产率"))
    producing = Batch("producing")
    for project in projects:
        total = project.signed_amount_wan or 0.0
        if _in(project.signed_on, p):
            signed.projects += 1
            signed.investment_wan += total
            if _by(project.started_on, p):
                signed.next_projects += 1
                signed.next_wan += total
        if _in(project.started_on, p):
            started.projects += 1
            started.investment_wan += total
            started.invested_wan += project.invested_wan or 0.0
            if _by(project.producing_on, p):
                started.next_projects += 1
                started.next_wan += project.invested_wan or 0.0
        if _in(project.producing_on, p):
            producing.projects += 1
            producing.investment_wan += total
            producing.invested_wan += project.invested_wan or 0.0
            producing.output_wan += project.expected_output_wan or 0.0
    for batch in (signed, started):
        if batch.investment_wan:
            batch.rate_percent = round(100 * batch.next_wan / batch.investment_wan, 2)
    return [signed, started, producing]


def published() -> dict[str, list[BatchFigure]]:
    """The published 三个一批 figures (seed 003), by area and period, as the data pack has them."""
    groups: dict[str, list[BatchFigure]] = defaultdict(list)
    for row in db.session.scalars(db.select(BatchFigure).order_by(BatchFigure.sort_order,
                                                                  BatchFigure.id)):
        groups[f"{row.area} · {row.period}"].append(row)
    return dict(groups)


# --- service performance ---------------------------------------------------------------


@dataclass
class Measures:
    """Per-ticket working days, collected per group."""

    tickets: int = 0
    to_accept: list[int] = field(default_factory=list)
    to_contact: list[int] = field(default_factory=list)
    to_sign: list[int] = field(default_factory=list)
    settled: int = 0
    on_time: int = 0

    @staticmethod
    def median(values: list[int]) -> float | None:
        return statistics.median(values) if values else None

    @staticmethod
    def mean(values: list[int]) -> float | None:
        return round(statistics.fmean(values), 1) if values else None

    @property
    def on_time_percent(self) -> float | None:
        return round(100 * self.on_time / self.settled, 1) if self.settled else None


@dataclass
class Performance:
    total: Measures
    by_region: dict[str, Measures]
    by_month: dict[str, Measures]
    by_region_month: dict[tuple[str, str], Measures]


def _days(start: datetime, end: datetime | date | None) -> int | None:
    from portal.intake.deadlines import local_date

    if end is None:
        return None
    return _working_days(local_date(start), local_date(end))


@functools.lru_cache(maxsize=65536)
def _working_days(a: date, b: date) -> int:
    """Cached: many tickets share their days, and the count walks the calendar day by day."""
    from portal.intake.deadlines import working_days_between

    return working_days_between(a, b)


def on_time(record, now: datetime | None = None) -> bool | None:
    """Whether the ticket met the deadline it is or was last under (``portal.cases.deadlines``
    decides which and when): True, False, or None while it still may, or when nothing tells
    when the step was done."""
    from portal.cases import deadlines

    now = now or datetime.now(UTC)
    current = deadlines.state(record, now)
    if current.kind is None or current.due_at is None:
        return None
    if current.active:  # the step is still owed: late once the deadline has passed
        return False if (not current.paused and now > current.due_at) else None
    done = _done_at(record, deadlines._RUNNING[current.kind])
    return None if done is None else _aware(done) <= current.due_at


def _done_at(record, running: set[str]) -> datetime | None:
    """When the ticket last left the statuses in which the deadline runs; without a timeline
    (records from before it), the stamped milestone."""
    done = None
    for event in record.events:
        if event.kind != "status":
            continue
        if event.status in running:
            done = None
        elif done is None:
            done = event.at
    if done is not None:
        return done
    if isinstance(record, Demand):
        return record.accepted_at or record.closed_at
    return record.closed_at


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def performance(user: User, now: datetime | None = None) -> Performance:
    from portal.intake.deadlines import local_date

    total, regions, months, both = Measures(), defaultdict(Measures), defaultdict(Measures), \
        defaultdict(Measures)
    for model in (Demand, Complaint):
        stmt = scoped(user, model, db.select(model)).options(selectinload(model.region),
                                                             selectinload(model.events))
        if model is Demand:
            stmt = stmt.options(selectinload(Demand.project))
        for record in db.session.scalars(stmt):
            region = record.region.tr("name") if record.region else _("未分配")
            month = local_date(record.submitted_at).strftime("%Y-%m")
            groups = (total, regions[region], months[month], both[(region, month)])
            accept = _days(record.submitted_at, record.accepted_at)
            contact = _days(record.submitted_at, record.first_contact_at)
            project = record.project if model is Demand else None
            sign = _days(record.submitted_at, project.signed_on) if project else None
            met = on_time(record, now)
            for m in groups:
                m.tickets += 1
                if accept is not None:
                    m.to_accept.append(accept)
                if contact is not None:
                    m.to_contact.append(contact)
                if sign is not None:
                    m.to_sign.append(sign)
                if met is not None:
                    m.settled += 1
                    m.on_time += met
    return Performance(total, dict(sorted(regions.items())), dict(sorted(months.items())),
                       dict(sorted(both.items())))


def performance_rows(perf: Performance):
    """The figures as rows for CSV and XLSX (numbers stay numbers)."""
    yield [_("分组"), _("区域"), _("月份"), _("件数"), _("已受理件数"),
           _("受理用时中位数（工作日）"), _("受理用时平均（工作日）"),
           _("已首次联系件数"), _("首次联系用时中位数（工作日）"),
           _("已签约件数"), _("签约用时中位数（工作日）"), _("已到期件数"), _("按期办理件数"),
           _("按期办理率（%）")]

    def row(group, region, month, m: Measures):
        return [group, region, month, m.tickets, len(m.to_accept), m.median(m.to_accept),
                m.mean(m.to_accept), len(m.to_contact), m.median(m.to_contact), len(m.to_sign),
                m.median(m.to_sign), m.settled, m.on_time, m.on_time_percent]

    yield row(_("合计"), "", "", perf.total)
    for region, m in perf.by_region.items():
        yield row(_("按区域"), region, "", m)
    for month, m in perf.by_month.items():
        yield row(_("按月份"), "", month, m)
    for (region, month), m in perf.by_region_month.items():
        yield row(_("按区域和月份"), region, month, m)


# --- ratings ---------------------------------------------------------------------------


@dataclass
class Rating:
    label: str
    count: int = 0
    total: int = 0

    @property
    def average(self) -> float | None:
        return round(self.total / self.count, 2) if self.count else None


def ratings(user: User) -> dict[str, list[Rating]]:
    """Average rating (1–5) and how many rated, by region and by category (a complaint's
    category; demands form one category), over the tickets in the user's scope."""
    from portal.labels import LABELS
    from portal.models import Region

    by_region: dict[str, Rating] = {}
    by_category: dict[str, Rating] = {}
    for model in (Demand, Complaint):
        group = Complaint.category if model is Complaint else db.literal("demand")
        stmt = scoped(user, model, db.select(
            model.region_id, group, db.func.count(model.rating), db.func.sum(model.rating))
            .where(model.rating.is_not(None)).group_by(model.region_id, group))
        for region_id, category, count, total in db.session.execute(stmt):
            region = db.session.get(Region, region_id) if region_id else None
            name = region.tr("name") if region else _("未分配")
            label = str(_("投资需求") if category == "demand"
                        else LABELS["complaint_category"].get(category, category))
            for key, bucket in ((name, by_region), (label, by_category)):
                rating = bucket.setdefault(key, Rating(key))
                rating.count += int(count)
                rating.total += int(total or 0)
    return {"by_region": sorted(by_region.values(), key=lambda r: r.label),
            "by_category": sorted(by_category.values(), key=lambda r: r.label)}


def dashboard(user: User) -> dict:
    """The few figures the dashboard shows beside the ticket tiles."""
    from portal.cases import projects as files

    perf = performance(user)
    rated = ratings(user)
    count = sum(r.count for r in rated["by_region"])
    stars = sum(r.total for r in rated["by_region"])
    mine = own_projects(user)
    on = files.today()
    return {
        "median_accept": perf.total.median(perf.total.to_accept),
        "median_contact": perf.total.median(perf.total.to_contact),
        "on_time_percent": perf.total.on_time_percent,
        "settled": perf.total.settled,
        "rating_average": round(stars / count, 2) if count else None,
        "rating_count": count,
        "ratings": rated,
        "projects": len(mine),
        "stalled": sum(1 for p in mine if files.stalled(p, on)),
    }
