from portal.extensions import db
from portal.models import AuditEvent
from tests import factories


def test_dashboard_needs_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def _staff(app, **kw):
    with app.app_context():
        factories.staff(**kw)
        db.session.commit()


def test_login_and_logout(client, app):
    _staff(app, email="officer@example.gov.cn", password="s3cure-pass")
    response = client.post("/admin/login", data={"email": "Officer@example.gov.cn",
                                                  "password": "s3cure-pass"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(
            action="login")) == 1
    client.post("/admin/logout")
    assert client.get("/admin/").status_code == 302


def test_wrong_password_is_an_error_with_summary(client, app):
    _staff(app, email="officer@example.gov.cn", password="s3cure-pass")
    html = client.post("/admin/login", data={"email": "officer@example.gov.cn",
                                             "password": "nope"}).get_data(as_text=True)
    assert "<title>错误：" in html
    assert "电子邮箱或密码不正确" in html
    assert 'value="officer@example.gov.cn"' in html  # input kept


def test_invalid_email_message_beside_the_field(client):
    html = client.post("/admin/login", data={"email": "not-an-email", "password": "x"}
                       ).get_data(as_text=True)
    assert "输入正确格式的电子邮箱" in html
    assert 'href="#email"' in html


def test_inactive_user_cannot_log_in(client, app):
    _staff(app, email="gone@example.gov.cn", password="pw-123456", active=False)
    client.post("/admin/login", data={"email": "gone@example.gov.cn", "password": "pw-123456"})
    assert client.get("/admin/").status_code == 302


def test_cli_users_create(runner, app):
    args = ["users", "create", "bureau@example.gov.cn", "--role", "bureau", "--password"]
    result = runner.invoke(args=args + ["pw-abcdef"])
    assert result.exit_code != 0 and "至少需要 12 个字符" in result.output
    result = runner.invoke(args=args + ["qwerty123456"])
    assert result.exit_code != 0 and "过于常见" in result.output
    result = runner.invoke(args=args + ["copper kettle drum"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=args + ["copper kettle drum"])
    assert result.exit_code != 0 and "exists" in result.output
    result = runner.invoke(args=["users", "create", "c@example.gov.cn", "--role", "region",
                                 "--password", "copper kettle drum"])
    assert result.exit_code != 0 and "--region" in result.output
    result = runner.invoke(args=["users", "create", "d@example.gov.cn", "--role", "department",
                                 "--password", "copper kettle drum"])
    assert result.exit_code != 0 and "--department" in result.output


def test_bootstrap_loads_pack_and_creates_the_first_admin(runner, app, monkeypatch):
    monkeypatch.setenv("PORTAL_ADMIN_EMAIL", "first@example.gov.cn")
    monkeypatch.setenv("PORTAL_ADMIN_PASSWORD", "granite-harbour-7")
    result = runner.invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    assert "first@example.gov.cn" in result.output
    assert "indexed" in result.output
    client = app.test_client()
    client.post("/admin/login", data={"email": "first@example.gov.cn",
                                      "password": "granite-harbour-7"})
    assert client.get("/admin/").status_code == 200


def test_bootstrap_generates_a_password_once(runner, app, monkeypatch):
    monkeypatch.delenv("PORTAL_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("PORTAL_ADMIN_PASSWORD", raising=False)
    first = runner.invoke(args=["bootstrap"])
    assert "admin@example.com / " in first.output
    second = runner.invoke(args=["bootstrap"])
    assert "admin@example.com / " not in second.output
    assert "/admin/login" in second.output


def test_dashboard_flags_parcels_whose_area_does_not_match(client, app):
    with app.app_context():
        factories.staff(email="officer@example.gov.cn", password="s3cure-pass")
        wrong = factories.parcel(key="wrong", name="面积不符地块", area_mu=20.0, drawn_area_mu=15.0)
        factories.parcel(key="right", name="面积相符地块", area_mu=15.3, drawn_area_mu=15.0,
                         region_row=wrong.region)
        db.session.commit()
    client.post("/admin/login", data={"email": "officer@example.gov.cn",
                                      "password": "s3cure-pass"})
    html = client.get("/admin/").get_data(as_text=True)
    assert "面积需核对的地块" in html
    assert "面积不符地块" in html and "33.3%" in html
    assert "面积相符地块" not in html
