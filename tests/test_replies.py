"""Replies on a ticket: internal notes and public replies at any time, with or without a status
change, files staff send with a reply, response templates, the investor's rating on the staff
page, and a confirmation page that tells the truth about mail."""

import io
import re

import pytest

from portal.extensions import db
from portal.intake import workflow
from portal.models import (
    Attachment,
    AuditEvent,
    Complaint,
    OutboxJob,
    ResponseTemplate,
    TicketEvent,
)
from tests import factories
from tests.test_intake import COMPLAINT, _pdf

PASSWORD = "copper kettle drum"


@pytest.fixture
def world(client, app):
    """Two districts, staff of one of them, an admin, and a complaint about each district
    filed with an e-mail address and a file of the investor's own."""
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区",
                                     parent=city)
        factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
        factories.staff(email="admin@example.gov.cn", password=PASSWORD, role="admin")
        factories.staff(email="pc@example.gov.cn", password=PASSWORD, role="region",
                        region=pingcheng, name="平城区张科长")
        db.session.commit()
    found = {}
    for slug in ("pingcheng", "yungang"):
        html = client.post("/zh/complaints/new", data=COMPLAINT | {
            "respondent_region": slug, "contact_email": "li@example.com",
            "attachments": [(io.BytesIO(_pdf()), "合同.pdf")]},
            content_type="multipart/form-data").get_data(as_text=True)
        ticket, code = re.findall(r'class="ticket">([\w-]+)<', html)
        found[slug] = (ticket, code)
    return found


def _as(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def _record(ticket) -> Complaint:
    db.session.expire_all()
    return db.session.scalars(db.select(Complaint).filter_by(ticket=ticket)).one()


def _investor_mail(ticket) -> list[dict]:
    return [j.payload for j in db.session.scalars(db.select(OutboxJob).filter_by(kind="mail"))
            if j.payload["to"] == "li@example.com" and "已收到" not in j.payload["subject"]]


def _track(client, ticket, code) -> str:
    return client.post("/zh/track", data={"ticket": ticket, "access_code": code}
                       ).get_data(as_text=True)


def test_an_internal_note_without_a_status_change_stays_inside(app, client, world):
    ticket, code = world["pingcheng"]
    staff = _as(app, "pc@example.gov.cn")
    answer = staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-text": "已电话联系被投诉单位，待其说明", "reply-visibility": "note"})
    assert answer.status_code == 302 and answer.location.endswith(ticket)
    with app.app_context():
        record = _record(ticket)
        note = record.events[-1]
        assert (record.status, note.kind, note.public) == ("submitted", "note", False)
        assert note.actor.email == "pc@example.gov.cn"
        assert db.session.scalars(db.select(AuditEvent).filter_by(action="note")).one()
        assert _investor_mail(ticket) == []
    page = staff.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    assert "已电话联系被投诉单位" in page and "内部备注" in page and "平城区张科长" in page
    assert "已电话联系被投诉单位" not in _track(client, ticket, code)


def test_a_public_reply_reaches_the_tracking_page_and_the_investors_mail(app, client, world):
    ticket, code = world["pingcheng"]
    staff = _as(app, "pc@example.gov.cn")
    staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-text": "请补充施工许可申请的受理回执。", "reply-visibility": "public"})
    with app.app_context():
        record = _record(ticket)
        assert (record.status, record.events[-1].kind, record.events[-1].public) == \
            ("submitted", "reply", True)
        assert record.first_contact_at is not None
        [mail] = _investor_mail(ticket)
        assert ticket in mail["subject"] and "请补充施工许可申请的受理回执。" in mail["body"]
        assert "http://portal.test/zh/track" in mail["body"]
        assert code not in mail["body"] and code.replace("-", "") not in mail["body"]
    assert "请补充施工许可申请的受理回执。" in _track(client, ticket, code)


def test_a_status_change_with_an_internal_note_shows_the_move_not_the_note(app, client, world):
    ticket, code = world["pingcheng"]
    staff = _as(app, "pc@example.gov.cn")
    staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-text": "材料齐全，经办人核对无误", "reply-visibility": "note",
        "reply-status": "accepted"})
    with app.app_context():
        record = _record(ticket)
        status, note = record.events[-2:]
        assert record.status == "accepted"
        assert (status.kind, status.public, status.note) == ("status", True, "")
        assert (note.kind, note.public) == ("note", False)
        assert db.session.scalars(db.select(AuditEvent).filter_by(
            action="status:submitted->accepted")).one()
        assert _investor_mail(ticket) == []  # no public reply, not closed
    tracked = _track(client, ticket, code)
    assert "已受理" in tracked and "材料齐全" not in tracked


def test_closing_mails_the_investor_even_without_a_text(app, world):
    ticket, _code = world["pingcheng"]
    with app.app_context():
        record = _record(ticket)
        workflow.transition(record, "accepted")
        workflow.transition(record, "answered")
        db.session.commit()
    staff = _as(app, "pc@example.gov.cn")
    staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-visibility": "note", "reply-status": "closed"})
    with app.app_context():
        assert _record(ticket).status == "closed"
        [mail] = _investor_mail(ticket)
        assert mail["subject"] == f"已办结：{ticket}" and "评价" in mail["body"]


@pytest.mark.parametrize("data, message", [
    ({"reply-visibility": "public"}, "写下答复或备注的内容，或选择新的状态"),
    ({"reply-visibility": "note", "reply-status": "closed-forever", "reply-text": "x"},
     "不能从"),
    ({"reply-visibility": "note", "reply-status": "answered", "reply-text": "x"}, "不能从"),
    ({"reply-visibility": "everyone", "reply-text": "x"}, "选择公开答复或内部备注"),
    ({"reply-visibility": "public", "reply-text": "x" * 5001}, "不能超过 5000 个字"),
])
def test_a_bad_reply_is_explained_and_nothing_is_saved(app, world, data, message):
    ticket, _code = world["pingcheng"]
    staff = _as(app, "pc@example.gov.cn")
    answer = staff.post(f"/admin/tickets/complaint/{ticket}/reply", data=data)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and message in html
    assert 'class="error-summary"' in html
    with app.app_context():
        record = _record(ticket)
        assert record.status == "submitted" and len(record.events) == 1


def test_files_go_only_with_a_public_reply(app, world):
    ticket, _code = world["pingcheng"]
    staff = _as(app, "pc@example.gov.cn")
    answer = staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-text": "内部材料", "reply-visibility": "note",
        "reply-attachments": [(io.BytesIO(_pdf()), "内部.pdf")]},
        content_type="multipart/form-data")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "附件只能随公开答复发给提交人" in html
    assert "内部材料" in html  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 2  # the two filed


def test_staff_files_stay_apart_and_reach_only_the_holder_of_the_code(app, client, world):
    ticket, code = world["pingcheng"]
    staff = _as(app, "pc@example.gov.cn")
    answer = staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-text": "随函附上告知书。", "reply-visibility": "public",
        "reply-attachments": [(io.BytesIO(_pdf()), "告知书.pdf")]},
        content_type="multipart/form-data")
    assert answer.status_code == 302
    with app.app_context():
        record = _record(ticket)
        reply = record.events[-1]
        sent = db.session.scalars(db.select(Attachment).filter_by(event_id=reply.id)).one()
        assert sent.filename == "告知书.pdf" and sent.complaint_id == record.id
        assert [a.filename for a in record.attachments] == ["合同.pdf"]  # the investor's only
        own_key, sent_key = record.attachments[0].storage_key, sent.storage_key
        audit = db.session.scalars(db.select(AuditEvent).filter_by(action="reply")).one()
        assert audit.detail["files"][0]["filename"] == "告知书.pdf"
    page = staff.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    assert "随答复发给提交人" in page
    assert staff.get(f"/admin/attachments/{sent_key}").data.startswith(b"%PDF")

    tracked = _track(client, ticket, code)
    assert "告知书.pdf" in tracked and sent_key in tracked and own_key not in tracked
    good = {"ticket": ticket, "access_code": code, "file": sent_key}
    download = client.post("/zh/track/file", data=good)
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "attachment" in download.headers["Content-Disposition"]
    wrong_code = client.post("/zh/track/file", data=good | {"access_code": "AAAA-AAAA-AAAA-AAAA"})
    assert wrong_code.status_code == 404 and not wrong_code.data.startswith(b"%PDF")
    other_ticket, other_code = world["yungang"]
    crossed = client.post("/zh/track/file", data={"ticket": other_ticket,
                                                  "access_code": other_code, "file": sent_key})
    assert crossed.status_code == 404
    own = client.post("/zh/track/file", data=good | {"file": own_key})
    assert own.status_code == 404  # the submitter's own files are not served back


def test_staff_outside_the_region_cannot_reply(app, world):
    ticket, _code = world["yungang"]
    staff = _as(app, "pc@example.gov.cn")
    answer = staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-text": "越权", "reply-visibility": "public"})
    assert answer.status_code == 404
    assert staff.post(f"/admin/tickets/demand/{ticket}/reply", data={
        "reply-text": "越权", "reply-visibility": "public"}).status_code == 404
    with app.app_context():
        assert len(_record(ticket).events) == 1


def test_admins_manage_templates_and_staff_pick_one(app, world):
    ticket, _code = world["pingcheng"]
    admin = _as(app, "admin@example.gov.cn")
    refused = admin.post("/admin/templates/new", data={"kind": "complaint", "title": "",
                                                       "body": ""})
    assert "输入模板名称" in refused.get_data(as_text=True)
    for title, category in (("受理告知", "approval"), ("执法回复", "enforcement"),
                            ("通用答复", "")):
        answer = admin.post("/admin/templates/new", data={
            "kind": "complaint", "category": category, "title": title,
            "body": f"{title}：您的投诉已收悉。", "sort_order": "0", "active": "y"})
        assert answer.status_code == 302
    admin.post("/admin/templates/new", data={"kind": "demand", "category": "approval",
                                             "title": "需求答复", "body": "需求已收悉。",
                                             "active": "y"})
    with app.app_context():
        ids = {t.title: t.id for t in db.session.scalars(db.select(ResponseTemplate))}
        assert db.session.get(ResponseTemplate, ids["需求答复"]).category == ""
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(
            action="template_new")) == 4
    assert "受理告知" in admin.get("/admin/templates").get_data(as_text=True)
    admin.post(f"/admin/templates/{ids['通用答复']}", data={
        "kind": "complaint", "title": "通用答复", "body": "改过的通用答复。", "active": "y"})

    staff = _as(app, "pc@example.gov.cn")
    assert staff.get("/admin/templates").status_code == 404
    assert staff.post("/admin/templates/new", data={"kind": "demand", "title": "x",
                                                    "body": "y"}).status_code == 404
    page = staff.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    assert "受理告知" in page and "通用答复" in page  # its category and every category
    assert "执法回复" not in page and "需求答复" not in page
    assert re.search(r"js/replies\.[0-9a-f]{10}\.js", page) and "<script>" not in page
    filled = staff.get(f"/admin/tickets/complaint/{ticket}?template={ids['通用答复']}")
    assert re.search(r"<textarea[^>]*>\s*改过的通用答复。</textarea>",
                     filled.get_data(as_text=True))
    foreign = staff.get(f"/admin/tickets/complaint/{ticket}?template={ids['执法回复']}")
    assert "执法回复：您的投诉已收悉。</textarea>" not in foreign.get_data(as_text=True)

    admin.post(f"/admin/templates/{ids['受理告知']}/deactivate")
    assert "受理告知" not in staff.get(f"/admin/tickets/complaint/{ticket}").get_data(
        as_text=True)
    with app.app_context():
        actions = set(db.session.scalars(db.select(AuditEvent.action)))
        assert {"template_edit", "template_deactivate"} <= actions


def test_the_rating_shows_on_the_ticket_page(app, client, world):
    ticket, code = world["pingcheng"]
    with app.app_context():
        record = _record(ticket)
        for status in ("accepted", "answered", "closed"):
            workflow.transition(record, status)
        db.session.commit()
    staff = _as(app, "pc@example.gov.cn")
    assert "尚未评价" in staff.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    client.post("/zh/track/rate", data={"ticket": ticket, "access_code": code, "rating": "4",
                                        "comment": "答复及时，问题已解决"})
    page = staff.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    assert "4 分（满分 5 分）" in page and "答复及时，问题已解决" in page
    with app.app_context():
        assert _record(ticket).rated_at is not None


def test_reply_events_keep_their_kind(app, world):
    ticket, _code = world["pingcheng"]
    staff = _as(app, "pc@example.gov.cn")
    staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-text": "已受理，将在 60 个工作日内办结。", "reply-visibility": "public",
        "reply-status": "accepted"})
    with app.app_context():
        record = _record(ticket)
        kinds = [e.kind for e in db.session.scalars(db.select(TicketEvent).filter_by(
            complaint_id=record.id).order_by(TicketEvent.id))]
        assert kinds == ["status", "reply"]  # one event: the move and its public answer


@pytest.mark.parametrize("mail_server, email, mailed", [
    ("", "li@example.com", False),
    ("127.0.0.1", "", False),
    ("127.0.0.1", "li@example.com", True),
])
def test_the_confirmation_says_mail_was_sent_only_when_it_was(client, app, monkeypatch,
                                                              mail_server, email, mailed):
    monkeypatch.setitem(app.config, "MAIL_SERVER", mail_server)
    monkeypatch.setitem(app.config, "MAIL_PORT", 9)  # nothing listens: the mail waits
    html = client.post("/zh/complaints/new", data=COMPLAINT | {"contact_email": email}
                       ).get_data(as_text=True)
    assert ("发送到您的邮箱" in html) == mailed
    assert ("我们不会通过邮件发送" in html) == (not mailed)
