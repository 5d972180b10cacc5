"""Trade secrets, the complainant's files and a withheld identity never reach the staff of
the region or department complained about: on every staff page (every GET route under
/admin, walked from the URL map, so pages added later are covered), in the exports and in the
download, for each role, whichever unit holds the complaint.

Each absence is paired with a presence: the bureau sees every secret on the same pages, so a
walk that showed nothing to anyone would fail.
"""

import csv
import io
import zipfile
from html import unescape

import pytest

from portal.cases import confidential
from portal.extensions import db
from portal.intake import attachments
from portal.models import Complaint, Department, TicketEvent, User
from tests import factories
from tests.test_intake import COMPLAINT, _pdf

PASSWORD = "copper kettle drum"
COMPANY = "保密示例精密铸造有限公司"
CONTACT = "赵保密"
PHONE = "13900001111"
EMAIL = "hidden-complainant@example.com"
SECRET = "配方比例为镍百分之三十七点五"
FILENAME = "铸造配方机密.pdf"
FILE_MARK = b"%CASTING-RECIPE-MARK"
SECRETS = (COMPANY, CONTACT, PHONE, EMAIL, SECRET, FILENAME)
# Who is complained about (the complaint names 新荣区 and is referred to 市场监管局).
ABOUT = ("xinrong@example.gov.cn", "zone@example.gov.cn", "scjg@example.gov.cn")
ROLES = ("admin@example.gov.cn", "bureau@example.gov.cn", "xinrong@example.gov.cn",
         "zone@example.gov.cn", "yungang@example.gov.cn", "scjg@example.gov.cn",
         "fgw@example.gov.cn")


def _secret_pdf() -> bytes:
    return _pdf().replace(b"%%EOF", FILE_MARK + b"\n%%EOF")


@pytest.fixture
def world(client, app):
    """新荣区 with a development zone inside it, 云冈区 beside it, two departments, one member
    of staff per role, and a complaint about 新荣区 with every confidential part, referred to
    the market regulator; plus an ordinary complaint from someone else as a control."""
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        xinrong = factories.region(slug="xinrong", kind="district", name="新荣区", parent=city)
        zone = factories.region(slug="xinrong-zone", kind="zone", name="新荣经济技术开发区",
                                parent=xinrong)
        yungang = factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
        scjg = factories.department(slug="scjg", name="大同市市场监督管理局")
        fgw = factories.department(slug="fgw", name="大同市发展和改革委员会")
        for email, role, extra in [
                ("admin@example.gov.cn", "admin", {}), ("bureau@example.gov.cn", "bureau", {}),
                ("xinrong@example.gov.cn", "region", {"region": xinrong}),
                ("zone@example.gov.cn", "region", {"region": zone}),
                ("yungang@example.gov.cn", "region", {"region": yungang}),
                ("scjg@example.gov.cn", "department", {"department": scjg}),
                ("fgw@example.gov.cn", "department", {"department": fgw})]:
            factories.staff(email=email, password=PASSWORD, role=role, **extra)
        regions = {"xinrong": xinrong.id, "zone": zone.id, "yungang": yungang.id}
        db.session.commit()
    answer = client.post("/zh/complaints/new", data=COMPLAINT | {
        "respondent_region": "xinrong", "company_name": COMPANY, "contact_name": CONTACT,
        "contact_phone": PHONE, "contact_email": EMAIL, "withhold_identity": "y",
        "trade_secret_note": SECRET,
        "attachments": [(io.BytesIO(_secret_pdf()), FILENAME)]},
        content_type="multipart/form-data")
    assert answer.status_code == 201
    assert client.post("/zh/complaints/new", data=COMPLAINT | {
        "respondent_region": "xinrong", "company_name": "公开示例物流有限公司",
        "contact_phone": "13700002222",
        "facts": "2026年10月申请的道路运输许可逾期未办，窗口说系统故障，至今没有答复。"}
    ).status_code == 201
    with app.app_context():
        secret, control = db.session.scalars(db.select(Complaint).order_by(Complaint.id)).all()
        secret.department = db.session.scalars(db.select(Department).filter_by(slug="scjg")).one()
        control.department = secret.department
        # A file staff attached to a public reply is the staff's own: it is not withheld.
        event = TicketEvent(status=secret.status, kind="reply", public=True, note="答复",
                            complaint=secret)
        db.session.add(event)
        db.session.flush()
        reply_file = attachments.store(attachments.check("答复函.pdf", _pdf()),
                                       complaint=secret)
        reply_file.event_id = event.id
        db.session.commit()
        return {"secret": secret.ticket, "control": control.ticket,
                "key": secret.attachments[0].storage_key, "reply_key": reply_file.storage_key,
                "regions": regions}


def _hold(app, ticket: str, region_id: int) -> None:
    """Whatever routing decides, the rule follows the respondent, not the holder."""
    with app.app_context():
        record = db.session.scalars(db.select(Complaint).filter_by(ticket=ticket)).one()
        record.region_id = region_id
        db.session.commit()


def _as(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def _text(response) -> str:
    """What a response shows, whatever its format (XLSX is a zip of XML)."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return unescape("".join(book.read(n).decode("utf-8", "replace")
                                    for n in book.namelist()))
    return unescape(data.decode("utf-8", "replace"))


def _model_ids(app) -> dict:
    from portal import models

    found = {"user_id": None}
    with app.app_context():
        found["user_id"] = db.session.scalar(db.select(User.id).order_by(User.id))
        for name, model_name in (("template_id", "ResponseTemplate"),
                                 ("transfer_id", "Transfer"), ("project_id", "Project"),
                                 ("rule_id", "RoutingRule"), ("policy_id", "Policy"),
                                 ("site_id", "Site"), ("opportunity_id", "Opportunity")):
            model = getattr(models, model_name)
            found[name] = db.session.scalar(db.select(model.id).order_by(model.id)) or 1
    return found


def staff_urls(app, world) -> tuple[list[str], list[str]]:
    """Every GET route under /admin, with the secret complaint wherever a ticket goes, and
    the ticket page also with its contacts revealed; and the queue searched for each secret
    (a search echoes its words, so there the ticket must not be among the hits)."""
    values = _model_ids(app) | {"key": world["key"], "slug": "nowhere", "record_id": 1,
                                "content_kind": "site", "fmt": "csv", "language": "en",
                                "prefix": "0000abcd"}
    adapter = app.url_map.bind("portal.test")
    urls, searches = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods:
            continue
        args = set(rule.arguments) - {"kind", "ticket"}
        unknown = args - set(values)
        assert not unknown, f"{rule.rule}: give tests/test_confidential.py a value for {unknown}"
        chosen = {name: values[name] for name in args}
        if "ticket" in rule.arguments:
            chosen["ticket"] = world["secret"]
        if "kind" in rule.arguments:
            chosen["kind"] = "region" if rule.endpoint.startswith("reference.") else "complaint"
        url = adapter.build(rule.endpoint, chosen)
        urls.append(url)
        if rule.endpoint == "admin.ticket":
            urls.append(url + "?contacts=1")
        if rule.endpoint == "admin.tickets":
            searches += [adapter.build(rule.endpoint, chosen | {"q": s}) for s in SECRETS]
    return urls, searches


@pytest.mark.parametrize("holder", ["xinrong", "zone", "yungang"])
def test_no_staff_page_shows_secrets_to_the_body_complained_about(app, world, holder):
    _hold(app, world["secret"], world["regions"][holder])
    urls, searches = staff_urls(app, world)
    assert any("?contacts=1" in u for u in urls) and any(".csv" in u for u in urls)
    assert any(".xlsx" in u for u in urls) and searches
    seen_by = {}
    for email in ROLES:
        browser = _as(app, email)
        shown = ""
        for url in urls:
            response = browser.get(url)
            assert response.status_code < 500, (url, email)
            if response.status_code == 200:
                shown += _text(response)
        seen_by[email] = shown
        if email in ABOUT:
            leaked = [s for s in SECRETS if s in shown]
            assert not leaked, (email, holder, leaked)
            for url in searches:
                assert world["secret"] not in _text(browser.get(url)), (email, url)
    # The bureau and admins see every part, on the same pages.
    for email in ("admin@example.gov.cn", "bureau@example.gov.cn"):
        assert all(s in seen_by[email] for s in SECRETS), email
    # The complained-about staff do see the complaint when their unit holds it, less the
    # secrets; and a region that holds a complaint about another region sees it whole.
    holder_staff = {"xinrong": ["xinrong@example.gov.cn"],
                    "zone": ["xinrong@example.gov.cn", "zone@example.gov.cn"],
                    "yungang": ["yungang@example.gov.cn"]}[holder]
    for email in holder_staff:
        assert world["secret"] in seen_by[email] and "事实与理由" in seen_by[email]
    if holder == "yungang":
        assert all(s in seen_by["yungang@example.gov.cn"] for s in SECRETS)
    assert world["secret"] in seen_by["scjg@example.gov.cn"]
    assert world["secret"] not in seen_by["fgw@example.gov.cn"]  # outside its scope


def test_the_withheld_parts_are_named_not_shown(app, world):
    page = _as(app, "xinrong@example.gov.cn").get(
        f"/admin/tickets/complaint/{world['secret']}?contacts=1").get_data(as_text=True)
    assert "投诉人要求不向被投诉方透露身份" in page
    assert "涉及商业秘密，不向被投诉方显示" in page and "不向被投诉方显示。" in page
    assert "查看联系方式" not in page
    control = _as(app, "xinrong@example.gov.cn").get(
        f"/admin/tickets/complaint/{world['control']}?contacts=1").get_data(as_text=True)
    # Asking for nothing to be withheld: the respondent's staff see the company and contacts.
    assert "公开示例物流有限公司" in control and "13700002222" in control


DOWNLOAD = {"admin@example.gov.cn": 200, "bureau@example.gov.cn": 200,
            "xinrong@example.gov.cn": 404, "zone@example.gov.cn": 404,
            "scjg@example.gov.cn": 404, "fgw@example.gov.cn": 404}


def test_the_complainants_file_is_not_downloadable_by_the_body_complained_about(app, world):
    _hold(app, world["secret"], world["regions"]["zone"])  # every region user may see it
    for email, status in DOWNLOAD.items():
        browser = _as(app, email)
        response = browser.get(f"/admin/attachments/{world['key']}")
        assert response.status_code == status, email
        assert (FILE_MARK in response.get_data()) == (status == 200), email
        # The file staff attached to a reply is theirs: only scope decides.
        reply = browser.get(f"/admin/attachments/{world['reply_key']}")
        assert reply.status_code == (404 if email == "fgw@example.gov.cn" else 200), email
    # A region holding a complaint about another region is not complained about.
    _hold(app, world["secret"], world["regions"]["yungang"])
    response = _as(app, "yungang@example.gov.cn").get(f"/admin/attachments/{world['key']}")
    assert response.status_code == 200 and FILE_MARK in response.get_data()


def test_the_export_masks_a_withheld_identity(app, world):
    for email, identity in [("bureau@example.gov.cn", True), ("xinrong@example.gov.cn", False),
                            ("scjg@example.gov.cn", False)]:
        rows = list(csv.reader(io.StringIO(
            _as(app, email).get("/admin/tickets/complaint.csv").get_data(as_text=True))))
        header = rows[0]
        body = {r[0]: dict(zip(header, r, strict=False)) for r in rows[1:]}
        assert "company" in header and world["secret"] in body, email
        row = body[world["secret"]]
        assert (row["company"] == COMPANY) == identity, email
        assert (PHONE in row["phone"]) == identity and (EMAIL == row["email"]) == identity
        assert body[world["control"]]["company"] == "公开示例物流有限公司", email


def test_one_rule_for_each_role(app, world):
    """hidden_parts and its SQL twins agree, record by record."""
    with app.app_context():
        users = {u.email: u for u in db.session.scalars(db.select(User))}
        records = db.session.scalars(db.select(Complaint)).all()
        secret = next(r for r in records if r.ticket == world["secret"])
        everything = {confidential.IDENTITY, confidential.TRADE_SECRET,
                      confidential.ATTACHMENTS}
        for email, user in users.items():
            expected = everything if email in ABOUT else set()
            assert confidential.hidden_parts(user, secret) == expected, email
            for record in records:
                parts = confidential.hidden_parts(user, record)
                identity = db.session.scalar(db.select(Complaint.id).where(
                    Complaint.id == record.id, confidential.identity_hidden(user, Complaint)))
                secrets = db.session.scalar(db.select(Complaint.id).where(
                    Complaint.id == record.id, confidential.secrets_hidden(user, Complaint)))
                assert (identity is not None) == (confidential.IDENTITY in parts), email
                assert (secrets is not None) == (confidential.TRADE_SECRET in parts), email
        # The county above a zone that is complained about is another body.
        zone_complaint = Complaint(respondent_region_id=world["regions"]["zone"],
                                   withhold_identity=True)
        assert confidential.hidden_parts(users["xinrong@example.gov.cn"], zone_complaint) \
            == frozenset()
        assert confidential.hidden_parts(users["zone@example.gov.cn"], zone_complaint) \
            == everything
        # A demand has no respondent.
        from portal.models import Demand

        assert confidential.hidden_parts(users["xinrong@example.gov.cn"], Demand()) \
            == frozenset()
