"""The audit trail: the admin viewer and its filters, the CSV export, both audited themselves,
and the guarantees (append-only on PostgreSQL, no route that changes an event, retention)."""

import ast
import csv
import io
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.audit import RETENTION_DAYS, record
from portal.extensions import db
from portal.models import AuditEvent, Department, User
from tests import factories
from tests.conftest import SERVER_URL

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "audit-trail-passphrase-2026"
ADMIN = "admin@example.gov.cn"


def _user(app, email=ADMIN, role="admin", **kw) -> None:
    with app.app_context():
        if role == "region":
            kw["region"] = factories.region(slug="pingcheng", kind="district")
        if role == "department":
            department = Department(slug="fgw", name="市发展改革委")
            db.session.add(department)
            kw["department"] = department
        factories.staff(email=email, password=PASSWORD, role=role, **kw)
        db.session.commit()


def _sign_in(client, app, email=ADMIN) -> None:
    """Sign in through the session itself, as Flask-Login reads it: these tests are about the
    trail, not the login form (tests/test_admin.py covers that)."""
    with app.app_context():
        token = db.session.scalars(db.select(User.session_token).filter_by(email=email)).one()
    with client.session_transaction() as sess:
        sess["_user_id"] = token
        sess["_fresh"] = True
        sess["_started"] = sess["_seen"] = int(time.time())


def _admin_client(client, app):
    _user(app)
    _sign_in(client, app)
    return client


def _event(action, entity_type="", entity_id="", detail=None, *, at, actor=ADMIN,
           ip="203.0.113.7") -> None:
    """One event at a fixed moment (given in UTC), written as the application writes them."""
    user = db.session.scalars(db.select(User).filter_by(email=actor)).first() if actor else None
    event = record(action, entity_type, entity_id, detail, actor=user, ip=ip)
    event.at = at


def _seed(app, events) -> None:
    with app.app_context():
        for args, kwargs in events:
            _event(*args, **kwargs)
        db.session.commit()


def _rows(html: str) -> str:
    """The table body only, so a filter value kept in the form is not mistaken for a row."""
    match = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    assert match, html
    return match.group(1)


def _count(app, **filters) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(**filters))


def _csv(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


# --- the viewer -----------------------------------------------------------------------


def test_each_row_shows_when_with_offset_who_what_entity_detail_and_address(client, app):
    _admin_client(client, app)
    _seed(app, [
        (("status:accepted->negotiating", "demand", "D-0123456789", {"note": "已对接"}),
         {"at": datetime(2026, 12, 4, 13, 3, 5, tzinfo=UTC)}),
        (("login_failed", "user", "", {"email": "who@example.com", "reason": "unknown"}),
         {"at": datetime(2026, 12, 4, 12, 0, tzinfo=UTC), "actor": None, "ip": "198.51.100.9"}),
        (("mystery_action", "widget", "w-1"), {"at": datetime(2026, 12, 4, 11, 0, tzinfo=UTC)}),
        (("user_suspended_forever", "user", "9"),
         {"at": datetime(2026, 12, 4, 10, 0, tzinfo=UTC)}),
    ])
    response = client.get("/admin/audit/")
    assert response.status_code == 200
    rows = _rows(response.get_data(as_text=True))
    assert "2026-12-04 21:03:05 +08:00" in rows  # 13:03:05 UTC, shown in Asia/Shanghai
    assert 'datetime="2026-12-04T21:03:05+08:00"' in rows
    assert "状态变更：已受理 → 对接中" in rows
    assert "投资需求" in rows and "D-0123456789" in rows
    assert "{&#34;note&#34;:&#34;已对接&#34;}" in rows  # compact JSON, escaped, Chinese kept
    assert "203.0.113.7" in rows and "198.51.100.9" in rows
    assert ADMIN in rows
    assert "登录失败" in rows and "未登录" in rows
    assert "mystery_action" in rows  # unknown actions are shown as stored
    assert "账号管理：suspended_forever" in rows
    # newest first
    assert rows.index("21:03:05") < rows.index("20:00:00") < rows.index("19:00:00") \
        < rows.index("18:00:00")


def _filter_fixture(client, app):
    _admin_client(client, app)
    _user(app, email="other@example.gov.cn", role="bureau")
    _seed(app, [
        (("view_ticket", "demand", "D-AAAAAAAAAA", {"m": "ev-admin-view"}),
         {"at": datetime(2024, 6, 3, 15, 30, tzinfo=UTC)}),   # 2024-06-03 23:30 +08:00
        (("export", "complaint", "", {"m": "ev-admin-export"}),
         {"at": datetime(2024, 6, 3, 16, 30, tzinfo=UTC)}),   # 2024-06-04 00:30 +08:00
        (("view_ticket", "complaint", "C-BBBBBBBBBB", {"m": "ev-other-view"}),
         {"at": datetime(2024, 6, 4, 15, 59, 59, tzinfo=UTC), "actor": "other@example.gov.cn"}),
        (("status:submitted->accepted", "complaint", "C-BBBBBBBBBB", {"m": "ev-other-status"}),
         {"at": datetime(2024, 6, 4, 16, 0, tzinfo=UTC), "actor": "other@example.gov.cn"}),
        (("user_created", "user", "7", {"m": "ev-admin-user"}),
         {"at": datetime(2024, 6, 5, 2, 0, tzinfo=UTC)}),
    ])


MARKERS = ("ev-admin-view", "ev-admin-export", "ev-other-view", "ev-other-status",
           "ev-admin-user")


@pytest.mark.parametrize("query, expected", [
    ({"user": "other@example.gov.cn"}, {"ev-other-view", "ev-other-status"}),
    ({"user": " Other@Example.gov.cn "}, {"ev-other-view", "ev-other-status"}),
    ({"action": "view_ticket"}, {"ev-admin-view", "ev-other-view"}),
    ({"action": "status:*"}, {"ev-other-status"}),
    ({"action": "user_*"}, {"ev-admin-user"}),
    ({"ticket": "C-BBBBBBBBBB"}, {"ev-other-view", "ev-other-status"}),
    ({"ticket": "c bbbb bbbb bb"}, {"ev-other-view", "ev-other-status"}),  # as a person types
    ({"entity_type": "complaint"}, {"ev-admin-export", "ev-other-view", "ev-other-status"}),
    # Dates are Asia/Shanghai days: 2024-06-04 is 2024-06-03 16:00 to 06-04 16:00 UTC.
    ({"date_from": "2024-06-04", "date_to": "2024-06-04"},
     {"ev-admin-export", "ev-other-view"}),
    ({"date_from": "2024-06-05"}, {"ev-other-status", "ev-admin-user"}),
    ({"date_to": "2024-06-03"}, {"ev-admin-view"}),
    ({"user": ADMIN, "action": "view_ticket", "date_to": "2024-06-30"}, {"ev-admin-view"}),
    ({"user": "nobody@example.gov.cn"}, set()),
])
def test_filters(client, app, query, expected):
    _filter_fixture(client, app)
    response = client.get("/admin/audit/", query_string=query)
    assert response.status_code == 200
    rows = _rows(response.get_data(as_text=True))
    shown = {m for m in MARKERS if m in rows}
    assert shown == expected
    if not expected:
        assert "没有符合条件的记录" in rows


def test_filters_are_kept_in_the_form_and_the_export_link(client, app):
    _filter_fixture(client, app)
    html = client.get("/admin/audit/", query_string={
        "action": "view_ticket", "date_from": "2024-06-01"}).get_data(as_text=True)
    assert '<option selected value="view_ticket">' in html
    assert 'value="2024-06-01"' in html
    assert re.search(r'href="/admin/audit/export\.csv\?[^"]*action=view_ticket', html)
    assert "共 2 条记录" in html


def test_an_action_from_a_link_that_the_list_does_not_know_is_offered(client, app):
    _admin_client(client, app)
    _seed(app, [(("brand_new_action", "widget", "x-1"),
                 {"at": datetime(2024, 6, 4, tzinfo=UTC)})])
    response = client.get("/admin/audit/", query_string={"action": "brand_new_action"})
    assert response.status_code == 200
    assert "x-1" in _rows(response.get_data(as_text=True))


@pytest.mark.parametrize("query, message", [
    ({"date_from": "2024-13-01"}, "输入日期，格式如 2026-12-04"),
    ({"date_from": "yesterday"}, "输入日期，格式如 2026-12-04"),
    ({"date_to": "20240601"}, "输入日期，格式如 2026-12-04"),
    ({"date_to": "9999-12-31"}, "输入 2000 年至 2099 年之间的日期"),
    ({"date_from": "2024-06-05", "date_to": "2024-06-01"}, "结束日期不能早于开始日期"),
    ({"user": "not-an-email"}, "输入完整的工作邮箱"),
    ({"user": "a@" + "b" * 260}, "电子邮箱不能超过 254 个字符"),
    ({"action": "DROP TABLE"}, "从列表中选择操作"),
    ({"entity_type": "<script>"}, "从列表中选择对象类型"),
    ({"ticket": "x" * 81}, "编号不能超过 80 个字符"),
])
def test_bad_filter_input_gets_a_clear_message_not_a_500(client, app, query, message):
    _admin_client(client, app)
    for path in ("/admin/audit/", "/admin/audit/export.csv"):
        response = client.get(path, query_string=query)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "<title>错误：" in html
        assert 'class="error-summary"' in html and message in html
        assert "<tbody>" not in html  # no rows under a filter that could not be read
    assert _count(app, action="view_audit") == 0
    assert _count(app, action="export") == 0


def test_junk_page_numbers_are_not_errors(client, app):
    _admin_client(client, app)
    for page in ("0", "-3", "abc", "99999999999999999999"):
        assert client.get("/admin/audit/", query_string={"page": page}).status_code == 200


def test_pages_of_fifty_newest_first(client, app):
    _admin_client(client, app)
    _seed(app, [(("view_ticket", "demand", f"D-{n:010d}"),
                 {"at": datetime(2024, 6, 1, 0, n, tzinfo=UTC)}) for n in range(55)])
    first = _rows(client.get("/admin/audit/").get_data(as_text=True))
    assert first.count("<tr>") == 50
    assert "D-0000000054" in first and "D-0000000005" in first
    assert "D-0000000004" not in first
    second = client.get("/admin/audit/", query_string={"page": 2}).get_data(as_text=True)
    assert "D-0000000004" in _rows(second) and "D-0000000054" not in _rows(second)
    assert "第 2 页，共 2 页" in second


def test_viewing_is_itself_audited(client, app):
    _admin_client(client, app)
    client.get("/admin/audit/", query_string={"action": "login", "page": "1"})
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).filter_by(action="view_audit")).one()
        assert event.actor.email == ADMIN
        assert event.entity_type == "audit_event"
        assert event.detail == {"filters": {"action": "login"}, "page": 1}
        assert event.ip == "127.0.0.1"
    # The page that produced the event does not list it; the next look does.
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert "查看审计日志" in _rows(html)


# --- who may look ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["bureau", "region", "department"])
def test_other_roles_get_404_as_if_it_did_not_exist(client, app, role):
    _user(app, email=f"{role}@example.gov.cn", role=role)
    _sign_in(client, app, f"{role}@example.gov.cn")
    def page(response):  # the display switch links back to the page itself: not compared
        return re.sub(r'href="/display/[^"]*"', "", response.get_data(as_text=True))

    for path in ("/admin/audit/", "/admin/audit/export.csv?action=login"):
        response = client.get(path)
        assert response.status_code == 404
        assert page(response) == page(client.get("/admin/no-such-page")).replace(
            "/admin/no-such-page", path.split("?")[0])
    assert "/admin/audit/" not in client.get("/admin/").get_data(as_text=True)
    assert _count(app, action="view_audit") == 0 and _count(app, action="export") == 0


def test_an_admin_signed_in_through_the_login_form_sees_the_trail(client, app):
    _user(app)
    response = client.post("/admin/login", data={"email": ADMIN, "password": PASSWORD})
    assert response.status_code == 302
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert "登录" in _rows(html) and ADMIN in _rows(html)


def test_signed_out_visitors_are_sent_to_the_login_page(client):
    for path in ("/admin/audit/", "/admin/audit/export.csv"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]


def test_admins_find_it_in_the_navigation(client, app):
    _admin_client(client, app)
    assert 'href="/admin/audit/"' in client.get("/admin/").get_data(as_text=True)


# --- the export -----------------------------------------------------------------------


def test_export_neutralises_formulas_stored_in_an_event(client, app):
    _admin_client(client, app)
    payload = '=HYPERLINK("http://x","y")'
    _seed(app, [(("view_ticket", "demand", payload, {"company": "+1+1"}),
                 {"at": datetime(2024, 6, 4, 4, 5, 6, tzinfo=UTC), "ip": "@SUM(1)"}),
                (("-2+3", "\t=1", "＝1"), {"at": datetime(2024, 6, 4, 3, 0, tzinfo=UTC)})])
    response = client.get("/admin/audit/export.csv", query_string={"date_to": "2024-06-30"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    assert response.headers["Cache-Control"].startswith("no-store")
    header, first, second = _csv(response)
    assert header == ["time", "actor", "action", "action_label", "entity_type", "entity_id",
                      "detail", "ip"]
    assert first == ["2024-06-04 12:05:06 +08:00", ADMIN, "view_ticket", "查看工单", "demand",
                     "'" + payload, '{"company":"+1+1"}', "'@SUM(1)"]
    assert second[2:6] == ["'-2+3", "'-2+3", "'\t=1", "'＝1"]
    for row in (first, second):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r", "＝")) for cell in row)


def test_export_applies_the_filters_and_is_itself_audited(client, app):
    _filter_fixture(client, app)
    response = client.get("/admin/audit/export.csv",
                          query_string={"user": "other@example.gov.cn", "action": "status:*"})
    rows = _csv(response)
    assert [row[6] for row in rows[1:]] == ['{"m":"ev-other-status"}']
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).filter_by(action="export")
                                   .where(AuditEvent.entity_type == "audit_event")).one()
        assert event.actor.email == ADMIN
        assert event.detail == {"filters": {"user": "other@example.gov.cn",
                                            "action": "status:*"}, "format": "csv"}
    # An unfiltered export lists its own export event first: the file shows it was taken.
    rows = _csv(client.get("/admin/audit/export.csv"))
    assert rows[1][1:3] == [ADMIN, "export"] and rows[1][6] == '{"filters":{},"format":"csv"}'
    assert len(rows) == 1 + 5 + 2  # header, the five events, the two exports


# --- what the trail guarantees --------------------------------------------------------


def test_the_viewer_only_reads(app, client):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin/audit")]
    assert {r.rule for r in rules} == {"/admin/audit/", "/admin/audit/export.csv",
                                       "/admin/audit/export.xlsx"}
    for rule in rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    _admin_client(client, app)
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)("/admin/audit/").status_code == 405


def _mentions_audit(node) -> bool:
    text = ast.unparse(node)
    return "AuditEvent" in text or "audit_event" in text


def _changes_to_the_trail(source: str) -> list[int]:
    """Lines that UPDATE or DELETE audit events: db.update/db.delete, session.delete,
    Query.update/delete naming the model or table, or SQL text doing it."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if name in ("update", "delete") and _mentions_audit(node):
                lines.append(node.lineno)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(
                r"(?i)\b(update|delete\s+from|truncate)\s+\"?audit_event", node.value):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_what_it_looks_for():
    assert _changes_to_the_trail("db.session.execute(db.delete(AuditEvent))") == [1]
    assert _changes_to_the_trail("q = db.update(AuditEvent).values(ip='')") == [1]
    assert _changes_to_the_trail("db.session.query(AuditEvent).filter_by(id=1).delete()")
    assert _changes_to_the_trail("conn.execute(text('DELETE FROM audit_event'))") == [1]
    assert _changes_to_the_trail("db.session.add(AuditEvent(action='login'))") == []


def test_no_code_in_the_application_updates_or_deletes_an_event():
    offenders = [f"{path.relative_to(ROOT)}:{line}"
                 for path in (ROOT / "portal").rglob("*.py") if "migrations" not in path.parts
                 for line in _changes_to_the_trail(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_retention_is_at_least_180_days_and_said_so(client, app):
    assert RETENTION_DAYS >= 180
    _admin_client(client, app)
    assert "至少保存 180 天" in client.get("/admin/audit/").get_data(as_text=True)


postgres_only = pytest.mark.skipif(not SERVER_URL.startswith("postgresql"),
                                   reason="the append-only trigger exists on PostgreSQL")


@postgres_only
@pytest.mark.parametrize("statement", [
    sa.update(AuditEvent).values(action="tampered"),
    sa.update(AuditEvent).values(ip=""),
    sa.delete(AuditEvent),
    sa.text("DELETE FROM audit_event"),
])
def test_postgres_refuses_update_and_delete(ctx, statement):
    _user_in_ctx()
    event = record("view_ticket", "demand", "D-0123456789", {"x": 1},
                   actor=db.session.scalars(db.select(User)).one(), ip="203.0.113.7")
    db.session.commit()
    event_id = event.id
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(statement)
    db.session.rollback()
    stored = db.session.get(AuditEvent, event_id)
    assert (stored.action, stored.ip) == ("view_ticket", "203.0.113.7")


@postgres_only
def test_postgres_refuses_an_orm_delete(ctx):
    _user_in_ctx()
    event = record("login", "user", "1", actor=db.session.scalars(db.select(User)).one(), ip="")
    db.session.commit()
    db.session.delete(event)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 1


def _user_in_ctx() -> None:
    factories.staff(email=ADMIN, password=PASSWORD)
    db.session.commit()
