"""Limits and lockout across a real ``gunicorn -w 2 -k gthread --threads 4``: the two workers
agree, because they count in the database (or Redis), not in their own memory.

Every request opens a new connection and closes it, so connections spread over both workers;
gunicorn's access log (``%(p)s``, the worker's pid, and ``%(h)s``, the client's address) proves
both served. Requests that must not meet the sign-in limit come from their own loopback
address (127.x.y.z): the limit is per client address, and every 127/8 address is this host.
"""

import http.client
import json
import random
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Complaint, Demand, User
from tests import factories
from tests.conftest import make_app
from tests.servers import gunicorn, redis_url
from tests.test_intake import COMPLAINT, demand

pytestmark = pytest.mark.slow

SUBMISSIONS = 6  # PORTAL_RATELIMIT for these servers: 6/minute
WRONG = "电子邮箱或密码不正确"
PASSWORD = "Copper kettle drum 42"
# Client addresses are 127.NET.x.y: another run counting in the same Redis meets other keys.
NET = random.randrange(1, 255)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class Server:
    port: int
    app: object  # an app on the same database, for setting up and checking rows
    access_log: Path

    def request(self, method: str, path: str, *, source: str = "127.0.0.1",
                body: bytes | None = None, headers: dict | None = None) -> Answer:
        """One request on a new connection that is closed after it (no keep-alive)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                          source_address=(source, 0))
        try:
            conn.request(method, path, body=body, headers={"Connection": "close"} | (headers or {}))
            response = conn.getresponse()
            return Answer(response.status, dict(response.getheaders()),
                          response.read().decode("utf-8", "replace"))
        finally:
            conn.close()

    def pids_for(self, sources: set[str], path: str) -> list[str]:
        """Worker pids that answered ``path`` for those client addresses (the access log is
        written as each response goes out; give the last lines a moment)."""
        time.sleep(0.3)
        pids = []
        for line in self.access_log.read_text().splitlines():
            pid, host, _status, _method, url = line.split(" ", 4)
            if host in sources and url == path:
                pids.append(pid)
        return pids


@pytest.fixture(scope="module", params=["database", "redis"])
def server(request, databases, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"limits_{request.param}")
    store_url = redis_url() if request.param == "redis" else ""
    url = databases.new(f"limits_{request.param}")
    app = make_app(url, tmp)
    settings = {"PORTAL_SECRET_KEY": "limits-test", "PORTAL_REDIS_URL": store_url,
                "PORTAL_RATELIMIT": f"{SUBMISSIONS}/minute"}
    try:
        with gunicorn(url, tmp, settings, "%(p)s %(h)s %(s)s %(m)s %(U)s") as (port, log):
            yield Server(port, app, log)
    finally:
        if store_url:
            import redis

            with redis.Redis.from_url(store_url) as store:
                for key in store.scan_iter(f"LIMITS:*/127.{NET}.*"):
                    store.delete(key)


def _sign_in_form(server: Server, source: str = "127.0.0.1") -> tuple[str, str]:
    """(Cookie header, CSRF token) from the sign-in page; GET is not limited."""
    page = server.request("GET", "/admin/login", source=source)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.body)
    cookie = SimpleCookie(page.headers["Set-Cookie"])
    assert token, page.body[:500]
    return "; ".join(f"{k}={m.value}" for k, m in cookie.items()), token.group(1)


def _sign_in(server: Server, form: tuple[str, str], email: str, password: str,
             source: str = "127.0.0.1") -> Answer:
    cookie, token = form
    body = urlencode({"csrf_token": token, "email": email, "password": password}).encode()
    return server.request("POST", "/admin/login", source=source, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})


def _in_parallel(calls, threads: int = 8) -> list:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda call: call(), calls))


def _until_both_workers(attempt, rounds: int = 4) -> None:
    """Run ``attempt(n)``, which asserts what it must and returns the pids that served it,
    until a round was served by both workers. Which worker accepts a connection is the
    kernel's choice, and on a busy machine one worker may take a whole round: such a round
    proves nothing about agreement, so another runs on fresh counters (new client addresses,
    new accounts)."""
    seen = []
    for n in range(rounds):
        pids = attempt(n)
        if len(set(pids)) == 2:
            return
        seen.append(sorted(set(pids)))
    pytest.fail(f"every round was served by one worker: {seen}")


def _count(server: Server, stmt) -> int:
    with server.app.app_context():
        try:
            return db.session.scalar(stmt)
        finally:
            db.session.remove()


def test_sign_in_limit_holds_across_workers(server):
    failures = db.select(db.func.count(AuditEvent.id)).filter_by(action="login_failed")

    def attempt(n: int) -> list[str]:
        source = f"127.{NET}.1.{n + 1}"
        form = _sign_in_form(server, source)
        before = _count(server, failures)
        answers = _in_parallel([
            lambda i=i: _sign_in(server, form, f"nobody-{i}@example.gov.cn", "wrong password 1",
                                 source) for i in range(30)])
        checked = [a for a in answers if a.status == 200]
        refused = [a for a in answers if a.status == 429]
        assert len(checked) == 10 and len(refused) == 20
        assert all(WRONG in a.body for a in checked)
        assert _count(server, failures) - before == 10  # exactly 10 passwords were checked
        assert all(1 <= int(a.headers["Retry-After"]) <= 60 for a in refused)
        again = _sign_in(server, form, "nobody@example.gov.cn", "wrong password 1", source)
        assert again.status == 429 and 1 <= int(again.headers["Retry-After"]) <= 60
        wait = int(again.headers["Retry-After"])
        expected = "1分钟" if wait == 60 else f"{wait}秒钟"  # whole units, rounded up
        assert f"请求过于频繁，请在{expected}后再试。" in again.body
        return server.pids_for({source}, "/admin/login")

    _until_both_workers(attempt)


def test_failed_ticket_lookups_hold_across_workers(server):
    """Only failed look-ups count, and they are counted after the answer: one guess at a time,
    exactly 10 of 40 are answered."""

    def attempt(n: int) -> list[str]:
        source = f"127.{NET}.2.{n + 1}"
        path = f"/api/v1/track/D-{uuid.uuid4().int % 10**10:010d}"
        answers = [server.request("GET", path, source=source, headers={"X-Access-Code": "nope"})
                   for _ in range(40)]
        assert [a.status for a in answers] == [404] * 10 + [429] * 30
        assert 1 <= int(answers[10].headers["Retry-After"]) <= 60
        assert json.loads(answers[10].body)["error"]["code"] == "rate_limited"
        return server.pids_for({source}, path)

    _until_both_workers(attempt)


def test_submissions_limit_holds_across_workers(server):
    """PORTAL_RATELIMIT is one budget for demands and complaints together."""
    stored = db.select(db.func.count(Demand.id)).scalar_subquery() + db.select(
        db.func.count(Complaint.id)).scalar_subquery()

    def submit(i: int, source: str) -> Answer:
        kind, body = ("demands", demand() | {"amount_wan": 20000, "land_mu": 80}) if i % 2 \
            else ("complaints", COMPLAINT | {"company_name": f"大同示例制造有限公司{i}"})
        return server.request("POST", f"/api/v1/{kind}", source=source, headers={
            "Content-Type": "application/json"}, body=json.dumps(body | {"consent": True}).encode())

    def attempt(n: int) -> list[str]:
        source = f"127.{NET}.3.{n + 1}"
        before = _count(server, db.select(stored))
        answers = _in_parallel([lambda i=i: submit(i, source) for i in range(SUBMISSIONS + 1)])
        assert sorted(a.status for a in answers) == [201] * SUBMISSIONS + [429], \
            [a.body for a in answers if a.status not in (201, 429)]
        refused = next(a for a in answers if a.status == 429)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert _count(server, db.select(stored)) - before == SUBMISSIONS
        return server.pids_for({source}, "/api/v1/demands") + server.pids_for(
            {source}, "/api/v1/complaints")

    _until_both_workers(attempt)


@pytest.mark.parametrize("server", ["database"], indirect=True)  # lockout is in the database
def test_lockout_after_five_failures_across_workers(server):
    """Five wrong passwords, spread over both workers, lock the account: the right password is
    then refused with the same message. Four do not. Each attempt comes from its own address,
    so the sign-in limit (10 a minute per address) stays out of the way."""
    form = _sign_in_form(server)

    def attempt(n: int) -> list[str]:
        locked, counted = f"locked{n}@example.gov.cn", f"counted{n}@example.gov.cn"
        with server.app.app_context():
            factories.staff(email=locked, password=PASSWORD)
            factories.staff(email=counted, password=PASSWORD)
            db.session.commit()
            db.session.remove()
        sources = [f"127.{NET}.4.{10 * n + i + 1}" for i in range(11)]
        wrong = [(sources[i], locked) for i in range(5)] + [
            (sources[5 + i], counted) for i in range(4)]
        answers = _in_parallel([
            lambda s=s, e=e: _sign_in(server, form, e, "not the password", s) for s, e in wrong])
        assert [a.status for a in answers] == [200] * 9
        assert all(WRONG in a.body for a in answers)

        refused = _sign_in(server, form, locked, PASSWORD, sources[9])
        assert refused.status == 200 and WRONG in refused.body
        assert "<title>错误：" in refused.body
        let_in = _sign_in(server, form, counted, PASSWORD, sources[10])
        assert let_in.status == 302 and let_in.headers["Location"].endswith("/admin/")

        until = _count(server, db.select(User.locked_until).filter_by(email=locked))
        until = until if until.tzinfo else until.replace(tzinfo=UTC)
        assert timedelta(minutes=14) < until - datetime.now(UTC) <= timedelta(minutes=15)
        return server.pids_for(set(sources[:5]), "/admin/login")

    _until_both_workers(attempt)
