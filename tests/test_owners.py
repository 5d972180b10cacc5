"""首接负责制: the responsible unit and person, "我来负责", reassignment, "我的工单"."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Complaint, Demand, User
from tests import factories
from tests.test_case_deadlines import PASSWORD, complaint, demand


@pytest.fixture
def unit(app):
    """平城区 with two active members and one switched off, 云冈区 with one, the bureau, an
    admin and a department; a demand and a complaint held by 平城区, a demand held by no
    region."""
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区",
                                     parent=city)
        yungang = factories.region(slug="yungang", kind="district", name="云冈区",
                                   parent=city)
        dept = factories.department()
        for email, role, kw in [
            ("admin@example.gov.cn", "admin", {}),
            ("bureau@example.gov.cn", "bureau", {"name": "市局张三"}),
            ("pc1@example.gov.cn", "region", {"region": pingcheng, "name": "平城李四"}),
            ("pc2@example.gov.cn", "region", {"region": pingcheng, "name": "平城王五"}),
            ("pc3@example.gov.cn", "region", {"region": pingcheng, "name": "已离岗",
                                              "active": False}),
            ("yg@example.gov.cn", "region", {"region": yungang, "name": "云冈赵六"}),
            ("dept@example.gov.cn", "department", {"department": dept}),
        ]:
            factories.staff(email=email, password=PASSWORD, role=role, **kw)
        demand(ticket="D-OWNER00001", region=pingcheng)
        complaint(ticket="C-OWNER00001", region=pingcheng, department=dept)
        demand(ticket="D-OWNER00002")  # no region: the bureau answers for it
        db.session.commit()


def _as(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def _owner(app, ticket):
    with app.app_context():
        model = Demand if ticket.startswith("D") else Complaint
        record = db.session.scalars(db.select(model).filter_by(ticket=ticket)).one()
        return record.assignee.email if record.assignee else None


def _audit(app, action):
    with app.app_context():
        return [(e.entity_id, e.detail, e.actor.email) for e in db.session.scalars(
            db.select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id))]


def _id(app, email):
    with app.app_context():
        return db.session.scalars(db.select(User.id).filter_by(email=email)).one()


def test_staff_of_the_unit_take_a_ticket(app, unit):
    pc1 = _as(app, "pc1@example.gov.cn")
    page = pc1.get("/admin/tickets/demand/D-OWNER00001").get_data(as_text=True)
    assert "责任单位" in page and "平城区" in page and "尚未认领" in page and "我来负责" in page
    answer = pc1.post("/admin/tickets/demand/D-OWNER00001/take")
    assert answer.status_code == 302 and answer.location.endswith(
        "/admin/tickets/demand/D-OWNER00001")
    assert _owner(app, "D-OWNER00001") == "pc1@example.gov.cn"
    assert _audit(app, "take") == [("D-OWNER00001", {
        "to": "pc1@example.gov.cn", "from": None, "unit": "pingcheng"}, "pc1@example.gov.cn")]
    with app.app_context():
        event = db.session.scalars(db.select(Demand).filter_by(
            ticket="D-OWNER00001")).one().events[-1]
        assert event.kind == "system" and not event.public and "平城李四" in event.note
    page = pc1.get("/admin/tickets/demand/D-OWNER00001").get_data(as_text=True)
    assert "平城李四" in page and "我来负责" not in page
    # "我的工单" lists it for pc1, not for pc2; the queue names the owner.
    mine = pc1.get("/admin/tickets/demand?owner=me").get_data(as_text=True)
    assert "D-OWNER00001" in mine and "平城李四" in mine
    pc2 = _as(app, "pc2@example.gov.cn")
    assert "D-OWNER00001" not in pc2.get("/admin/tickets/demand?owner=me").get_data(
        as_text=True)
    assert "D-OWNER00001" not in pc2.get("/admin/tickets/demand?owner=none").get_data(
        as_text=True)


def test_the_bureau_takes_any_ticket_and_owns_those_of_no_region(app, unit):
    bureau = _as(app, "bureau@example.gov.cn")
    page = bureau.get("/admin/tickets/demand/D-OWNER00002").get_data(as_text=True)
    assert "市促投局" in page and "我来负责" in page
    assert bureau.post("/admin/tickets/demand/D-OWNER00002/take").status_code == 302
    assert bureau.post("/admin/tickets/complaint/C-OWNER00001/take").status_code == 302
    assert _owner(app, "D-OWNER00002") == _owner(app, "C-OWNER00001") == \
        "bureau@example.gov.cn"


def test_staff_outside_the_unit_cannot_take(app, unit):
    # Another region: the ticket does not exist for it.
    yg = _as(app, "yg@example.gov.cn")
    assert yg.post("/admin/tickets/demand/D-OWNER00001/take").status_code == 404
    assert yg.post("/admin/tickets/demand/D-OWNER00001/owner",
                   data={"owner-assignee": str(_id(app, "yg@example.gov.cn"))}
                   ).status_code == 404
    # A department sees the complaint addressed to it but does not own it; an admin
    # arbitrates and reassigns but is no unit's member.
    for email in ("dept@example.gov.cn", "admin@example.gov.cn"):
        browser = _as(app, email)
        page = browser.get("/admin/tickets/complaint/C-OWNER00001").get_data(as_text=True)
        assert "我来负责" not in page
        answer = browser.post("/admin/tickets/complaint/C-OWNER00001/take",
                              follow_redirects=True)
        assert "只有责任单位或市促投局的工作人员" in answer.get_data(as_text=True)
    assert _owner(app, "C-OWNER00001") is None and _audit(app, "take") == []


def test_reassign_to_an_active_member_of_the_unit(app, unit):
    pc1 = _as(app, "pc1@example.gov.cn")
    pc1.post("/admin/tickets/demand/D-OWNER00001/take")
    page = pc1.get("/admin/tickets/demand/D-OWNER00001").get_data(as_text=True)
    # The choices: the unit's other active members only.
    assert "平城王五" in page and "已离岗" not in page and "云冈赵六" not in page
    pc2_id = _id(app, "pc2@example.gov.cn")
    answer = pc1.post("/admin/tickets/demand/D-OWNER00001/owner",
                      data={"owner-assignee": str(pc2_id)})
    assert answer.status_code == 302 and _owner(app, "D-OWNER00001") == "pc2@example.gov.cn"
    assert _audit(app, "reassign")[-1][1]["from"] == "pc1@example.gov.cn"
    # pc1 is no longer the owner: pc1 may take it back, but not hand it on.
    answer = pc1.post("/admin/tickets/demand/D-OWNER00001/owner",
                      data={"owner-assignee": str(_id(app, "pc1@example.gov.cn"))},
                      follow_redirects=True)
    assert "只有市促投局、管理员或当前负责人可以改派" in answer.get_data(as_text=True)
    assert _owner(app, "D-OWNER00001") == "pc2@example.gov.cn"
    # The bureau reassigns; someone outside the unit or switched off is refused with a
    # message, and nothing changes.
    bureau = _as(app, "bureau@example.gov.cn")
    for email in ("yg@example.gov.cn", "pc3@example.gov.cn", "bureau@example.gov.cn"):
        answer = bureau.post("/admin/tickets/demand/D-OWNER00001/owner",
                             data={"owner-assignee": str(_id(app, email))})
        assert answer.status_code == 200
        assert "从列表中选择责任单位的在岗工作人员" in answer.get_data(as_text=True)
    answer = bureau.post("/admin/tickets/demand/D-OWNER00001/owner",
                         data={"owner-assignee": ""})
    assert "选择接手的工作人员" in answer.get_data(as_text=True)
    assert _owner(app, "D-OWNER00001") == "pc2@example.gov.cn"
    answer = bureau.post("/admin/tickets/demand/D-OWNER00001/owner",
                         data={"owner-assignee": str(_id(app, "pc1@example.gov.cn"))})
    assert answer.status_code == 302 and _owner(app, "D-OWNER00001") == "pc1@example.gov.cn"
    assert [a[2] for a in _audit(app, "reassign")] == ["pc1@example.gov.cn",
                                                      "bureau@example.gov.cn"]


def test_a_closed_ticket_keeps_its_owner(app, unit):
    with app.app_context():
        record = db.session.scalars(db.select(Demand).filter_by(ticket="D-OWNER00001")).one()
        record.status = "closed"
        db.session.commit()
    pc1 = _as(app, "pc1@example.gov.cn")
    assert "我来负责" not in pc1.get("/admin/tickets/demand/D-OWNER00001").get_data(
        as_text=True)
    pc1.post("/admin/tickets/demand/D-OWNER00001/take")
    assert _owner(app, "D-OWNER00001") is None


def test_take_needs_the_csrf_token(databases, tmp_path):
    from tests.conftest import make_app

    app = make_app(databases.new("owners_csrf"), tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        region = factories.region(slug="pingcheng", kind="district", name="平城区")
        factories.staff(email="pc1@example.gov.cn", password=PASSWORD, role="region",
                        region=region)
        demand(ticket="D-OWNER00001", region=region)
        db.session.commit()
    browser = app.test_client()
    login = browser.get("/admin/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    assert browser.post("/admin/login", data={"email": "pc1@example.gov.cn",
                                              "password": PASSWORD, "csrf_token": token}
                        ).status_code == 302
    assert browser.post("/admin/tickets/demand/D-OWNER00001/take").status_code == 400
    assert _owner(app, "D-OWNER00001") is None
    page = browser.get("/admin/tickets/demand/D-OWNER00001").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert browser.post("/admin/tickets/demand/D-OWNER00001/take",
                        data={"csrf_token": token}).status_code == 302
    assert _owner(app, "D-OWNER00001") == "pc1@example.gov.cn"
