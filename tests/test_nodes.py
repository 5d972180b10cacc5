"""Two app nodes on one PostgreSQL database and one Redis: nothing a visitor or a member of
staff does depends on which node answers.

Each node is a real ``gunicorn -w 2 -k gthread --threads 4`` with local folders of its own
(its own PORTAL_INSTANCE_DIR and PORTAL_SEARCH_DIR, its own logs); they share only the
database, Redis (rate limits, page cache), PORTAL_SECRET_KEY and the SMTP server. Node 2
starts with an empty index folder; node 1's was built before it started. An import reported
on one node is confirmed on the other. The outbox is drained concurrently by separate
processes: each mail reaches the SMTP server once, and each index job of a shared engine
(PORTAL_SEARCH=postgres) is applied by exactly one drain.

PostgreSQL only: SQLite is one file on one machine, not a database two nodes share.
"""

import hashlib
import http.client
import json
import random
import re
import subprocess
import sys
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa

from bench.common import portal_env
from portal.extensions import db
from portal.models import (
    Attachment,
    AuditEvent,
    Complaint,
    ImportStash,
    Opportunity,
    OutboxJob,
    Policy,
    utcnow,
)
from tests import factories
from tests.conftest import ROOT, SERVER_URL, make_app
from tests.ports import free_port
from tests.servers import gunicorn
from tests.test_attachments import pdf_file
from tests.test_intake import COMPLAINT, api_demand
from tests.test_mail import MailServer
from tests.test_ratelimit import REDIS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SERVER_URL, reason="two nodes share one PostgreSQL database: run "
                       "the PostgreSQL suite (PORTAL_TEST_DATABASE_URL)"),
]

SECRET = "nodes-test-secret"
SUBMISSIONS = 6  # PORTAL_RATELIMIT of both nodes: 6/minute, one budget in Redis
REDIS_DB = 11  # this module's own Redis database
PASSWORD = "Copper kettle drum 42"
STAFF = "nodes-admin@example.gov.cn"
SENDER = "招商专区 <noreply@zhaoshang.example.cn>"
NET = random.randrange(1, 255)  # client addresses 127.NET.x.y: keys of this run only
LOG_FORMAT = "%(p)s %(h)s %(s)s %(m)s %(U)s"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return unescape(self.body.decode("utf-8", "replace"))

    def json(self):
        return json.loads(self.body)


@dataclass
class Node:
    name: str
    port: int
    folder: Path
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict | None = None, source: str = "127.0.0.1",
                cookies: dict | None = None) -> Answer:
        """One request on its own connection; ``cookies`` are sent, and updated from the
        answer's Set-Cookie."""
        sent = dict(headers or {}) | {"Connection": "close"}
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                          source_address=(source, 0))
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            answer = Answer(response.status, dict(response.getheaders()), response.read())
            if cookies is not None:
                for value in response.headers.get_all("Set-Cookie") or []:
                    for name, morsel in SimpleCookie(value).items():
                        cookies[name] = morsel.value
            return answer
        finally:
            conn.close()

    def get(self, path: str, **kw) -> Answer:
        return self.request("GET", path, **kw)


@dataclass
class Cluster:
    nodes: list[Node]
    app: object  # the same database from the test's side, with an index folder of its own
    url: str
    smtp: MailServer
    redis_url: str

    def query(self, stmt):
        with self.app.app_context():
            try:
                return db.session.execute(stmt).all()
            finally:
                db.session.remove()


def _redis_url(number: int) -> str:
    """This module's Redis database. Not emptied: its keys are this run's own (client
    addresses 127.NET.x.y; page-cache keys hold the version token of a new database) and
    expire by themselves, and another test that looks for an empty database leaves it be."""
    import redis

    try:
        with redis.Redis(*REDIS, db=number, socket_timeout=1) as store:
            store.ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    return f"redis://{REDIS[0]}:{REDIS[1]}/{number}"


def _start(stack, url: str, tmp: Path, settings: dict) -> list[Node]:
    nodes = []
    for n in (1, 2):
        folder = tmp / f"node{n}"
        folder.mkdir(exist_ok=True)
        own = settings | {"PORTAL_INSTANCE_DIR": str(folder / "instance")}
        port, _log = stack.enter_context(gunicorn(url, folder, own, LOG_FORMAT))
        nodes.append(Node(f"node{n}", port, folder))
    return nodes


@pytest.fixture(scope="module")
def cluster(databases, tmp_path_factory):
    from contextlib import ExitStack

    from portal.indexing import reindex
    from seed.loader import load_pack

    tmp = tmp_path_factory.mktemp("nodes")
    store = _redis_url(REDIS_DB)
    smtp = MailServer(free_port())
    smtp.start()
    url = databases.new("nodes")
    app = make_app(url, tmp / "tool")
    with app.app_context():
        load_pack("datong")
        factories.staff(email=STAFF, password=PASSWORD, role="admin")
        db.session.commit()
        db.session.remove()
    # Node 1's folder is built before it starts; node 2's is empty.
    builder = make_app(url, tmp / "node1")
    with builder.app_context():
        reindex()
        db.session.remove()
    settings = {"PORTAL_SECRET_KEY": SECRET, "PORTAL_REDIS_URL": store,
                "PORTAL_RATELIMIT": f"{SUBMISSIONS}/minute",
                "PORTAL_MAIL_SERVER": "127.0.0.1", "PORTAL_MAIL_PORT": str(smtp.port),
                "PORTAL_MAIL_SENDER": SENDER}
    try:
        with ExitStack() as stack:
            yield Cluster(_start(stack, url, tmp, settings), app, url, smtp, store)
    finally:
        smtp.stop()


# --- helpers ------------------------------------------------------------------------------


def _csrf(answer: Answer) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', answer.text) or \
        re.search(r'type="hidden" name="csrf_token" value="([^"]+)"', answer.text)
    assert found, answer.text[:500]
    return found.group(1)


def _sign_in(node: Node) -> dict[str, str]:
    cookies: dict[str, str] = {}
    source = f"127.{NET}.9.1"  # the sign-in limit counts per address: this run's own
    token = _csrf(node.get("/admin/login", cookies=cookies, source=source))
    body = urlencode({"csrf_token": token, "email": STAFF, "password": PASSWORD}).encode()
    answer = node.request("POST", "/admin/login", body=body, cookies=cookies, source=source,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 302 and answer.headers["Location"].endswith("/admin/"), answer.text
    return cookies


def _signed_in(node: Node, cookies: dict) -> bool:
    answer = node.get("/admin/", cookies=dict(cookies))
    if answer.status == 302:
        assert "/admin/login" in answer.headers["Location"]
        return False
    assert answer.status == 200
    return True


def _multipart(fields: dict[str, str], files: list[tuple[str, str, bytes, str]]):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    for name, filename, data, content_type in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f"filename*=UTF-8''{quote(filename)}; filename=\"{filename}\"\r\n"
                     f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _policy_ids(node: Node, query: str = "") -> tuple[int, list[int], bool]:
    """(total, ids of every page, degraded) from the API of one node."""
    ids, page, total, degraded = [], 1, None, False
    while True:
        answer = node.get(f"/api/v1/policies?q={quote(query)}&page={page}")
        assert answer.status == 200, answer.text
        body = answer.json()
        total = body["total"]
        degraded = degraded or bool(body.get("degraded"))
        ids += [p["id"] for p in body["items"]]
        if not body["items"] or len(ids) >= total:
            return total, ids, degraded
        page += 1


def _page_total(node: Node, query: str = "") -> int:
    page = node.get(f"/zh/policies/?q={quote(query)}").text
    assert "全文检索暂时不可用" not in page
    found = re.search(r"共 (\d+) 项政策", page)
    assert found, page[:500]
    return int(found.group(1))


# --- sessions, limits, submissions, attachments ---------------------------------------------


def test_a_staff_session_is_valid_on_both_nodes_and_ends_on_both(cluster):
    one, two = cluster.nodes
    cookies = _sign_in(one)
    assert _signed_in(two, cookies) and _signed_in(one, cookies)
    token = _csrf(two.get("/admin/", cookies=cookies))  # the token is kept in the session
    before = dict(cookies)
    assert _signed_in(one, before)
    answer = two.request("POST", "/admin/logout", cookies=cookies,
                         body=urlencode({"csrf_token": token}).encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 302 and "/admin/login" in answer.headers["Location"]
    assert not _signed_in(one, before)  # the cookie node 1 accepted a moment ago
    assert not _signed_in(two, before)


def test_the_rate_limit_is_one_budget_for_both_nodes(cluster):
    source = f"127.{NET}.3.1"

    def submit(i: int) -> int:
        node = cluster.nodes[i % 2]
        kind, body = ("demands", api_demand()) if i % 2 else \
            ("complaints", COMPLAINT | {"consent": True, "company_name": f"大同示例制造{i}"})
        return node.request("POST", f"/api/v1/{kind}", source=source, body=json.dumps(
            body).encode(), headers={"Content-Type": "application/json"}).status

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(submit, range(SUBMISSIONS + 2)))
    assert sorted(statuses) == [201] * SUBMISSIONS + [429] * 2, statuses


def test_a_submission_on_one_node_is_visible_on_the_other(cluster):
    one, two = cluster.nodes
    answer = one.request("POST", "/api/v1/demands", source=f"127.{NET}.4.1",
                         body=json.dumps(api_demand()).encode(),
                         headers={"Content-Type": "application/json"})
    assert answer.status == 201, answer.text
    ticket, code = answer.json()["ticket"], answer.json()["access_code"]
    tracked = two.get(f"/api/v1/track/{ticket}", headers={"X-Access-Code": code},
                      source=f"127.{NET}.4.2")
    assert tracked.status == 200 and tracked.json()["ticket"] == ticket
    cookies = _sign_in(two)
    queue = two.get("/admin/tickets/demand", cookies=cookies)
    assert queue.status == 200 and ticket in queue.text


def test_an_attachment_uploaded_on_one_node_downloads_from_the_other(cluster):
    one, two = cluster.nodes
    data = pdf_file()
    fields = {k: str(v) for k, v in COMPLAINT.items()} | {"company_name": "节点测试有限公司"}
    body, content_type = _multipart(fields, [("attachments", "现场照片说明.pdf", data,
                                              "application/pdf")])
    answer = one.request("POST", "/api/v1/complaints", body=body, source=f"127.{NET}.5.1",
                         headers={"Content-Type": content_type})
    assert answer.status == 201, answer.text
    ticket = answer.json()["ticket"]
    [(key, sha256)] = cluster.query(
        sa.select(Attachment.storage_key, Attachment.sha256).join(
            Complaint, Attachment.complaint_id == Complaint.id).where(Complaint.ticket == ticket))
    cookies = _sign_in(two)
    download = two.get(f"/admin/attachments/{key}", cookies=cookies)
    assert download.status == 200
    assert hashlib.sha256(download.body).hexdigest() == sha256 == hashlib.sha256(
        data).hexdigest()


# --- a bulk import: the report on one node, the confirmation on the other -----------------


def _import_report(node: Node, cookies: dict, rows: list[list[str]], name: str) -> str:
    """Upload ``rows`` as a CSV of opportunities on ``node``; the confirmation's token."""
    csrf = _csrf(node.get("/admin/import/", cookies=cookies))
    data = "\n".join(",".join(r) for r in rows).encode("utf-8-sig")
    body, content_type = _multipart({"csrf_token": csrf, "kind": "opportunity", "mode": "all"},
                                    [("upload", name, data, "text/csv")])
    answer = node.request("POST", "/admin/import/", body=body, cookies=cookies,
                          headers={"Content-Type": content_type})
    assert answer.status == 200 and "尚未写入任何记录" in answer.text, answer.text[:2000]
    found = re.search(r'name="token" type="hidden" value="([^"]+)"', answer.text)
    assert found, answer.text[:2000]
    return found.group(1)


def _confirm(node: Node, cookies: dict, token: str) -> Answer:
    csrf = _csrf(node.get("/admin/import/", cookies=cookies))
    return node.request("POST", "/admin/import/confirm", cookies=cookies,
                        body=urlencode({"csrf_token": csrf, "token": token}).encode(),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})


def _imported(cluster: Cluster, keys: list[str]) -> list[tuple[str, str]]:
    return sorted(tuple(r) for r in cluster.query(
        sa.select(Opportunity.key, Opportunity.publication).where(Opportunity.key.in_(keys))))


def test_an_import_reported_on_one_node_is_confirmed_on_the_other(cluster):
    one, two = cluster.nodes
    tag = uuid.uuid4().hex[:8]
    keys = [f"nodes-{tag}-1", f"nodes-{tag}-2"]
    rows = [["key", "kind", "title", "region", "published"],
            [keys[0], "scene", f"节点导入场景{tag}", "datong", "2026-03-01"],
            [keys[1], "project", f"节点导入项目{tag}", "pingcheng", "2026-03-02"]]
    cookies = _sign_in(one)
    token = _import_report(one, cookies, rows, f"机会{tag}.csv")
    assert _imported(cluster, keys) == []
    # Nothing of the upload in either node's folder; in the database, under the token's hash.
    for node in cluster.nodes:
        assert not list(node.folder.rglob("*.upload")) and not (
            node.folder / "instance" / "imports").exists()
    [(digest,)] = cluster.query(sa.select(ImportStash.token_hash).where(
        ImportStash.filename == f"机会{tag}.csv"))
    assert digest == hashlib.sha256(token.encode()).hexdigest()

    done = _confirm(two, cookies, token)
    assert done.status == 302 and done.headers["Location"].endswith("/admin/import/"), done.text
    assert "已导入机会清单 2 条" in two.get("/admin/import/", cookies=cookies).text
    assert _imported(cluster, keys) == [(keys[0], "draft"), (keys[1], "draft")]
    assert cluster.query(sa.select(ImportStash.id).where(ImportStash.token_hash == digest)) == []
    again = _confirm(one, cookies, token)  # taken: neither node has it any more
    assert again.status == 302
    assert "已过期或已经导入" in one.get("/admin/import/", cookies=cookies).text
    assert len(_imported(cluster, keys)) == 2


def test_one_upload_confirmed_on_both_nodes_at_once_is_imported_once(cluster):
    tag = uuid.uuid4().hex[:8]
    keys = [f"nodes-{tag}-{i}" for i in range(3)]
    rows = [["key", "kind", "title", "region", "published"]] + [
        [key, "scene", f"并发导入场景{tag}{i}", "datong", "2026-03-01"]
        for i, key in enumerate(keys)]
    cookies = _sign_in(cluster.nodes[0])
    token = _import_report(cluster.nodes[0], cookies, rows, f"并发{tag}.csv")
    forms = {node.name: _csrf(node.get("/admin/import/", cookies=dict(cookies)))
             for node in cluster.nodes}

    def confirm(node: Node) -> int:
        return node.request("POST", "/admin/import/confirm", cookies=dict(cookies),
                            body=urlencode({"csrf_token": forms[node.name],
                                            "token": token}).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"}
                            ).status

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(confirm, cluster.nodes * 2))
    assert statuses == [302] * 4
    assert [k for k, _state in _imported(cluster, keys)] == keys  # each once (unique keys)
    events = cluster.query(sa.select(AuditEvent.detail).where(
        AuditEvent.action == "content_import"))
    assert [d["written"] for (d,) in events if d.get("file") == f"并发{tag}.csv"] == [3]


# --- search -----------------------------------------------------------------------------


def test_both_nodes_show_the_same_library_and_results(cluster):
    """Node 2 started with an empty folder: it builds it from the database on its first
    search instead of answering "0 policies"."""
    with cluster.app.app_context():
        live = db.session.scalar(sa.select(sa.func.count(Policy.id)))
    assert live > 20
    answers = {}
    for node in reversed(cluster.nodes):  # the empty node first
        answers[node.name] = [_policy_ids(node, q) for q in ("", "土地", "人才", "大同市")]
        answers[node.name].append(tuple(_page_total(node, q) for q in ("", "土地")))
    same = {name: [(t, sorted(i), d) for t, i, d in found[:4]] + found[4:]
            for name, found in answers.items()}
    assert same["node1"] == same["node2"]
    total, ids, degraded = answers["node2"][0]
    assert not degraded and len(ids) == total > 0
    assert all(t > 0 for t, _ids, _d in answers["node2"][1:4])
    for node in cluster.nodes:
        health = node.get("/healthz").json()["search"]
        assert health["engine"] == "embedded"
        assert (health["index"], health["behind"]) == ("current", 0), health


def _edit_title(node: Node, cookies: dict, policy_id: int, title: str) -> None:
    edit = f"/admin/content/policies/{policy_id}/edit"
    page = node.get(edit, cookies=cookies)
    assert page.status == 200, page.text[:300]
    form = {"csrf_token": _csrf(page), "title": title, "issuer": "节点测试市人民政府",
            "level": "municipal", "published": "2026-01-05", "status": "in_force",
            "body": "第一条 节点测试正文。"}
    answer = node.request("POST", edit, cookies=cookies, body=urlencode(form).encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 302, answer.text[:2000]


def _content_change_is_seen(nodes: list[Node], app) -> None:
    one, two = nodes
    key = uuid.uuid4().hex[:8]
    with app.app_context():
        row = factories.policy(f"nodes-{key}", title="飞地经济合作办法",
                               issuer="节点测试市人民政府", body="第一条 节点测试正文。")
        db.session.commit()
        policy_id = row.id
        db.session.remove()
    detail = f"/zh/policies/{policy_id}"
    for _ in range(2):  # now kept in the page cache, when there is one
        assert "飞地经济合作办法" in two.get(detail).text
    assert policy_id in _policy_ids(two, "飞地经济")[1]
    cookies = _sign_in(one)
    _edit_title(one, cookies, policy_id, f"园区共建合作办法{key}")
    page = two.get(detail).text
    assert f"园区共建合作办法{key}" in page and "飞地经济合作办法" not in page
    assert _policy_ids(two, f"园区共建合作办法{key}")[1] == [policy_id]
    assert policy_id not in _policy_ids(two, "飞地经济")[1]
    listing = two.get(f"/zh/policies/?q={quote('园区共建合作办法' + key)}").text
    assert f"园区共建合作办法{key}" in listing and "全文检索暂时不可用" not in listing


def test_a_content_change_on_one_node_is_seen_on_the_other_with_the_redis_page_cache(cluster):
    _content_change_is_seen(cluster.nodes, cluster.app)


@pytest.fixture(scope="module")
def plain_nodes(databases, tmp_path_factory):
    """Two nodes without Redis: each keeps pages in its own memory, counts in the database."""
    from contextlib import ExitStack

    tmp = tmp_path_factory.mktemp("plain_nodes")
    url = databases.new("plain_nodes")
    app = make_app(url, tmp / "tool")
    with app.app_context():
        factories.staff(email=STAFF, password=PASSWORD, role="admin")
        db.session.commit()
        db.session.remove()
    settings = {"PORTAL_SECRET_KEY": SECRET, "PORTAL_REDIS_URL": "", "PORTAL_RATELIMIT": "off"}
    with ExitStack() as stack:
        yield _start(stack, url, tmp, settings), app


def test_a_content_change_on_one_node_is_seen_on_the_other_without_redis(plain_nodes):
    nodes, app = plain_nodes
    _content_change_is_seen(nodes, app)


# --- the outbox, drained by several processes at once --------------------------------------

DRAIN = """
import json, os, sys, time
from pathlib import Path
from portal import create_app
from portal.extensions import db
what, barrier, processes, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
app = create_app()
with app.app_context():
    db.session.execute(db.text("SELECT 1"))  # connected before the start
    db.session.remove()
    (barrier / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(barrier.iterdir())) < processes and time.monotonic() < deadline:
        time.sleep(0.01)  # every drain starts when all are ready
    done = []
    while True:
        if what == "mail":
            from portal.mail import drain_mail
            sent, waiting = drain_mail(limit)
            done.append(sent)
            if not sent and not waiting:
                break
        else:
            from portal.indexing import drain
            applied, waiting = drain(limit, applied_ids=done)
            if not applied and not waiting:
                break
print(json.dumps(done))
"""


def _drain_together(env: dict, what: str, barrier: Path, processes: int = 2,
                    limit: int = 5) -> list:
    """Start ``processes`` drains that begin together, once all are ready (``barrier``: an
    empty folder); each one's JSON output: the mail sent per batch, or the job ids applied."""
    barrier.mkdir()
    running = [subprocess.Popen([sys.executable, "-c", DRAIN, what, str(barrier),
                                 str(processes), str(limit)],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for _ in range(processes)]
    outputs = []
    for process in running:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def test_mail_drained_by_two_processes_at_once_arrives_exactly_once(cluster, tmp_path):
    from portal.mail import queue_mail

    tag = uuid.uuid4().hex[:8]
    count = 120
    with cluster.app.app_context():
        for i in range(count):
            queue_mail(f"investor{i}@example.com", f"节点测试 {tag} {i}", "您的需求已受理。")
        db.session.commit()
        db.session.remove()
    env = portal_env({"PORTAL_DATABASE_URL": cluster.url, "PORTAL_SECRET_KEY": SECRET,
                      "PORTAL_SEARCH_DIR": str(cluster.nodes[0].folder / "search"),
                      "PORTAL_MAIL_SERVER": "127.0.0.1",
                      "PORTAL_MAIL_PORT": str(cluster.smtp.port),
                      "PORTAL_MAIL_SENDER": SENDER, "PORTAL_RATELIMIT": "off"})
    outputs = _drain_together(env, "mail", tmp_path / "barrier")
    sent = [sum(batches) for batches in outputs]
    assert sum(sent) == count and all(n > 0 for n in sent), sent  # both sent, none twice
    subjects = Counter(str(m["Subject"]) for m in cluster.smtp.inbox.messages
                       if tag in str(m["Subject"]))
    assert len(subjects) == count and set(subjects.values()) == {1}
    ids = Counter(str(m["Message-ID"]) for m in cluster.smtp.inbox.messages
                  if tag in str(m["Subject"]))
    assert set(ids.values()) == {1}
    with cluster.app.app_context():
        waiting = db.session.scalar(sa.select(sa.func.count(OutboxJob.id)).where(
            OutboxJob.kind == "mail", OutboxJob.done_at.is_(None),
            OutboxJob.payload["subject"].as_string().like(f"%{tag}%")))
        db.session.remove()
    assert waiting == 0


def test_index_jobs_of_a_shared_engine_drained_at_once_are_each_applied_once(
        databases, tmp_path):
    url = databases.new("nodes_pgsearch")
    app = make_app(url, tmp_path, SEARCH_ENGINE="postgres")
    with app.app_context():
        region = factories.region(slug="pg-city")
        ids = [db.session.execute(sa.insert(Policy).values(
            key=f"pg-{i}", title=f"飞地经济合作办法第{i}号", issuer="测试市人民政府",
            level="municipal", published=utcnow().date(), status="in_force",
            body="第一条 正文。", region_id=region.id).returning(Policy.id)).scalar_one()
            for i in range(150)]
        jobs = [db.session.execute(sa.insert(OutboxJob).values(
            kind="index", payload={"type": "policy", "id": i}, created_at=utcnow(),
            available_at=utcnow(), attempts=0, last_error="").returning(OutboxJob.id))
            .scalar_one() for i in ids]
        db.session.commit()  # core inserts: no drain after this commit
        db.session.remove()
    env = portal_env({"PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": SECRET,
                      "PORTAL_SEARCH": "postgres", "PORTAL_RATELIMIT": "off",
                      "PORTAL_SEARCH_DIR": str(tmp_path / "unused")})
    outputs = _drain_together(env, "index", tmp_path / "barrier")
    first, second = (set(o) for o in outputs)
    assert first and second, [len(o) for o in outputs]  # both applied some
    assert not first & second  # none twice
    assert first | second == set(jobs) and len(outputs[0]) + len(outputs[1]) == len(jobs)
    with app.app_context():
        from search import Query, engine

        assert db.session.scalar(sa.select(sa.func.count(OutboxJob.id)).where(
            OutboxJob.done_at.is_(None))) == 0
        assert engine().search(Query("policy", "飞地经济", limit=1)).total == len(ids)
        db.session.remove()
