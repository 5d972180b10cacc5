"""The page cache across a real ``gunicorn -w 2 -k gthread --threads 4``: each worker keeps its
own pages (or both share Redis), and a change committed anywhere shows on the next request,
whichever worker answers it.

Every request opens a new connection, so requests spread over both workers; the access log
names the worker (``%(p)s``) and the cache's answer (the X-Cache header) of each.
"""

import http.client
import time
import uuid

import pytest

from portal.extensions import db
from portal.models import Policy
from tests import factories
from tests.conftest import make_app
from tests.servers import gunicorn, redis_url

pytestmark = pytest.mark.slow


class Server:
    def __init__(self, port, app, access_log):
        self.port, self.app, self.access_log = port, app, access_log

    def get(self, path: str, tag: str) -> tuple[int, str]:
        """One request on its own connection; ``tag`` marks it in the access log."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", f"{path}?r={tag}", headers={"Connection": "close"})
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def served(self, tags: set[str]) -> list[tuple[str, str]]:
        """(worker pid, X-Cache) of the requests with those tags."""
        time.sleep(0.3)  # the access log is written as each answer goes out
        found = []
        for line in self.access_log.read_text().splitlines():
            pid, cache_state, url = line.split(" ", 2)
            if url.rpartition("r=")[2] in tags:
                found.append((pid, cache_state))
        return found


@pytest.fixture(scope="module", params=["memory", "redis"])
def server(request, databases, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"pagecache_{request.param}")
    store_url = redis_url() if request.param == "redis" else ""
    url = databases.new(f"pagecache_{request.param}")
    settings = {"PORTAL_SECRET_KEY": "pagecache-test", "PORTAL_REDIS_URL": store_url,
                "PORTAL_RATELIMIT": "off"}
    app = make_app(url, tmp)  # the database migrated before the server starts
    try:
        with gunicorn(url, tmp, settings, "%(p)s %({x-cache}o)s %(U)s?%(q)s") as (port, log):
            yield Server(port, app, log)
    finally:
        if store_url:
            import redis

            with redis.Redis.from_url(store_url) as store:
                store.flushdb()


def _policy(server: Server) -> int:
    with server.app.app_context():
        row = factories.policy(f"p-{uuid.uuid4().hex[:8]}", title="飞地经济合作办法",
                               region=factories.region(slug=f"r-{uuid.uuid4().hex[:8]}"))
        db.session.commit()
        try:
            return row.id
        finally:
            db.session.remove()


def _rename(server: Server, policy_id: int, title: str) -> None:
    with server.app.app_context():
        db.session.get(Policy, policy_id).title = title
        db.session.commit()
        db.session.remove()


def test_a_change_shows_on_every_workers_next_request(server):
    policy_id = _policy(server)
    page = f"/zh/policies/{policy_id}"
    for attempt in range(4):
        # The query string is part of the key: every request of a round asks one URL.
        tag = f"round{attempt}"
        title = f"飞地经济合作办法（第{attempt + 1}次修订）"
        warm = [server.get(page, tag) for _ in range(16)]
        assert all(status == 200 for status, _ in warm)
        warmed = server.served({tag})
        assert "HIT" in {cached for _, cached in warmed}, warmed
        _rename(server, policy_id, title)
        after = [server.get(page, tag) for _ in range(16)]
        assert all(status == 200 and title in body for status, body in after)
        answered = server.served({tag})[len(warmed):]
        assert "MISS" in {cached for _, cached in answered}, answered
        if len({pid for pid, _ in warmed}) == len({pid for pid, _ in answered}) == 2:
            return  # both workers had the old page stored, and both answered the new one
    pytest.fail("no round was answered by both workers before and after the change")
