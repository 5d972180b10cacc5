"""The index never loses an update: outbox written with the record, drained after commit,
kept while the engine is locked or down, caught up by `flask search drain`."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import tantivy

from portal import indexing
from portal.extensions import db
from portal.indexing import drain, lag, pending
from portal.models import OutboxJob, Policy, utcnow
from search import Query, SearchUnavailable, engine
from tests import factories


def _find(app, text):
    with app.app_context():
        return engine().search(Query("policy", text)).ids


def _add_policy(app, key, title):
    with app.app_context():
        row = factories.policy(key=key, title=title)
        db.session.commit()
        return row.id


def test_a_saved_policy_is_searchable_at_once(app):
    policy_id = _add_policy(app, "p-1", "飞地经济合作办法")
    assert _find(app, "飞地") == [policy_id]
    with app.app_context():
        assert pending() == 0
        assert db.session.scalar(db.select(db.func.count(OutboxJob.id))) == 1


def test_edits_and_deletes_reach_the_index(app):
    policy_id = _add_policy(app, "p-1", "飞地经济合作办法")
    with app.app_context():
        db.session.get(Policy, policy_id).title = "园区共建合作办法"
        db.session.commit()
    assert _find(app, "飞地") == [] and _find(app, "园区共建") == [policy_id]
    with app.app_context():
        db.session.delete(db.session.get(Policy, policy_id))
        db.session.commit()
    assert _find(app, "园区共建") == []


@pytest.fixture
def locked_index(app):
    """Another process's writer holds the index, as a second gunicorn worker would."""
    with app.app_context():
        engine().health()  # create the index directory
        directory = str(engine().directory)
    other = tantivy.Index.open(directory)
    writer = other.writer(heap_size=15_000_000, num_threads=1)
    yield
    del writer


def test_engine_locked_mid_write_loses_nothing(app, runner, locked_index):
    policy_id = _add_policy(app, "p-1", "飞地经济合作办法")  # commit succeeds
    with app.app_context():
        assert db.session.get(Policy, policy_id) is not None
        job = db.session.scalars(db.select(OutboxJob)).one()
        assert job.done_at is None and job.attempts == 1
        assert "locked" in job.last_error
    result = runner.invoke(args=["search", "drain"])
    assert result.exit_code != 0 and "1 jobs still wait" in result.output
    with app.app_context(), pytest.raises(SearchUnavailable):  # behind: never answers
        engine().search(Query("policy", "飞地"))


def test_drain_catches_up_after_the_lock_is_gone(app, runner):
    with app.app_context():
        engine().health()
        directory = str(engine().directory)
    other = tantivy.Index.open(directory)
    writer = other.writer(heap_size=15_000_000, num_threads=1)
    policy_id = _add_policy(app, "p-1", "飞地经济合作办法")
    second_id = _add_policy(app, "p-2", "飞地园区标准地")
    with app.app_context(), pytest.raises(SearchUnavailable):  # behind and cannot catch up
        engine().search(Query("policy", "飞地"))
    del writer
    result = runner.invoke(args=["search", "drain"])
    assert result.exit_code == 0, result.output
    assert "applied 2 index jobs" in result.output
    assert set(_find(app, "飞地")) == {policy_id, second_id}
    with app.app_context():
        assert pending() == 0


def test_healthz_degraded_while_jobs_wait(app, client):
    with app.app_context():
        db.session.add(OutboxJob(kind="index", payload={"type": "policy", "id": 1},
                                 created_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded"
    assert body["search"]["pending_jobs"] == 1
    with app.app_context():
        assert drain() == (1, 0)  # the policy does not exist: it is removed from the index
    assert client.get("/healthz").get_json()["search"]["pending_jobs"] == 0


def test_search_page_falls_back_to_the_database(app, client, tmp_path):
    _add_policy(app, "p-1", "飞地经济合作办法")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    original = app.config["SEARCH_INDEX_DIR"]
    app.config["SEARCH_INDEX_DIR"] = str(blocker / "index")
    app.extensions.pop("search", None)
    try:
        html = client.get("/zh/policies/?q=飞地").get_data(as_text=True)
        api = client.get("/api/v1/policies?q=飞地").get_json()
        everywhere = client.get("/zh/search?q=飞地").get_data(as_text=True)
    finally:
        app.config["SEARCH_INDEX_DIR"] = original
        app.extensions.pop("search", None)
    assert "全文检索暂时不可用" in html
    assert "飞地经济合作办法" in html
    assert api["degraded"] is True and api["total"] == 1
    assert "飞地经济合作办法" in everywhere and "全文检索暂时不可用" in everywhere


def test_waiting_jobs_are_retried_after_a_later_request(app, client, monkeypatch):
    with app.app_context():
        engine().health()
        directory = str(engine().directory)
    writer = tantivy.Index.open(directory).writer(heap_size=15_000_000, num_threads=1)
    policy_id = _add_policy(app, "p-1", "飞地经济合作办法")
    del writer
    monkeypatch.setitem(app.config, "SEARCH_CATCH_UP", 30)
    app.extensions.pop("search_catch_up", None)
    with app.app_context():
        assert lag(engine()) is None  # never built: the locked writer stopped it
    client.get("/zh/")  # any request; the catch-up runs after it
    with app.app_context():
        assert lag(engine()) == 0  # caught up without a search asking for it
    assert _find(app, "飞地") == [policy_id]


# --- a node's own folder: the mark that says how far it applied the outbox ---------------
# Several nodes, each with its own index folder, share one database. A node is simulated
# by pointing the app at another folder (SEARCH_INDEX_DIR) and making a new engine.


def _node(app, folder):
    """Make ``folder`` this app's index folder, as another node would have."""
    app.config["SEARCH_INDEX_DIR"] = str(folder)
    app.extensions.pop("search", None)


def _lag(app):
    with app.app_context():
        return lag(engine())


def _late_policy(app, job_id: int, title: str) -> int:
    """A policy and its index job with a chosen id, written as one transaction whose id was
    handed out before others that committed first (ids above the sequence's reach)."""
    with app.app_context():
        policy_id = db.session.execute(sa.insert(Policy).values(
            key=f"late-{job_id}", title=title, issuer="测试市人民政府", level="municipal",
            published=date(2026, 1, 5), status="in_force", body="第一条 正文。",
        ).returning(Policy.id)).scalar_one()
        db.session.execute(sa.insert(OutboxJob).values(
            id=job_id, kind="index", payload={"type": "policy", "id": policy_id},
            created_at=utcnow(), available_at=utcnow(), attempts=0, last_error=""))
        db.session.commit()
        return policy_id


def _max_job(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(OutboxJob.id))) or 0


def test_a_job_committed_after_a_later_one_is_still_applied(app):
    """Job n+1 commits after job n+2 was applied: "the highest id applied" would skip it."""
    _add_policy(app, "p-1", "飞地经济合作办法")
    base = _max_job(app) + 1000
    second = _late_policy(app, base + 2, "飞地园区标准地")
    assert _find(app, "飞地园区") == [second] and _lag(app) == 0
    with app.app_context():
        mark = engine().mark()
    assert mark["low"] < base + 1 and [base + 2, base + 2] in [r[:2] for r in mark["seen"]]
    first = _late_policy(app, base + 1, "飞地人才公寓")
    assert _lag(app) == 1  # seen by the one small query
    assert _find(app, "飞地人才") == [first]  # the search caught up first
    assert _lag(app) == 0
    with app.app_context():
        mark = engine().mark()
    # ids below base + 1 were never handed out here: that gap waits for GAP_GRACE
    assert mark["low"] < base + 1 and [base + 1, base + 2] in [r[:2] for r in mark["seen"]]


def test_a_gap_closes_after_the_grace_time(app, monkeypatch):
    """An id handed out but never committed (a rolled-back transaction) leaves a gap that
    stays open for GAP_GRACE, then stops costing anything."""
    _add_policy(app, "p-1", "飞地经济合作办法")
    base = _max_job(app) + 1000
    _late_policy(app, base + 2, "飞地园区标准地")
    assert _find(app, "飞地园区") and _lag(app) == 0
    with app.app_context():
        assert engine().mark()["low"] < base + 1
    monkeypatch.setattr(indexing, "GAP_GRACE", 0.0)  # as if GAP_GRACE had passed
    _add_policy(app, "p-3", "飞地人才公寓")  # the next catch-up closes the gaps
    top = _max_job(app)  # base + 3 on SQLite (max + 1), a low id from the sequence on PG
    with app.app_context():
        assert engine().mark() == {"v": indexing.MARK_VERSION, "low": top, "seen": []}


def test_seen_ranges_keep_the_time_of_their_first_id():
    seen = indexing._add_seen([[5, 5, 100.0]], [7, 6, 9], 200.0)
    assert seen == [[5, 7, 100.0], [9, 9, 200.0]]
    assert indexing._advance(3, seen, 250.0) == (3, seen)  # 4 may still commit
    assert indexing._advance(4, seen, 250.0) == (7, [[9, 9, 200.0]])  # 8 may still commit
    assert indexing._advance(4, seen, 200.0 + indexing.GAP_GRACE) == (9, [])


def test_an_empty_folder_is_built_from_the_database(app, client, tmp_path):
    ids = {_add_policy(app, f"p-{i}", f"飞地经济合作办法第{i}号") for i in range(3)}
    _node(app, tmp_path / "new-node")  # a node that starts with an empty folder
    assert _lag(app) is None
    assert client.get("/healthz").get_json()["search"]["index"] == "catching_up"
    api = client.get("/api/v1/policies").get_json()
    assert api["total"] == 3 and {p["id"] for p in api["items"]} == ids
    assert api.get("degraded") is not True
    page = client.get("/zh/policies/").get_data(as_text=True)
    assert "全文检索暂时不可用" not in page and "共 3 项" in page
    body = client.get("/healthz").get_json()
    assert body["search"]["index"] == "current" and body["search"]["behind"] == 0
    assert body["search"]["documents"] == 3


def test_jobs_another_node_applied_still_count_for_this_one(app, tmp_path):
    node_1, node_2 = tmp_path / "node-1", tmp_path / "node-2"
    _node(app, node_1)
    first = _add_policy(app, "p-1", "飞地经济合作办法")
    _node(app, node_2)
    assert _find(app, "飞地") == [first]  # built from the database
    second = _add_policy(app, "p-2", "飞地园区标准地")  # node 2 applies it and marks it done
    with app.app_context():
        assert pending() == 0
    _node(app, node_1)
    assert _lag(app) == 1
    assert set(_find(app, "飞地")) == {first, second}
    assert _lag(app) == 0


def test_a_deleted_record_leaves_every_node(app, tmp_path):
    first = _add_policy(app, "p-1", "飞地经济合作办法")
    _node(app, tmp_path / "node-2")
    assert _find(app, "飞地") == [first]
    _node(app, tmp_path / "node-1")
    assert _find(app, "飞地") == [first]
    with app.app_context():
        db.session.delete(db.session.get(Policy, first))
        db.session.commit()  # node 1 applies it at once
    assert _find(app, "飞地") == []
    _node(app, tmp_path / "node-2")
    assert _lag(app) == 1 and _find(app, "飞地") == []


def test_a_node_that_cannot_catch_up_answers_from_the_database(app, tmp_path):
    """Behind while another worker of the node holds its writer: the pages answer from the
    database with the notice, and such a page is not kept in the page cache."""
    first = _add_policy(app, "p-1", "飞地经济合作办法")
    _node(app, tmp_path / "node-2")
    assert _find(app, "飞地") == [first]
    with app.app_context():
        directory = str(engine().directory)
    writer = tantivy.Index.open(directory).writer(heap_size=15_000_000, num_threads=1)
    try:
        app.config["SEARCH_INDEX_DIR"] = str(tmp_path / "node-1")  # another node writes
        app.extensions.pop("search", None)
        second = _add_policy(app, "p-2", "飞地园区标准地")
        _node(app, tmp_path / "node-2")
        visitor = app.test_client(use_cookies=False)
        pages = [visitor.get("/zh/policies/?q=飞地") for _ in range(2)]
        for page in pages:
            html = page.get_data(as_text=True)
            assert "全文检索暂时不可用" in html and "飞地园区标准地" in html
        assert all(p.headers.get("X-Cache") != "HIT" for p in pages)  # never kept
        api = visitor.get("/api/v1/policies?q=飞地").get_json()
        assert api["degraded"] is True and api["total"] == 2
        health = visitor.get("/healthz").get_json()
        assert health["status"] == "degraded"
        assert health["search"]["index"] == "database" and health["search"]["behind"] == 1
    finally:
        del writer
    visitor = app.test_client(use_cookies=False)
    pages = [visitor.get("/zh/policies/?q=飞地") for _ in range(2)]
    assert all("全文检索暂时不可用" not in p.get_data(as_text=True) for p in pages)
    assert [p.headers.get("X-Cache") for p in pages] == ["MISS", "HIT"]
    assert set(_find(app, "飞地")) == {first, second}
    health = visitor.get("/healthz").get_json()
    assert health["search"]["index"] == "current" and health["status"] == "ok"


def test_healthz_says_how_far_behind_a_node_is(app, client, tmp_path):
    _node(app, tmp_path / "node-1")
    _add_policy(app, "p-1", "飞地经济合作办法")
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["search"] | {"pending_jobs": 0} == body["search"]
    assert (body["search"]["index"], body["search"]["behind"]) == ("current", 0)
    _node(app, tmp_path / "node-2")
    assert _find(app, "飞地")
    _add_policy(app, "p-2", "飞地园区标准地")  # applied by node 2 only
    _add_policy(app, "p-3", "飞地人才公寓")
    _node(app, tmp_path / "node-1")
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded"
    assert (body["search"]["index"], body["search"]["behind"]) == ("catching_up", 2)
    assert len(_find(app, "飞地")) == 3
    assert client.get("/healthz").get_json()["search"]["index"] == "current"


def test_out_of_order_commits_on_postgresql(app):
    """Two real transactions: the first to take a job id commits last."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer: ids commit in their order")
    _add_policy(app, "p-1", "飞地经济合作办法")

    def insert(conn, key, title):
        policy_id = conn.execute(sa.insert(Policy).values(
            key=key, title=title, issuer="测试市人民政府", level="municipal",
            published=date(2026, 1, 5), status="in_force", body="第一条 正文。",
        ).returning(Policy.id)).scalar_one()
        return policy_id, conn.execute(sa.insert(OutboxJob).values(
            kind="index", payload={"type": "policy", "id": policy_id}, created_at=utcnow(),
            available_at=utcnow(), attempts=0, last_error="").returning(OutboxJob.id)).scalar_one()

    with app.app_context():
        with db.engine.connect() as slow, db.engine.connect() as fast:
            slow_policy, slow_job = insert(slow, "slow", "飞地人才公寓")
            fast_policy, fast_job = insert(fast, "fast", "飞地园区标准地")
            assert slow_job < fast_job
            fast.commit()
            assert _find(app, "飞地园区") == [fast_policy]
            assert _lag(app) == 0
            slow.commit()
    assert _lag(app) == 1
    assert _find(app, "飞地人才") == [slow_policy]
    assert _lag(app) == 0
