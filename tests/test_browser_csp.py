"""Every page type, public and staff, in the real Chromium under the portal's real
Content-Security-Policy: no violation reported (``securitypolicyviolation`` events and console
messages), no script error, no blocked or failed subresource, and each page drawn (the sites
map shows its features, the site sheet its inset).

Public pages are listed by hand, in Chinese and English, and a check at the end fails when a
GET page exists in ``app.url_map`` that the list does not reach. Staff pages are found by
walking every GET route under /admin, so pages added later are covered without a change here
(a route with an argument this file cannot fill fails with a message saying what to add).
"""

import uuid

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from werkzeug.exceptions import MethodNotAllowed, NotFound

from portal.extensions import db
from portal.models import (
    Attachment,
    Complaint,
    Industry,
    Opportunity,
    Policy,
    Region,
    Site,
    User,
)
from tests import factories
from tests.test_browser import CHROMIUM, browser, live_server  # noqa: F401  (fixtures)
from tests.test_intake import COMPLAINT, DEMAND, _pdf, valid_credit_code

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]

LANGS = ("zh", "en")
PASSWORD = "correct horse battery staple"
# Recorded before any page script runs; CDP-injected, so the CSP does not apply to it.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " +
    (e.sourceFile || "") + ":" + e.lineNumber + " " + (e.sample || ""));
}, true);
"""
SETTLED = "() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))"
MAP_DRAWN = "() => Number(document.querySelector('.folium-map').dataset.features) > 0"
INSET_DRAWN = "() => document.querySelectorAll('.leaflet-overlay-pane path').length > 0"
# Non-HTML answers the browser may be pointed at; their policy is default-src 'none'.
DOCUMENTS = {"/sitemap.xml", "/robots.txt", "/healthz"}


class Visitor:
    """One browser tab that records every sign of a page the policy broke."""

    def __init__(self, context, base: str):
        self.base = base
        self.page = context.new_page()
        self.problems: list[str] = []
        self.visited: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self._problem(f"script error: {e}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _problem(self, text: str) -> None:
        self.problems.append(f"{self.page.url}: {text}")

    def _console(self, message) -> None:
        text = message.text
        if any(s in text for s in ("Content Security Policy", "Content-Security-Policy",
                                   "Permissions-Policy", "Refused to")):
            self._problem(f"console {message.type}: {text}")

    def _failed(self, request) -> None:
        if request.failure != "net::ERR_ABORTED":  # cut short by the next navigation
            self._problem(f"request failed: {request.url} ({request.failure})")

    def _response(self, response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            self._problem(f"{response.status} for {response.url}")

    def visit(self, path: str, status: int = 200, ready: str | None = None):
        response = self.page.goto(self.base + path)
        assert response is not None, path
        self.visited.append(path)
        self._check(path, response, status, ready)
        return response

    def submit(self, form_has: str, values: dict, files: list[dict] | None = None):
        """Fill the form holding field ``form_has`` by field names and send it."""
        form = self.page.locator(f"main form:has([name={form_has}])")
        for name, value in values.items():
            field = form.locator(f"[name={name}]")
            kind = field.first.evaluate("el => el.tagName + ':' + (el.type || '')")
            if kind.startswith("SELECT"):
                field.select_option(value)
            elif kind.endswith((":radio", ":checkbox")):
                form.locator(f"[name={name}][value='{value}']").check()
            else:
                field.fill(value)
        if files:
            form.locator("input[type=file]").set_input_files(files)
        path = self.page.url.removeprefix(self.base)
        with self.page.expect_navigation() as navigation:
            # The last submit button sends the form (the demand form starts with a hidden
            # default button for the Enter key and may hold "remove" buttons).
            form.locator("button[type=submit]").last.click()
        response = navigation.value
        self.visited.append(path)
        self._check(f"{path} (answer)", response, None, None)
        return response

    def _check(self, path, response, status, ready) -> None:
        if status is not None:
            assert response.status == status, f"{path} answered {response.status}"
        policy = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy, f"{path} has no CSP"
        if response.headers.get("content-type", "").startswith("text/html"):
            assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
            assert self.page.locator("h1").count() >= 1, f"{path} drew no heading"
        if ready:
            try:
                self.page.wait_for_function(ready, timeout=10_000)
            except PlaywrightTimeout:
                self.problems.append(f"{path}: not drawn ({ready})")
        self.page.evaluate(SETTLED)
        for violation in self.page.evaluate("window.__csp || []"):
            self._problem(f"CSP violation: {violation}")
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture(scope="module")
def examples(site_app):
    """An id or slug of each kind of record, from the loaded Datong pack."""
    with site_app.app_context():
        first = lambda stmt: db.session.scalars(stmt).first()  # noqa: E731
        values = {
            "region": first(db.select(Region.slug).filter_by(kind="county")),
            "industry": first(db.select(Industry.slug)),
            "policy": first(db.select(Policy.id)),
            "parcel": first(db.select(Site.id).filter_by(kind="parcel")),
            "carrier": first(db.select(Site.id).where(Site.kind != "parcel")),
            "opportunity": first(db.select(Opportunity.id)),
        }
        db.session.remove()
    assert all(values.values()), values
    return values


@pytest.fixture(scope="module")
def context(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH)
    yield context
    context.close()


@pytest.fixture(scope="module")
def staff(site_app):
    """A staff account for this module, switched off at the end (the Datong database is
    shared by the session; its audit trail keeps the sign-in)."""
    email = f"csp-{uuid.uuid4().hex[:8]}@example.gov.cn"
    with site_app.app_context():
        user_id = factories.staff(email=email, password=PASSWORD, role="admin").id
        db.session.commit()
    yield {"email": email, "id": user_id}
    with site_app.app_context():
        user = db.session.get(User, user_id)
        user.active = False
        user.end_sessions()
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="module")
def tickets():
    """The tickets the public walk files, for the tracking and staff pages."""
    return {}


def test_public_pages_under_the_csp(live_server, context, site_app, examples,  # noqa: F811
                                    tickets):
    visitor = Visitor(context, live_server)
    visitor.visit("/", ready=None)  # redirects to a language
    for path in sorted(DOCUMENTS):
        visitor.visit(path)
    e = examples
    for lang in LANGS:
        for path, ready in [
            (f"/{lang}/", None),
            (f"/{lang}/environment/", None),
            (f"/{lang}/regions/{e['region']}", None),
            (f"/{lang}/industries/{e['industry']}", None),
            (f"/{lang}/policies/", None),
            (f"/{lang}/policies/?q=%E5%9C%9F%E5%9C%B0", None),  # 土地
            (f"/{lang}/policies/{e['policy']}", None),
            (f"/{lang}/policies/match", None),
            (f"/{lang}/policies/match?investment_wan=5000&employees=120", None),
            (f"/{lang}/policies/feed.xml", None),
            (f"/{lang}/policies/feed.xml?level=municipal", None),
            (f"/{lang}/policies/subscribe?level=municipal", None),
            (f"/{lang}/sites/", MAP_DRAWN),
            (f"/{lang}/sites/?kind=parcel", MAP_DRAWN),
            (f"/{lang}/sites/{e['parcel']}", INSET_DRAWN),
            (f"/{lang}/sites/{e['carrier']}", INSET_DRAWN),
            (f"/{lang}/sites/match", None),
            (f"/{lang}/sites/match?min_area=50&max_area=150", None),
            (f"/{lang}/opportunities/", None),
            (f"/{lang}/opportunities/{e['opportunity']}", None),
            (f"/{lang}/services", None),
            (f"/{lang}/search?q=%E5%A4%A7%E5%90%8C", None),  # 大同
            (f"/{lang}/demands/new", None),
            (f"/{lang}/complaints/new", None),
            (f"/{lang}/track", None),
            (f"/{lang}/glossary", None),
            (f"/{lang}/glossary?q=land", None),
        ]:
            visitor.visit(path, ready=ready)
        visitor.visit(f"/{lang}/sites/match?min_area=abc", status=None)  # a field message
        assert visitor.page.locator(".error-summary").is_visible()
        visitor.visit(f"/{lang}/no-such-page", status=404)
        # Policy alerts: a refused address (no subscription is written), and the pages mail
        # links open, here with a link that cannot be used.
        visitor.visit(f"/{lang}/policies/subscribe?level=municipal")
        answer = visitor.submit("email", {"email": "not-an-address"})
        assert answer.status == 422 and visitor.page.locator(".error-summary").is_visible()
        for page in ("confirm", "manage", "unsubscribe"):
            visitor.visit(f"/{lang}/alerts/{page}/not-a-token", status=400)
        visitor.visit(f"/{lang}/policies/999999999", status=404)

        # A demand, refused once (the error summary), then accepted: the confirmation page.
        visitor.visit(f"/{lang}/demands/new")
        visitor.submit("company_name", DEMAND | {"credit_code": "123"})
        assert visitor.page.locator(".error-summary").is_visible()
        answer = visitor.submit("company_name", DEMAND | {"credit_code": valid_credit_code()})
        assert answer.status == 201 and answer.headers["cache-control"] == "no-store"
        demand = visitor.page.locator(".ticket").all_inner_texts()
        # A complaint with an attachment, for the staff download.
        visitor.visit(f"/{lang}/complaints/new")
        answer = visitor.submit("facts", COMPLAINT, files=[
            {"name": "合同.pdf", "mimeType": "application/pdf", "buffer": _pdf()}])
        assert answer.status == 201
        complaint = visitor.page.locator(".ticket").all_inner_texts()
        tickets.setdefault("demand", demand[0])
        tickets.setdefault("complaint", complaint[0])

        # Tracking: the answer for a known ticket and the one for a wrong code.
        visitor.visit(f"/{lang}/track")
        answer = visitor.submit("access_code", {"ticket": demand[0], "access_code": demand[1]})
        assert answer.status == 200 and demand[0] in visitor.page.locator("main").inner_text()
        visitor.visit(f"/{lang}/track")
        answer = visitor.submit("access_code", {"ticket": demand[0],
                                                "access_code": "AAAA-AAAA-AAAA-AAAA"})
        assert answer.status == 404

    # Elder mode: switched on, its pages under the same policy, switched off again.
    visitor.visit("/display/elder?next=/zh/policies/")
    assert visitor.page.evaluate("document.documentElement.classList.contains('elder')")
    visitor.visit(f"/en/sites/{e['parcel']}", ready=INSET_DRAWN)
    visitor.visit("/display/standard?next=/zh/")
    assert not visitor.page.evaluate("document.documentElement.classList.contains('elder')")

    # The site sheet's print button works without its old onclick attribute.
    visitor.visit(f"/zh/sites/{e['parcel']}", ready=INSET_DRAWN)
    visitor.page.evaluate("() => { window.__printed = 0; window.print = () => __printed++; }")
    visitor.page.locator("[data-print]").click()
    assert visitor.page.evaluate("window.__printed") == 1
    # The map really drew: every demo site, with polygons for the parcels.
    visitor.visit("/zh/sites/", ready=MAP_DRAWN)
    assert visitor.page.locator(".leaflet-overlay-pane path").count() > 0
    assert not visitor.problems, "\n".join(visitor.problems)
    assert_every_public_page_visited(site_app, visitor.visited)
    visitor.page.close()


def assert_every_public_page_visited(app, visited):
    """A public GET page added to the app must be added to the walk above."""
    adapter = app.url_map.bind("127.0.0.1")
    reached = set()
    for path in visited:
        try:
            endpoint, _args = adapter.match(path.split("?")[0], method="GET")
        except (NotFound, MethodNotAllowed):
            continue
        reached.add(endpoint)
    public = {rule.endpoint for rule in app.url_map.iter_rules()
              if "GET" in rule.methods and not rule.rule.startswith(("/admin", "/api/"))
              and rule.endpoint != "static"}
    assert public - reached == set(), "add these pages to test_public_pages_under_the_csp"


def _reference_examples(app) -> dict:
    """The reference editors and the import templates name their records their own way."""
    from portal.models import BatchFigure, FactorCost, Industry, Region, ServiceLink

    with app.app_context():
        first = {model: db.session.scalars(db.select(model).order_by(model.id)).first()
                 for model in (Region, Industry, BatchFigure, ServiceLink, FactorCost)}
        out = {
            "reference.region": {"slug": first[Region].slug},
            "reference.industry": {"slug": first[Industry].slug},
            "reference.batch_figure": {"record_id": first[BatchFigure].id},
            "reference.service": {"record_id": first[ServiceLink].id},
            "reference.factor_cost": {"record_id": first[FactorCost].id},
            "reference.history": {"kind": "region", "record_id": first[Region].id},
            "reference.diff": {"kind": "region", "record_id": first[Region].id},
            "imports.template": {"content_kind": "site", "fmt": "xlsx"},
        }
        db.session.remove()
    return out


def admin_urls(app, values: dict) -> list[str]:
    """One URL for every GET route under /admin (both kinds where a route takes one)."""
    adapter = app.url_map.bind("127.0.0.1")
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods:
            continue
        if rule.endpoint in values.get("endpoints", {}):  # arguments of its own
            urls.append(adapter.build(rule.endpoint, values["endpoints"][rule.endpoint]))
            continue
        args = set(rule.arguments)
        unknown = args - set(values) - {"kind", "ticket"}
        assert not unknown, (f"{rule.rule}: give test_browser_csp.py an example value for "
                             f"{sorted(unknown)}")
        kinds = ("demand", "complaint") if args & {"kind", "ticket"} else (None,)
        for kind in kinds:
            chosen = {name: values[name] for name in args - {"kind", "ticket"}}
            if "kind" in args:
                chosen["kind"] = kind
            if "ticket" in args:
                chosen["ticket"] = values["tickets"][kind]
            urls.append(adapter.build(rule.endpoint, chosen))
    return urls


def test_staff_pages_under_the_csp(live_server, context, site_app, staff,  # noqa: F811
                                   tickets, examples):
    if len(tickets) < 2:
        pytest.skip("the public walk files the tickets the staff pages show")
    with site_app.app_context():
        complaint_id = db.session.scalars(
            db.select(Complaint.id).filter_by(ticket=tickets["complaint"])).one()
        key = db.session.scalars(db.select(Attachment.storage_key).filter_by(
            complaint_id=complaint_id)).first()
        db.session.remove()
    assert key, "the complaint's attachment was not stored"
    values = {"tickets": tickets, "key": key, "user_id": staff["id"]}
    values["template_id"] = _response_template(site_app)  # /admin/templates/<id>
    values["prefix"] = _api_key(site_app)  # /admin/apikeys/<prefix>/revoke
    values |= {"policy_id": examples["policy"], "site_id": examples["parcel"],  # the editor
               "opportunity_id": examples["opportunity"], "language": "en"}
    values["endpoints"] = _reference_examples(site_app)

    visitor = Visitor(context, live_server)
    visitor.visit("/admin/", ready=None)  # signed out: the login page
    assert "/admin/login" in visitor.page.url
    answer = visitor.submit("password", {"email": staff["email"], "password": "wrong password"})
    assert answer.headers["cache-control"] == "no-store"
    answer = visitor.submit("password", {"email": staff["email"], "password": PASSWORD})
    assert visitor.page.url.rstrip("/").endswith("/admin"), visitor.page.url

    pages = files = 0
    for url in admin_urls(site_app, values):
        probe = context.request.get(live_server + url, max_redirects=0)
        assert probe.status < 500, f"{url} answered {probe.status}"
        assert probe.headers["cache-control"] == "no-store", url
        assert probe.headers["x-content-type-options"] == "nosniff", url
        if 300 <= probe.status < 400:  # e.g. the login page, for someone signed in
            continue
        if probe.headers.get("content-type", "").startswith("text/html"):
            assert probe.status == 200, f"{url} answered {probe.status}"
            visitor.visit(url)
            assert visitor.page.url == live_server + url, f"{url} sent us elsewhere"
            pages += 1
        else:  # a download (CSV export, attachment): not a page
            assert probe.status == 200, url
            assert probe.headers["content-security-policy"] == \
                "default-src 'none'; frame-ancestors 'none'", url
            files += 1
    assert pages >= 5 and files >= 2  # dashboard, two queues, two tickets; CSVs, attachment

    # Signing out is a form in the staff navigation; its answer is the login page.
    with visitor.page.expect_navigation():
        visitor.page.locator("nav form button[type=submit]").click()
    assert "/admin/login" in visitor.page.url
    visitor.page.evaluate(SETTLED)
    assert not visitor.problems, "\n".join(visitor.problems)
    visitor.page.close()


def _api_key(app) -> str:
    """A partner's API key, for its revoke page; its prefix."""
    from portal.exchange import keys
    from portal.models import Region

    with app.app_context():
        region = db.session.scalars(db.select(Region).filter_by(kind="city")).first()
        key, _secret = keys.issue("csp-partner", region, ["pull"])
        db.session.commit()
        prefix = key.prefix
        db.session.remove()
    return prefix


def _response_template(app) -> int:
    """A response template, for its edit page and the picker on the ticket pages."""
    from portal.models import ResponseTemplate

    with app.app_context():
        row = ResponseTemplate(kind="complaint", title="受理告知", body="您的投诉已收悉。")
        db.session.add(row)
        db.session.commit()
        template_id = row.id
        db.session.remove()
    return template_id
