"""Staff queues: search, filters, pages, the export with the same filters, and dashboard
tiles that open the queue they count. Flags come from portal.cases.deadlines.state."""

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest

from portal.cases import deadlines
from portal.extensions import db
from portal.models import AuditEvent, Complaint, Demand, Region, User, utcnow
from tests import factories
from tests.test_case_deadlines import PASSWORD, complaint, demand


@pytest.fixture
def world(app):
    """Two districts; demands and complaints in each, some overdue, one due soon, one
    paused, one closed, one owned by pc1."""
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区",
                                     parent=city)
        yungang = factories.region(slug="yungang", kind="district", name="云冈区",
                                   parent=city)
        factories.staff(email="bureau@example.gov.cn", password=PASSWORD, role="bureau")
        pc1 = factories.staff(email="pc1@example.gov.cn", password=PASSWORD, role="region",
                              region=pingcheng, name="平城李四")
        factories.staff(email="yg@example.gov.cn", password=PASSWORD, role="region",
                        region=yungang)
        now = utcnow()
        demand(ticket="D-QUEUE00001", region=pingcheng, company_name="大同煤机装备有限公司",
               credit_code="91140200MA0K123456", message="拟建设智能矿山装备基地",
               materials=now - timedelta(days=10))  # acknowledgement long past: overdue
        demand(ticket="D-QUEUE00002", region=pingcheng, company_name="云冈文旅发展公司",
               materials=now - timedelta(days=10), status="accepted",
               accepted_at=now - timedelta(days=9))  # accepted: never overdue
        demand(ticket="D-QUEUE00003", region=yungang, company_name="百分之百_科技",
               materials=now - timedelta(days=10), assignee=None)
        demand(ticket="D-QUEUE00004", region=pingcheng, company_name="新到企业",
               materials=now, assignee=pc1)  # due tomorrow or so: due soon
        complaint(ticket="C-QUEUE00001", region=pingcheng, category="arrears",
                  company_name="华北新材料公司", facts="工程款拖欠两年未付",
                  materials=now - timedelta(days=30))  # acceptance overdue
        complaint(ticket="C-QUEUE00002", region=yungang, category="approval",
                  company_name="塞北能源公司", facts="环评审批超时",
                  materials=now - timedelta(days=30), status="supplement",
                  paused_since=now - timedelta(days=20))  # paused: not overdue
        complaint(ticket="C-QUEUE00003", region=pingcheng, category="approval",
                  company_name="已办结公司", facts="已经解决", status="closed",
                  materials=now - timedelta(days=30))
        db.session.commit()


def _as(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def _tickets(html: str) -> set[str]:
    return set(re.findall(r'<th scope="row"><a href="[^"]+">([DC]-[A-Z0-9]+)</a>', html))


def _queue(browser, kind, **args) -> set[str]:
    answer = browser.get(f"/admin/tickets/{kind}", query_string=args)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    return _tickets(answer.get_data(as_text=True))


@pytest.mark.parametrize("q, found", [
    ("D-QUEUE00001", {"D-QUEUE00001"}),  # the ticket
    ("d queue 00001", {"D-QUEUE00001"}),  # as a person reads it out
    ("dqueue00001", {"D-QUEUE00001"}),  # typed without the hyphen
    ("煤机", {"D-QUEUE00001"}),  # the company
    ("MA0K1234", {"D-QUEUE00001"}),  # part of the credit code
    ("智能矿山", {"D-QUEUE00001"}),  # the message
    ("百分之百_", {"D-QUEUE00003"}),  # LIKE's _ matches itself only
    ("%", set()),  # and so does %
    ("公司", {"D-QUEUE00001", "D-QUEUE00002"}),
    ("没有这家", set()),
])
def test_search_demands(app, world, q, found):
    assert _queue(_as(app, "bureau@example.gov.cn"), "demand", q=q) == found


def test_search_complaints_by_facts_and_company(app, world):
    bureau = _as(app, "bureau@example.gov.cn")
    assert _queue(bureau, "complaint", q="拖欠") == {"C-QUEUE00001"}
    assert _queue(bureau, "complaint", q="塞北") == {"C-QUEUE00002"}


def test_search_stays_in_scope(app, world):
    yg = _as(app, "yg@example.gov.cn")
    assert _queue(yg, "demand", q="科技") == {"D-QUEUE00003"}
    assert _queue(yg, "demand", q="煤机") == set()
    assert _queue(yg, "complaint", q="拖欠") == set()


def test_a_hidden_identity_is_not_found_by_company(app, world):
    """The region complained about finds the complaint by its facts but never by the name
    of a complainant who asked to stay unnamed (the hit would name them)."""
    with app.app_context():
        record = db.session.scalars(db.select(Complaint).filter_by(
            ticket="C-QUEUE00002")).one()
        record.withhold_identity = True
        record.respondent_region_id = record.region_id  # about 云冈区, held by 云冈区
        db.session.commit()
    yg = _as(app, "yg@example.gov.cn")
    assert _queue(yg, "complaint", q="塞北") == set()
    page = yg.get("/admin/tickets/complaint", query_string={"q": "环评"}).get_data(
        as_text=True)
    assert "C-QUEUE00002" in page and "塞北能源公司" not in page
    assert _queue(_as(app, "bureau@example.gov.cn"), "complaint", q="塞北") == {
        "C-QUEUE00002"}


def test_filters(app, world):
    bureau = _as(app, "bureau@example.gov.cn")
    assert _queue(bureau, "demand", region="yungang") == {"D-QUEUE00003"}
    assert _queue(bureau, "demand", region="datong") == {  # a city and the districts in it
        "D-QUEUE00001", "D-QUEUE00002", "D-QUEUE00003", "D-QUEUE00004"}
    assert _queue(bureau, "demand", status="accepted") == {"D-QUEUE00002"}
    assert _queue(bureau, "complaint", status="open") == {"C-QUEUE00001", "C-QUEUE00002"}
    assert _queue(bureau, "complaint", category="approval") == {"C-QUEUE00002",
                                                                "C-QUEUE00003"}
    assert _queue(bureau, "demand", owner="none") == {"D-QUEUE00001", "D-QUEUE00002",
                                                      "D-QUEUE00003"}
    with app.app_context():
        pc1 = db.session.scalars(db.select(User.id).filter_by(
            email="pc1@example.gov.cn")).one()
    assert _queue(bureau, "demand", owner=str(pc1)) == {"D-QUEUE00004"}
    assert _queue(_as(app, "pc1@example.gov.cn"), "demand", owner="me") == {"D-QUEUE00004"}
    # Filters combine.
    assert _queue(bureau, "demand", q="公司", region="pingcheng", status="submitted") == {
        "D-QUEUE00001"}


def test_deadline_filters_agree_with_the_one_function(app, world):
    bureau = _as(app, "bureau@example.gov.cn")
    overdue = _queue(bureau, "demand", deadline="overdue")
    due_soon = _queue(bureau, "demand", deadline="due_soon")
    with app.app_context():
        rows = db.session.scalars(db.select(Demand)).all()
        assert overdue == {r.ticket for r in rows if deadlines.state(r).overdue}
        assert due_soon == {r.ticket for r in rows if deadlines.state(r).due_soon}
    assert overdue == {"D-QUEUE00001", "D-QUEUE00003"}  # not the accepted D-QUEUE00002
    assert _queue(bureau, "demand", overdue="1") == overdue  # the old link still works
    assert _queue(bureau, "complaint", deadline="overdue") == {"C-QUEUE00001"}  # not paused
    page = bureau.get("/admin/tickets/complaint").get_data(as_text=True)
    assert "补正中，计时暂停" in page and "已超期" in page


def test_bad_filters_answer_with_messages(app, world):
    bureau = _as(app, "bureau@example.gov.cn")
    for args, message in [
        ({"status": "nonsense"}, "从列表中选择状态"),
        ({"region": "atlantis"}, "从列表中选择区域"),
        ({"owner": "999999"}, "从列表中选择负责人"),
        ({"deadline": "tomorrow"}, "从列表中选择期限情况"),
        ({"category": "x"}, "从列表中选择投诉类别"),
        ({"q": "长" * 101}, "搜索内容不能超过 100 个字"),
    ]:
        answer = bureau.get("/admin/tickets/complaint", query_string=args)
        text = unescape(answer.get_data(as_text=True))
        assert answer.status_code == 422 and message in text, args
        assert "<title>错误：" in text
    # A region user may not name another region, even in the address bar.
    answer = _as(app, "pc1@example.gov.cn").get("/admin/tickets/demand?region=yungang")
    assert answer.status_code == 422
    # The export of a bad filter goes back to the messages, and exports nothing.
    answer = bureau.get("/admin/tickets/demand.csv?status=nonsense")
    assert answer.status_code == 302 and "status=nonsense" in answer.location
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(
            action="export")) == 0


def test_pages(app, world):
    with app.app_context():
        region = db.session.scalars(db.select(Region).filter_by(
            slug="pingcheng")).one()
        for n in range(25):
            demand(ticket=f"D-PAGE{n:06d}", region=region, company_name=f"分页企业{n}")
        db.session.commit()
    bureau = _as(app, "bureau@example.gov.cn")
    first = bureau.get("/admin/tickets/demand?q=分页").get_data(as_text=True)
    second = bureau.get("/admin/tickets/demand?q=分页&page=2").get_data(as_text=True)
    assert len(_tickets(first)) == 20 and len(_tickets(second)) == 5
    assert not _tickets(first) & _tickets(second)
    assert "共 25 条" in first and "第 1 页，共 2 页" in first
    assert "page=2" in first and "q=%E5%88%86%E9%A1%B5" in unescape(first)  # keeps the search
    assert bureau.get("/admin/tickets/demand?q=分页&page=x").status_code == 200


def test_export_follows_the_filters(app, world):
    bureau = _as(app, "bureau@example.gov.cn")
    answer = bureau.get("/admin/tickets/demand.csv?deadline=overdue")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["ticket"] for r in rows} == {"D-QUEUE00001", "D-QUEUE00003"}
    assert all(r["overdue"] == "yes" and r["deadline"] == "acknowledgement" for r in rows)
    answer = bureau.get("/admin/tickets/demand.csv?owner=none&q=煤机")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["ticket"] for r in rows] == ["D-QUEUE00001"] and rows[0]["owner"] == ""
    answer = bureau.get("/admin/tickets/demand.csv?status=accepted")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["ticket"], r["overdue"]) for r in rows] == [("D-QUEUE00002", "")]
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).filter_by(action="export")
                                    .order_by(AuditEvent.id)).all()
        assert [e.detail["filters"] for e in events] == [
            {"deadline": "overdue"}, {"owner": "none", "q": "煤机"}, {"status": "accepted"}]


def test_dashboard_tiles_open_the_queue_they_count(app, world):
    for email in ("bureau@example.gov.cn", "pc1@example.gov.cn", "yg@example.gov.cn"):
        browser = _as(app, email)
        page = browser.get("/admin/").get_data(as_text=True)
        tiles = re.findall(r'<a href="(/admin/tickets/[^"]+)"><strong>(\d+)</strong>', page)
        assert len(tiles) >= 10, page
        for href, count in tiles:
            queue = browser.get(unescape(href)).get_data(as_text=True)
            assert f"共 {count} 条" in queue, (email, href)
    page = _as(app, "bureau@example.gov.cn").get("/admin/").get_data(as_text=True)
    assert re.search(r'deadline=overdue"><strong>2</strong> 已超期', page)  # 2 demands
    assert '/admin/tickets/complaint?deadline=overdue"><strong>1</strong>' in page
