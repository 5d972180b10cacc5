"""Staff sessions that end, lockout, the password rules and admin account pages."""

import re
import time
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import AuditEvent, User, utcnow
from tests import factories

PASSWORD = "copper kettle drum"
WRONG_ANSWER = "电子邮箱或密码不正确"


def _staff(app, email="officer@example.gov.cn", role="admin", **kw) -> int:
    with app.app_context():
        user = factories.staff(email=email, password=PASSWORD, role=role, **kw)
        db.session.commit()
        return user.id


def login(client, email="officer@example.gov.cn", password=PASSWORD, **extra):
    return client.post("/admin/login", data={"email": email, "password": password, **extra})


def _cookie(client, name="session"):
    cookie = client.get_cookie(name, domain="portal.test",
                               path="/admin" if name == "remember_token" else "/")
    return cookie.value if cookie else None


def _replay(app, name: str, value: str):
    """A fresh browser that presents only a copied cookie."""
    other = app.test_client()
    other.set_cookie(name, value, domain="portal.test",
                     path="/admin" if name == "remember_token" else "/")
    return other.get("/admin/")


def _actions(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(db.select(AuditEvent).filter_by(action=action)).all()


def _without_tokens(html: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*value="|nonce-?=?")[^"]*"', "", html)


# --- sessions ------------------------------------------------------------------------------


def test_a_copied_session_cookie_stops_working_after_logout(client, app):
    _staff(app)
    assert login(client).status_code == 302
    copied = _cookie(client)
    assert _replay(app, "session", copied).status_code == 200  # the copy works while signed in
    client.post("/admin/logout")
    replay = _replay(app, "session", copied)
    assert replay.status_code == 302 and "/admin/login" in replay.headers["Location"]
    assert _actions(app, "logout")


def test_logout_ends_the_users_other_sessions_too(client, app):
    _staff(app)
    other = app.test_client()
    login(client)
    login(other)
    client.post("/admin/logout")
    assert other.get("/admin/").status_code == 302


def test_a_password_change_ends_every_other_session_and_keeps_this_one(client, app):
    _staff(app)
    login(client)
    copied = _cookie(client)
    response = client.post("/admin/password", data={
        "current": PASSWORD, "new": "silver lantern coast", "confirm": "silver lantern coast"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200  # this browser goes on
    assert _replay(app, "session", copied).status_code == 302
    assert _actions(app, "password_changed")
    fresh = app.test_client()
    assert login(fresh, password=PASSWORD).status_code == 200  # the old password is gone
    assert login(fresh, password="silver lantern coast").status_code == 302


def test_deactivation_and_a_change_of_rights_end_sessions(client, app):
    admin_id = _staff(app, email="admin@example.gov.cn")
    with app.app_context():
        region = factories.region(slug="pingcheng", kind="district", name="平城区")
        officer = factories.staff(email="officer@example.gov.cn", password=PASSWORD,
                                  role="region", region=region)
        db.session.commit()
        officer_id = officer.id
    officer_browser = app.test_client()
    login(officer_browser)
    copied = _cookie(officer_browser)
    login(client, email="admin@example.gov.cn")
    # a change of role ends the officer's sessions
    response = client.post(f"/admin/users/{officer_id}", data={
        "role": "bureau", "region": "", "department": "", "active": "y", "name": ""})
    assert response.status_code == 302
    assert officer_browser.get("/admin/").status_code == 302
    assert _replay(app, "session", copied).status_code == 302
    login(officer_browser)
    assert officer_browser.get("/admin/").status_code == 200
    # deactivation ends them again, and the account can no longer sign in
    client.post(f"/admin/users/{officer_id}", data={"role": "bureau", "name": "", "region": "",
                                                    "department": ""})
    assert officer_browser.get("/admin/").status_code == 302
    assert WRONG_ANSWER in login(officer_browser).get_data(as_text=True)
    with app.app_context():
        assert not db.session.get(User, officer_id).active
        assert db.session.get(User, admin_id).active
    assert len(_actions(app, "user_updated")) == 2


def test_a_new_session_at_every_sign_in(client, app):
    _staff(app)
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client)
    with client.session_transaction() as sess:
        first = sess["_sid"]
        assert "planted" not in sess
    client.post("/admin/logout")
    login(client)
    with client.session_transaction() as sess:
        assert sess["_sid"] != first


@pytest.mark.parametrize("key", ["_seen", "_started"])
def test_idle_and_absolute_expiry(client, app, key):
    _staff(app)
    login(client)
    assert client.get("/admin/").status_code == 200
    age = 31 * 60 if key == "_seen" else 12 * 3600 + 60
    with client.session_transaction() as sess:
        sess[key] = int(time.time()) - age
        if key == "_started":
            sess["_seen"] = int(time.time())
    response = client.get("/admin/tickets/demand")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "登录已超时" in page
    assert client.get("/admin/").status_code == 302


def test_session_cookie_flags(client, app):
    _staff(app)
    response = login(client)
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header


def test_no_remember_option_by_default(client):
    html = client.get("/admin/login").get_data(as_text=True)
    assert 'name="remember"' not in html


@pytest.fixture
def remembering(app):
    app.config["REMEMBER_DAYS"] = 7
    yield app
    app.config["REMEMBER_DAYS"] = 0


def test_remember_cookie_is_bounded_flagged_and_revoked_by_logout(client, remembering):
    app = remembering
    _staff(app)
    assert "保持登录 7 天" in client.get("/admin/login").get_data(as_text=True)
    response = login(client, remember="y")
    remember = [h for h in response.headers.getlist("Set-Cookie")
                if h.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]
    assert "Path=/admin" in remember[0]
    expires = re.search(r"Max-Age=(\d+)", remember[0]) or re.search(r"Expires=([^;]+)",
                                                                    remember[0])
    assert expires is not None
    if expires.re.pattern.startswith("Max-Age"):
        assert int(expires.group(1)) <= 7 * 86400
    token = _cookie(client, "remember_token")
    with app.app_context():  # it carries the revocable session token, not the user id
        assert token.split("|")[0] == db.session.scalars(db.select(User.session_token)).one()
    assert _replay(app, "remember_token", token).status_code == 200  # works while signed in
    client.post("/admin/logout")
    replay = _replay(app, "remember_token", token)
    assert replay.status_code == 302 and "/admin/login" in replay.headers["Location"]


def test_a_remembered_device_starts_a_new_session_after_idle_expiry(client, remembering):
    app = remembering
    _staff(app)
    login(client, remember="y")
    with client.session_transaction() as sess:
        sess["_seen"] = int(time.time()) - 31 * 60
    response = client.get("/admin/", follow_redirects=True)
    assert response.status_code == 200 and "工作台" in response.get_data(as_text=True)


def test_https_makes_cookies_secure(databases, tmp_path):
    from tests.conftest import make_app

    app = make_app(databases.new("https"), tmp_path, HTTPS=True)
    with app.app_context():
        factories.staff(email="officer@example.gov.cn", password=PASSWORD)
        db.session.commit()
    response = app.test_client().post(
        "/admin/login", data={"email": "officer@example.gov.cn", "password": PASSWORD},
        base_url="https://portal.test")
    assert "Secure" in response.headers["Set-Cookie"]


def test_proxy_fix_trusts_only_the_configured_proxies(databases, tmp_path):
    from tests.conftest import make_app

    app = make_app(databases.new("proxy"), tmp_path, PROXY_COUNT=1)
    with app.app_context():
        factories.staff(email="officer@example.gov.cn", password=PASSWORD)
        db.session.commit()
    app.test_client().post("/admin/login", data={"email": "officer@example.gov.cn",
                                                 "password": PASSWORD},
                           headers={"X-Forwarded-For": "203.0.113.9"})
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).filter_by(action="login")).one()
        assert event.ip == "203.0.113.9"


# --- lockout ------------------------------------------------------------------------------


def test_five_failures_lock_the_account_with_the_same_answer(client, app):
    user_id = _staff(app)
    for _ in range(5):
        assert WRONG_ANSWER in login(client, password="not the password").get_data(
            as_text=True)
    locked = login(client)  # the right password, but locked
    assert locked.status_code == 200 and WRONG_ANSWER in locked.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.locked_until is not None
    assert len(_actions(app, "login_failed")) == 6 and len(_actions(app, "locked")) == 1


def test_the_lock_ends_after_fifteen_minutes(client, app):
    user_id = _staff(app)
    for _ in range(5):
        login(client, password="not the password")
    with app.app_context():
        user = db.session.get(User, user_id)
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert login(client).status_code == 302


def test_an_admin_unlocks_and_it_is_audited(client, app):
    _staff(app, email="admin@example.gov.cn")
    user_id = _staff(app, role="bureau")
    stranger = app.test_client()
    for _ in range(5):
        login(stranger, password="not the password")
    login(client, email="admin@example.gov.cn")
    page = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "已锁定至" in page and "解除锁定" in page
    assert client.post(f"/admin/users/{user_id}/unlock").status_code == 302
    assert login(stranger).status_code == 302
    with app.app_context():
        unlock = db.session.scalars(db.select(AuditEvent).filter_by(action="unlock")).all()
        assert len(unlock) == 1 and unlock[0].actor.email == "admin@example.gov.cn"


def test_unknown_wrong_locked_and_inactive_answer_alike(client, app):
    _staff(app)
    _staff(app, email="gone@example.gov.cn", active=False)
    answers = {
        "unknown": login(client, email="nobody@example.gov.cn").get_data(as_text=True),
        "wrong": login(client, password="not the password").get_data(as_text=True),
        "inactive": login(client, email="gone@example.gov.cn").get_data(as_text=True),
    }
    for _ in range(4):
        login(client, password="not the password")
    answers["locked"] = login(client).get_data(as_text=True)
    pages = {k: _without_tokens(v).replace("nobody@", "X@").replace("gone@", "X@")
             .replace("officer@", "X@") for k, v in answers.items()}
    assert WRONG_ANSWER in pages["unknown"]
    assert len(set(pages.values())) == 1, {k: len(v) for k, v in pages.items()}
    reasons = {e.detail["reason"] for e in _actions(app, "login_failed")}
    assert reasons == {"unknown", "password", "inactive", "locked"}


def test_failures_from_concurrent_requests_all_count(client, app):
    """The count is one UPDATE … RETURNING, so no failure is lost between readers."""
    from portal.accounts import services as accounts

    user_id = _staff(app)
    with app.test_request_context():
        for _ in range(3):
            assert accounts.authenticate("officer@example.gov.cn", "wrong") is None
        db.session.remove()
    with app.app_context():
        assert db.session.get(User, user_id).failed_logins == 3


# --- password rules -------------------------------------------------------------------------


@pytest.mark.parametrize("new, message", [
    ("short pass", "至少需要 12 个字符"),
    ("qwerty123456", "过于常见"),
    ("password2026!", "过于常见"),
    ("aaaaaaaaaaaaaaaa", "过于常见"),
    ("officer-lantern-9", "不能包含您的电子邮箱名"),
    (PASSWORD, "不能与当前密码相同"),
])
def test_password_rules(client, app, new, message):
    _staff(app)
    login(client)
    html = client.post("/admin/password", data={"current": PASSWORD, "new": new,
                                                "confirm": new}).get_data(as_text=True)
    assert message in html and "<title>错误：" in html


def test_password_change_needs_the_current_password_and_a_matching_confirmation(client, app):
    _staff(app)
    login(client)
    html = client.post("/admin/password", data={
        "current": "guess", "new": "silver lantern coast", "confirm": "silver lantern coast"}
    ).get_data(as_text=True)
    assert "当前密码不正确" in html
    html = client.post("/admin/password", data={
        "current": PASSWORD, "new": "silver lantern coast", "confirm": "silver lantern cost"}
    ).get_data(as_text=True)
    assert "两次输入的新密码不一致" in html


def test_composition_and_rotation_when_an_assessor_requires_them(client, app):
    user_id = _staff(app)
    app.config.update(PASSWORD_MIN_CLASSES=3, PASSWORD_MAX_AGE_DAYS=90)
    try:
        with app.app_context():
            db.session.get(User, user_id).password_changed_at = utcnow() - timedelta(days=91)
            db.session.commit()
        login(client)
        response = client.get("/admin/")
        assert response.status_code == 302 and response.headers["Location"].endswith(
            "/admin/password")
        html = client.post("/admin/password", data={
            "current": PASSWORD, "new": "silver lantern coast",
            "confirm": "silver lantern coast"}).get_data(as_text=True)
        assert "至少 3 类" in html
        client.post("/admin/password", data={
            "current": PASSWORD, "new": "Silver lantern coast 9",
            "confirm": "Silver lantern coast 9"})
        assert client.get("/admin/").status_code == 200
    finally:
        app.config.update(PASSWORD_MIN_CLASSES=0, PASSWORD_MAX_AGE_DAYS=0)


def test_extra_form_fields_change_nothing(client, app):
    user_id = _staff(app, role="bureau")
    login(client)
    client.post("/admin/password", data={"current": PASSWORD, "new": "silver lantern coast",
                                         "confirm": "silver lantern coast", "role": "admin",
                                         "active": "", "region": "datong"})
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.role == "bureau" and user.active and user.region is None


# --- admin account pages -----------------------------------------------------------------------


def test_account_pages_are_for_admins_only(client, app):
    _staff(app, role="bureau")
    login(client)
    assert client.get("/admin/users/").status_code == 404
    assert client.post("/admin/users/1/unlock").status_code == 404
    assert client.get("/admin/users/new").status_code == 404


def test_admin_creates_an_account_with_a_password_shown_once(client, app):
    _staff(app)
    with app.app_context():
        factories.department()
        factories.region(slug="pingcheng", kind="district", name="平城区")
        db.session.commit()
    login(client)
    html = client.post("/admin/users/new", data={
        "email": "dept@example.gov.cn", "role": "department", "department": "",
        "region": "", "name": "张三", "active": "y"}).get_data(as_text=True)
    assert "选择该工作人员所属的部门" in html
    html = client.post("/admin/users/new", data={
        "email": "dept@example.gov.cn", "role": "department", "department": "zrzy",
        "region": "pingcheng", "name": "张三", "active": "y"}).get_data(as_text=True)
    shown = re.search(r'<code class="code">([^<]+)</code>', html)
    assert shown, html
    with app.app_context():
        user = db.session.scalars(db.select(User).filter_by(email="dept@example.gov.cn")).one()
        assert user.department.slug == "zrzy" and user.region is None  # region ignored
    assert login(app.test_client(), email="dept@example.gov.cn",
                 password=shown.group(1)).status_code == 302
    assert _actions(app, "user_created")


def test_an_admin_cannot_demote_themselves(client, app):
    user_id = _staff(app)
    login(client)
    html = client.post(f"/admin/users/{user_id}", data={
        "role": "bureau", "active": "y", "region": "", "department": ""}).get_data(as_text=True)
    assert "不能取消或停用自己的管理员账号" in html
    with app.app_context():
        assert db.session.get(User, user_id).role == "admin"
