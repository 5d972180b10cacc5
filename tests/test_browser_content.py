"""A policy from a zone's draft to the public search and out again, in the real Chromium
under the portal's real Content-Security-Policy: zone staff write it with an English title
and submit it, a reviewer publishes it, an anonymous visitor finds it in Chinese and in
English, the reviewer's new title reaches the search, and archiving takes it out of the
search and its page away."""

import re
import time
import uuid

import pytest

from portal.extensions import db
from portal.models import ContentVersion, Policy, Region, User
from tests import factories
from tests.test_browser import CHROMIUM, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_csp import WATCH, Visitor

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]

PASSWORD = "correct horse battery staple"
TITLE, QUERY = "氪能装备示范项目扶持办法", "氪能"
ENGLISH = "Measures Supporting Krypton Equipment Demonstration Projects"
RENAMED, RENAMED_QUERY = "氙光装备示范项目扶持办法", "氙光"
SEARCH_WAIT = 15.0  # seconds; the index is updated after each commit


@pytest.fixture
def people(site_app):
    """Staff of 大同经开区 and a bureau reviewer, switched off at the end (the Datong
    database is shared by the session)."""
    made = {}
    with site_app.app_context():
        zone = db.session.scalars(db.select(Region).filter_by(slug="datong-edz")).one()
        for role, region in (("region", zone), ("bureau", None)):
            email = f"content-{role}-{uuid.uuid4().hex[:8]}@example.gov.cn"
            made[role] = (email, factories.staff(email=email, password=PASSWORD, role=role,
                                                 region=region).id)
        db.session.commit()
        db.session.remove()
    yield {role: email for role, (email, _id) in made.items()}
    with site_app.app_context():
        for _email, user_id in made.values():
            user = db.session.get(User, user_id)
            user.active = False
            user.end_sessions()
        # The policy this test wrote goes too: other tests count the pack's policies.
        for policy in db.session.scalars(db.select(Policy).where(
                Policy.title.in_((TITLE, RENAMED)))):
            db.session.execute(db.delete(ContentVersion).where(
                ContentVersion.kind == "policy", ContentVersion.record_id == policy.id))
            db.session.delete(policy)
        db.session.commit()
        db.session.remove()


def signed_in(browser, live_server, email) -> Visitor:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH)
    visitor = Visitor(context, live_server)
    visitor.visit("/admin/login")
    visitor.submit("password", {"email": email, "password": PASSWORD})
    assert visitor.page.url.rstrip("/").endswith("/admin")
    return visitor


def press(visitor: Visitor, button: str) -> str:
    """Press a workflow button on the record's page; the notice it answers with."""
    with visitor.page.expect_navigation():
        visitor.page.get_by_role("button", name=button, exact=True).click()
    return visitor.page.locator("main .notice").first.inner_text()


def found(visitor: Visitor, path: str, policy_id: int) -> bool:
    visitor.visit(path)
    return visitor.page.locator(f"li.card h3 a[href$='/policies/{policy_id}']").count() > 0


def until(visitor: Visitor, path: str, policy_id: int, present: bool) -> bool:
    """Whether the search at ``path`` comes to list (or no longer list) the policy."""
    deadline = time.monotonic() + SEARCH_WAIT
    while found(visitor, path, policy_id) != present:
        if time.monotonic() > deadline:
            return False
        visitor.page.wait_for_timeout(250)
    return True


def test_a_policy_from_the_zones_draft_to_the_search_and_out(live_server, browser,  # noqa: F811
                                                               people):
    # The zone's staff write the draft: the region list holds their zone only.
    staff = signed_in(browser, live_server, people["region"])
    staff.page.locator("nav.admin-nav").get_by_role("link", name="内容管理").click()
    staff.page.wait_for_url("**/admin/content/policies/")
    staff.visit("/admin/content/policies/new")
    assert staff.page.locator("#region option:not([value=''])").all_inner_texts() == \
        ["大同经济技术开发区"]
    staff.submit("title", {"title": TITLE, "issuer": "大同经济技术开发区管委会",
                           "level": "zone", "body": "第一条 支持先进装备示范项目落地。"})
    assert not staff.page.title().startswith("错误："), staff.page.title()
    match = re.search(r"/admin/content/policies/(\d+)/edit$", staff.page.url)
    assert match, staff.page.url
    policy_id = int(match.group(1))
    assert "草稿" in staff.page.locator("dl.facts").inner_text()

    # Its English title, on the English tab.
    staff.page.locator("main").get_by_role("link", name="English", exact=True).click()
    staff.page.wait_for_url(f"**/policies/{policy_id}/translations/en")
    staff.submit("title", {"title": ENGLISH})
    assert "人工审校" in staff.page.locator("main .notice").first.inner_text()
    staff.visit(f"/admin/content/policies/{policy_id}/edit")
    assert "提交审核" in press(staff, "提交审核")
    assert "待审核" in staff.page.locator("dl.facts").inner_text()
    assert staff.page.get_by_role("button", name="发布", exact=True).count() == 0

    # Not public yet.
    public_context = browser.new_context()
    public_context.add_init_script(WATCH)
    visitor = Visitor(public_context, live_server)
    visitor.visit(f"/zh/policies/{policy_id}", status=404)

    # The reviewer publishes it; the visitor finds it in Chinese and in English.
    reviewer = signed_in(browser, live_server, people["bureau"])
    reviewer.visit(f"/admin/content/policies/{policy_id}/edit")
    assert "已发布" in press(reviewer, "发布")
    assert until(visitor, f"/zh/policies/?q={QUERY}", policy_id, present=True)
    assert until(visitor, f"/en/policies/?q={ENGLISH}", policy_id, present=True)
    visitor.visit(f"/en/policies/{policy_id}")
    assert ENGLISH in visitor.page.locator("h1").inner_text()

    # A new title from the reviewer reaches the search.
    reviewer.visit(f"/admin/content/policies/{policy_id}/edit")
    reviewer.submit("title", {"title": RENAMED})
    assert reviewer.page.locator("main h1").inner_text() == RENAMED
    assert until(visitor, f"/zh/policies/?q={RENAMED_QUERY}", policy_id, present=True)
    assert until(visitor, f"/zh/policies/?q={QUERY}", policy_id, present=False)

    # Archived: out of the search, and its page is gone.
    assert "已归档" in press(reviewer, "归档")
    assert until(visitor, f"/zh/policies/?q={RENAMED_QUERY}", policy_id, present=False)
    assert until(visitor, f"/en/policies/?q={ENGLISH}", policy_id, present=False)
    visitor.visit(f"/zh/policies/{policy_id}", status=404)
    for tab in (staff, reviewer, visitor):
        assert not tab.problems, "\n".join(tab.problems)
        tab.page.context.close()
