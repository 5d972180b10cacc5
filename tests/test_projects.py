"""一项目一档案 and the project pool: a file opened on acceptance, stages that walk the demand
through the workflow, figures, the pool's scope, stalled flags and the exports."""

import csv
import io
import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from portal.cases import projects
from portal.extensions import db
from portal.intake import workflow
from portal.models import AuditEvent, Complaint, Demand, OutboxJob, Project, Region
from tests import factories

PASSWORD = "copper kettle drum"


def make_demand(region: Region | None, *, company="平城新材料有限公司", submitted=None,
                status="submitted", **kw) -> Demand:
    """A demand as the public form stores it, without going through the form."""
    submitted = submitted or datetime.now(UTC)
    values = {"contact_name": "张三", "contact_phone": "13800000000",
              "contact_email": "zhang@example.com"} | kw
    row = Demand(ticket="D" + secrets.token_hex(6).upper(), access_code_hash="x",
                 consent_at=submitted, submitted_at=submitted, materials_complete_at=submitted,
                 company_name=company, region=region, first_region=region, status=status,
                 **values)
    db.session.add(row)
    db.session.flush()
    return row


def make_complaint(region: Region | None, *, submitted=None, category="arrears",
                   **kw) -> Complaint:
    submitted = submitted or datetime.now(UTC)
    row = Complaint(ticket="C" + secrets.token_hex(6).upper(), access_code_hash="x",
                    contact_name="李四", consent_at=submitted, submitted_at=submitted,
                    materials_complete_at=submitted, category=category,
                    respondent_name="某局", facts="拖欠工程款三个月未付。", region=region, **kw)
    db.session.add(row)
    db.session.flush()
    return row


def accept(record, actor=None) -> None:
    workflow.transition(record, "accepted", actor=actor)


@pytest.fixture
def world(app):
    """大同 with two districts; a member of staff per role; an accepted demand in each
    district (so each has a project file)."""
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区",
                                     parent=city)
        yungang = factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
        dept = factories.department(slug="zrzy", name="大同市自然资源局")
        factories.staff(email="admin@example.gov.cn", password=PASSWORD, role="admin")
        factories.staff(email="bureau@example.gov.cn", password=PASSWORD, role="bureau")
        pc = factories.staff(email="pc@example.gov.cn", password=PASSWORD, role="region",
                             region=pingcheng)
        factories.staff(email="yg@example.gov.cn", password=PASSWORD, role="region",
                        region=yungang)
        factories.staff(email="dept@example.gov.cn", password=PASSWORD, role="department",
                        department=dept)
        mine = make_demand(pingcheng, company="平城新材料有限公司")
        theirs = make_demand(yungang, company="云冈装备制造有限公司",
                             contact_phone="13911112222")
        accept(mine, pc)
        accept(theirs, None)
        db.session.commit()
        tickets = {"pingcheng": mine.ticket, "yungang": theirs.ticket}
        db.session.remove()
    return tickets


def login(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def _project(ticket) -> Project:
    return db.session.scalars(db.select(Project).join(Demand).where(
        Demand.ticket == ticket)).one()


def test_acceptance_opens_the_file_and_stamps_the_milestones(app, world):
    with app.app_context():
        project = _project(world["pingcheng"])
        demand = project.demand
        assert project.stage == "negotiating" and project.name == "平城新材料有限公司"
        assert project.region_id == demand.region_id
        assert demand.accepted_at is not None
        assert demand.first_contact_at == demand.accepted_at  # a staff member moved it
        other = _project(world["yungang"]).demand
        assert other.accepted_at is not None and other.first_contact_at is None  # no actor
        # The acceptance's own audit event covers the file it opened.
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(
            action="project_open")) == 0


def test_stages_walk_the_demand_through_the_workflow(app, world):
    browser = login(app, "pc@example.gov.cn")
    ticket = world["pingcheng"]
    url = f"/admin/projects/{ticket}/record"
    # Signing needs the signed amount: nothing changes without it.
    answer = browser.post(url, data={"project-stage": "signed", "project-on": "2026-03-02"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("#project")
    page = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "签约时填写签约金额（万元）" in page
    with app.app_context():
        assert _project(ticket).stage == "negotiating"
        assert _project(ticket).demand.status == "accepted"
    # Skipping a stage is not on offer; a wrong date or number is explained.
    browser.post(url, data={"project-stage": "producing"})
    browser.post(url, data={"project-stage": "signed", "project-on": "02/03/2026",
                            "project-signed_amount_wan": "abc"})
    page = browser.get(f"/admin/tickets/demand/{ticket}").get_data(as_text=True)
    assert "从列表中选择一项" in page
    assert "按 2026-03-02 的格式填写日期" in page and "输入数字，如 100 或 12.5" in page
    tomorrow = (projects.today() + timedelta(days=1)).isoformat()
    browser.post(url, data={"project-stage": "signed", "project-on": tomorrow,
                            "project-signed_amount_wan": "5000"})
    assert "日期不能晚于今天" in browser.get(f"/admin/tickets/demand/{ticket}").get_data(
        as_text=True)

    assert browser.post(url, data={
        "project-stage": "signed", "project-on": "2026-03-02",
        "project-signed_amount_wan": "52000", "project-expected_output_wan": "80000",
        "project-jobs": "300", "project-note": "已签订投资协议"}).status_code == 303
    assert browser.post(url, data={"project-stage": "started", "project-on": "2026-02-01"}
                        ).status_code == 303  # before the signing: refused
    browser.post(url, data={"project-stage": "started", "project-on": "2026-05-06",
                            "project-invested_wan": "12000"})
    with app.app_context():
        project = _project(ticket)
        assert (project.stage, project.signed_on, project.started_on) == \
            ("started", date(2026, 3, 2), date(2026, 5, 6))
        assert (project.signed_amount_wan, project.invested_wan, project.expected_output_wan,
                project.jobs) == (52000, 12000, 80000, 300)
        demand = project.demand
        assert demand.status == "started"
        assert [e.status for e in demand.events] == ["accepted", "negotiating", "signed",
                                                     "started"]
        assert "已签订投资协议" in [e.note for e in demand.events]
        actions = db.session.scalars(db.select(AuditEvent.action).filter_by(
            entity_id=ticket)).all()
        assert actions.count("project_record") == 2
        assert "status:negotiating->signed" in actions
    page = browser.get(f"/admin/tickets/demand/{ticket}").get_data(as_text=True)
    assert "项目档案" in page and "52,000" in page and "2026-05-06" in page

    # Closing needs the outcome, which the file and the demand keep.
    browser.post(url, data={"project-stage": "closed"})
    with app.app_context():
        assert _project(ticket).stage == "started"
    browser.post(url, data={"project-stage": "closed", "project-note": "企业放弃投资"})
    with app.app_context():
        project = _project(ticket)
        assert project.stage == "closed" and project.outcome == "企业放弃投资"
        assert project.closed_on == projects.today()
        assert project.demand.status == "closed" and project.demand.closed_at is not None
        mails = [j.payload for j in db.session.scalars(db.select(OutboxJob).filter_by(
            kind="mail"))]
        closing = [m for m in mails if m["to"] == project.demand.contact_email
                   and ticket in m["subject"] and "企业放弃投资" in m["body"]]
        assert len(closing) == 1 and "访问码" in closing[0]["body"]  # says it is left out


def test_a_status_change_on_the_demand_moves_the_file(app, world):
    with app.app_context():
        demand = _project(world["yungang"]).demand
        for status in ("negotiating", "signed"):
            workflow.transition(demand, status, actor=None)
        workflow.transition(demand, "closed", actor=None, note="项目流转外市")
        db.session.commit()
        project = _project(world["yungang"])
        assert project.stage == "closed" and project.signed_on == projects.today()
        assert project.outcome == "项目流转外市"


def test_a_demand_accepted_before_files_existed_gets_one_by_hand(app, world):
    with app.app_context():
        region = db.session.scalars(db.select(Region).filter_by(slug="pingcheng")).one()
        old = make_demand(region, company="旧需求公司", status="negotiating")
        fresh = make_demand(region, company="新提交公司")
        db.session.commit()
        old_ticket, fresh_ticket = old.ticket, fresh.ticket
    browser = login(app, "pc@example.gov.cn")
    page = browser.get(f"/admin/tickets/demand/{old_ticket}").get_data(as_text=True)
    assert "建立项目档案" in page
    assert "建立项目档案" not in browser.get(f"/admin/tickets/demand/{fresh_ticket}"
                                        ).get_data(as_text=True)
    browser.post(f"/admin/projects/{old_ticket}/open")
    browser.post(f"/admin/projects/{fresh_ticket}/open")
    with app.app_context():
        assert _project(old_ticket).stage == "negotiating"
        assert db.session.scalars(db.select(AuditEvent.entity_id).filter_by(
            action="project_open")).all() == [old_ticket]
        assert db.session.scalar(db.select(Demand).filter_by(ticket=fresh_ticket)
                                 ).project is None
    # Another region's demand: as if it did not exist.
    yg = login(app, "yg@example.gov.cn")
    assert yg.post(f"/admin/projects/{old_ticket}/open").status_code == 404
    assert yg.post(f"/admin/projects/{old_ticket}/record",
                   data={"project-jobs": "1"}).status_code == 404


@pytest.mark.parametrize("email, sees_own, sees_other", [
    ("admin@example.gov.cn", True, True),
    ("bureau@example.gov.cn", True, True),
    ("pc@example.gov.cn", True, False),
    ("dept@example.gov.cn", False, False),
])
def test_the_pool_shows_each_role_its_own(app, world, email, sees_own, sees_other):
    browser = login(app, email)
    page = browser.get("/admin/projects").get_data(as_text=True)
    assert ("平城新材料有限公司" in page) == sees_own
    assert ("云冈装备制造有限公司" in page) == sees_other
    export = browser.get("/admin/projects.csv").get_data(as_text=True)
    assert ("平城新材料有限公司" in export) == sees_own
    assert ("云冈装备制造有限公司" in export) == sees_other


def test_a_project_offered_to_the_pool_shows_its_facts_not_its_contacts(app, world):
    yg = login(app, "yg@example.gov.cn")
    assert yg.post(f"/admin/projects/{world['yungang']}/pool",
                   data={"pool-in_pool": "y"}).status_code == 303
    pc = login(app, "pc@example.gov.cn")
    page = pc.get("/admin/projects?pool=1").get_data(as_text=True)
    assert "云冈装备制造有限公司" in page and "平城新材料有限公司" not in page
    assert world["yungang"] not in page and "13911112222" not in page
    assert f"/admin/tickets/demand/{world['yungang']}" not in page
    rows = list(csv.reader(io.StringIO(pc.get("/admin/projects.csv").get_data(as_text=True))))
    other = next(r for r in rows if "云冈装备制造有限公司" in r)
    own = next(r for r in rows if "平城新材料有限公司" in r)
    assert other[2] == "" and own[2] == world["pingcheng"]  # the ticket: own projects only
    assert not any("138" in cell or "139" in cell for row in rows for cell in row)
    # The file itself stays the holder's.
    assert pc.get(f"/admin/tickets/demand/{world['yungang']}").status_code == 404
    assert pc.post(f"/admin/projects/{world['yungang']}/pool").status_code == 404
    # Withdrawn: gone from the other region's list.
    yg.post(f"/admin/projects/{world['yungang']}/pool")
    assert "云冈装备制造有限公司" not in pc.get("/admin/projects").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(db.select(AuditEvent.action).where(
            AuditEvent.action.in_(("project_pool", "project_unpool")))).all() == \
            ["project_pool", "project_unpool"]


def test_stalled_flags_after_six_months_and_two_years():
    signed = Project(stage="signed", signed_on=date(2025, 8, 31))
    assert projects.add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert projects.stalled(signed, date(2026, 2, 27)) == ""
    assert projects.stalled(signed, date(2026, 2, 28)) == "signed"
    started = Project(stage="started", signed_on=date(2024, 1, 1), started_on=date(2024, 2, 29))
    assert projects.stalled(started, date(2026, 2, 27)) == ""
    assert projects.stalled(started, date(2026, 2, 28)) == "started"
    assert projects.stalled(Project(stage="producing", started_on=date(2020, 1, 1)),
                            date(2026, 1, 1)) == ""


def test_stalled_filter_and_xlsx_export(app, world):
    today = projects.today()
    with app.app_context():
        stale = _project(world["pingcheng"])
        stale.stage, stale.signed_on, stale.signed_amount_wan = \
            "signed", projects.add_months(today, -7), 3000.5
        stale.name = "=HYPERLINK(\"http://evil.example\",\"x\")"
        fresh = _project(world["yungang"])
        fresh.stage, fresh.signed_on = "signed", today - timedelta(days=30)
        db.session.commit()
    browser = login(app, "admin@example.gov.cn")
    page = browser.get("/admin/projects?stalled=1").get_data(as_text=True)
    assert "签约满6个月未开工" in page and "云冈装备制造有限公司" not in page
    answer = browser.get("/admin/projects.xlsx?stalled=1")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == 'attachment; filename="projects.xlsx"'
    assert answer.headers["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(answer.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "项目" and len(rows) == 2
    assert rows[1][0] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert sheet.cell(row=2, column=1).data_type == "s"  # text, not a formula
    assert rows[1][6] == 3000.5  # a number stays a number
    assert rows[1][-1] == "签约满6个月未开工"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(
            action="export", entity_type="project")) == 1


def test_the_nav_links_to_the_pool_and_the_figures(app, world):
    page = login(app, "pc@example.gov.cn").get("/admin/").get_data(as_text=True)
    assert 'href="/admin/projects"' in page and 'href="/admin/stats"' in page
    page = login(app, "dept@example.gov.cn").get("/admin/").get_data(as_text=True)
    assert 'href="/admin/projects"' not in page
