"""Expressing interest: the demand form opened from a site or an opportunity shows what it is
about (name in the page's language, kind, region, a link) and lets the investor take it off
without losing an answer; unknown or unpublished records get a clear 4xx message, on the page
and in the API; staff see the subject on the ticket, with links to it and to its editor."""

import re
from datetime import date
from html import unescape

import pytest

from portal.extensions import db
from portal.models import Demand, Opportunity
from tests import factories
from tests.test_browser import CHROMIUM, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_a11y import artifacts_dir
from tests.test_browser_a11y import tab as browser_tab
from tests.test_intake import api_demand, demand

PASSWORD = "copper kettle drum"
ADMIN, DEPT = "admin@example.gov.cn", "dept@example.gov.cn"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def subject_box(page: str) -> str:
    found = re.search(r'<section class="interest-subject".*?</section>', page, re.S)
    return found.group(0) if found else ""


@pytest.fixture
def world(app):
    """A published parcel and an open challenge in 平城区, with English names; a draft site."""
    with app.app_context():
        city = factories.region(slug="datong", name="大同市")
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区",
                                     parent=city,
                                     translations={"en": {"name": "Pingcheng District"}})
        site = factories.parcel(key="s-1", region_row=pingcheng, name="御河东工业地块",
                                translations={"en": {"name": "Yuhe East industrial parcel"}})
        draft = factories.parcel(key="s-2", region_row=pingcheng, name="未发布地块",
                                 publication="draft")
        item = Opportunity(key="o-1", kind="challenge", title="氢能重卡场景揭榜",
                           region=pingcheng, published=date(2026, 11, 1),
                           translations={"en": {"title": "Hydrogen truck challenge"}})
        db.session.add(item)
        factories.staff(email=ADMIN, password=PASSWORD, role="admin")
        factories.staff(email=DEPT, password=PASSWORD, role="department",
                        department=factories.department())
        db.session.commit()
        ids = {"site": site.id, "draft": draft.id, "opportunity": item.id}
        db.session.remove()
    return ids


@pytest.mark.parametrize("lang,name,region,kind", [
    ("zh", "御河东工业地块", "平城区", "土地与载体"),
    ("en", "Yuhe East industrial parcel", "Pingcheng District", None),
])
def test_the_form_from_a_site_shows_it(client, world, lang, name, region, kind):
    answer = client.get(f"/{lang}/demands/new?site={world['site']}")
    assert answer.status_code == 200
    box = subject_box(text(answer))
    assert name in box and region in box
    assert f'href="/{lang}/sites/{world["site"]}"' in box
    assert 'name="remove_subject" value="site"' in box
    if kind:
        assert kind in box
    assert re.search(rf'name="site"[^>]*value="{world["site"]}"', text(answer))


@pytest.mark.parametrize("lang,title", [("zh", "氢能重卡场景揭榜"),
                                         ("en", "Hydrogen truck challenge")])
def test_the_form_from_an_opportunity_shows_it(client, world, lang, title):
    box = subject_box(text(client.get(f"/{lang}/demands/new?opportunity={world['opportunity']}")))
    assert title in box and f'href="/{lang}/opportunities/{world["opportunity"]}"' in box
    assert 'value="opportunity"' in box


def test_without_a_subject_there_is_no_box(client, world):
    assert subject_box(text(client.get("/zh/demands/new"))) == ""


@pytest.mark.parametrize("query", ["site=999999", "site=abc", "site=-1", "site=99999999999",
                                   "opportunity=424242", "site={draft}"])
def test_an_unknown_or_unpublished_record_is_a_clear_404(client, world, query):
    answer = client.get(f"/zh/demands/new?{query.format(**world)}")
    assert answer.status_code == 404
    page = text(answer)
    assert "您仍可提交一般投资需求" in page and 'role="alert"' in page
    assert subject_box(page) == ""
    assert "未发布地块" not in page
    assert 'name="company_name"' in page  # the form is still there


def test_the_message_is_in_the_pages_language(client, world):
    answer = client.get("/en/demands/new?site=999999")
    assert answer.status_code == 404 and "lang=\"en\"" in text(answer)


def test_removing_the_subject_keeps_every_answer_and_saves_nothing(client, app, world):
    posted = demand(site=str(world["site"]), company_name="大同氢能装备有限公司",
                    remove_subject="site")
    answer = client.post(f"/zh/demands/new?site={world['site']}", data=posted)
    assert answer.status_code == 200
    page = text(answer)
    assert subject_box(page) == "" and "已移除" in page
    assert 'value="大同氢能装备有限公司"' in page and "建设储能电池组装线。" in page
    assert not re.search(r'name="site"[^>]*value="\d', page)
    assert "存在以下问题" not in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Demand.id))) == 0
    # The form posted back as the browser would: no site any more.
    fields = dict(re.findall(r'<input[^>]*name="(site|opportunity)"[^>]*value="([^"]*)"', page))
    assert client.post("/zh/demands/new", data=demand(**fields)).status_code == 201
    with app.app_context():
        stored = db.session.scalars(db.select(Demand)).one()
        assert stored.site_id is None and stored.opportunity_id is None


def test_keeping_the_subject_stores_it(client, app, world):
    posted = demand(site=str(world["site"]), opportunity=str(world["opportunity"]))
    assert client.post("/zh/demands/new", data=posted).status_code == 201
    with app.app_context():
        stored = db.session.scalars(db.select(Demand)).one()
        assert (stored.site_id, stored.opportunity_id) == (world["site"], world["opportunity"])


def test_a_subject_unpublished_since_is_explained_and_removable(client, app, world):
    answer = client.post("/zh/demands/new", data=demand(site=str(world["draft"])))
    assert answer.status_code == 200
    page = text(answer)
    box = subject_box(page)
    assert "所选载体" in box and 'value="site"' in box and "未发布地块" not in page
    assert '<a href="#site">' in page and 'id="site"' in box


@pytest.mark.parametrize("payload,field", [({"site": 999999}, "site"),
                                           ({"opportunity": 424242}, "opportunity"),
                                           ({"site": "draft"}, "site")])
def test_the_api_refuses_unknown_records_with_a_message(client, world, payload, field):
    payload = {k: world.get(v, v) for k, v in payload.items()}
    answer = client.post("/api/v1/demands", json=api_demand() | payload)
    assert answer.status_code == 422
    assert "不存在" in answer.get_json()["error"]["fields"][field]


def test_the_api_stores_the_subject(client, app, world):
    answer = client.post("/api/v1/demands", json=api_demand(site=world["site"]))
    assert answer.status_code == 201
    with app.app_context():
        assert db.session.scalars(db.select(Demand)).one().site_id == world["site"]


def _staff(app, email):
    session = app.test_client()
    assert session.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return session


def test_staff_see_the_subject_on_the_ticket(client, app, world):
    posted = demand(site=str(world["site"]), opportunity=str(world["opportunity"]))
    assert client.post("/zh/demands/new", data=posted).status_code == 201
    with app.app_context():
        ticket = db.session.scalars(db.select(Demand)).one().ticket
    page = text(_staff(app, ADMIN).get(f"/admin/tickets/demand/{ticket}"))
    assert "意向对象" in page and "御河东工业地块" in page and "氢能重卡场景揭榜" in page
    assert f'/sites/{world["site"]}"' in page
    assert f'/opportunities/{world["opportunity"]}"' in page
    assert f'href="/admin/content/sites/{world["site"]}/edit"' in page
    assert f'href="/admin/content/opportunities/{world["opportunity"]}/edit"' in page
    assert "揭榜挂帅" in page and "平城区" in page


def test_the_export_names_the_subject(client, app, world):
    import csv
    import io

    assert client.post("/zh/demands/new", data=demand(opportunity=str(world["opportunity"]))
                       ).status_code == 201
    assert client.post("/zh/demands/new", data=demand(contact_name="赵工")).status_code == 201
    answer = _staff(app, ADMIN).get("/admin/tickets/demand.csv")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(r["opportunity"] for r in rows) == ["", "氢能重卡场景揭榜"]
    assert all(r["site"] == "" for r in rows)


def test_the_ticket_says_when_the_subject_is_no_longer_public(client, app, world):
    assert client.post("/zh/demands/new", data=demand(site=str(world["site"]))
                       ).status_code == 201
    with app.app_context():
        ticket = db.session.scalars(db.select(Demand)).one().ticket
        site = db.session.get(Demand, db.session.scalars(db.select(Demand.id)).one()).site
        site.publication = "archived"
        db.session.commit()
    page = text(_staff(app, ADMIN).get(f"/admin/tickets/demand/{ticket}"))
    assert "御河东工业地块" in page and "未公开" in page
    assert f'href="/zh/sites/{world["site"]}"' not in page


@pytest.mark.parametrize("lang", ("zh", "en", "ja", "ko", "ru"))
def test_the_buttons_on_site_and_opportunity_pages_lead_to_the_form(client, world, lang):
    for path, query in ((f"/{lang}/sites/{world['site']}", f"site={world['site']}"),
                        (f"/{lang}/opportunities/{world['opportunity']}",
                         f"opportunity={world['opportunity']}")):
        page = text(client.get(path))
        href = f"/{lang}/demands/new?{query}"
        assert f'href="{href}"' in page, (path, href)
        assert subject_box(text(client.get(href)))


# --- in Chromium -------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium")
def test_enter_keeps_the_subject_and_the_button_removes_it(live_server, browser,  # noqa: F811
                                                           site_db):
    from portal.models import Site

    with site_db() as s:
        site = s.scalars(db.select(Site).where(Site.publication == "published")
                         .order_by(Site.id)).first()
        site_id, name = site.id, site.name
    folder = artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with browser_tab(browser, live_server, "standard", viewport={"width": 375, "height": 812},
                     is_mobile=True) as page:
        page.goto(f"{live_server}/zh/demands/new?site={site_id}", wait_until="load")
        box = page.locator(".interest-subject")
        assert name in box.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth"
                             " - document.documentElement.clientWidth") <= 0
        page.screenshot(path=str(folder / "demand-from-site-375.png"), full_page=False)
        # Enter in a text box submits the form (with errors: it is incomplete), not "remove".
        page.fill("#company_name", "大同示例氢能有限公司")
        page.press("#company_name", "Enter")
        page.wait_for_load_state("load")
        assert page.locator(".error-summary").count() == 1
        assert name in page.locator(".interest-subject").inner_text()
        # The button takes the site off and keeps the answer.
        page.get_by_role("button", name="移除此载体").click()
        page.wait_for_load_state("load")
        assert page.locator(".interest-subject").count() == 0
        assert page.input_value("#company_name") == "大同示例氢能有限公司"
        assert page.locator('input[name="site"]').input_value() == ""
