"""Backups: `flask backup create` and `restore`, round trips into fresh databases on SQLite
and PostgreSQL, a backup taken while submissions go on, and archives that must be refused."""

import hashlib
import io
import json
import re
import stat
import tarfile
import threading
import time

import pytest
import sqlalchemy as sa

from portal import audit, create_app
from portal.backup import DATABASE_MEMBER, KEY_MEMBER, MANIFEST, _conninfo, is_empty
from portal.extensions import db
from portal.models import Attachment
from tests import factories
from tests.conftest import SERVER_URL, make_app
from tests.test_attachments import pdf_file
from tests.test_intake import demand

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not SERVER_URL.startswith("postgresql"), reason="PORTAL_TEST_DATABASE_URL is not PostgreSQL"))]
KEY = "the-key-the-backup-was-made-under"
PDF = pdf_file()


def fresh_url(engine, databases, tmp_path, name) -> str:
    if engine == "postgresql":
        return databases.new(name)
    return f"sqlite:///{tmp_path / (name + '.db')}"


def source_app(url, tmp_path):
    """An app whose key lives in its instance folder, as when the portal made its own."""
    instance = tmp_path / "source-instance"
    instance.mkdir()
    (instance / "secret_key").write_text(KEY)
    app = make_app(url, tmp_path / "source", SECRET_KEY=KEY)
    app.instance_path = str(instance)
    return app


def submit(client, n: int = 0) -> tuple[str, str]:
    data = demand(company_name=f"备份测试公司{n}") | {
        "attachments": [(io.BytesIO(PDF), f"合同{n}.pdf")]}
    response = client.post("/zh/demands/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    return (re.search(r'class="ticket">(D-\w+)<', html).group(1),
            re.search(r'class="ticket">(\w{4}-\w{4}-\w{4}-\w{4})<', html).group(1))


def table_counts(app) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as conn:
        return {name: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
                for name in sa.inspect(conn).get_table_names()}


def stored_files(app) -> list[tuple[str, str, bytes]]:
    with app.app_context():
        rows = db.session.scalars(db.select(Attachment).order_by(Attachment.storage_key)).all()
        files = [(row.storage_key, row.sha256, bytes(row.data)) for row in rows]
        db.session.remove()
    return files


def read_manifest(archive) -> dict:
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile(MANIFEST).read())


def create(app, archive):
    result = app.test_cli_runner().invoke(args=["backup", "create", str(archive)])
    assert result.exit_code == 0, result.output
    return read_manifest(archive)


@pytest.mark.parametrize("engine", ENGINES)
def test_round_trip_finds_every_record_and_file(engine, databases, tmp_path):
    src = source_app(fresh_url(engine, databases, tmp_path, "bsrc"), tmp_path)
    with src.app_context():
        policy = factories.policy(key="p-backup", title="备份恢复测试政策")
        factories.staff()
        audit.record("backup.test", "policy", policy.key)
        db.session.commit()
        policy_id = policy.id
    ticket, code = submit(src.test_client())
    archive = tmp_path / "portal.tar.gz"
    manifest = create(src, archive)

    with tarfile.open(archive) as tar:
        assert tar.getnames() == [MANIFEST, DATABASE_MEMBER[engine], KEY_MEMBER]
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # personal data
    source_counts = table_counts(src)
    assert manifest["tables"] == source_counts
    assert manifest["dialect"] == engine and manifest["alembic_revision"]
    assert manifest["attachments"] == {"count": 1, "bytes": len(PDF)}

    # A new machine: its portal made a key of its own at start; the backup's replaces it.
    instance = tmp_path / "new-instance"
    instance.mkdir()
    (instance / "secret_key").write_text("made-at-start")
    target = fresh_url(engine, databases, tmp_path, "brestored")
    result = src.test_cli_runner().invoke(args=[
        "backup", "restore", str(archive), "--database-url", target,
        "--instance", str(instance)])
    assert result.exit_code == 0, result.output
    assert "match the manifest" in result.output and "flask search reindex" in result.output
    assert (instance / "secret_key").read_text() == KEY
    assert (instance / "secret_key.before-restore").read_text() == "made-at-start"

    restored = make_app(target, tmp_path / "restored",
                        SECRET_KEY=(instance / "secret_key").read_text())
    assert table_counts(restored) == source_counts
    files = stored_files(restored)
    assert files == stored_files(src) and len(files) == 1
    assert all(hashlib.sha256(data).hexdigest() == digest for _key, digest, data in files)
    client = restored.test_client()
    assert "备份恢复测试政策" in client.get(f"/zh/policies/{policy_id}").get_data(as_text=True)
    # The access code still opens the ticket: it is hashed under the restored key.
    tracked = client.post("/zh/track", data={"ticket": ticket, "access_code": code})
    assert tracked.status_code == 200 and ticket in tracked.get_data(as_text=True)


@pytest.mark.parametrize("engine", ENGINES)
def test_restore_into_the_portals_own_database_rebuilds_the_index(engine, databases, tmp_path):
    """The new machine: an empty database, and a key its portal made at start."""
    src = source_app(fresh_url(engine, databases, tmp_path, "bown"), tmp_path)
    with src.app_context():
        factories.policy(key="p-backup", title="光伏组件招商专项政策")
        db.session.commit()
    archive = tmp_path / "portal.tar.gz"
    create(src, archive)

    instance = tmp_path / "new-instance"
    instance.mkdir()
    (instance / "secret_key").write_text("made-at-start")
    config = {"TESTING": True, "SECRET_KEY": "made-at-start", "SERVER_NAME": "portal.test",
              "SQLALCHEMY_DATABASE_URI": fresh_url(engine, databases, tmp_path, "bownnew"),
              "SEARCH_URL": "", "SEARCH_INDEX_DIR": str(tmp_path / "new-search"),
              "SEARCH_CATCH_UP": 0, "LIMITS_ON": False}
    new = create_app(config)  # not migrated: the restore brings the schema
    new.instance_path = str(instance)
    try:
        result = new.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
        assert result.exit_code == 0, result.output
        assert "indexed 1 documents" in result.output
        assert (instance / "secret_key").read_text() == KEY
        html = new.test_client().get("/zh/search?q=光伏组件").get_data(as_text=True)
        assert "光伏组件招商专项政策" in html
    finally:
        with new.app_context():
            db.engine.dispose()


def _wait_for(condition, seconds=60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("engine", ENGINES)
def test_backup_taken_while_submissions_go_on_is_consistent(engine, databases, tmp_path):
    src = source_app(fresh_url(engine, databases, tmp_path, "bbusy"), tmp_path)
    stop, done, errors = threading.Event(), [], []

    def keep_submitting():
        client = src.test_client()
        while not stop.is_set():
            try:
                submit(client, len(done))
            except Exception as exc:  # noqa: BLE001  (reported by the test below)
                errors.append(exc)
                return
            done.append(1)

    writer = threading.Thread(target=keep_submitting)
    writer.start()
    try:
        _wait_for(lambda: len(done) >= 3 or errors)
        manifest = create(src, tmp_path / "busy.tar.gz")
        taken = len(done)
        _wait_for(lambda: len(done) >= taken + 3 or errors)
    finally:
        stop.set()
        writer.join()
    assert not errors
    in_backup = manifest["tables"]["demand"]
    assert 3 <= in_backup < len(done)  # submissions before, during and after the backup

    target = fresh_url(engine, databases, tmp_path, "bbusyrestored")
    result = src.test_cli_runner().invoke(args=[
        "backup", "restore", str(tmp_path / "busy.tar.gz"), "--database-url", target])
    assert result.exit_code == 0, result.output
    counts = table_counts(make_app(target, tmp_path / "restored"))
    assert counts == manifest["tables"]
    # Each submission wrote a demand, its one file and its first timeline event together.
    assert counts["attachment"] == counts["ticket_event"] == in_backup


def _rewrite(archive, out, change) -> None:
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    change(members)
    with tarfile.open(out, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _flip_database_byte(members) -> None:
    name = next(n for n in members if n.startswith("database."))
    data = bytearray(members[name])
    data[len(data) // 2] ^= 0xFF
    members[name] = bytes(data)


def _future_revision(members) -> None:
    manifest = json.loads(members[MANIFEST])
    members[MANIFEST] = json.dumps(manifest | {"alembic_revision": "0099_future"}).encode()


def _extra_member(members) -> None:
    members["../outside"] = b"not listed"


@pytest.mark.parametrize(("change", "message"), [
    (_flip_database_byte, "checksum mismatch for database."),
    (_future_revision, "schema revision 0099_future is unknown to this version"),
    (_extra_member, "members the manifest does not list: ../outside"),
])
def test_restore_refuses_an_altered_archive_and_writes_nothing(app, databases, tmp_path,
                                                              change, message):
    with app.app_context():
        factories.policy()
        db.session.commit()
    create(app, tmp_path / "good.tar.gz")
    _rewrite(tmp_path / "good.tar.gz", tmp_path / "bad.tar.gz", change)
    target = databases.new("baltered")
    result = app.test_cli_runner().invoke(args=[
        "backup", "restore", str(tmp_path / "bad.tar.gz"), "--database-url", target])
    assert result.exit_code == 1 and message in result.output
    assert is_empty(sa.engine.make_url(target))


def test_restore_refuses_a_database_that_is_not_empty(app, runner, tmp_path):
    with app.app_context():
        factories.policy()
        db.session.commit()
    create(app, tmp_path / "portal.tar.gz")
    with app.app_context():
        factories.policy(key="p-after-backup")
        db.session.commit()
    before = table_counts(app)
    result = runner.invoke(args=["backup", "restore", str(tmp_path / "portal.tar.gz")])
    assert result.exit_code == 1
    assert "is not empty; restore into an empty database" in result.output
    assert table_counts(app) == before and before["policy"] == 2


def test_create_takes_the_path_as_argument_or_option_but_not_two(app, runner, tmp_path):
    assert runner.invoke(args=["backup", "create", "--output", str(tmp_path / "a.tar.gz")]
                         ).exit_code == 0
    assert read_manifest(tmp_path / "a.tar.gz")["tables"]["policy"] == 0
    result = runner.invoke(args=["backup", "create", str(tmp_path / "b.tar.gz"),
                                 "--output", str(tmp_path / "c.tar.gz")])
    assert result.exit_code == 2 and "PATH or --output" in result.output
    assert not (tmp_path / "b.tar.gz").exists() and not (tmp_path / "c.tar.gz").exists()


def test_restore_refuses_an_archive_that_is_no_backup(runner, tmp_path):
    (tmp_path / "notes.tar.gz").write_bytes(b"not a tar file")
    result = runner.invoke(args=["backup", "restore", str(tmp_path / "notes.tar.gz"),
                                 "--database-url", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 1 and "cannot read" in result.output
    assert not (tmp_path / "x.db").exists()


def test_passwords_stay_off_the_command_line():
    """pg_dump and pg_restore get a connection string without the password (PGPASSWORD
    carries it), so it never shows in the process list."""
    url = sa.engine.make_url("postgresql+psycopg://portal:s3cr%27et@db.internal:5433/portal"
                             "?sslmode=require")
    assert _conninfo(url) == ("host='db.internal' port='5433' user='portal' dbname='portal' "
                              "sslmode='require'")
    assert url.password == "s3cr'et" and "s3cr" not in _conninfo(url)
