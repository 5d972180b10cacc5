"""Mail about a ticket over a real SMTP conversation (aiosmtpd on 127.0.0.1): the investor's
in the investor's language on a public reply and on closing, with a link to the tracking page
and never the access code; staff alerts in each staff member's language with a link to the
ticket."""

import re

import pytest

from portal.extensions import db
from portal.intake import workflow
from portal.models import Complaint
from tests import factories
from tests.test_intake import COMPLAINT
from tests.test_mail import smtp  # noqa: F401  (fixture: a running SMTP server)

PASSWORD = "copper kettle drum"


@pytest.fixture
def filed(client, app, smtp):  # noqa: F811
    """A complaint about 平城区 filed in English with an e-mail, and two staff members of the
    district, one reading Chinese and one English."""
    with app.app_context():
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区")
        factories.staff(email="zh@example.gov.cn", password=PASSWORD, role="region",
                        region=pingcheng, language="zh")
        factories.staff(email="en@example.gov.cn", password=PASSWORD, role="region",
                        region=pingcheng, language="en")
        db.session.commit()
    html = client.post("/en/complaints/new", data=COMPLAINT | {
        "respondent_region": "pingcheng", "contact_email": "li@example.com"}
    ).get_data(as_text=True)
    ticket, code = re.findall(r'class="ticket">([\w-]+)<', html)
    return {"ticket": ticket, "code": code, "html": html}


def _to(smtp, address):  # noqa: F811
    return [m for m in smtp.inbox.messages if m["To"] == address]


def test_staff_alerts_link_to_the_ticket_in_each_members_language(filed, smtp):  # noqa: F811
    ticket = filed["ticket"]
    assert all(filed["code"] not in m.get_content() for m in smtp.inbox.messages
               if m["To"] != "li@example.com")
    [chinese] = _to(smtp, "zh@example.gov.cn")
    [english] = _to(smtp, "en@example.gov.cn")
    link = f"http://portal.test/admin/tickets/complaint/{ticket}"
    for message in (chinese, english):
        assert ticket in message["Subject"]
        assert link in message.get_content()
    assert "行政审批" in chinese.get_content()
    assert "Administrative approvals" in english.get_content()
    assert "行政审批" not in english.get_content()


def test_the_code_goes_only_in_the_receipt(filed, smtp):  # noqa: F811
    [receipt] = _to(smtp, "li@example.com")
    assert filed["code"] in receipt.get_content()  # the one mail that carries it


def test_the_investor_hears_of_a_reply_and_the_closing_in_their_language(
        app, filed, smtp):  # noqa: F811
    ticket, code = filed["ticket"], filed["code"]
    staff = app.test_client()
    staff.post("/admin/login", data={"email": "zh@example.gov.cn", "password": PASSWORD})
    answer = staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-text": "已受理，我们将在 60 个工作日内办结。", "reply-visibility": "public",
        "reply-status": "accepted"})
    assert answer.status_code == 302
    [_receipt, reply] = _to(smtp, "li@example.com")
    body = reply.get_content()
    assert ticket in reply["Subject"]
    assert "已受理，我们将在 60 个工作日内办结。" in body
    assert "Accepted" in body  # the status in the investor's language
    assert "http://portal.test/en/track" in body
    assert code not in body and code.replace("-", "") not in body

    staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-text": "内部：已督办", "reply-visibility": "note"})
    assert len(_to(smtp, "li@example.com")) == 2  # an internal note mails nobody

    with app.app_context():
        record = db.session.scalars(db.select(Complaint).filter_by(ticket=ticket)).one()
        workflow.transition(record, "answered")
        db.session.commit()
    staff.post(f"/admin/tickets/complaint/{ticket}/reply", data={
        "reply-text": "问题已解决，予以办结。", "reply-visibility": "public",
        "reply-status": "closed"})
    closing = _to(smtp, "li@example.com")[-1]
    assert len(_to(smtp, "li@example.com")) == 3  # one mail for the reply that closes
    assert ticket in closing["Subject"] and "问题已解决，予以办结。" in closing.get_content()
    assert "http://portal.test/en/track" in closing.get_content()
    assert code not in closing.get_content()
