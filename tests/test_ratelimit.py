"""Per-client limits on a storage every worker sees: the database counters themselves, the
limits as a client meets them (429 with Retry-After and a sentence saying when), Redis, and a
Redis that is down. Across real gunicorn workers: tests/test_limits_gunicorn.py."""

import logging
import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from portal import ratelimit
from portal.errors import wait_text
from portal.extensions import db
from portal.models import RateLimitCounter
from tests.conftest import make_app

REDIS = ("127.0.0.1", 6379)
UNKNOWN = "/api/v1/track/D-0000000000"


@pytest.fixture
def storage(app):
    with app.app_context():
        yield ratelimit.DatabaseStorage(db.engine)


def _rows(app) -> dict[str, tuple[int, float]]:
    with app.app_context():
        rows = db.session.execute(sa.select(RateLimitCounter)).scalars().all()
        found = {r.key: (r.count, r.expires_at) for r in rows}
        db.session.rollback()
        return found


def test_database_storage_counts_within_a_window(app, storage):
    before = time.time()
    assert storage.get("k") == 0
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("k", 60, amount=5) == 8
    assert storage.get("k") == 8
    expiry = storage.get_expiry("k")
    assert before + 60 <= expiry <= time.time() + 60  # the window started at the first hit
    assert storage.incr("other", 60) == 1
    assert _rows(app)["k"][0] == 8 and set(_rows(app)) == {"k", "other"}


def test_database_storage_restarts_an_expired_window(app, storage):
    assert storage.incr("k", 0.3) == 1
    assert storage.incr("k", 0.3) == 2
    first_expiry = storage.get_expiry("k")
    time.sleep(0.35)
    assert storage.get("k") == 0  # expired, though the row is still there
    assert storage.get_expiry("k") <= time.time()
    assert storage.incr("k", 60) == 1  # a new window, not 3
    assert storage.get_expiry("k") > first_expiry + 50


def test_database_storage_clear_reset_and_check(app, storage):
    storage.incr("a", 60)
    storage.incr("b", 60)
    storage.clear("a")
    assert storage.get("a") == 0 and storage.get("b") == 1
    assert storage.reset() == 1
    assert _rows(app) == {}
    assert storage.check() is True


def test_database_storage_purges_expired_rows_now_and_then(app):
    with app.app_context():
        storage = ratelimit.DatabaseStorage(db.engine, purge_seconds=0.3)
    storage.incr("old", 0.1)  # purges (nothing yet), the next purge 0.3 s later
    time.sleep(0.15)
    storage.incr("fresh", 60)  # not yet: the expired row stays
    assert set(_rows(app)) == {"fresh", "old"}
    time.sleep(0.2)
    storage.incr("fresh", 60)
    assert set(_rows(app)) == {"fresh"}


def test_database_storage_loses_no_count_under_concurrency(app, storage):
    """Each thread has its own connection, as each worker has: the upsert is atomic."""
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(lambda _: storage.incr("busy", 60), range(120)))
    assert sorted(counts) == list(range(1, 121))
    assert storage.get("busy") == 120


def test_a_view_rollback_keeps_the_count(app, storage):
    """The storage commits on its own connection, so the view's rollback (of its own work
    only) cannot take a counted attempt back."""
    from tests import factories

    with app.app_context():
        assert storage.incr("k", 60) == 1
        factories.region(slug="pending")
        db.session.rollback()
        assert db.session.scalar(sa.text("select count(*) from region")) == 0
    assert _rows(app)["k"][0] == 1


# --- the limits as clients meet them ------------------------------------------------------


@pytest.fixture
def limited(app, monkeypatch):
    monkeypatch.setitem(app.config, "LIMITS_ON", True)
    return app


def _sign_in(client, **headers):
    return client.post("/admin/login", headers=headers,
                       data={"email": "nobody@example.gov.cn", "password": "wrong password 1"})


def test_sign_in_limit_answers_429_with_retry_after(limited):
    client = limited.test_client()
    answers = [_sign_in(client) for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10
    assert "Retry-After" not in answers[0].headers
    refused = _sign_in(client)
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 55 <= wait <= 60
    html = refused.get_data(as_text=True)
    expected = "1分钟" if wait == 60 else f"{wait}秒钟"  # whole units, rounded up
    assert f"请求过于频繁，请在{expected}后再试。" in html, html
    counters = _rows(limited)
    assert [v[0] for k, v in counters.items() if "admin.login" in k] == [11]


def test_failed_lookups_only_are_counted(limited):
    client = limited.test_client()
    for _ in range(10):
        assert client.get(UNKNOWN, headers={"X-Access-Code": "nope"}).status_code == 404
    refused = client.get(UNKNOWN, headers={"X-Access-Code": "nope"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    error = refused.get_json()["error"]
    wait = int(refused.headers["Retry-After"])
    expected = "1分钟" if wait == 60 else f"{wait}秒钟"  # whole units, rounded up
    assert error["code"] == "rate_limited"
    assert error["message"] == f"请求过于频繁，请在{expected}后再试。"
    # the 429 itself is not a failed lookup: the minute counter stays at 10
    assert {v[0] for k, v in _rows(limited).items() if "api.track" in k} == {10}


def test_the_wait_is_said_in_the_users_language(limited):
    client = limited.test_client()
    for _ in range(10):
        client.get(UNKNOWN, headers={"X-Access-Code": "nope", "Accept-Language": "en"})
    refused = client.get(UNKNOWN, headers={"X-Access-Code": "nope", "Accept-Language": "en"})
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    expected = "1 minute" if wait == 60 else f"{wait} second" + ("s" if wait > 1 else "")
    assert refused.get_json()["error"]["message"] == \
        f"Too many requests. Please try again in {expected}."


def test_wait_text_rounds_up(ctx, app):
    with app.test_request_context("/zh/"):
        assert [wait_text(s) for s in (1, 45, 60, 61, 3599, 3600, 3601)] == [
            "1秒钟", "45秒钟", "1分钟", "2分钟", "1小时", "1小时", "2小时"]


def _guess(client):
    return client.get(UNKNOWN, headers={"X-Access-Code": "nope"}).status_code


def test_limits_off_touches_no_counter(app, client):
    assert [_guess(client) for _ in range(12)] == [404] * 12
    assert _rows(app) == {}


def test_each_app_counts_in_its_own_database(limited, databases, tmp_path):
    """The limiter object is shared by every app of a process; its storage is not."""
    other = make_app(databases.new("limits_other"), tmp_path, LIMITS_ON=True)
    assert [_guess(limited.test_client()) for _ in range(11)] == [404] * 10 + [429]
    assert _guess(other.test_client()) == 404
    assert {v[0] for v in _rows(other).values()} == {1}


# --- Redis ---------------------------------------------------------------------------------


def _redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_app(databases, tmp_path):
    if not _redis_answers():
        pytest.skip("no Redis at 127.0.0.1:6379")
    import redis

    number = empty_redis_db()
    url = f"redis://{REDIS[0]}:{REDIS[1]}/{number}"
    app = make_app(databases.new("limits_redis"), tmp_path, LIMITS_ON=True,
                   RATELIMIT_STORAGE_URI=url)
    store = redis.Redis(*REDIS, db=number)
    address = f"127.{random.randrange(1, 255)}.0.1"  # keys of its own in a shared Redis
    yield app, store, address
    for key in store.scan_iter(f"LIMITS:*/{address}/*"):
        store.delete(key)
    store.close()


def empty_redis_db() -> int:
    """A Redis database nothing else uses (as far as one can tell), picked at random."""
    import redis

    empty = []
    for number in range(1, 16):
        with redis.Redis(*REDIS, db=number) as probe:
            if probe.dbsize() == 0:
                empty.append(number)
    if not empty:
        pytest.skip("no empty Redis database to count in")
    return random.choice(empty)


def test_redis_counts_when_configured(redis_app):
    app, store, address = redis_app
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    assert [_guess(client) for _ in range(10)] == [404] * 10
    refused = client.get(UNKNOWN, headers={"X-Access-Code": "nope"})
    assert refused.status_code == 429 and 55 <= int(refused.headers["Retry-After"]) <= 60
    keys = sorted(k.decode() for k in store.scan_iter(f"LIMITS:*/{address}/*"))
    assert [k.rsplit("/", 3)[1:] for k in keys] == [["10", "1", "minute"], ["60", "1", "hour"]]
    assert {int(store.get(k)) for k in keys} == {10}
    assert _rows(app) == {}  # nothing in the database


def test_redis_down_serves_and_counts_in_the_process(databases, tmp_path, caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(databases.new("limits_down"), tmp_path, LIMITS_ON=True,
                   RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0")
    client = app.test_client()
    app.logger.addHandler(caplog.handler)  # the migration's logging config stops propagation
    try:
        answers = [_guess(client) for _ in range(11)]
    finally:
        app.logger.removeHandler(caplog.handler)
    assert answers == [404] * 10 + [429]  # the limit still holds within this process
    warnings = [r for r in caplog.records if "rate-limit storage redis failed" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "Retry-After" in client.get(UNKNOWN, headers={"X-Access-Code": "x"}).headers

