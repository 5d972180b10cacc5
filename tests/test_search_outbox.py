"""The index never loses an update: outbox written with the record, drained after commit,
kept while the engine is locked or down, caught up by `flask search drain`."""

from datetime import timedelta

import pytest
import tantivy

from portal.extensions import db
from portal.indexing import drain, pending
from portal.models import OutboxJob, Policy, utcnow
from search import Query, engine
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
    assert _find(app, "飞地") == []


def test_drain_catches_up_after_the_lock_is_gone(app, runner):
    with app.app_context():
        engine().health()
        directory = str(engine().directory)
    other = tantivy.Index.open(directory)
    writer = other.writer(heap_size=15_000_000, num_threads=1)
    policy_id = _add_policy(app, "p-1", "飞地经济合作办法")
    second_id = _add_policy(app, "p-2", "飞地园区标准地")
    del writer
    assert _find(app, "飞地") == []
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
    assert _find(app, "飞地") == []
    monkeypatch.setitem(app.config, "SEARCH_CATCH_UP", 30)
    app.extensions.pop("search_catch_up", None)
    client.get("/zh/")  # any request; the catch-up runs after it
    assert _find(app, "飞地") == [policy_id]
