"""E-mail alerts of new policies, end to end over a real SMTP conversation (aiosmtpd on
127.0.0.1): subscribe with filters → confirmation mail → its link → active → publish a
matching and a non-matching policy → exactly one alert listing only the matching one, with
RFC 8058 headers → its unsubscribe link → no more mail. Links that expired or were tampered
with change nothing and say why; the page answers the same for any address; bad addresses
get a clear message in the visitor's language."""

import re
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.alerts import services
from portal.content import schedule, workflow
from portal.extensions import db
from portal.models import AlertDelivery, AlertSubscription, Policy, PolicyRelease, Topic, User
from tests import factories
from tests.test_mail import smtp  # noqa: F401  (fixture: a running SMTP server)

PASSWORD = "copper kettle drum"
ADMIN = "admin@example.gov.cn"
READER = "reader@example.com"


@pytest.fixture
def world(app):
    """A city, the topic 土地 (with English), an admin, and three draft policies: two about
    land, one about talent."""
    with app.app_context():
        city = factories.region(slug="city", kind="city", name="测试市")
        land = Topic(slug="land", name="土地", translations={"en": {"name": "Land"}})
        talent = Topic(slug="talent", name="人才")
        db.session.add_all([land, talent])
        factories.staff(ADMIN, PASSWORD, role="admin")
        ids = {
            "land": factories.policy("p-land", title="工业用地弹性出让办法", region=city,
                                     topics=[land], publication="draft",
                                     translations={"en": {"title": "Flexible land supply"}}).id,
            "talent": factories.policy("p-talent", title="高层次人才引进办法", region=city,
                                       topics=[talent], publication="draft").id,
            "land2": factories.policy("p-land2", title="标准地出让实施细则", region=city,
                                      topics=[land], publication="draft",
                                      published=date(2026, 2, 1)).id,
        }
        db.session.commit()
        db.session.remove()
    return ids


def _admin(app):
    browser = app.test_client()
    answer = browser.post("/admin/login", data={"email": ADMIN, "password": PASSWORD})
    assert answer.status_code == 302
    return browser


def _publish(admin, policy_id: int, **data):
    answer = admin.post(f"/admin/content/policies/{policy_id}/move",
                        data={"action": "publish", **data})
    assert answer.status_code == 302


def _mails(smtp, to=READER):  # noqa: F811
    return [m for m in smtp.inbox.messages if m["To"] == to]


def _link(message, path: str) -> str:
    return re.search(rf"http://portal\.test(/\w\w/alerts/{path}/[\w.-]+)",
                     message.get_content()).group(1)


def _subscriptions(app) -> list[AlertSubscription]:
    with app.app_context():
        rows = db.session.scalars(db.select(AlertSubscription)).all()
        db.session.expunge_all()
        return rows


def _subscribe(client, email=READER, lang="en", **filters):
    return client.post(f"/{lang}/policies/subscribe", data={"email": email, **filters})


def _confirmed(client, smtp, **filters):  # noqa: F811
    assert _subscribe(client, **filters).status_code == 200
    link = _link(_mails(smtp)[-1], "confirm")
    assert client.post(link).status_code == 200
    return link


def test_subscribe_confirm_alert_unsubscribe_end_to_end(app, client, world, smtp):  # noqa: F811
    form = client.get("/en/policies/subscribe?topic=land&level=galactic&region=atlantis")
    assert form.status_code == 200
    assert "Land" in form.get_data(as_text=True)  # what is subscribed, in English
    assert 'value="galactic"' not in form.get_data(as_text=True)
    assert 'value="atlantis"' not in form.get_data(as_text=True)

    answer = _subscribe(client, topic="land", level="galactic", region="atlantis")
    assert answer.status_code == 200
    [confirmation] = _mails(smtp)
    link = _link(confirmation, "confirm")
    assert link.startswith("/en/alerts/confirm/")
    [pending] = _subscriptions(app)
    assert (pending.state, pending.filters, pending.language) == ("pending", {"topic": "land"},
                                                                 "en")

    page = client.get(link)  # opening the link (a mail scanner does) only shows a button
    assert page.status_code == 200 and f'action="{link}"' in page.get_data(as_text=True)
    assert _subscriptions(app)[0].state == "pending"
    assert client.post(link).status_code == 200
    [active] = _subscriptions(app)
    assert active.state == "active" and active.confirmed_at is not None
    assert client.post(link).status_code == 200  # used again: says so, changes nothing
    assert _subscriptions(app)[0].nonce == active.nonce

    admin = _admin(app)
    _publish(admin, world["talent"])
    assert len(_mails(smtp)) == 1  # nothing for a policy outside the filters
    _publish(admin, world["land"])
    [_, alert] = _mails(smtp)
    body = alert.get_content()
    assert "Flexible land supply" in body  # the title in the subscriber's language
    assert f"http://portal.test/en/policies/{world['land']}" in body
    assert f"/policies/{world['talent']}" not in body and "人才" not in body
    unsubscribe = _link(alert, "unsubscribe")
    assert alert["List-Unsubscribe"] == f"<http://portal.test{unsubscribe}>"
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert _link(alert, "manage").startswith("/en/alerts/manage/")
    manage = client.get(_link(alert, "manage")).get_data(as_text=True)
    assert READER in manage and "Land" in manage

    assert client.get(unsubscribe).status_code == 200
    assert len(_subscriptions(app)) == 1  # opening is not unsubscribing
    assert client.post(unsubscribe).status_code == 200
    assert _subscriptions(app) == []  # the address is gone with the subscription
    assert client.post(unsubscribe).status_code == 200  # a second click says it is done

    _publish(admin, world["land2"])
    assert len(_mails(smtp)) == 2  # no more mail


def test_one_click_unsubscribe_needs_no_csrf_token_but_subscribing_does(
        app, client, world, smtp, monkeypatch):  # noqa: F811
    _confirmed(client, smtp, topic="land")
    _publish(_admin(app), world["land"])
    alert = _mails(smtp)[-1]
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    url = alert["List-Unsubscribe"].strip("<>").removeprefix("http://portal.test")
    answer = client.post(url, data="List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    assert _subscriptions(app) == []
    refused = _subscribe(client, email="other@example.com", lang="zh")
    assert refused.status_code == 400
    assert "请求无法处理" in refused.get_data(as_text=True)
    assert _subscriptions(app) == []


def test_one_digest_per_run_and_never_the_same_policy_twice(app, client, world, smtp):  # noqa: F811
    _confirmed(client, smtp, topic="land")
    later = datetime.now(UTC) + timedelta(hours=2)
    with app.app_context():
        admin = db.session.scalars(db.select(User).filter_by(email=ADMIN)).one()
        for key in ("land", "land2"):
            workflow.move(admin, db.session.get(Policy, world[key]), "publish",
                          publish_at=later)
        db.session.commit()
    assert len(_mails(smtp)) == 1  # scheduled for later: not news yet
    with app.app_context():
        app.config["CONTENT_CLOCK"] = lambda: later + timedelta(minutes=1)
        try:
            counts = schedule.apply_due()
        finally:
            app.config.pop("CONTENT_CLOCK")
        assert counts["went_live"] == 2
    [_, digest] = _mails(smtp)
    body = digest.get_content()
    assert "Flexible land supply" in body and "标准地出让实施细则" in body
    assert body.index("标准地出让实施细则") < body.index("Flexible land supply")  # newest first
    assert "1. 标准地出让实施细则\n   测试市人民政府 · 2026-02-01\n" in body.replace("\r", "")

    with app.app_context():  # archived, reopened and published again: not news twice
        row = db.session.get(Policy, world["land"])
        row.publication = "draft"
        db.session.commit()
        row.publication = "published"
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count(PolicyRelease.id))) == 3
        assert db.session.scalar(db.select(db.func.count()).select_from(AlertDelivery)) == 2
    assert len(_mails(smtp)) == 2


def test_the_send_command_announces_waiting_releases_and_forgets_the_unconfirmed(
        app, client, runner, world, smtp):  # noqa: F811
    _confirmed(client, smtp, topic="land")
    _subscribe(client, email="never@example.com")
    with app.app_context():
        stale = db.session.scalars(db.select(AlertSubscription).filter_by(
            email="never@example.com")).one()
        stale.created_at = datetime.now(UTC) - timedelta(days=services.PENDING_DAYS + 1)
        # A policy that went live where no link could be built (a load from the command
        # line without SERVER_NAME): released, not announced.
        row = db.session.get(Policy, world["land"])
        db.session.execute(db.update(Policy).where(Policy.id == row.id)
                           .values(publication="published"))
        db.session.add(PolicyRelease(policy_id=row.id, at=datetime.now(UTC)))
        db.session.commit()
    before = len(_mails(smtp))
    result = runner.invoke(args=["alerts", "send"])
    assert result.exit_code == 0, result.output
    assert "alert mails queued 1, unconfirmed forgotten 1" in result.output
    assert len(_mails(smtp)) == before + 1
    assert [s.email for s in _subscriptions(app)] == [READER]
    again = runner.invoke(args=["alerts", "send"])
    assert "alert mails queued 0" in again.output


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_expired_confirmation_link_changes_nothing_and_says_so(
        app, client, world, smtp, lang):  # noqa: F811
    _subscribe(client, lang=lang, topic="land")
    [pending] = _subscriptions(app)

    class Yesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - (services.CONFIRM_HOURS + 1) * 3600

    with app.app_context():
        token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=services.CONFIRM_SALT,
                                       signer=Yesterday).dumps([pending.id, pending.nonce])
    for method in (client.get, client.post):
        answer = method(f"/{lang}/alerts/confirm/{token}")
        assert answer.status_code == 400
        html = answer.get_data(as_text=True)
        assert ("确认链接已过期（有效期 48 小时）" if lang == "zh"
                else "has expired (links are valid for 48 hours)") in html
        assert ("<title>错误：" if lang == "zh" else "<title>Error: ") in html
    assert _subscriptions(app)[0].state == "pending"


def test_tampered_links_change_nothing(app, client, world, smtp):  # noqa: F811
    _confirmed(client, smtp, topic="land")
    _publish(_admin(app), world["land"])
    unsubscribe = _link(_mails(smtp)[-1], "unsubscribe")
    token = unsubscribe.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for path in (f"/zh/alerts/unsubscribe/{forged}", f"/zh/alerts/manage/{forged}",
                 f"/zh/alerts/confirm/{token}",  # a manage token is not a confirmation
                 "/zh/alerts/unsubscribe/x", "/zh/alerts/confirm/" + "a" * 300):
        answer = client.post(path) if "unsubscribe" in path or "confirm" in path \
            else client.get(path)
        assert answer.status_code == 400, path
        assert "链接无效或不完整" in answer.get_data(as_text=True)
    assert [s.state for s in _subscriptions(app)] == ["active"]


def test_the_page_answers_the_same_whatever_the_address(app, client, world, smtp):  # noqa: F811
    _confirmed(client, smtp, topic="land")  # READER: active
    _subscribe(client, email="waiting@example.com", topic="land")  # pending
    answers = {email: _subscribe(client, email=email, topic="land")
               for email in (READER, "waiting@example.com", "new@example.com")}
    bodies = {a.get_data(as_text=True) for a in answers.values()}
    assert {a.status_code for a in answers.values()} == {200} and len(bodies) == 1
    # What each address receives differs, and only the inbox knows: a reminder, the same
    # confirmation again, a new confirmation.
    reminder = [m for m in _mails(smtp) if "/alerts/manage/" in m.get_content()]
    assert len(reminder) == 1 and "is already subscribed" in reminder[0].get_content()
    assert reminder[0]["List-Unsubscribe"]
    assert len(_mails(smtp, "waiting@example.com")) == 2
    assert len(_mails(smtp, "new@example.com")) == 1
    states = sorted((s.email, s.state) for s in _subscriptions(app))
    assert states == [("new@example.com", "pending"), (READER, "active"),
                      ("waiting@example.com", "pending")]


def test_an_address_is_not_mail_bombed(app, client, world, smtp):  # noqa: F811
    for n in range(services.MAX_PENDING + 2):
        assert _subscribe(client, email="victim@example.com", q=f"词{n}").status_code == 200
    assert len(_mails(smtp, "victim@example.com")) == services.MAX_PENDING


@pytest.mark.parametrize(("lang", "message"), [
    ("zh", "输入正确的电子邮箱，如 name@example.com"),
    ("en", "Enter an email address in the correct format, like name@example.com")])
@pytest.mark.parametrize("email", ["", "not-an-address", "a@b@c", "x" * 250 + "@example.com"])
def test_a_bad_address_gets_a_clear_message(
        app, client, world, smtp, lang, message, email):  # noqa: F811
    answer = _subscribe(client, email=email, lang=lang, topic="land")
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert message in html and "<title>" + ("错误：" if lang == "zh" else "") in html
    assert 'value="land"' in html  # the filters are kept
    assert _subscriptions(app) == [] and _mails(smtp) == []


def test_a_filled_honeypot_sends_nothing_but_looks_the_same(app, client, world, smtp):  # noqa: F811
    answer = client.post("/zh/policies/subscribe",
                         data={"email": READER, "website": "http://spam.example"})
    assert answer.status_code == 200 and "请查收确认邮件" in answer.get_data(as_text=True)
    assert _subscriptions(app) == [] and _mails(smtp) == []


def test_the_form_is_rate_limited(app, client, world, smtp, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "LIMITS_ON", True)
    monkeypatch.setitem(app.config, "PORTAL_RATELIMIT", "3/hour")
    answers = [_subscribe(client, email=f"r{n}@example.com").status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]
    assert client.get("/zh/policies/subscribe").status_code == 200  # reading is not limited


def test_a_policy_created_published_is_announced(app, client, world, smtp):  # noqa: F811
    """A policy created already published (as the loader and the importer do) is news."""
    _confirmed(client, smtp)  # no filters: every new policy
    with app.app_context():
        factories.policy("p-loaded", title="新加载的政策", publication="published")
        db.session.commit()
    assert "新加载的政策" in _mails(smtp)[-1].get_content()
    with app.app_context():
        factories.policy("p-default", title="默认即发布的政策")  # the column's default
        factories.policy("p-draft", title="仍是草稿的政策", publication="draft")
        db.session.commit()
    assert "默认即发布的政策" in _mails(smtp)[-1].get_content()
    assert not any("仍是草稿的政策" in m.get_content() for m in _mails(smtp))


def test_a_data_pack_load_is_announced_in_one_digest(app, client, smtp):  # noqa: F811
    from seed.loader import load_pack

    _confirmed(client, smtp, level="municipal")
    with app.app_context():
        load_pack("datong")
        municipal = set(db.session.scalars(db.select(Policy.id).where(
            Policy.level == "municipal", Policy.status != "expired",
            Policy.publication == "published")))
        db.session.remove()
    [_, digest] = _mails(smtp)
    listed = {int(i) for i in re.findall(r"/en/policies/(\d+)\s", digest.get_content())}
    assert listed == municipal and len(listed) > 1
