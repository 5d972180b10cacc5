"""A complaint from the public form to its closing and the investor's rating, in the real
Chromium under the portal's real Content-Security-Policy, with a real SMTP server receiving
every mail: routed to the responsible region, taken by its staff (首接负责), a supplement asked
for (the due date moves by the paused working days), answered publicly, closed; the investor
reads each mail, sees the reply on the tracking page and rates it; staff see the rating."""

import uuid
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import Complaint, Region, ResponseTemplate, User, utcnow
from tests import factories
from tests.ports import free_port
from tests.test_browser import CHROMIUM, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_csp import WATCH, Visitor
from tests.test_intake import COMPLAINT
from tests.test_mail import MailServer, _use

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def mailbox(site_app, monkeypatch):
    server = MailServer(free_port())
    _use(site_app, monkeypatch, server)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def zone_staff(site_app):
    """A member of staff of 大同经开区, switched off at the end (the Datong database is
    shared by the session)."""
    email = f"edz-{uuid.uuid4().hex[:8]}@example.gov.cn"
    with site_app.app_context():
        zone = db.session.scalars(db.select(Region).filter_by(slug="datong-edz")).one()
        user_id = factories.staff(email=email, password=PASSWORD, role="region", region=zone,
                                  name="经开区王科长").id
        db.session.commit()
        db.session.remove()
    yield email
    with site_app.app_context():
        user = db.session.get(User, user_id)
        user.active = False
        user.end_sessions()
        db.session.commit()
        db.session.remove()


def _complaint(site_app, ticket) -> Complaint:
    db.session.expire_all()
    return db.session.scalars(db.select(Complaint).filter_by(ticket=ticket)).one()


def _due_on(visitor) -> str:
    return visitor.page.locator("section.deadline time").first.get_attribute("datetime")


@pytest.fixture
def template(site_app):
    """A response template for complaints about approvals, switched off at the end."""
    with site_app.app_context():
        row = ResponseTemplate(kind="complaint", category="approval", title="办理结果告知",
                               body="经协调，施工许可已于今日办理。", sort_order=0)
        db.session.add(row)
        db.session.commit()
        template_id = row.id
        db.session.remove()
    yield template_id
    with site_app.app_context():
        db.session.get(ResponseTemplate, template_id).active = False
        db.session.commit()
        db.session.remove()


def test_a_complaint_from_the_form_to_the_rating(live_server, browser, site_app,  # noqa: F811
                                                  mailbox, zone_staff, template):
    investor_mail = f"li-{uuid.uuid4().hex[:8]}@example.com"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH)
    investor = Visitor(context, live_server)

    # The investor complains about the zone's planning office; the routing table sends it to
    # the zone.
    investor.visit("/zh/complaints/new")
    answer = investor.submit("facts", COMPLAINT | {
        "respondent_name": "大同经开区管委会规划建设局", "contact_email": investor_mail})
    assert answer.status == 201
    ticket, code = investor.page.locator(".ticket").all_inner_texts()
    assert "发送到您的邮箱" in investor.page.locator("main").inner_text()
    with site_app.app_context():
        assert _complaint(site_app, ticket).region.slug == "datong-edz"
        db.session.remove()

    def mails():
        return [m for m in mailbox.inbox.messages if m["To"] == investor_mail]

    assert len(mails()) == 1 and code in mails()[0].get_content()  # the receipt
    alerts = [m for m in mailbox.inbox.messages if m["To"] == zone_staff]
    assert alerts and f"/admin/tickets/complaint/{ticket}" in alerts[0].get_content()

    # The zone's staff sign in and take it.
    staff_context = browser.new_context(viewport={"width": 1280, "height": 900})
    staff_context.add_init_script(WATCH)
    staff = Visitor(staff_context, live_server)
    staff.visit("/admin/login")
    staff.submit("password", {"email": zone_staff, "password": PASSWORD})
    ticket_page = f"/admin/tickets/complaint/{ticket}"
    staff.visit(ticket_page)
    with staff.page.expect_navigation():
        staff.page.get_by_role("button", name="我来负责").click()
    assert "经开区王科长" in staff.page.locator("section.owner").inner_text()
    due_before = _due_on(staff)

    # A supplement is asked for, publicly.
    staff.submit("reply-text", {"reply-text": "请补充施工许可申请的受理回执复印件。",
                                "reply-visibility": "public", "reply-status": "supplement"})
    assert "待补正材料" in staff.page.locator("h1").inner_text()
    assert len(mails()) == 2 and "请补充施工许可申请的受理回执复印件。" in mails()[1].get_content()

    # Two weeks later the materials arrive: the clock restarts and the due date moves.
    with site_app.app_context():
        record = _complaint(site_app, ticket)
        record.paused_since = utcnow() - timedelta(days=14)
        db.session.commit()
        db.session.remove()
    staff.visit(ticket_page)
    staff.submit("reply-text", {"reply-text": "补正材料已收到。", "reply-visibility": "note",
                                "reply-status": "submitted"})
    due_after = _due_on(staff)
    assert due_after > due_before, (due_before, due_after)
    assert "因补正顺延" in staff.page.locator("section.deadline").inner_text()
    assert len(mails()) == 2  # an internal note mails nobody

    # Accepted; then a response template fills the answer (static/js/replies.js, under the
    # CSP) …
    staff.submit("reply-text", {"reply-visibility": "note", "reply-status": "accepted"})
    staff.page.select_option("#reply-template", str(template))
    assert staff.page.input_value("#reply-text") == "经协调，施工许可已于今日办理。"
    assert staff.page.is_checked("input[name='reply-visibility'][value='public']")
    staff.submit("reply-text", {"reply-status": "answered"})
    assert len(mails()) == 3 and "经协调，施工许可已于今日办理。" in mails()[2].get_content()
    # … and it is closed.
    staff.submit("reply-text", {"reply-status": "closed", "reply-visibility": "public",
                                "reply-text": "问题已解决，予以办结。"})
    assert "已办结" in staff.page.locator("h1").inner_text()
    assert len(mails()) == 4
    for message in mails()[1:]:
        body = message.get_content()
        assert f"{live_server}/zh/track" in body and code not in body

    # The investor follows the link, sees the replies and rates the answer.
    investor.visit("/zh/track")
    investor.submit("access_code", {"ticket": ticket, "access_code": code})
    main = investor.page.locator("main").inner_text()
    assert "经协调，施工许可已于今日办理。" in main and "补正材料已收到。" not in main
    investor.submit("rating", {"rating": "5", "comment": "答复及时，问题已解决"})
    assert "您的评价：5 分" in investor.page.locator("main").inner_text()

    # The rating appears on the staff side.
    staff.visit(ticket_page)
    rating = staff.page.locator("section.ticket-rating").inner_text()
    assert "5 分" in rating and "答复及时，问题已解决" in rating
    assert not investor.problems and not staff.problems
    staff_context.close()
    context.close()
