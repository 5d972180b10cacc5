"""流转 round trips through the staff pages: proposed, returned, proposed again, accepted;
首谈首报 and the deadline kept; a contest decided by the bureau; a third region never sees a
thing; the agreed sharing shown."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Demand, Transfer, User
from tests import factories
from tests.test_intake import demand

PASSWORD = "copper kettle drum"


@pytest.fixture
def world(client, app):
    """Three districts under the city, staff in each and at the bureau, and two demands
    first registered by 平城区."""
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        for slug, name in (("pingcheng", "平城区"), ("yungang", "云冈区"), ("xinrong", "新荣区")):
            region = factories.region(slug=slug, kind="district", name=name, parent=city)
            factories.staff(email=f"{slug}@example.gov.cn", password=PASSWORD, role="region",
                            region=region)
        factories.staff(email="bureau@example.gov.cn", password=PASSWORD, role="bureau")
        db.session.commit()
    for company in ("甲公司", "乙公司"):
        assert client.post("/zh/demands/new", data=demand(
            company_name=company, preferred_regions=["pingcheng"])).status_code == 201
    with app.app_context():
        return {d.company_name: d.ticket for d in db.session.scalars(db.select(Demand))}


def _as(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def _record(app, ticket):
    with app.app_context():
        record = db.session.scalars(db.select(Demand).filter_by(ticket=ticket)).one()
        return {"region": record.region.slug, "first": record.first_region.slug,
                "due": record.due_at, "assignee": record.assignee_id,
                "transfers": [(t.status, t.to_region.slug) for t in db.session.scalars(
                    db.select(Transfer).filter_by(demand_id=record.id).order_by(Transfer.id))],
                "events": [(e.kind, e.public, e.note) for e in record.events]}


def _pending_id(app, ticket) -> int:
    with app.app_context():
        record = db.session.scalars(db.select(Demand).filter_by(ticket=ticket)).one()
        return db.session.scalars(db.select(Transfer.id).filter_by(demand_id=record.id)
                                  .where(Transfer.status.in_(("proposed", "contested")))).one()


def _third_region_sees_nothing(app, ticket, transfer_id=None):
    outsider = _as(app, "xinrong@example.gov.cn")
    url = f"/admin/tickets/demand/{ticket}"
    assert outsider.get(url).status_code == 404
    assert ticket not in outsider.get("/admin/transfers").get_data(as_text=True)
    assert outsider.post(f"{url}/transfer", data={
        "transfer-region": "xinrong", "transfer-reason": "我们来"}).status_code == 404
    if transfer_id is not None:
        for step in ("accept", "return", "contest", "withdraw", "decide"):
            assert outsider.post(f"{url}/transfers/{transfer_id}/{step}", data={
                "answer-reason": "x", "decide-holder": "to",
                "decide-reason": "x"}).status_code == 404, step


def test_proposed_returned_proposed_again_accepted(app, world):
    ticket = world["甲公司"]
    url = f"/admin/tickets/demand/{ticket}"
    before = _record(app, ticket)
    assert before["region"] == "pingcheng" and before["first"] == "pingcheng"
    with app.app_context():  # 平城区 has named an owner; acceptance clears it
        record = db.session.scalars(db.select(Demand).filter_by(ticket=ticket)).one()
        record.assignee = db.session.scalars(
            db.select(User).filter_by(email="pingcheng@example.gov.cn")).one()
        db.session.commit()
    holder, receiver = _as(app, "pingcheng@example.gov.cn"), _as(app, "yungang@example.gov.cn")
    assert receiver.get(url).status_code == 404  # nothing proposed yet

    # Proposed: the holder keeps it; the receiver may open it and sees it waiting.
    assert holder.post(f"{url}/transfer", data={
        "transfer-region": "yungang", "transfer-reason": "平城区无合适用地"}).status_code == 302
    state = _record(app, ticket)
    assert state["region"] == "pingcheng" and state["transfers"] == [("proposed", "yungang")]
    page = receiver.get(url).get_data(as_text=True)
    assert "流转待接收" in page and "平城区无合适用地" in page and "接收流转" in page
    assert ticket in receiver.get("/admin/transfers").get_data(as_text=True)
    assert "流转待接收" in holder.get(url).get_data(as_text=True)
    transfer_id = _pending_id(app, ticket)
    _third_region_sees_nothing(app, ticket, transfer_id)
    # A second proposal while one is pending is refused with a message.
    holder.post(f"{url}/transfer", data={"transfer-region": "xinrong",
                                         "transfer-reason": "再试"})
    assert len(_record(app, ticket)["transfers"]) == 1
    # The holder cannot answer its own proposal.
    holder.post(f"{url}/transfers/{transfer_id}/accept", data={})
    assert _record(app, ticket)["region"] == "pingcheng"

    # Returned with a reason: the receiver no longer sees it.
    receiver.post(f"{url}/transfers/{transfer_id}/return", data={"answer-reason": ""})
    assert _record(app, ticket)["transfers"] == [("proposed", "yungang")]  # a reason is needed
    assert receiver.post(f"{url}/transfers/{transfer_id}/return", data={
        "answer-reason": "云冈区同样无地"}).status_code == 302
    state = _record(app, ticket)
    assert state["transfers"] == [("returned", "yungang")] and state["region"] == "pingcheng"
    assert receiver.get(url).status_code == 404
    assert "云冈区同样无地" in holder.get(url).get_data(as_text=True)

    # Proposed again, accepted with the sharing of statistics and tax.
    holder.post(f"{url}/transfer", data={"transfer-region": "yungang",
                                         "transfer-reason": "云冈区新增工业用地"})
    transfer_id = _pending_id(app, ticket)
    receiver.post(f"{url}/transfers/{transfer_id}/accept", data={"accept-stats_share": "abc"})
    assert _record(app, ticket)["region"] == "pingcheng"  # refused: not a percentage
    assert receiver.post(f"{url}/transfers/{transfer_id}/accept", data={
        "accept-stats_share": "40", "accept-tax_share": "30",
        "accept-share_note": "前三年按比例分成"}).status_code == 302
    after = _record(app, ticket)
    assert after["region"] == "yungang" and after["first"] == "pingcheng"
    assert after["due"] == before["due"] and after["assignee"] is None
    assert after["transfers"] == [("returned", "yungang"), ("accepted", "yungang")]
    transfer_events = [e for e in after["events"] if e[0] == "transfer"]
    assert len(transfer_events) == 4 and not any(public for _, public, _ in transfer_events)

    page = receiver.get(url).get_data(as_text=True)
    assert "统计：云冈区 40%，平城区 60%" in page and "税收：云冈区 30%，平城区 70%" in page
    assert "前三年按比例分成" in page and "首谈首报" in page
    assert holder.get(url).status_code == 404  # no longer theirs
    _third_region_sees_nothing(app, ticket)
    with app.app_context():
        actions = [a for (a,) in db.session.execute(db.select(AuditEvent.action).where(
            AuditEvent.action.like("transfer_%")).order_by(AuditEvent.id))]
        assert actions == ["transfer_propose", "transfer_return", "transfer_propose",
                           "transfer_accept"]
        accepted = db.session.scalars(db.select(Transfer).filter_by(status="accepted")).one()
        assert (accepted.stats_share_percent, accepted.tax_share_percent) == (40, 30)
        assert accepted.answered_by.email == "yungang@example.gov.cn"


@pytest.mark.parametrize("winner", ["to", "from"])
def test_a_contest_is_decided_by_the_bureau(app, world, winner):
    ticket = world["乙公司"]
    url = f"/admin/tickets/demand/{ticket}"
    due = _record(app, ticket)["due"]
    holder, receiver = _as(app, "pingcheng@example.gov.cn"), _as(app, "yungang@example.gov.cn")
    bureau = _as(app, "bureau@example.gov.cn")
    holder.post(f"{url}/transfer", data={"transfer-region": "yungang",
                                         "transfer-reason": "企业意向在云冈"})
    transfer_id = _pending_id(app, ticket)
    assert receiver.post(f"{url}/transfers/{transfer_id}/contest", data={
        "answer-reason": "项目由我区首先接洽"}).status_code == 302
    assert _record(app, ticket)["transfers"] == [("contested", "yungang")]
    assert "流转有争议" in receiver.get(url).get_data(as_text=True)  # still open to them
    assert ticket in bureau.get("/admin/transfers").get_data(as_text=True)
    _third_region_sees_nothing(app, ticket, transfer_id)
    # Neither region can decide; the receiver cannot accept a contested transfer either.
    for browser in (holder, receiver):
        browser.post(f"{url}/transfers/{transfer_id}/decide", data={
            "decide-holder": "to", "decide-reason": "自己定"})
        browser.post(f"{url}/transfers/{transfer_id}/accept", data={})
    assert _record(app, ticket)["transfers"] == [("contested", "yungang")]
    assert "市局裁定" in bureau.get(url).get_data(as_text=True)

    assert bureau.post(f"{url}/transfers/{transfer_id}/decide", data={
        "decide-holder": winner, "decide-reason": "按首谈首报原则并兼顾用地条件",
        "decide-stats_share": "50", "decide-tax_share": "50"}).status_code == 302
    state = _record(app, ticket)
    assert state["first"] == "pingcheng" and state["due"] == due
    if winner == "to":
        assert state["region"] == "yungang"
        assert state["transfers"] == [("decided", "yungang")]
        assert holder.get(url).status_code == 404
        assert "统计：云冈区 50%，平城区 50%" in receiver.get(url).get_data(as_text=True)
    else:
        assert state["region"] == "pingcheng"
        assert state["transfers"] == [("returned", "yungang")]
        assert receiver.get(url).status_code == 404
        assert "市局裁定由原承办方办理" in holder.get(url).get_data(as_text=True)
    _third_region_sees_nothing(app, ticket)
    with app.app_context():
        decided = db.session.scalars(db.select(AuditEvent).filter_by(
            action="transfer_decide")).one()
        assert decided.actor.email == "bureau@example.gov.cn"
        assert decided.detail["holder"] == ("yungang" if winner == "to" else "pingcheng")


def test_the_holder_withdraws_and_the_bureau_proposes(app, world):
    ticket = world["甲公司"]
    url = f"/admin/tickets/demand/{ticket}"
    holder, bureau = _as(app, "pingcheng@example.gov.cn"), _as(app, "bureau@example.gov.cn")
    receiver = _as(app, "yungang@example.gov.cn")
    holder.post(f"{url}/transfer", data={"transfer-region": "yungang",
                                         "transfer-reason": "企业要求"})
    transfer_id = _pending_id(app, ticket)
    receiver.post(f"{url}/transfers/{transfer_id}/withdraw", data={})  # not the proposer's side
    assert _record(app, ticket)["transfers"] == [("proposed", "yungang")]
    holder.post(f"{url}/transfers/{transfer_id}/withdraw", data={"withdraw-reason": "企业改主意"})
    assert _record(app, ticket)["transfers"] == [("withdrawn", "yungang")]
    assert receiver.get(url).status_code == 404
    # The bureau holds every ticket and may propose too; the target must be another region.
    bureau.post(f"{url}/transfer", data={"transfer-region": "pingcheng",
                                         "transfer-reason": "x"})
    bureau.post(f"{url}/transfer", data={"transfer-region": "nowhere",
                                         "transfer-reason": "x"})
    assert _record(app, ticket)["transfers"] == [("withdrawn", "yungang")]
    bureau.post(f"{url}/transfer", data={"transfer-region": "xinrong",
                                         "transfer-reason": "市局统筹"})
    assert _record(app, ticket)["transfers"][-1] == ("proposed", "xinrong")
    assert _as(app, "xinrong@example.gov.cn").get(url).status_code == 200
