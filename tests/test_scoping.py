"""What each role may see, through the one scoping function, and the audit of every read."""

import csv
import io

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Complaint, Demand, Department, Transfer
from tests import factories
from tests.test_intake import COMPLAINT, demand

PASSWORD = "copper kettle drum"


@pytest.fixture
def world(client, app):
    """Two districts, one department, a demand and a complaint in each district, and one
    member of staff per role."""
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区",
                                     parent=city)
        factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
        zrzy = factories.department(slug="zrzy", name="大同市自然资源局")
        factories.department(slug="scjg", name="大同市市场监督管理局")
        factories.staff(email="admin@example.gov.cn", password=PASSWORD, role="admin")
        factories.staff(email="bureau@example.gov.cn", password=PASSWORD, role="bureau")
        factories.staff(email="pc@example.gov.cn", password=PASSWORD, role="region",
                        region=pingcheng)
        factories.staff(email="dept@example.gov.cn", password=PASSWORD, role="department",
                        department=zrzy)
        db.session.commit()
    tickets = {}
    for slug in ("pingcheng", "yungang"):
        assert client.post("/zh/demands/new", data=demand(
            company_name=f"=HYPERLINK(\"http://evil.example\",\"{slug}\")",
            preferred_regions=[slug])).status_code == 201
    with app.app_context():
        for record in db.session.scalars(db.select(Demand)):
            tickets[f"demand-{record.region.slug}"] = record.ticket
    for slug in ("pingcheng", "yungang"):
        assert client.post("/zh/complaints/new", data=COMPLAINT | {
            "respondent_region": slug}).status_code == 201
    with app.app_context():
        for record in db.session.scalars(db.select(Complaint)):
            tickets[f"complaint-{record.region.slug}"] = record.ticket
        referred = db.session.scalars(db.select(Complaint).where(
            Complaint.ticket == tickets["complaint-pingcheng"])).one()
        referred.department = db.session.scalars(
            db.select(Department).filter_by(slug="zrzy")).one()
        db.session.commit()
    return tickets


def _as(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


@pytest.mark.parametrize("email, visible", [
    ("admin@example.gov.cn", {"demand-pingcheng", "demand-yungang", "complaint-pingcheng",
                              "complaint-yungang"}),
    ("bureau@example.gov.cn", {"demand-pingcheng", "demand-yungang", "complaint-pingcheng",
                               "complaint-yungang"}),
    ("pc@example.gov.cn", {"demand-pingcheng", "complaint-pingcheng"}),
    ("dept@example.gov.cn", {"complaint-pingcheng"}),
])
def test_each_role_sees_its_own_and_nothing_else(app, world, email, visible):
    browser = _as(app, email)
    for name, ticket in world.items():
        kind = name.split("-")[0]
        page = browser.get(f"/admin/tickets/{kind}/{ticket}")
        assert page.status_code == (200 if name in visible else 404), (name, email)
        queue = browser.get(f"/admin/tickets/{kind}").get_data(as_text=True)
        assert (ticket in queue) == (name in visible), (name, email)
        export = browser.get(f"/admin/tickets/{kind}.csv").get_data(as_text=True)
        assert (ticket in export) == (name in visible), (name, email)
    dashboard = browser.get("/admin/").get_data(as_text=True)
    demands = sum(1 for n in visible if n.startswith("demand"))
    complaints = sum(1 for n in visible if n.startswith("complaint"))
    assert f"<strong>{demands}</strong> 条待办需求" in dashboard
    assert f"<strong>{complaints}</strong> 件待办投诉" in dashboard


def test_attachments_follow_the_tickets_scope(client, app, world):
    from tests.test_intake import _pdf

    response = client.post("/api/v1/complaints", data=COMPLAINT | {
        "respondent_region": "yungang", "attachments": (io.BytesIO(_pdf()), "证据.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 201
    with app.app_context():
        record = db.session.scalars(db.select(Complaint).filter_by(
            ticket=response.get_json()["ticket"])).one()
        key = record.attachments[0].storage_key
    assert _as(app, "pc@example.gov.cn").get(f"/admin/attachments/{key}").status_code == 404
    assert _as(app, "dept@example.gov.cn").get(f"/admin/attachments/{key}").status_code == 404
    assert _as(app, "bureau@example.gov.cn").get(f"/admin/attachments/{key}").status_code == 200
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).filter_by(
            action="download_attachment")).one()
        assert event.entity_id == record.ticket and event.actor.email == "bureau@example.gov.cn"


def test_reads_of_personal_data_are_audited(app, world):
    browser = _as(app, "bureau@example.gov.cn")
    ticket = world["demand-pingcheng"]
    page = browser.get(f"/admin/tickets/demand/{ticket}").get_data(as_text=True)
    assert "13812345678" not in page and "查看联系方式" in page  # hidden until asked for
    page = browser.get(f"/admin/tickets/demand/{ticket}?contacts=1").get_data(as_text=True)
    assert "13812345678" in page
    browser.get("/admin/tickets/demand.csv")
    with app.app_context():
        events = {e.action: e for e in db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.action.in_(("view_ticket", "reveal_contacts", "export"))))}
        assert set(events) == {"view_ticket", "reveal_contacts", "export"}
        for event in events.values():
            assert event.actor.email == "bureau@example.gov.cn" and event.ip == "127.0.0.1"
        assert events["reveal_contacts"].entity_id == ticket


def test_the_department_sees_no_withheld_identity_and_cannot_reroute(app, world):
    browser = _as(app, "dept@example.gov.cn")
    ticket = world["complaint-pingcheng"]
    page = browser.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    assert "流转至" not in page and "交办部门" not in page
    assert browser.post(f"/admin/tickets/complaint/{ticket}/transfer", data={
        "transfer-region": "yungang", "transfer-reason": "不归我们管"}).status_code == 302
    assert browser.post(f"/admin/tickets/complaint/{ticket}/refer", data={
        "refer-department": "scjg"}).status_code == 302
    with app.app_context():
        record = db.session.scalars(db.select(Complaint).filter_by(ticket=ticket)).one()
        assert record.region.slug == "pingcheng" and record.department.slug == "zrzy"
        assert not db.session.scalars(db.select(Transfer)).all()


def test_the_bureau_refers_a_complaint_to_a_department(app, world):
    ticket = world["complaint-yungang"]
    dept = _as(app, "dept@example.gov.cn")
    assert dept.get(f"/admin/tickets/complaint/{ticket}").status_code == 404
    bureau = _as(app, "bureau@example.gov.cn")
    response = bureau.post(f"/admin/tickets/complaint/{ticket}/refer", data={
        "refer-department": "zrzy", "refer-note": "涉及用地手续"})
    assert response.status_code == 302
    assert dept.get(f"/admin/tickets/complaint/{ticket}").status_code == 200
    with app.app_context():
        record = db.session.scalars(db.select(Complaint).filter_by(ticket=ticket)).one()
        assert record.department.slug == "zrzy"
        assert "涉及用地手续" in record.events[-1].note and not record.events[-1].public
        assert db.session.scalars(db.select(AuditEvent).filter_by(action="refer")).one()


def test_status_and_region_cannot_be_set_by_adding_fields(app, world):
    browser = _as(app, "pc@example.gov.cn")
    ticket = world["demand-pingcheng"]
    browser.post(f"/admin/tickets/demand/{ticket}/reply", data={
        "reply-status": "producing", "reply-text": "", "reply-visibility": "public",
        "region": "yungang", "region_id": "2", "status": "producing"})
    browser.post(f"/admin/tickets/demand/{ticket}/reply", data={
        "reply-status": "accepted", "reply-text": "已受理", "reply-visibility": "public",
        "region": "yungang", "assignee_id": "1", "department_id": "1"})
    with app.app_context():
        record = db.session.scalars(db.select(Demand).filter_by(ticket=ticket)).one()
        assert record.status == "accepted" and record.region.slug == "pingcheng"
        assert record.assignee is None


def test_unknown_export_and_queue_kinds_answer_404(app, world):
    browser = _as(app, "admin@example.gov.cn")
    for path in ("/admin/tickets/foo.csv", "/admin/tickets/foo", "/admin/tickets/demand/nope",
                 f"/admin/tickets/complaint/{world['demand-pingcheng']}"):
        assert browser.get(path).status_code == 404, path


def test_ticket_export_neutralises_formulas(app, world):
    text = _as(app, "admin@example.gov.cn").get("/admin/tickets/demand.csv").get_data(
        as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    companies = [row[6] for row in rows[1:]]
    assert companies and all(c.startswith("'=HYPERLINK(") for c in companies)
