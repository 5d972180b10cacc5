"""Tests for portal.intake.deadlines on the State Council's 2026 schedule, as chinese_calendar
carries it, and on the weekend fallback for years not yet published.

2026 Spring Festival: 15-23 February off (Sunday to Monday); Saturdays 14 and 28 February
worked. National Day and Mid-autumn: 1-7 October off; Sunday 20 September and Saturday
10 October worked.
"""

from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from flask import Flask

from portal.intake import deadlines
from portal.intake.deadlines import (
    add_working_days,
    deadline_days,
    due_date,
    end_of_local_day,
    is_working_day,
    known_year,
    local_date,
    provisional,
    ticket_due_date,
    working_days_between,
    working_days_paused,
)

SPRING_EVE = date(2026, 2, 14)  # Saturday, a 调休 working day, the last before the holiday


# --- The calendar -------------------------------------------------------------------------

@pytest.mark.parametrize("day", [
    date(2026, 1, 4),  # Sunday worked for New Year
    date(2026, 2, 14),  # Saturday worked for the Spring Festival
    date(2026, 2, 28),  # Saturday worked for the Spring Festival
    date(2026, 9, 20),  # Sunday worked for National Day
    date(2026, 10, 10),  # Saturday worked for National Day
    date(2026, 2, 24),  # Tuesday, the first day back
    date(2026, 10, 8),  # Thursday, the first day back
])
def test_make_up_weekends_and_first_days_back_are_working_days(day):
    assert is_working_day(day)


@pytest.mark.parametrize("day", [
    date(2026, 1, 2),  # Friday, New Year in lieu
    date(2026, 2, 16),  # Monday, Spring Festival
    date(2026, 2, 17),  # Tuesday, 春节 itself
    date(2026, 2, 20),  # Friday, in lieu
    date(2026, 2, 23),  # Monday, in lieu
    date(2026, 10, 1),  # Thursday, National Day
    date(2026, 10, 7),  # Wednesday, in lieu
    date(2026, 3, 7),  # an ordinary Saturday
    date(2026, 3, 8),  # an ordinary Sunday
])
def test_holidays_and_ordinary_weekends_are_not(day):
    assert not is_working_day(day)


def test_spring_festival_2026_as_a_whole():
    february = [date(2026, 2, d) for d in range(14, 29)]
    working = [day.day for day in february if is_working_day(day)]
    assert working == [14, 24, 25, 26, 27, 28]


def test_is_working_day_wants_a_date():
    with pytest.raises(TypeError):
        is_working_day(datetime(2026, 3, 2, 9, tzinfo=UTC))


# --- Counting -----------------------------------------------------------------------------

def test_day_one_is_the_next_working_day():
    assert add_working_days(date(2026, 3, 2), 0) == date(2026, 3, 2)
    assert add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 3)


def test_from_a_friday():
    friday = date(2026, 3, 6)
    assert add_working_days(friday, 1) == date(2026, 3, 9)
    assert add_working_days(friday, 7) == date(2026, 3, 17)


def test_from_a_saturday_on_an_ordinary_weekend():
    assert add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)


def test_friday_before_the_spring_festival_meets_the_make_up_saturday():
    assert add_working_days(date(2026, 2, 13), 1) == SPRING_EVE


def test_from_the_day_before_the_spring_festival():
    assert add_working_days(SPRING_EVE, 1) == date(2026, 2, 24)
    # Spring Festival accept deadline: 7 working days run into March.
    assert add_working_days(SPRING_EVE, 7) == date(2026, 3, 3)


def test_across_a_make_up_saturday():
    assert add_working_days(date(2026, 2, 27), 1) == date(2026, 2, 28)
    assert add_working_days(date(2026, 2, 26), 2) == date(2026, 2, 28)
    assert add_working_days(date(2026, 2, 26), 3) == date(2026, 3, 2)


def test_across_national_day_2026():
    eve = date(2026, 9, 30)
    assert add_working_days(eve, 1) == date(2026, 10, 8)
    assert add_working_days(eve, 3) == date(2026, 10, 10)  # the make-up Saturday
    assert add_working_days(eve, 4) == date(2026, 10, 12)
    # Mid-autumn 25-27 September and the make-up Sunday before it.
    assert add_working_days(date(2026, 9, 19), 1) == date(2026, 9, 20)
    assert add_working_days(date(2026, 9, 24), 1) == date(2026, 9, 28)


def test_sixty_working_days_in_2026():
    assert add_working_days(date(2026, 3, 2), 60) == date(2026, 5, 28)
    assert working_days_between(date(2026, 3, 2), date(2026, 5, 28)) == 60


def test_negative_count_is_refused():
    with pytest.raises(ValueError):
        add_working_days(date(2026, 3, 2), -1)


@pytest.mark.parametrize("start", [date(2026, 1, 1), SPRING_EVE, date(2026, 9, 18),
                                   date(2026, 12, 20)])
@pytest.mark.parametrize("n", [0, 1, 5, 7, 22])
def test_between_inverts_add(start, n):
    assert working_days_between(start, add_working_days(start, n)) == n


def test_between_counts_after_a_up_to_b():
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert working_days_between(date(2026, 2, 24), date(2026, 2, 24)) == 0
    assert working_days_between(date(2026, 2, 24), date(2026, 2, 13)) == -2  # overdue


# --- Pauses and due dates ------------------------------------------------------------------

def test_paused_working_days():
    # Supplements asked on Wednesday 4 March, received Monday 9 March: the clock stood still
    # on 5, 6 and 9 March.
    assert working_days_paused(date(2026, 3, 4), date(2026, 3, 9)) == 3
    assert working_days_paused(date(2026, 3, 4), date(2026, 3, 4)) == 0
    assert working_days_paused(date(2026, 3, 9), date(2026, 3, 4)) == 0
    # Across the Spring Festival only the make-up Saturday and the first day back count.
    assert working_days_paused(date(2026, 2, 13), date(2026, 2, 24)) == 2


def test_due_date_without_and_with_a_pause():
    monday = date(2026, 3, 2)
    assert due_date(monday, 7, 0) == date(2026, 3, 11)
    paused = working_days_paused(date(2026, 3, 4), date(2026, 3, 9))
    assert due_date(monday, 7, paused) == date(2026, 3, 16)
    assert due_date(monday, 7, paused, extension_days=5) == date(2026, 3, 23)


def test_pause_over_the_spring_festival():
    start = date(2026, 2, 9)
    assert due_date(start, 7, 0) == date(2026, 2, 25)
    assert due_date(start, 7, working_days_paused(date(2026, 2, 11), date(2026, 2, 24))) \
        == date(2026, 3, 2)


def ticket(**columns):
    values = {"materials_complete_at": datetime(2026, 3, 2, 1, tzinfo=UTC),
              "paused_since": None, "paused_working_days": 0, "region_id": 1}
    values.update(columns)
    return SimpleNamespace(**values)


def test_ticket_due_date():
    assert ticket_due_date(ticket(), 7) == date(2026, 3, 11)
    assert ticket_due_date(ticket(paused_working_days=3), 7) == date(2026, 3, 16)
    assert ticket_due_date(ticket(materials_complete_at=None), 7) is None


def test_ticket_due_date_counts_an_open_pause_to_today():
    open_pause = ticket(paused_since=datetime(2026, 3, 4, 2, tzinfo=UTC))
    assert ticket_due_date(open_pause, 7, today=date(2026, 3, 4)) == date(2026, 3, 11)
    assert ticket_due_date(open_pause, 7, today=date(2026, 3, 9)) == date(2026, 3, 16)


def test_ticket_due_date_open_pause_defaults_to_now():
    long_ago = ticket(materials_complete_at=datetime(2025, 1, 2, tzinfo=UTC),
                      paused_since=datetime(2025, 1, 3, tzinfo=UTC))
    today = local_date(datetime.now(UTC))
    due = ticket_due_date(long_ago, 1)
    # The pause still runs: the one working day left is never later than today.
    assert due <= today
    assert working_days_between(due, today) == 0


def test_a_transfer_changes_nothing():
    before = ticket(paused_working_days=2)
    after = ticket(paused_working_days=2, region_id=9)  # another region now answers for it
    assert ticket_due_date(before, 60) == ticket_due_date(after, 60)


# --- Years the package does not know --------------------------------------------------------

def test_2027_falls_back_to_weekends():
    assert known_year(2026)
    assert not known_year(2027)
    assert is_working_day(date(2027, 1, 1))  # New Year, but no published schedule yet
    assert not is_working_day(date(2027, 1, 2))  # Saturday
    assert add_working_days(date(2026, 12, 31), 2) == date(2027, 1, 4)
    assert provisional(date(2026, 12, 31), date(2027, 1, 4))
    assert not provisional(date(2026, 3, 2), date(2026, 5, 28))
    assert provisional(date(2027, 1, 4), date(2026, 12, 31))


def test_extra_tables_add_a_year(monkeypatch):
    monkeypatch.setattr(deadlines, "HOLIDAYS_EXTRA", {date(2027, 1, 1)})
    monkeypatch.setattr(deadlines, "WORKDAYS_EXTRA", {date(2027, 1, 9)})
    assert known_year(2027)
    assert not is_working_day(date(2027, 1, 1))
    assert is_working_day(date(2027, 1, 9))  # a Saturday
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)


def test_extra_tables_override_the_package(monkeypatch):
    monkeypatch.setattr(deadlines, "HOLIDAYS_EXTRA", {date(2026, 3, 2)})
    assert not is_working_day(date(2026, 3, 2))


def test_years_before_the_package_are_weekends_only():
    assert not known_year(2003)
    assert is_working_day(date(2003, 10, 1))


# --- Configuration ----------------------------------------------------------------------------

def test_deadline_days_defaults():
    with Flask(__name__).app_context():
        assert deadline_days("complaint_accept") == 7
        assert deadline_days("complaint_conclude") == 60
        assert deadline_days("demand_ack") == 1
        assert deadline_days("demand") == 1


def test_deadline_days_from_config():
    app = Flask(__name__)
    app.config.update(DEADLINE_COMPLAINT_ACCEPT_DAYS="5", DEADLINE_COMPLAINT_CONCLUDE_DAYS=30,
                      DEADLINE_DEMAND_ACK_DAYS=2)
    with app.app_context():
        assert deadline_days("complaint_accept") == 5
        assert deadline_days("complaint_conclude") == 30
        assert deadline_days("demand") == 2
        with pytest.raises(ValueError):
            deadline_days("appeal")


# --- Time zones -------------------------------------------------------------------------------

def test_local_date_is_the_day_in_shanghai():
    assert local_date(datetime(2026, 2, 14, 15, 59, tzinfo=UTC)) == date(2026, 2, 14)
    assert local_date(datetime(2026, 2, 14, 16, 0, tzinfo=UTC)) == date(2026, 2, 15)
    assert local_date(datetime(2026, 2, 14, 16, 0)) == date(2026, 2, 15)  # naive is UTC
    new_york = timezone(timedelta(hours=-5))
    assert local_date(datetime(2026, 2, 14, 12, 0, tzinfo=new_york)) == date(2026, 2, 15)
    assert local_date(date(2026, 2, 14)) == date(2026, 2, 14)


def test_end_of_local_day():
    end = end_of_local_day(date(2026, 2, 24))
    assert end == datetime(2026, 2, 24, 15, 59, 59, tzinfo=UTC)
    assert local_date(end) == date(2026, 2, 24)
    assert local_date(end + timedelta(seconds=1)) == date(2026, 2, 25)
