"""Demand and complaint intake, tracking and ratings: nothing acknowledged is lost, every
mistake is explained beside its field."""

import re

import pytest

from portal.extensions import db
from portal.intake import services, workflow
from portal.models import AuditEvent, Complaint, Demand, OutboxJob, TicketEvent
from tests import factories


def valid_credit_code(base: str = "91140200MA0K") -> str:
    from portal.intake.validators import credit_code_valid

    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    body = (base + "123456")[:17]
    total = sum(alphabet.index(c) * w for c, w in zip(body, weights, strict=True))
    code = body + alphabet[(31 - total % 31) % 31]
    assert credit_code_valid(code)
    return code


DEMAND = {
    "investor_type": "domestic", "company_name": "大同示例新能源有限公司",
    "contact_name": "王工", "contact_phone": "13812345678", "contact_email": "wang@example.com",
    "amount_wan": "20000", "currency": "CNY", "timeline": "6m", "land_mu": "80",
    "message": "建设储能电池组装线。", "consent": "y",
}
COMPLAINT = {
    "category": "approval", "company_name": "大同示例制造有限公司",
    "respondent_name": "某县行政审批服务管理局",
    "facts": "2026年9月提交施工许可申请，材料齐全，至今未办理也未告知原因。",
    "desired_outcome": "依法办理施工许可。", "contact_name": "李经理",
    "contact_phone": "0352-1234567", "consent": "y",
}


def demand(**changes):
    return DEMAND | {"credit_code": valid_credit_code()} | changes


def api_demand(**changes):
    """The demand as an API client sends it: numbers as JSON numbers, consent as true."""
    return demand() | {"amount_wan": 20000, "land_mu": 80, "consent": True} | changes


def test_demand_form_renders_with_consent_unticked(client, app):
    html = client.get("/zh/demands/new").get_data(as_text=True)
    assert "提交投资需求" in html
    consent = re.search(r'<input[^>]*id="consent"[^>]*>', html).group(0)
    assert "checked" not in consent
    assert "个人信息处理说明" in html and "保存期限" in html
    assert client.get("/en/demands/new").status_code == 200


def test_demand_form_is_prefilled_from_a_site(client, app):
    with app.app_context():
        site_id = factories.parcel().id
        db.session.commit()
    html = client.get(f"/zh/demands/new?site={site_id}").get_data(as_text=True)
    assert re.search(rf'name="site"[^>]*value="{site_id}"|value="{site_id}"[^>]*name="site"', html)


def test_a_demand_is_stored_before_it_is_acknowledged(client, app):
    response = client.post("/zh/demands/new", data=demand())
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    ticket = re.search(r'class="ticket">(D-[0-9A-Z]{10})<', html).group(1)
    code = re.search(r'class="ticket">([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<',
                     html).group(1)
    with app.app_context():
        record = db.session.scalars(db.select(Demand).filter_by(ticket=ticket)).one()
        assert record.company_name == "大同示例新能源有限公司"
        assert record.contact_phone == "+8613812345678"
        assert record.needs == {"land_mu": 80.0}
        assert code.replace("-", "") not in record.access_code_hash
        assert record.due_at is not None and record.consent_at is not None
        assert [e.status for e in record.events] == ["submitted"]
        mails = db.session.scalars(db.select(OutboxJob).filter_by(kind="mail")).all()
        assert any(m.payload["to"] == "wang@example.com" and ticket in m.payload["body"]
                   and code in m.payload["body"] for m in mails)
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(
            action="submitted")) == 1


def test_every_bad_field_is_explained_and_input_kept(client, app):
    bad = demand(credit_code="91140200MA0K12345Z", contact_phone="12345",
                 contact_email="not-mail", amount_wan="-5", consent="")
    html = client.post("/zh/demands/new", data=bad).get_data(as_text=True)
    assert "<title>错误：" in html
    for field in ("credit_code", "contact_phone", "contact_email", "amount_wan", "consent"):
        assert f'href="#{field}"' in html, field
        assert f'id="{field}-error"' in html, field
    assert 'value="大同示例新能源有限公司"' in html  # kept
    assert "校验位" in html or "统一社会信用代码" in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Demand.id))) == 0


def test_errors_in_english(client):
    html = client.post("/en/demands/new", data=demand(contact_phone="x")).get_data(as_text=True)
    assert "<title>Error: " in html
    assert "存在以下问题" not in html


def test_foreign_investor_gives_country_and_registration(client, app):
    html = client.post("/zh/demands/new", data=demand(investor_type="foreign", credit_code="")
                       ).get_data(as_text=True)
    assert 'href="#country"' in html and 'href="#registration_number"' in html
    ok = client.post("/zh/demands/new", data=demand(
        investor_type="foreign", credit_code="", country="德国",
        registration_number="HRB 123456", contact_phone="+49 30 123456"))
    assert ok.status_code == 201


def test_the_honeypot_stores_nothing(client, app):
    assert client.post("/zh/demands/new", data=demand(website="http://spam")).status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Demand.id))) == 0


def test_a_double_submit_gives_one_ticket(client, app):
    first = client.post("/zh/demands/new", data=demand(idempotency_key="key-123"))
    second = client.post("/zh/demands/new", data=demand(idempotency_key="key-123"))
    assert first.status_code == 201 and second.status_code == 200
    ticket = re.search(r'class="ticket">(D-\w+)<', first.get_data(as_text=True)).group(1)
    assert ticket in second.get_data(as_text=True)
    assert "此内容已提交过" in second.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Demand.id))) == 1


def test_tickets_are_random(client, app):
    tickets = set()
    for n in range(5):
        body = client.post("/zh/demands/new", data=demand(company_name=f"公司{n}"))
        tickets.add(re.search(r'class="ticket">(D-\w+)<', body.get_data(as_text=True)).group(1))
    assert len(tickets) == 5
    numbers = sorted(tickets)
    assert numbers != [f"D-{i}" for i in range(5)]
    assert all(re.fullmatch(r"D-[0-9A-HJKMNP-TV-Z]{10}", t) for t in tickets)


def test_complaint_form_and_scope_notice(client, app):
    html = client.get("/zh/complaints/new").get_data(as_text=True)
    assert "民事纠纷" in html and "不属于受理范围" in html
    response = client.post("/zh/complaints/new", data=COMPLAINT | {"withhold_identity": "y"})
    assert response.status_code == 201
    with app.app_context():
        record = db.session.scalars(db.select(Complaint)).one()
        assert record.withhold_identity and record.category == "approval"
        assert record.accept_due_at < record.due_at


def test_complaint_facts_too_short(client):
    html = client.post("/zh/complaints/new", data=COMPLAINT | {"facts": "太慢"}).get_data(
        as_text=True)
    assert 'href="#facts"' in html and "20" in html


def _submit(client):
    html = client.post("/zh/demands/new", data=demand()).get_data(as_text=True)
    ticket = re.search(r'class="ticket">(D-\w+)<', html).group(1)
    code = re.search(r'class="ticket">(\w{4}-\w{4}-\w{4}-\w{4})<', html).group(1)
    return ticket, code


def test_tracking_shows_public_notes_only(client, app):
    ticket, code = _submit(client)
    with app.app_context():
        record = db.session.scalars(db.select(Demand).filter_by(ticket=ticket)).one()
        workflow.transition(record, "accepted", note="已安排首接负责人", public=True)
        workflow.transition(record, "negotiating", note="内部：客户资信待核", public=False)
        db.session.commit()
    html = client.post("/zh/track", data={"ticket": ticket.lower(),
                                          "access_code": code.lower()}).get_data(as_text=True)
    assert "已安排首接负责人" in html and "内部：客户资信待核" not in html
    assert "对接中" in html


def test_wrong_code_and_unknown_ticket_look_the_same(client, app):
    ticket, _code = _submit(client)
    wrong = client.post("/zh/track", data={"ticket": ticket, "access_code": "AAAA-AAAA-AAAA-AAAA"})
    unknown = client.post("/zh/track", data={"ticket": "D-0000000000",
                                             "access_code": "AAAA-AAAA-AAAA-AAAA"})
    assert wrong.status_code == unknown.status_code == 404
    strip = lambda r: re.sub(r'name="csrf_token"[^>]*', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(wrong).replace(ticket, "X") == strip(unknown).replace("D-0000000000", "X")
    api_wrong = client.get(f"/api/v1/track/{ticket}", headers={"X-Access-Code": "nope"})
    api_unknown = client.get("/api/v1/track/D-0000000000", headers={"X-Access-Code": "nope"})
    assert api_wrong.status_code == api_unknown.status_code == 404
    assert api_wrong.get_json() == api_unknown.get_json()


def test_api_track(client, app):
    ticket, code = _submit(client)
    body = client.get(f"/api/v1/track/{ticket}", headers={"X-Access-Code": code}).get_json()
    assert body["ticket"] == ticket and body["kind"] == "demand"
    assert body["status"] == "submitted"
    assert [e["status"] for e in body["events"]] == ["submitted"]


def test_rating_after_closing(client, app):
    ticket, code = _submit(client)
    form = {"ticket": ticket, "access_code": code, "rating": "4", "comment": "对接及时"}
    early = client.post("/zh/track/rate", data=form).get_data(as_text=True)
    assert "您的评价" not in early and 'action="/zh/track/rate"' not in early
    with app.app_context():
        record = db.session.scalars(db.select(Demand).filter_by(ticket=ticket)).one()
        assert record.rating is None
        workflow.transition(record, "closed", note="项目已落地")
        db.session.commit()
    client.post("/zh/track/rate", data=form)
    with app.app_context():
        record = db.session.scalars(db.select(Demand).filter_by(ticket=ticket)).one()
        assert record.rating == 4 and record.rating_comment == "对接及时"
    again = client.post("/zh/track/rate", data=form | {"rating": "1"}).get_data(as_text=True)
    assert "您的评价：4 分" in again


def test_workflow_refuses_a_skipped_step_and_writes_events(ctx):
    record = Demand(ticket="D-TEST000001", access_code_hash="x", contact_name="王",
                    company_name="公司", consent_at=factories_now(), status="submitted")
    db.session.add(record)
    db.session.flush()
    with pytest.raises(workflow.WorkflowError):
        workflow.transition(record, "producing")
    workflow.transition(record, "accepted", note="受理")
    db.session.commit()
    assert record.status == "accepted"
    assert db.session.scalar(db.select(db.func.count(TicketEvent.id))) == 1
    assert db.session.scalars(db.select(AuditEvent)).one().action == "status:submitted->accepted"


def test_supplement_pauses_the_clock(ctx):
    from datetime import timedelta

    from portal.models import utcnow

    record = Complaint(ticket="C-TEST000001", access_code_hash="x", contact_name="李",
                       consent_at=utcnow(), category="policy", respondent_name="某局",
                       facts="事实" * 20, status="submitted", materials_complete_at=utcnow())
    db.session.add(record)
    workflow.transition(record, "supplement", note="请补充合同复印件")
    record.paused_since = utcnow() - timedelta(days=14)  # waited two weeks
    workflow.transition(record, "submitted", note="材料已补齐")
    assert record.paused_since is None
    assert 9 <= record.paused_working_days <= 11


def factories_now():
    from portal.models import utcnow

    return utcnow()


def test_api_demand(client, app):
    response = client.post("/api/v1/demands", json=api_demand(),
                           headers={"Idempotency-Key": "api-1"})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"ticket", "access_code", "status"} and body["status"] == "submitted"
    replay = client.post("/api/v1/demands", json=api_demand(),
                         headers={"Idempotency-Key": "api-1"})
    assert replay.status_code == 200 and replay.get_json()["ticket"] == body["ticket"]
    # a client whose first answer was lost gets the same, working access code again
    assert replay.get_json()["access_code"] == body["access_code"]
    assert client.get(f"/api/v1/track/{body['ticket']}",
                      headers={"X-Access-Code": body["access_code"]}).status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Demand.id))) == 1


@pytest.mark.parametrize("payload, field", [
    ({"contact_phone": "abc"}, "contact_phone"),
    ({"credit_code": "123"}, "credit_code"),
    ({"consent": False}, "consent"),
    ({"amount_wan": {"nested": 1}}, "amount_wan"),
    ({"surprise": "x"}, "surprise"),
])
def test_api_demand_errors_name_the_field(client, payload, field):
    response = client.post("/api/v1/demands", json=api_demand() | payload)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]


def test_api_wrong_content_and_bad_json(client):
    assert client.post("/api/v1/demands", data="x", content_type="text/plain").status_code == 415
    bad = client.post("/api/v1/complaints", data="{oops", content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_request"
    assert client.post("/api/v1/complaints", json=[1, 2]).status_code == 400


def test_api_complaint(client):
    response = client.post("/api/v1/complaints", json=COMPLAINT | {"consent": True})
    assert response.status_code == 201
    assert response.get_json()["ticket"].startswith("C-")


def test_staff_alert_is_queued_for_the_bureau(client, app):
    with app.app_context():
        factories.staff(email="bureau@example.gov.cn", role="bureau")
        db.session.commit()
    client.post("/zh/complaints/new", data=COMPLAINT)
    with app.app_context():
        recipients = {m.payload["to"] for m in db.session.scalars(
            db.select(OutboxJob).filter_by(kind="mail"))}
        assert "bureau@example.gov.cn" in recipients


def test_services_find_normalises_what_people_type(client, app):
    ticket, code = _submit(client)
    with app.app_context():
        assert services.find(ticket.lower().replace("-", " "), code.replace("-", "")) is not None
        assert services.find(ticket, code[:-1] + ("A" if code[-1] != "A" else "B")) is None


def _pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def test_complaint_with_attachments_and_staff_only_download(client, app):
    import io

    data = COMPLAINT | {"attachments": [(io.BytesIO(_pdf()), "合同.pdf"),
                                        (io.BytesIO(b"<html>x</html>"), "伪装.pdf")]}
    html = client.post("/zh/complaints/new", data=data,
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "不是允许的文件类型" in html and 'value="某县行政审批服务管理局"' in html
    data = COMPLAINT | {"attachments": [(io.BytesIO(_pdf()), "../../合同.pdf")]}
    assert client.post("/zh/complaints/new", data=data,
                       content_type="multipart/form-data").status_code == 201
    with app.app_context():
        record = db.session.scalars(db.select(Complaint)).one()
        attachment = record.attachments[0]
        assert attachment.filename == "合同.pdf" and attachment.content_type == "application/pdf"
        key, ticket = attachment.storage_key, record.ticket
        factories.staff(email="bureau@example.gov.cn", password="pw-123456", role="bureau")
        db.session.commit()
    assert client.get(f"/admin/attachments/{key}").status_code == 302  # not signed in
    client.post("/admin/login", data={"email": "bureau@example.gov.cn", "password": "pw-123456"})
    download = client.get(f"/admin/attachments/{key}")
    assert download.status_code == 200 and download.data == _pdf()
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    page = client.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    assert "合同.pdf" in page


def test_api_multipart_with_a_file(client, app):
    import io

    data = {k: v for k, v in COMPLAINT.items()} | {
        "attachments": (io.BytesIO(_pdf()), "证据.pdf")}
    response = client.post("/api/v1/complaints", data=data, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        assert db.session.scalars(db.select(Complaint)).one().attachments[0].size_bytes == len(
            _pdf())


def test_department_staff_do_not_see_a_withheld_identity(client, app):
    client.post("/zh/complaints/new", data=COMPLAINT | {"withhold_identity": "y"})
    with app.app_context():
        record = db.session.scalars(db.select(Complaint)).one()
        record.department = factories.department()
        factories.staff(email="dept@example.gov.cn", password="pw-123456", role="department",
                        department=record.department)
        ticket = record.ticket
        db.session.commit()
    client.post("/admin/login", data={"email": "dept@example.gov.cn", "password": "pw-123456"})
    page = client.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    assert "李经理" not in page and "不向被投诉方透露身份" in page


def test_staff_transfer_keeps_the_clock_and_records_the_reason(client, app):
    with app.app_context():
        factories.region(slug="pingcheng", kind="district", name="平城区")
        factories.region(slug="yungang", kind="district", name="云冈区")
        factories.staff(email="bureau@example.gov.cn", password="pw-123456", role="bureau")
        db.session.commit()
    assert client.post("/zh/demands/new",
                       data=demand(preferred_regions=["pingcheng"])).status_code == 201
    with app.app_context():
        record = db.session.scalars(db.select(Demand)).one()
        assert record.region.slug == "pingcheng" and record.first_region.slug == "pingcheng"
        due, ticket = record.due_at, record.ticket
    client.post("/admin/login", data={"email": "bureau@example.gov.cn", "password": "pw-123456"})
    client.post(f"/admin/tickets/demand/{ticket}/transfer",
                data={"transfer-region": "yungang", "transfer-reason": "平城区无合适用地"})
    with app.app_context():  # proposed: the holder keeps it until yungang accepts
        record = db.session.scalars(db.select(Demand)).one()
        assert record.region.slug == "pingcheng" and record.due_at == due
        assert "平城区无合适用地" in record.events[-1].note and not record.events[-1].public
        assert record.events[-1].kind == "transfer"
    client.post(f"/admin/tickets/demand/{ticket}/reply",
                data={"reply-status": "accepted", "reply-text": "已受理",
                      "reply-visibility": "public"})
    with app.app_context():
        assert db.session.scalars(db.select(Demand)).one().status == "accepted"


def test_submission_mails_ticket_and_code_over_smtp(client, app, monkeypatch):
    from tests.ports import free_port
    from tests.test_mail import MailServer, _use

    server = MailServer(free_port())
    _use(app, monkeypatch, server)
    server.start()
    try:
        ticket, code = _submit(client)
    finally:
        server.stop()
    mails = [m for m in server.inbox.messages if m["To"] == "wang@example.com"]
    assert len(mails) == 1
    assert ticket in mails[0]["Subject"]
    body = mails[0].get_content()
    assert ticket in body and code in body


def test_mail_server_down_keeps_the_submission_and_retries(client, app, runner, monkeypatch):
    from datetime import timedelta

    from portal.models import utcnow
    from tests.ports import free_port
    from tests.test_mail import MailServer, _use

    server = MailServer(free_port())  # not started: nothing listens
    _use(app, monkeypatch, server)
    ticket, code = _submit(client)  # acknowledged all the same
    with app.app_context():
        job = db.session.scalars(db.select(OutboxJob).filter_by(kind="mail")).one()
        assert job.done_at is None and job.attempts == 1 and job.last_error
        job.available_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    server.start()
    try:
        result = runner.invoke(args=["mail", "drain"])
    finally:
        server.stop()
    assert "sent 1 messages" in result.output
    assert ticket in server.inbox.messages[0].get_content()


def test_rate_limit_answers_429_in_the_documented_shape(databases, tmp_path):
    from tests.conftest import make_app

    app = make_app(databases.new("limits"), tmp_path, LIMITS_ON=True,
                   PORTAL_RATELIMIT="2/hour", RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    codes = [client.post("/api/v1/demands", json={}).status_code for _ in range(3)]
    assert codes == [422, 422, 429]
    body = client.post("/api/v1/demands", json={}).get_json()
    assert body["error"]["code"] == "rate_limited"
    page = client.post("/zh/demands/new", data={})
    assert page.status_code == 429 and "请求过于频繁" in page.get_data(as_text=True)


def test_guessing_access_codes_is_rate_limited(databases, tmp_path):
    from tests.conftest import make_app

    app = make_app(databases.new("guess"), tmp_path, LIMITS_ON=True,
                   RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    codes = [client.get("/api/v1/track/D-0000000000", headers={"X-Access-Code": f"x{n}"}
                        ).status_code for n in range(12)]
    assert codes[:10] == [404] * 10 and codes[10:] == [429, 429]


def test_too_large_a_body_answers_413(client):
    big = b"x" * (61 * 1024 * 1024)
    api = client.post("/api/v1/complaints", data=big, content_type="application/json")
    assert api.status_code == 413 and api.get_json()["error"]["code"] == "too_large"
    page = client.post("/zh/complaints/new", data=big,
                       content_type="application/x-www-form-urlencoded")
    assert page.status_code == 413 and "提交的内容过大" in page.get_data(as_text=True)


def test_following_your_own_ticket_is_not_limited(databases, tmp_path):
    from tests.conftest import make_app

    app = make_app(databases.new("follow"), tmp_path, LIMITS_ON=True,
                   RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    ticket, code = _submit(client)
    codes = {client.get(f"/api/v1/track/{ticket}", headers={"X-Access-Code": code}).status_code
             for _ in range(15)}
    assert codes == {200}


def test_sealed_codes_are_forgotten_after_a_day(client, app):
    from datetime import timedelta

    from portal.indexing import forget_sealed_codes
    from portal.models import utcnow

    body = client.post("/api/v1/demands", json=api_demand(),
                       headers={"Idempotency-Key": "old-1"}).get_json()
    with app.app_context():
        record = db.session.scalars(db.select(Demand)).one()
        assert record.access_code_sealed and body["access_code"] not in record.access_code_sealed
        record.submitted_at = utcnow() - timedelta(days=2)
        db.session.commit()
        forget_sealed_codes()
        assert db.session.scalars(db.select(Demand)).one().access_code_sealed == ""
    replay = client.post("/api/v1/demands", json=api_demand(),
                         headers={"Idempotency-Key": "old-1"}).get_json()
    assert replay["ticket"] == body["ticket"] and replay["access_code"] is None


@pytest.mark.parametrize("path", ["/api/v1/track/D-%00", "/zh/sites/?region=a%00b",
                                  "/zh/policies/?topic=%00", "/admin/login?next=%00"])
def test_nul_in_a_url_is_a_bad_request(client, path):
    assert client.get(path).status_code == 400


def test_a_deadline_in_an_unpublished_year_is_shown_as_provisional(client, app):
    from datetime import UTC, datetime

    client.post("/zh/complaints/new", data=COMPLAINT)
    with app.app_context():
        factories.staff(email="bureau@example.gov.cn", password="pw-123456", role="bureau")
        record = db.session.scalars(db.select(Complaint)).one()
        # The 7-working-day acceptance deadline, counted from complete materials.
        record.materials_complete_at = datetime(2026, 12, 24, 2, tzinfo=UTC)  # into 2027
        assert services.provisional_deadline(record)
        record.materials_complete_at = datetime(2026, 12, 1, 2, tzinfo=UTC)
        assert not services.provisional_deadline(record)
        record.materials_complete_at = datetime(2026, 12, 24, 2, tzinfo=UTC)
        ticket = record.ticket
        db.session.commit()
    client.post("/admin/login", data={"email": "bureau@example.gov.cn", "password": "pw-123456"})
    page = client.get(f"/admin/tickets/complaint/{ticket}").get_data(as_text=True)
    assert "暂定：该年度节假日安排尚未公布" in page
