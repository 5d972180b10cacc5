"""Deadlines from one function (portal.cases.deadlines.state), with dates counted by hand on
the State Council's 2026 schedule.

2026 Spring Festival: 15-23 February off; Saturdays 14 and 28 February worked. So 7 working
days after Friday 13 February are 14, 24, 25, 26, 27, 28 February and 2 March.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from portal.cases import deadlines
from portal.extensions import db
from portal.intake import workflow
from portal.intake.deadlines import SHANGHAI, add_working_days, end_of_local_day
from portal.models import AuditEvent, Complaint, Demand, utcnow
from tests import factories

PASSWORD = "copper kettle drum"


def at(year, month, day, hour=10) -> datetime:
    """An instant given in Shanghai wall time."""
    return datetime(year, month, day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def complaint(ticket="C-TEST000001", materials=None, **kw) -> Complaint:
    materials = materials or at(2026, 2, 13)
    values = {"access_code_hash": "x", "contact_name": "李经理", "consent_at": materials,
              "submitted_at": materials, "materials_complete_at": materials,
              "category": "approval", "respondent_name": "某局", "facts": "审批久拖不决",
              "status": "submitted"} | kw
    row = Complaint(ticket=ticket, **values)
    db.session.add(row)
    db.session.flush()
    return row


def demand(ticket="D-TEST000001", materials=None, **kw) -> Demand:
    materials = materials or at(2026, 2, 13)
    values = {"access_code_hash": "x", "contact_name": "王总", "company_name": "示例科技有限公司",
              "consent_at": materials, "submitted_at": materials,
              "materials_complete_at": materials, "status": "submitted"} | kw
    row = Demand(ticket=ticket, **values)
    db.session.add(row)
    db.session.flush()
    return row


# --- acceptance -----------------------------------------------------------------------------

def test_acceptance_deadline_runs_across_the_spring_festival(ctx):
    record = complaint()
    state = deadlines.state(record, at(2026, 2, 26))
    assert state.kind == deadlines.ACCEPTANCE and state.allowed_days == 7
    assert state.due_on == date(2026, 3, 2)
    assert state.due_at == end_of_local_day(date(2026, 3, 2))
    assert state.days_left == 3 and not state.due_soon and not state.overdue


@pytest.mark.parametrize("now, left, due_soon, overdue", [
    (at(2026, 2, 27), 2, True, False),  # 28 February (worked) and 2 March left
    (at(2026, 3, 1), 1, True, False),  # a Sunday: only the due day is left
    (at(2026, 3, 2, 23), 0, True, False),  # the last evening
    (at(2026, 3, 3, 0), -1, False, True),  # just after midnight in Shanghai
])
def test_acceptance_due_soon_then_overdue(ctx, now, left, due_soon, overdue):
    state = deadlines.state(complaint(), now)
    assert (state.days_left, state.due_soon, state.overdue) == (left, due_soon, overdue)


def test_refused_or_closed_before_acceptance_is_never_overdue(ctx):
    record = complaint(status="rejected")
    state = deadlines.state(record, at(2026, 6, 1))
    assert state.kind == deadlines.ACCEPTANCE and not state.active and not state.overdue


# --- supplements (补正) ---------------------------------------------------------------------

def test_an_open_pause_moves_the_date_and_stops_the_flags(ctx):
    # Complete on Monday 2 March: due Wednesday 11 March. Supplements asked on Wednesday
    # 4 March; on Monday 9 March the clock has stood still on 5, 6 and 9 March.
    record = complaint(materials=at(2026, 3, 2), status="supplement",
                       paused_since=at(2026, 3, 4))
    state = deadlines.state(record, at(2026, 3, 9))
    assert state.paused and state.paused_days == 3 and state.due_on == date(2026, 3, 16)
    late = deadlines.state(record, at(2026, 3, 30))  # still waiting long after: never overdue
    assert late.paused and not late.overdue and not late.due_soon


def test_a_six_working_day_pause_moves_the_due_date_by_six(ctx):
    record = complaint(materials=at(2026, 3, 2), paused_working_days=6)
    state = deadlines.state(record, at(2026, 3, 12))
    # 7 + 6 working days after 2 March: 3-6, 9-13, 16-19 March.
    assert state.due_on == date(2026, 3, 19) and state.paused_days == 6
    assert not state.paused and not state.overdue  # 12 March: past the unpaused date


def test_the_workflow_counts_the_pause_it_ends(ctx):
    """Supplements asked on a day in the past (set on the record), received now: the
    workflow adds the working days between to the acceptance deadline."""
    record = complaint(materials=utcnow() - timedelta(days=30))
    workflow.transition(record, "supplement", note="请补充营业执照")
    asked = utcnow() - timedelta(days=14)
    record.paused_since = asked
    workflow.transition(record, "submitted", note="已补正")
    from portal.intake.deadlines import local_date, working_days_paused

    paused = working_days_paused(local_date(asked), local_date(utcnow()))
    assert paused >= 8 and record.paused_working_days == paused and record.paused_since is None
    state = deadlines.state(record)
    assert state.paused_days == paused
    assert state.due_on == add_working_days(local_date(record.materials_complete_at),
                                            7 + paused)
    assert record.accept_due_at == state.due_at  # the stored column follows


# --- acceptance ends one deadline and starts the next -------------------------------------

def test_accepting_freezes_the_acceptance_date_and_starts_sixty_days(ctx):
    record = complaint(paused_working_days=2)
    record.status = "accepted"
    deadlines.on_transition(record, "accepted", at(2026, 2, 26))
    # 7 + 2 working days after 13 February: 2, 3, 4 March for the last three.
    assert record.accept_due_at == end_of_local_day(date(2026, 3, 4))
    assert record.accepted_at == at(2026, 2, 26) and record.paused_working_days == 0
    state = deadlines.state(record, at(2026, 3, 5))
    assert state.kind == deadlines.CONCLUSION and state.allowed_days == 60
    assert state.due_on == add_working_days(date(2026, 2, 26), 60)
    assert record.due_at == state.due_at and not state.overdue


def test_conclusion_counts_sixty_working_days_from_acceptance(ctx):
    record = complaint(status="in_progress", accepted_at=at(2026, 3, 2))
    state = deadlines.state(record, at(2026, 5, 27))
    assert state.due_on == date(2026, 5, 28) and state.days_left == 1 and state.due_soon
    assert deadlines.state(record, at(2026, 5, 29)).overdue
    record.status = "answered"  # answered: the deadline is met, whatever the date
    assert not deadlines.state(record, at(2026, 7, 1)).overdue


def test_accepted_demand_is_never_overdue_on_its_acknowledgement(ctx):
    record = demand()
    # One working day after Friday 13 February is the make-up Saturday.
    state = deadlines.state(record, at(2026, 2, 14, 9))
    assert state.kind == deadlines.ACKNOWLEDGEMENT and state.due_on == date(2026, 2, 14)
    assert state.due_soon and not state.overdue
    assert deadlines.state(record, at(2026, 2, 24)).overdue
    workflow.transition(record, "accepted", note="已确认")
    assert record.accepted_at is not None
    for moment in (at(2026, 2, 24), at(2026, 12, 1), utcnow()):
        accepted = deadlines.state(record, moment)
        assert not accepted.overdue and not accepted.due_soon and not accepted.active


def test_closing_stamps_closed_at(ctx):
    record = demand(materials=utcnow() - timedelta(days=3))
    workflow.transition(record, "closed", note="企业撤回")
    assert record.closed_at is not None and not deadlines.state(record).overdue


# --- extensions ------------------------------------------------------------------------------

@pytest.fixture
def accepted_complaint(app):
    with app.app_context():
        region = factories.region(slug="pingcheng", kind="district", name="平城区")
        factories.staff(email="bureau@example.gov.cn", password=PASSWORD, role="bureau")
        factories.staff(email="pc@example.gov.cn", password=PASSWORD, role="region",
                        region=region)
        dept = factories.department()
        factories.staff(email="dept@example.gov.cn", password=PASSWORD, role="department",
                        department=dept)
        record = complaint(status="in_progress", accepted_at=at(2026, 3, 2), region=region,
                           department=dept)
        db.session.commit()
        return record.ticket


def _as(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def test_extension_with_a_reason_moves_the_conclusion_date(app, accepted_complaint):
    ticket = accepted_complaint
    browser = _as(app, "pc@example.gov.cn")
    page = browser.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    assert "办结期限" in page and "延长办结期限" in page and "已超期" in page
    answer = browser.post(f"/admin/tickets/complaint/{ticket}/extension", data={
        "extension-days": "5", "extension-reason": "需要自然资源、住建两部门联合核查",
        "extension-public": "y"})
    assert answer.status_code == 302
    with app.app_context():
        record = db.session.scalars(db.select(Complaint)).one()
        assert record.extension_days == 5
        assert record.extension_reason == "需要自然资源、住建两部门联合核查"
        # 60 working days after 2 March end on 28 May; five more: 29 May, 1-4 June.
        state = deadlines.state(record, at(2026, 6, 2))
        assert state.due_on == date(2026, 6, 4) and state.extension_days == 5
        assert state.days_left == 2 and state.due_soon and not state.overdue
        assert record.due_at.replace(tzinfo=UTC) == end_of_local_day(date(2026, 6, 4))
        event = record.events[-1]
        assert "5 个工作日" in event.note and "联合核查" in event.note and event.public
        audit = db.session.scalars(db.select(AuditEvent).filter_by(
            action="extend_deadline")).one()
        assert audit.entity_id == ticket and audit.detail["days"] == 5
    page = browser.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    assert "已延长 5 个工作日" in page and "需要自然资源、住建两部门联合核查" in page


@pytest.mark.parametrize("days, reason, message", [
    ("0", "理由", "输入 1 至 60 之间的整数"),
    ("abc", "理由", "输入 1 至 60 之间的整数"),
    ("61", "理由", "输入 1 至 60 之间的整数"),
    ("5", "", "写明延长期限的理由"),
])
def test_extension_refuses_bad_input_with_a_message(app, accepted_complaint, days, reason,
                                                    message):
    browser = _as(app, "bureau@example.gov.cn")
    answer = browser.post(f"/admin/tickets/complaint/{accepted_complaint}/extension",
                          data={"extension-days": days, "extension-reason": reason})
    assert answer.status_code == 200 and message in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(db.select(Complaint)).one().extension_days == 0


def test_extension_is_not_for_departments_or_before_acceptance(app, accepted_complaint):
    dept = _as(app, "dept@example.gov.cn")
    answer = dept.post(f"/admin/tickets/complaint/{accepted_complaint}/extension",
                       data={"extension-days": "5", "extension-reason": "理由"})
    assert answer.status_code == 302
    with app.app_context():
        record = db.session.scalars(db.select(Complaint)).one()
        assert record.extension_days == 0
        record.status, record.accepted_at = "submitted", None
        db.session.commit()
    with app.app_context():
        with pytest.raises(deadlines.DeadlineError):
            deadlines.extend(db.session.scalars(db.select(Complaint)).one(), 5, "理由",
                             actor=None, public=False)
    # Outside the scope: as if the ticket did not exist.
    with app.app_context():
        yungang = factories.region(slug="yungang", kind="district", name="云冈区")
        factories.staff(email="yg@example.gov.cn", password=PASSWORD, role="region",
                        region=yungang)
        db.session.commit()
    answer = _as(app, "yg@example.gov.cn").post(
        f"/admin/tickets/complaint/{accepted_complaint}/extension",
        data={"extension-days": "5", "extension-reason": "理由"})
    assert answer.status_code == 404


# --- the ticket page --------------------------------------------------------------------------

def test_ticket_page_shows_acceptance_deadline_pause_and_flags(app):
    with app.app_context():
        factories.staff(email="bureau@example.gov.cn", password=PASSWORD, role="bureau")
        complaint(ticket="C-TEST000001")  # 2 March 2026: long past
        complaint(ticket="C-TEST000002", materials=utcnow() - timedelta(days=20),
                  status="supplement", paused_since=utcnow() - timedelta(days=14),
                  paused_working_days=6)
        db.session.commit()
    browser = _as(app, "bureau@example.gov.cn")
    page = browser.get("/admin/tickets/complaint/C-TEST000001").get_data(as_text=True)
    assert "受理期限" in page and "2026年3月2日" in page and "已超期" in page
    page = browser.get("/admin/tickets/complaint/C-TEST000002").get_data(as_text=True)
    assert "等待补正材料，计时暂停" in page and "已超期" not in page
    with app.app_context():
        record = db.session.scalars(db.select(Complaint).filter_by(
            ticket="C-TEST000002")).one()
        assert f"因补正顺延 {deadlines.state(record).paused_days} 个工作日" in page
        assert deadlines.state(record).paused_days > 6
