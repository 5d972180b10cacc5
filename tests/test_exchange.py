"""The exchange API for partner platforms: keys issued and revoked in the back office and on
the command line (hashed at rest, audited, rate-limited per key), pulls of what changed since
a time with a cursor that misses nothing while records change, and project transfers pushed
from one deployment to another over real HTTP through the outbox."""

import base64
import hashlib
import json
import socket
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from portal.cases import transfers as case_transfers
from portal.exchange import keys, transfers
from portal.extensions import db
from portal.intake import workflow
from portal.models import (
    ApiKey,
    AuditEvent,
    Demand,
    ExchangeReceipt,
    OutboxJob,
    Policy,
    Project,
    PublicVersion,
    Region,
    Site,
    Transfer,
    User,
)
from tests import factories
from tests.conftest import make_app, wipe
from tests.ports import free_port
from tests.test_openapi import _schema
from tests.test_ratelimit import REDIS

PASSWORD = "copper kettle drum"
REDIS_DB = 14  # this suite's Redis database
OLD = datetime(2026, 1, 1, tzinfo=UTC)


def _region_tree():
    city = factories.region(slug="datong", kind="city", name="大同市")
    pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区", parent=city)
    yungang = factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
    return city, pingcheng, yungang


@pytest.fixture
def world(app, monkeypatch):
    """大同 with two districts, staff, two sites and policies; keys: the city's (pull and
    push), 平城区's (pull only), a push-only key for 平城区 and a revoked one."""
    monkeypatch.setitem(app.config, "EXCHANGE_SETTLE_SECONDS", 0)
    monkeypatch.setitem(app.config, "EXCHANGE_RETRY", 0)
    with app.app_context():
        city, pingcheng, yungang = _region_tree()
        factories.staff(email="admin@example.gov.cn", password=PASSWORD, role="admin")
        factories.staff(email="bureau@example.gov.cn", password=PASSWORD, role="bureau")
        factories.staff(email="pc@example.gov.cn", password=PASSWORD, role="region",
                        region=pingcheng)
        factories.parcel("s-pc", region_row=pingcheng, name="平城地块", updated_at=OLD)
        factories.parcel("s-yg", region_row=yungang, name="云冈地块", updated_at=OLD)
        secrets = {}
        for name, region, scopes in (("city", city, ["pull", "push"]),
                                     ("pingcheng", pingcheng, ["pull"]),
                                     ("pusher", pingcheng, ["push"]),
                                     ("revoked", city, ["pull"])):
            key, secret = keys.issue(f"partner-{name}", region, scopes)
            secrets[name] = secret
            if name == "revoked":
                keys.revoke(key)
        db.session.commit()
    return secrets


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _login(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEvent).filter_by(action=action)
                                  .order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return rows


# --- keys ------------------------------------------------------------------------------


def test_admin_issues_a_key_shown_once_and_stored_only_as_a_hash(app, world):
    admin = _login(app, "admin@example.gov.cn")
    page = admin.get("/admin/apikeys/new")
    assert page.status_code == 200
    issued = admin.post("/admin/apikeys/new", data={
        "partner": "shanxi-province", "region": "pingcheng", "scopes": ["pull", "push"],
        "note": "省平台"})
    assert issued.status_code == 200
    html = issued.get_data(as_text=True)
    secret = next(word for word in html.replace("<", " ").replace(">", " ").split()
                  if word.startswith("zx_"))
    assert keys.KEY_PATTERN.match(secret)
    with app.app_context():
        key = db.session.scalars(db.select(ApiKey).filter_by(partner="shanxi-province")).one()
        assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert key.scope_list == ["pull", "push"] and key.region.slug == "pingcheng"
        assert key.created_by.email == "admin@example.gov.cn"
        # The secret is nowhere in the database: not in the key's row, not in the audit trail.
        secret_part = secret.rsplit("_", 1)[1]
        for table in ("api_key", "audit_event"):
            dump = json.dumps([list(map(str, row)) for row in db.session.execute(
                sa.text(f"SELECT * FROM {table}"))], ensure_ascii=False)  # noqa: S608
            assert secret_part not in dump, table
    # The list shows it without the secret; the key works.
    listing = admin.get("/admin/apikeys").get_data(as_text=True)
    assert key.prefix in listing and "shanxi-province" in listing and secret_part not in listing
    assert app.test_client().get("/api/v1/exchange/sites?since=2020-01-01",
                                 headers=_bearer(secret)).status_code == 200
    assert [e.entity_id for e in _audit(app, "apikey_issue")][-1] == key.prefix


def test_admin_revokes_a_key_after_confirming_and_it_answers_401(app, world, client):
    secret = world["city"]
    prefix = keys.presented_prefix(secret)
    assert client.get("/api/v1/exchange/policies?since=2020-01-01",
                      headers=_bearer(secret)).status_code == 200
    admin = _login(app, "admin@example.gov.cn")
    confirm = admin.get(f"/admin/apikeys/{prefix}/revoke")
    assert confirm.status_code == 200 and "确认吊销" in confirm.get_data(as_text=True)
    assert client.get("/api/v1/exchange/policies?since=2020-01-01",
                      headers=_bearer(secret)).status_code == 200  # not revoked by looking
    assert admin.post(f"/admin/apikeys/{prefix}/revoke").status_code == 302
    refused = client.get("/api/v1/exchange/policies?since=2020-01-01", headers=_bearer(secret))
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    revoked = _audit(app, "apikey_revoke")
    assert revoked[-1].entity_id == prefix and revoked[-1].actor_id is not None
    refusals = _audit(app, "exchange_refused")
    assert refusals[-1].entity_id == prefix and refusals[-1].detail["status"] == 401


def test_key_pages_are_for_admins_only(app, world):
    bureau = _login(app, "bureau@example.gov.cn")
    assert bureau.get("/admin/apikeys").status_code == 404
    assert bureau.post("/admin/apikeys/new", data={"partner": "x", "region": "datong",
                                                    "scopes": ["pull"]}).status_code == 404
    with app.app_context():
        assert db.session.scalar(db.select(sa.func.count(ApiKey.id)).filter_by(
            partner="x")) == 0


def test_the_key_list_downloads_without_any_secret_and_is_audited(app, world):
    admin = _login(app, "admin@example.gov.cn")
    text = admin.get("/admin/apikeys/export.csv").get_data(as_text=True)
    rows = text.splitlines()
    assert len(rows) == 1 + len(world)  # the header, then one row per key
    for secret in world.values():
        assert keys.presented_prefix(secret) in text and secret not in text
    assert "已吊销" in text and "partner-pingcheng" in text
    book = admin.get("/admin/apikeys/export.xlsx")
    assert book.status_code == 200 and book.data[:2] == b"PK"
    assert [e.detail["format"] for e in _audit(app, "export")
            if e.entity_type == "api_key"] == ["csv", "xlsx"]
    assert _login(app, "bureau@example.gov.cn").get(
        "/admin/apikeys/export.csv").status_code == 404


def test_operators_issue_list_and_revoke_keys_on_the_command_line(app, world, runner):
    created = runner.invoke(args=["apikeys", "create", "--partner", "yungang-platform",
                                  "--region", "yungang", "--scope", "pull"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    prefix = keys.presented_prefix(secret)
    assert prefix
    client = app.test_client()
    assert client.get("/api/v1/exchange/sites?since=2020-01-01",
                      headers=_bearer(secret)).status_code == 200
    listed = runner.invoke(args=["apikeys", "list"])
    assert prefix in listed.output and "yungang-platform" in listed.output
    assert secret.rsplit("_", 1)[1] not in listed.output
    assert runner.invoke(args=["apikeys", "revoke", prefix]).exit_code == 0
    assert client.get("/api/v1/exchange/sites?since=2020-01-01",
                      headers=_bearer(secret)).status_code == 401
    assert runner.invoke(args=["apikeys", "create", "--partner", "x", "--region",
                               "atlantis"]).exit_code != 0


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer zx_00000000_" + "A" * 43},
])
def test_missing_or_unknown_keys_answer_401(app, world, client, headers):
    response = client.get("/api/v1/exchange/projects?since=2020-01-01", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["message"]


def test_a_wrong_secret_with_a_real_prefix_answers_401(world, client):
    prefix = keys.presented_prefix(world["city"])
    forged = f"zx_{prefix}_" + "B" * 43
    assert client.get("/api/v1/exchange/sites?since=2020-01-01",
                      headers=_bearer(forged)).status_code == 401


def test_scopes_decide_what_a_key_may_do(world, client):
    pull_only, push_only = world["pingcheng"], world["pusher"]
    refused = client.post("/api/v1/exchange/transfers", json=_transfer(),
                          headers=_bearer(pull_only))
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/exchange/sites?since=2020-01-01",
                      headers=_bearer(push_only)).status_code == 403


def test_every_call_is_audited_with_its_answer(app, world, client):
    secret = world["pingcheng"]
    client.get("/api/v1/exchange/sites?since=2020-01-01", headers=_bearer(secret))
    client.get("/api/v1/exchange/sites?since=yesterday", headers=_bearer(secret))
    calls = _audit(app, "exchange_call")
    assert [(c.entity_id, c.detail["status"], c.detail["path"]) for c in calls[-2:]] == [
        (keys.presented_prefix(secret), 200, "/api/v1/exchange/sites"),
        (keys.presented_prefix(secret), 400, "/api/v1/exchange/sites")]
    with app.app_context():
        key = keys.find(keys.presented_prefix(secret))
        assert key.last_used_at is not None


def test_calls_and_receipts_leave_the_public_pages_cached(app, world, client):
    """A key's use (last_used_at, audit) and a received transfer change no public page, so
    they must not replace the page cache's version token."""
    def token():
        with app.app_context():
            return db.session.scalar(db.select(PublicVersion.token))

    before = token()
    assert client.get("/api/v1/exchange/sites?since=2020-01-01",
                      headers=_bearer(world["pingcheng"])).status_code == 200
    assert client.post("/api/v1/exchange/transfers", json=_transfer(),
                       headers=_bearer(world["city"])).status_code == 201
    assert token() == before


@pytest.mark.parametrize("storage", ["database://", f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"])
def test_each_key_has_its_own_rate_limit(app, world, monkeypatch, storage):
    if storage.startswith("redis"):
        try:
            with socket.create_connection(REDIS, timeout=0.5):
                pass
        except OSError:
            pytest.skip("no Redis at 127.0.0.1:6379")
        import redis

        with redis.Redis(*REDIS, db=REDIS_DB) as store:
            store.flushdb()
    monkeypatch.setitem(app.config, "LIMITS_ON", True)
    monkeypatch.setitem(app.config, "EXCHANGE_RATELIMIT", "3/hour")
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", storage)
    app.extensions.pop("portal.ratelimit", None)
    try:
        client = app.test_client()
        first, second = world["city"], world["pingcheng"]
        answers = [client.get("/api/v1/exchange/sites?since=2020-01-01",
                              headers=_bearer(first)).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        limited = client.get("/api/v1/exchange/policies?since=2020-01-01",
                             headers=_bearer(first))
        assert limited.status_code == 429  # one limit for every exchange call of the key
        assert int(limited.headers["Retry-After"]) > 0
        assert limited.get_json()["error"]["code"] == "rate_limited"
        assert client.get("/api/v1/exchange/sites?since=2020-01-01",
                          headers=_bearer(second)).status_code == 200  # another key
        assert _audit(app, "exchange_call")[-2].detail["status"] == 429
    finally:
        app.extensions.pop("portal.ratelimit", None)


# --- pulls -----------------------------------------------------------------------------


def _pull(client, secret, kind, **query):
    response = client.get(f"/api/v1/exchange/{kind}", query_string=query,
                          headers=_bearer(secret))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _pull_all(client, secret, kind, cursor, limit=2):
    seen, removed = [], []
    while True:
        page = _pull(client, secret, kind, cursor=cursor, limit=limit)
        seen += [item["id"] for item in page["items"]]
        removed += [item["id"] for item in page["removed"]]
        cursor = page["cursor"]
        if not page["more"]:
            return seen, removed, cursor


def test_pull_pages_in_change_order_and_misses_nothing_while_records_change(app, world,
                                                                            client):
    secret = world["city"]
    with app.app_context():
        ids = [factories.policy(f"p-{i}", title=f"政策{i}",
                                updated_at=OLD + timedelta(hours=i)).id for i in range(5)]
        db.session.commit()
    first = _pull(client, secret, "policies", since="2026-01-01T00:00:00Z", limit=2)
    assert [p["id"] for p in first["items"]] == ids[:2] and first["more"] is True
    assert first["items"][0]["updated_at"].startswith("2026-01-01T00:00:00")
    # While the partner pages: an item it has seen changes, one it has not yet seen is
    # archived, and a new one appears.
    with app.app_context():
        db.session.get(Policy, ids[0]).title = "政策0（修订）"
        db.session.get(Policy, ids[3]).publication = "archived"
        new_id = factories.policy("p-new", title="新政策").id
        db.session.commit()
    seen, removed, cursor = _pull_all(client, secret, "policies", first["cursor"])
    assert seen == [ids[2], ids[4], ids[0], new_id] or seen == [ids[2], ids[4], new_id, ids[0]]
    assert removed == [ids[3]]
    # Caught up: the kept cursor answers nothing new, and then only what changes next.
    assert _pull(client, secret, "policies", cursor=cursor)["items"] == []
    with app.app_context():
        db.session.get(Policy, ids[1]).status = "expired"
        db.session.commit()
    again = _pull(client, secret, "policies", cursor=cursor)
    assert [p["id"] for p in again["items"]] == [ids[1]] and again["items"][0]["status"] == \
        "expired"


def test_since_is_inclusive_and_later_changes_only(app, world, client):
    with app.app_context():
        early = factories.policy("p-early", updated_at=OLD).id
        late = factories.policy("p-late", updated_at=OLD + timedelta(days=2)).id
        db.session.commit()
    page = _pull(client, world["city"], "policies", since="2026-01-03")
    assert [p["id"] for p in page["items"]] == [late]
    page = _pull(client, world["city"], "policies", since="2026-01-01T08:00:00+08:00")
    assert [p["id"] for p in page["items"]] == [early, late]  # 08:00 in China is 00:00 UTC


def test_changes_younger_than_the_settle_time_wait_for_the_next_pull(app, world, client,
                                                                     monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_SETTLE_SECONDS", 3600)
    with app.app_context():
        factories.policy("p-now")
        db.session.commit()
    assert _pull(client, world["city"], "policies", since="2020-01-01")["items"] == []


def test_a_scheduled_or_draft_record_is_reported_removed_not_shown(app, world, client):
    with app.app_context():
        draft = factories.policy("p-draft", publication="draft", updated_at=OLD).id
        later = factories.policy("p-later", publish_at=datetime.now(UTC) + timedelta(days=3),
                                 updated_at=OLD).id
        db.session.commit()
    page = _pull(client, world["city"], "policies", since="2020-01-01")
    assert page["items"] == []
    assert sorted(r["id"] for r in page["removed"]) == sorted([draft, later])


def test_a_key_pulls_only_its_region_tree(app, world, client):
    county = _pull(client, world["pingcheng"], "sites", since="2020-01-01")
    assert [s["name"] for s in county["items"]] == ["平城地块"]
    city = _pull(client, world["city"], "sites", since="2020-01-01")
    assert sorted(s["name"] for s in city["items"]) == ["云冈地块", "平城地块"]


def _accepted_project(region_slug: str, company="平城新材料有限公司") -> Project:
    region = db.session.scalars(db.select(Region).filter_by(slug=region_slug)).one()
    now = datetime.now(UTC)
    demand = Demand(ticket="D-" + hashlib.sha256(company.encode()).hexdigest()[:10].upper(),
                    access_code_hash="x", consent_at=now, submitted_at=now,
                    materials_complete_at=now, company_name=company, region=region,
                    first_region=region, contact_name="张三", contact_phone="13800000000",
                    contact_email="zhang@example.com", credit_code="91140200MA0K123456",
                    amount_wan=5000, message="联系人手机 13800000000，仅限本平台")
    db.session.add(demand)
    db.session.flush()
    workflow.transition(demand, "accepted")
    db.session.flush()
    return demand.project


def test_projects_are_shared_without_personal_data(app, world, client):
    with app.app_context():
        _accepted_project("pingcheng")
        _accepted_project("yungang", company="云冈装备制造有限公司")
        db.session.commit()
    page = _pull(client, world["pingcheng"], "projects", since="2020-01-01")
    assert [p["company_name"] for p in page["items"]] == ["平城新材料有限公司"]
    text = json.dumps(page, ensure_ascii=False)
    for personal in ("张三", "13800000000", "zhang@example.com", "91140200MA0K123456"):
        assert personal not in text
    item = page["items"][0]
    assert item["stage"] == "negotiating" and item["amount_wan"] == 5000
    assert item["region"] == "pingcheng"


def test_pull_answers_match_the_document(app, world, client):
    with app.app_context():
        factories.policy("p-doc", updated_at=OLD)
        _accepted_project("pingcheng")
        db.session.commit()
    import jsonschema

    doc = client.get("/api/v1/openapi.json").get_json()
    for kind, name in (("policies", "PoliciesChanges"), ("sites", "SitesChanges"),
                       ("opportunities", "OpportunitiesChanges"),
                       ("projects", "ProjectsChanges")):
        page = _pull(client, world["city"], kind, since="2020-01-01")
        jsonschema.validate(page, _schema(doc, name))
    assert doc["paths"]["/exchange/transfers"]["post"]["security"] == [{"exchangeKey": []}]
    assert doc["components"]["securitySchemes"]["exchangeKey"]["scheme"] == "bearer"


@pytest.mark.parametrize("query, field", [
    ({}, "since"), ({"since": "yesterday"}, "since"), ({"since": "2026-13-01"}, "since"),
    ({"since": "9999-12-31T23:59:59-23:59"}, "since"), ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|99999999999999999999"
                                         ).decode()}, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|-1").decode()}, "cursor"),
    ({"since": "2026-01-01", "limit": "0"}, "limit"),
    ({"since": "2026-01-01", "limit": "100000"}, "limit"),
    ({"since": "2026-01-01", "lang": "xx"}, "lang"),
])
def test_unreadable_queries_answer_400_naming_the_parameter(world, client, query, field):
    response = client.get("/api/v1/exchange/policies", query_string=query,
                          headers=_bearer(world["city"]))
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


# --- receiving transfers -----------------------------------------------------------------


def _transfer(**overrides) -> dict:
    return {"external_id": "SX-2026-0001", "name": "储能电池模组生产线",
            "company_name": "示例新能源科技有限公司", "region": "pingcheng",
            "reason": "本县无法满足 80 亩工业用地需求", "stage": "negotiating",
            "amount_wan": 5000, "industry": "new-energy",
            "contact": {"name": "王五", "phone": "13900001111"}} | overrides


def test_a_received_transfer_waits_in_the_receiving_regions_queue(app, world, client):
    response = client.post("/api/v1/exchange/transfers", json=_transfer(),
                           headers=_bearer(world["city"]))
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["region"] == "pingcheng" and answer["transfer"] == "proposed"
    with app.app_context():
        demand = db.session.scalars(db.select(Demand).filter_by(ticket=answer["ticket"])).one()
        assert demand.region is None and demand.status == "submitted"
        assert demand.contact_name == "王五" and demand.amount_wan == 5000
        transfer = db.session.scalars(db.select(Transfer).filter_by(demand_id=demand.id)).one()
        assert transfer.status == "proposed" and transfer.to_region.slug == "pingcheng"
        assert "partner-city" in transfer.reason
        assert [e.kind for e in demand.events] == ["transfer"]
        received = db.session.scalars(db.select(AuditEvent).filter_by(
            action="exchange_receive")).one()
        assert received.detail["contact_shared"] is True
        mailed = {job.payload["to"] for job in db.session.scalars(
            db.select(OutboxJob).filter_by(kind="mail"))}
        assert "pc@example.gov.cn" in mailed and "bureau@example.gov.cn" in mailed
    # 平城区's staff see it in their 流转 queue and accept it as any other transfer.
    staff = _login(app, "pc@example.gov.cn")
    assert answer["ticket"] in staff.get("/admin/transfers").get_data(as_text=True)
    with app.app_context():
        user = db.session.scalars(db.select(User).filter_by(email="pc@example.gov.cn")).one()
        demand = db.session.scalars(db.select(Demand).filter_by(ticket=answer["ticket"])).one()
        case_transfers.accept(user, demand, case_transfers.pending(demand),
                              case_transfers.Sharing())
        db.session.commit()
        assert demand.region.slug == "pingcheng"


def test_a_transfer_to_the_city_waits_with_the_bureau(app, world, client):
    response = client.post("/api/v1/exchange/transfers", json=_transfer(region="datong"),
                           headers=_bearer(world["city"]))
    assert response.status_code == 201 and response.get_json()["transfer"] is None
    with app.app_context():
        demand = db.session.scalars(db.select(Demand)).one()
        assert demand.region.slug == "datong"
        assert db.session.scalar(db.select(sa.func.count(Transfer.id))) == 0


def test_receiving_is_idempotent_on_partner_and_external_id(app, world, client):
    headers = _bearer(world["city"])
    first = client.post("/api/v1/exchange/transfers", json=_transfer(), headers=headers)
    again = client.post("/api/v1/exchange/transfers", json=_transfer(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json() | {"replayed": True}
    other = client.post("/api/v1/exchange/transfers", json=_transfer(amount_wan=9000),
                        headers=headers)
    assert other.status_code == 422 and "external_id" in other.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.scalar(db.select(sa.func.count(Demand.id))) == 1
        assert db.session.scalar(db.select(sa.func.count(ExchangeReceipt.id))) == 1


def test_a_region_outside_the_keys_tree_is_refused(app, world, client):
    response = client.post("/api/v1/exchange/transfers", json=_transfer(region="yungang"),
                           headers=_bearer(world["pusher"]))  # a 平城区 key
    assert response.status_code == 403
    unknown = client.post("/api/v1/exchange/transfers", json=_transfer(region="atlantis"),
                          headers=_bearer(world["pusher"]))
    assert unknown.status_code == 422 and "region" in unknown.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(db.select(sa.func.count(Demand.id))) == 0


@pytest.mark.parametrize("body, field", [
    (_transfer(favourite="blue"), "favourite"),
    ({k: v for k, v in _transfer().items() if k != "reason"}, "reason"),
    (_transfer(name="   "), "name"), (_transfer(name="a\x07b"), "name"),
    (_transfer(amount_wan=-1), "amount_wan"), (_transfer(amount_wan="many"), "amount_wan"),
    (_transfer(stage="someday"), "stage"), (_transfer(external_id="a b"), "external_id"),
    (_transfer(consent_at="2026-02-30T00:00:00Z"), "consent_at"),
    (_transfer(contact={"name": "x", "fax": "1"}), "contact"),
])
def test_bodies_the_schema_refuses_answer_422(app, world, client, body, field):
    response = client.post("/api/v1/exchange/transfers", json=body,
                           headers=_bearer(world["city"]))
    assert response.status_code == 422, response.get_json()
    assert any(name.startswith(field) for name in response.get_json()["error"]["fields"])


def test_a_body_that_is_not_json_answers_400_or_415(world, client):
    headers = _bearer(world["city"])
    assert client.post("/api/v1/exchange/transfers", data="x", headers=headers,
                       content_type="text/plain").status_code == 415
    assert client.post("/api/v1/exchange/transfers", data="{", headers=headers,
                       content_type="application/json").status_code == 400
    assert client.post("/api/v1/exchange/transfers", json=[1], headers=headers
                       ).status_code == 422
    # No database text column can hold NUL: refused before the view, as in the whole API.
    assert client.post("/api/v1/exchange/transfers", json=_transfer(name="a\x00b"),
                       headers=headers).status_code == 400


# --- pushing between two deployments over HTTP -------------------------------------------


@pytest.fixture(scope="module")
def _province_app(databases, tmp_path_factory):
    """A second deployment (the province's platform), on its own database."""
    return make_app(databases.new("province"), tmp_path_factory.mktemp("province"),
                    SERVER_NAME=None, EXCHANGE_SETTLE_SECONDS=0, EXCHANGE_RETRY=0)


@pytest.fixture
def province(_province_app):
    """The province's regions and a push key for 大同's platform; wiped after the test."""
    with _province_app.app_context():
        shanxi = factories.region(slug="shanxi", kind="province", name="山西省")
        taiyuan = factories.region(slug="taiyuan", kind="city", name="太原市", parent=shanxi)
        factories.region(slug="xiaodian", kind="district", name="小店区", parent=taiyuan)
        _key, secret = keys.issue("datong-platform", shanxi, ["push"])
        db.session.commit()
    yield _province_app, secret
    with _province_app.app_context():
        db.session.remove()
        wipe(db.engine)


class Server:
    """The province's app served by werkzeug on a port, in a thread: started on demand, so
    a test can have the partner down first."""

    def __init__(self, app, port: int):
        self.app, self.port, self.server = app, port, None

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def province_server(province):
    server = Server(province[0], free_port())
    yield server
    server.stop()


def _push_setup(app, monkeypatch, port: int, secret: str) -> str:
    monkeypatch.setitem(app.config, "EXCHANGE_PARTNERS", json.dumps(
        {"province": {"url": f"http://127.0.0.1:{port}", "key": secret}}))
    with app.app_context():
        project = _accepted_project("pingcheng")
        db.session.commit()
        return project.demand.ticket


def _receipts(province_app) -> list[tuple[str, str]]:
    with province_app.app_context():
        rows = [(r.partner, r.external_id) for r in db.session.scalars(
            db.select(ExchangeReceipt))]
        db.session.remove()
        return rows


def test_staff_push_a_project_that_arrives_in_the_other_deployment(app, world, monkeypatch,
                                                                   province, province_server):
    province_app, secret = province
    province_server.start()
    ticket = _push_setup(app, monkeypatch, province_server.port, secret)
    staff = _login(app, "pc@example.gov.cn")
    assert "province" in staff.get("/admin/exchange").get_data(as_text=True)
    sent = staff.post("/admin/exchange", data={
        "ticket": ticket, "partner": "province", "region": "xiaodian",
        "reason": "本区无法满足用地，小店区有标准厂房"})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    assert "已送达" in staff.get("/admin/exchange").get_data(as_text=True)
    [(partner, external_id)] = _receipts(province_app)
    assert partner == "datong-platform" and external_id.startswith(ticket + ".")
    with province_app.app_context():
        demand = db.session.scalars(db.select(Demand)).one()
        assert demand.company_name == "平城新材料有限公司"
        assert demand.contact_phone == "13800000000"  # the receiving staff reach the investor
        transfer = db.session.scalars(db.select(Transfer)).one()
        assert transfer.to_region.slug == "xiaodian" and transfer.status == "proposed"
        db.session.remove()
    with app.app_context():
        job = db.session.scalars(db.select(OutboxJob).filter_by(kind="exchange")).one()
        assert job.done_at is not None and job.payload["answer"]["ticket"].startswith("D-")
        assert secret not in json.dumps(job.payload)  # the partner's key is not in the job
        pushed = db.session.scalars(db.select(AuditEvent).filter_by(action="exchange_push")).one()
        assert pushed.detail["contact_shared"] is True and pushed.actor is not None
        demand = db.session.scalars(db.select(Demand).filter_by(ticket=ticket)).one()
        assert any(e.kind == "transfer" and "province" in e.note for e in demand.events)


def test_a_partner_that_is_down_gets_the_project_later_and_once(app, world, monkeypatch,
                                                                province, province_server,
                                                                runner):
    province_app, secret = province
    ticket = _push_setup(app, monkeypatch, province_server.port, secret)
    pushed = runner.invoke(args=["exchange", "push", ticket, "--partner", "province",
                                 "--region", "xiaodian", "--reason", "用地不足"])
    assert pushed.exit_code == 0, pushed.output
    assert "1 waiting" in pushed.output  # nobody listens on the port yet
    with app.app_context():
        job = db.session.scalars(db.select(OutboxJob).filter_by(kind="exchange")).one()
        assert job.done_at is None and job.attempts == 1
        assert f"127.0.0.1:{province_server.port}" in job.last_error
        assert secret not in job.last_error
        retry_at = job.available_at
        # Not due yet: a drain now sends nothing.
        assert transfers.drain() == (0, 0)
    province_server.start()
    with app.app_context():
        assert transfers.drain(at=retry_at + timedelta(seconds=1)) == (1, 0)
        assert transfers.drain(at=retry_at + timedelta(hours=1)) == (0, 0)
        # A worker that died after sending, before recording: the job goes again, and the
        # partner answers the first answer, so the project still arrives once.
        job = db.session.scalars(db.select(OutboxJob).filter_by(kind="exchange")).one()
        first_answer = job.payload["answer"]
        job.done_at = None
        db.session.commit()
        assert transfers.drain(at=retry_at + timedelta(hours=2)) == (1, 0)
        job = db.session.scalars(db.select(OutboxJob).filter_by(kind="exchange")).one()
        assert job.payload["answer"] == first_answer | {"replayed": True}
    assert len(_receipts(province_app)) == 1
    with province_app.app_context():
        assert db.session.scalar(db.select(sa.func.count(Demand.id))) == 1
        db.session.remove()


def test_a_refused_push_is_not_retried_for_ever(app, world, monkeypatch, province,
                                                province_server):
    province_app, secret = province
    province_server.start()
    ticket = _push_setup(app, monkeypatch, province_server.port, secret)
    with app.app_context():
        project = db.session.scalars(db.select(Project).join(Demand).where(
            Demand.ticket == ticket)).one()
        transfers.push(project, "province", "taiyuan-nowhere", "测试")
        db.session.commit()
        assert transfers.drain() == (0, 0)  # refused: 422, kept with the error, not waiting
        job = db.session.scalars(db.select(OutboxJob).filter_by(kind="exchange")).one()
        assert job.done_at is not None and "422" in job.last_error
    assert _receipts(province_app) == []


def test_push_refuses_an_unknown_partner_and_a_closed_project(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_PARTNERS", {})
    with app.app_context():
        project = _accepted_project("pingcheng")
        with pytest.raises(transfers.ExchangeError):
            transfers.push(project, "province", "xiaodian", "理由")
        db.session.rollback()


def test_the_region_staff_see_only_their_own_sends(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_PARTNERS",
                        {"province": {"url": "http://127.0.0.1:9", "key": "zx_x"}})
    with app.app_context():
        theirs = _accepted_project("yungang", company="云冈装备制造有限公司")
        transfers.push(theirs, "province", "xiaodian", "理由")
        db.session.commit()
        job = db.session.scalars(db.select(OutboxJob).filter_by(kind="exchange")).one()
        external = job.payload["body"]["external_id"]
    staff = _login(app, "pc@example.gov.cn")
    assert external not in staff.get("/admin/exchange").get_data(as_text=True)
    # and cannot push another region's project
    refused = staff.post("/admin/exchange", data={
        "ticket": external.rsplit(".", 1)[0], "partner": "province", "region": "xiaodian",
        "reason": "理由"})
    assert refused.status_code == 404
    bureau = _login(app, "bureau@example.gov.cn")
    assert external in bureau.get("/admin/exchange").get_data(as_text=True)


def test_site_rows_serialise_dates(app, world):
    """``updated_at`` is UTC ISO 8601 on either database."""
    with app.app_context():
        site = db.session.scalars(db.select(Site).filter_by(key="s-pc")).one()
        from portal.exchange.changes import stamp

        assert stamp(site.updated_at) == "2026-01-01T00:00:00+00:00"
        assert date.fromisoformat(stamp(site.updated_at)[:10]) == date(2026, 1, 1)
