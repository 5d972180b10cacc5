"""Deadlines in Chinese working days (工作日), as the 外商投资企业投诉工作办法 counts them.

The clock lives on the ticket, not on whoever holds it: ``materials_complete_at``,
``paused_since`` and ``paused_working_days`` stay as they are when a ticket is transferred
to another region or person, so a transfer neither restarts nor extends the deadline.

Rules, in one place:

- Day 1 is the first working day *after* the day complete materials arrive.
- While the office awaits supplements (补正) the clock stops: the working days after the
  request up to and including the day the supplements arrive are added to the deadline.
- Working days follow the State Council's holiday schedule, including 调休 weekends that are
  working days. The ``chinese_calendar`` package knows the years it was released for; later
  years fall back to ``HOLIDAYS_EXTRA`` / ``WORKDAYS_EXTRA`` and otherwise to plain weekends,
  and ``known_year`` tells the pages to call such a deadline provisional.
- Tickets store aware UTC datetimes; the calendar day of an instant is the day in Shanghai.
"""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from flask import current_app

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The State Council publishes each year's schedule (国务院办公厅关于某年部分节假日安排的通知)
# around November of the year before; chinese_calendar usually follows within weeks. Until
# the installed package knows a year, add that year's whole schedule here: every day off
# that falls on a weekday in HOLIDAYS_EXTRA and every 调休 Saturday or Sunday that is worked
# in WORKDAYS_EXTRA, e.g. ``date(2027, 2, 6)``. Entries here win over the package, so they
# can also correct it. Add the whole year at once: any entry makes ``known_year`` true.
HOLIDAYS_EXTRA: set[date] = set()
WORKDAYS_EXTRA: set[date] = set()

_PACKAGE_YEARS = range(min(chinese_calendar.holidays).year,
                       max(chinese_calendar.holidays).year + 1)

# Config key, default and accepted kind names. 7 working days to decide whether to accept a
# complaint and 60 to conclude it (外商投资企业投诉工作办法); a demand is acknowledged within 1.
_DAYS = {
    "complaint_accept": ("DEADLINE_COMPLAINT_ACCEPT_DAYS", 7),
    "complaint_conclude": ("DEADLINE_COMPLAINT_CONCLUDE_DAYS", 60),
    "demand_ack": ("DEADLINE_DEMAND_ACK_DAYS", 1),
}
_DAYS["demand"] = _DAYS["demand_ack"]


def known_year(year: int) -> bool:
    """Whether the holiday schedule of ``year`` is known, so deadlines in it are final."""
    return year in _PACKAGE_YEARS or any(
        day.year == year for day in HOLIDAYS_EXTRA | WORKDAYS_EXTRA)


def provisional(start: date, end: date) -> bool:
    """Whether a period touches a year whose holiday schedule is not yet known."""
    first, last = sorted((start.year, end.year))
    return not all(known_year(year) for year in range(first, last + 1))


def is_working_day(day: date) -> bool:
    if isinstance(day, datetime):
        raise TypeError("pass a date; use local_date() for a datetime")
    if day in WORKDAYS_EXTRA:
        return True
    if day in HOLIDAYS_EXTRA:
        return False
    if day.year in _PACKAGE_YEARS:
        return _package_workday(day)
    return day.weekday() < 5


@lru_cache(maxsize=8192)
def _package_workday(day: date) -> bool:
    """Cached: chinese_calendar scans its tables on every call, and the dashboard's figures
    ask about the same few hundred days for every ticket."""
    return chinese_calendar.is_workday(day)


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start``; ``start`` itself never counts. n=0: start."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    while n:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """Working days after ``a`` up to and including ``b``; negative when ``b`` is before ``a``.

    The inverse of ``add_working_days``: ``working_days_between(a, add_working_days(a, n))``
    is ``n``. ``working_days_between(today, due)`` is the number of working days left.
    """
    if b < a:
        return -working_days_between(b, a)
    return sum(1 for offset in range(1, (b - a).days + 1)
               if is_working_day(a + timedelta(days=offset)))


def working_days_paused(since: date, until: date) -> int:
    """Working days a pause stopped the clock for: after ``since`` up to and including ``until``.

    The day supplements are requested still counts (the clock ran that day); the day they
    arrive does not, as the clock restarts the day after, as it does on first arrival. A
    pause ended the same day costs nothing.
    """
    return max(0, working_days_between(since, until))


def due_date(materials_complete: date, working_days: int, paused_working_days: int = 0,
             extension_days: int = 0) -> date:
    """The last working day of a period that started when complete materials arrived.

    Pauses and an approved extension push the date by their working days; the period always
    counts from ``materials_complete`` (a transfer changes nothing, see the module docstring).
    """
    return add_working_days(materials_complete,
                            working_days + paused_working_days + extension_days)


def ticket_due_date(ticket, working_days: int, *, extension_days: int = 0,
                    today: date | None = None) -> date | None:
    """``due_date`` for a Demand or Complaint, counting a pause still open as lasting to today.

    None while the materials are incomplete (the clock has not started).
    """
    if ticket.materials_complete_at is None:
        return None
    paused = ticket.paused_working_days or 0
    if ticket.paused_since is not None:
        today = today or local_date(datetime.now(UTC))
        paused += working_days_paused(local_date(ticket.paused_since), today)
    return due_date(local_date(ticket.materials_complete_at), working_days, paused,
                    extension_days)


def deadline_days(kind: str) -> int:
    """Working days allowed for ``complaint_accept``, ``complaint_conclude`` or ``demand_ack``
    (alias ``demand``), from the app config, which may hold them as strings from the
    environment."""
    try:
        key, default = _DAYS[kind]
    except KeyError:
        raise ValueError(f"unknown deadline kind: {kind!r}") from None
    return int(current_app.config.get(key, default))


def local_date(dt: datetime | date) -> date:
    """The Shanghai calendar date of an instant; a naive datetime is taken as UTC.

    (SQLite returns the stored UTC datetimes without their time zone.) A date passes as is.
    """
    if not isinstance(dt, datetime):
        return dt
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(SHANGHAI).date()


def end_of_local_day(day: date) -> datetime:
    """23:59:59 in Shanghai on ``day``, in UTC: the instant a deadline on that day passes."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI).astimezone(UTC)
