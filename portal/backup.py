"""Backups: one archive holding the database, the instance secret key and a manifest.

The database is the whole of the portal's state: ticket attachments are stored in it, policy
attachments are links, and the search index is derived (``flask search reindex`` rebuilds it).
The one file on disk a restore needs is ``instance/secret_key`` when the portal made its own
key: access codes are stored as hashes keyed by it, and links in sent mails are signed with it.

A backup is consistent while the portal serves. On PostgreSQL the row counts of the manifest
are taken in a repeatable-read transaction whose snapshot ``pg_dump --snapshot`` then dumps,
so both see the same committed state; on SQLite the online backup API copies the database in
one step and the counts are read from that copy.

A restore goes into an empty database only (``force`` replaces the tables of one that is not),
checks every member's SHA-256 and the schema revision before it writes anything, and then
compares every table's row count with the manifest and every attachment with its SHA-256.
"""

import hashlib
import hmac
import io
import json
import os
import shutil
import sqlite3
import subprocess  # noqa: S404  (argument lists, no shell)
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from portal.config import ROOT

FORMAT = 1
MANIFEST = "manifest.json"
KEY_MEMBER = "instance/secret_key"
DATABASE_MEMBER = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
MIGRATIONS = ROOT / "portal" / "migrations"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup that cannot be made, or an archive that cannot or must not be restored."""


@dataclass
class Restored:
    manifest: dict
    notes: list[str] = field(default_factory=list)
    current: bool = True  # at this code's schema revision (else: flask db upgrade first)


# --- making a backup --------------------------------------------------------------------------


def create(output: Path, *, database_url: str, secret_key: str, instance_path: str,
           version: str) -> dict:
    """Write the archive to ``output`` (mode 0600, whole or not at all) and return its
    manifest."""
    url = make_url(database_url)
    dialect = _dialect(url)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Staged beside the archive: a large dump need not fit in /tmp.
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as tmp:
        dump = Path(tmp) / DATABASE_MEMBER[dialect]
        if dialect == "postgresql":
            facts = _dump_postgresql(url, dump)
        else:
            facts = _dump_sqlite(url, dump)
        members = {DATABASE_MEMBER[dialect]: dump}
        key_file = Path(instance_path) / "secret_key"
        key_on_disk = key_file.is_file() and key_file.read_text().strip() == secret_key
        if key_on_disk:
            members[KEY_MEMBER] = key_file
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "portal_version": version,
            "alembic_revision": facts["revision"],
            "dialect": dialect,
            "database": DATABASE_MEMBER[dialect],
            "tables": facts["tables"],
            "attachments": facts["attachments"],
            # Whether the key is in the archive, and which key the data needs either way.
            "secret_key": {"included": key_on_disk, "fingerprint": fingerprint(secret_key)},
            "members": {name: {"sha256": _sha256(path), "size": path.stat().st_size}
                        for name, path in members.items()},
        }
        _write_archive(output, manifest, members)
    return manifest


def _dump_postgresql(url: URL, dump: Path) -> dict:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
                facts = _facts(conn)
                # The transaction stays open while pg_dump reads its snapshot.
                _run([_binary("pg_dump"), "--format=custom", "--compress=0",
                      f"--snapshot={snapshot}", f"--file={dump}", "--no-password",
                      f"--dbname={_conninfo(url)}"], url, "pg_dump")
    except sa.exc.OperationalError as exc:
        raise BackupError(f"cannot read the database: {exc.orig}") from exc
    finally:
        engine.dispose()
    return facts


def _dump_sqlite(url: URL, dump: Path) -> dict:
    source = _sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    src = sqlite3.connect(source, timeout=15)
    dst = sqlite3.connect(dump)
    try:
        src.backup(dst)  # one step: a consistent copy, writers in WAL mode go on meanwhile
    finally:
        dst.close()
        src.close()
    return _read_facts(URL.create("sqlite", database=str(dump)))


def _facts(conn) -> dict:
    """Row counts of every table, the schema revision and the attachments' total."""
    names = sorted(sa.inspect(conn).get_table_names())
    tables = {name: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
              for name in names}
    revision = None
    if "alembic_version" in tables:
        revision = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    attachments = {"count": 0, "bytes": 0}
    if "attachment" in tables:
        count, size = conn.execute(sa.text(
            "SELECT count(*), coalesce(sum(size_bytes), 0) FROM attachment")).one()
        attachments = {"count": int(count), "bytes": int(size)}
    return {"tables": tables, "revision": revision, "attachments": attachments}


def _read_facts(url: URL) -> dict:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return _facts(conn)
    finally:
        engine.dispose()


def _write_archive(output: Path, manifest: dict, members: dict[str, Path]) -> None:
    part = output.with_name(output.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
            body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(body), 0o600, int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(body))
            for name, path in members.items():
                info = tar.gettarinfo(str(path), arcname=name)
                info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
                with path.open("rb") as src:
                    tar.addfile(info, src)
        os.replace(part, output)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


# --- restoring --------------------------------------------------------------------------------


def restore(archive: Path, *, database_url: str, instance_path: str | None, secret_key: str,
            force: bool = False) -> Restored:
    """Restore ``archive`` into the database at ``database_url`` and verify it.

    Every check that can refuse (archive intact, revision known to this code, same kind of
    database, target empty) runs before anything is written. ``secret_key`` is the key the
    running portal uses: a different one is reported, since access codes would not verify.
    The backup's own key file goes to ``instance_path`` (None: nowhere).
    """
    target = make_url(database_url)
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as tmp:
        manifest, files = _unpack(Path(archive), Path(tmp))
        current = _check_revision(manifest["alembic_revision"])
        dialect = _dialect(target)
        if dialect != manifest["dialect"]:
            raise BackupError(f"the archive holds a {manifest['dialect']} database; "
                              f"the target is {dialect}")
        if not force and not is_empty(target):
            raise BackupError(f"the target database {target.render_as_string()} is not "
                              "empty; restore into an empty database (or pass --force to "
                              "replace its tables)")
        dump = files[manifest["database"]]
        if dialect == "postgresql":
            _restore_postgresql(dump, target, clean=force)
        else:
            _restore_sqlite(dump, target)
        problems = verify(target, manifest)
        if problems:
            raise BackupError("restored, but the database does not match the manifest: "
                              + "; ".join(problems))
        notes = _place_key(manifest, files.get(KEY_MEMBER),
                           Path(instance_path) if instance_path else None, secret_key)
    if not current:
        notes.append(f"the restored database is at revision {manifest['alembic_revision']}, "
                     "older than this code's: run `flask db upgrade`")
    return Restored(manifest, notes, current)


def _unpack(archive: Path, into: Path) -> tuple[dict, dict[str, Path]]:
    """The manifest and the members it lists, each checked against its SHA-256. Only names
    the manifest lists are read, each to a path chosen here (no path from the archive)."""
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            manifest = json.loads(_member(tar, MANIFEST).read())
            if manifest.get("format") != FORMAT:
                raise BackupError(f"unknown backup format {manifest.get('format')!r}")
            listed = manifest["members"]
            extra = sorted(set(tar.getnames()) - set(listed) - {MANIFEST})
            if extra:
                raise BackupError("the archive holds members the manifest does not list: "
                                  + ", ".join(extra))
            files = {}
            for n, (name, expected) in enumerate(sorted(listed.items())):
                path = into / f"member-{n}"
                digest = hashlib.sha256()
                with _member(tar, name) as src, path.open("wb") as dst:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        dst.write(chunk)
                if digest.hexdigest() != expected["sha256"]:
                    raise BackupError(f"checksum mismatch for {name}: the archive is damaged "
                                      "or was altered; nothing was restored")
                files[name] = path
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"cannot read {archive}: {exc}") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"{archive} is not a portal backup (manifest: {exc!r})") from exc
    if manifest.get("database") not in files:
        raise BackupError(f"{archive} holds no database")
    return manifest, files


def _member(tar: tarfile.TarFile, name: str):
    try:
        info = tar.getmember(name)
    except KeyError:
        raise BackupError(f"the archive has no {name}") from None
    if not info.isfile():
        raise BackupError(f"{name} in the archive is not a regular file")
    return tar.extractfile(info)


def _check_revision(revision: str | None) -> bool:
    """Whether ``revision`` is this code's head; refused when this code does not know it."""
    script = ScriptDirectory(str(MIGRATIONS))
    if revision is None:
        raise BackupError("the backup has no schema revision (alembic_version)")
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(f"the backup's schema revision {revision} is unknown to this "
                          "version of the portal (made by a newer one?); restore it with the "
                          "portal release that made it")
    return revision in script.get_heads()


def is_empty(url: URL) -> bool:
    if _dialect(url) == "sqlite":
        path = _sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return True
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return not sa.inspect(conn).get_table_names()
        finally:
            engine.dispose()
    except sa.exc.OperationalError as exc:
        raise BackupError(f"cannot open the target database: {exc.orig}") from exc


def _restore_postgresql(dump: Path, url: URL, *, clean: bool) -> None:
    """One transaction: a failure leaves the target as it was. Objects belong to the user
    of the URL (the portal's own role), whatever role owned them where the dump was made."""
    _run([_binary("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", "--no-password",
          *(["--clean", "--if-exists"] if clean else []),
          f"--dbname={_conninfo(url)}", str(dump)], url, "pg_restore")


def _restore_sqlite(dump: Path, url: URL) -> None:
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(dump)
    dst = sqlite3.connect(path, timeout=15)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def verify(url: URL, manifest: dict) -> list[str]:
    """What differs from the manifest: row counts, and attachments whose bytes do not hash
    to their recorded SHA-256."""
    engine = sa.create_engine(url, poolclass=NullPool)
    problems = []
    try:
        with engine.connect() as conn:
            found = _facts(conn)["tables"]
            for table, count in sorted(manifest["tables"].items()):
                if found.get(table) != count:
                    problems.append(f"{table}: {found.get(table)} rows, manifest {count}")
            if "attachment" in found:
                rows = conn.execution_options(yield_per=50).execute(
                    sa.text("SELECT id, sha256, data FROM attachment ORDER BY id"))
                bad = [row.id for row in rows
                       if hashlib.sha256(bytes(row.data)).hexdigest() != row.sha256]
                if bad:
                    problems.append(f"attachments whose bytes do not match their SHA-256: {bad}")
    finally:
        engine.dispose()
    return problems


def _place_key(manifest: dict, key_file: Path | None, instance: Path | None,
               secret_key: str) -> list[str]:
    """Put the backup's key in ``instance`` (None: leave keys alone).

    A key the instance holds already is kept as ``secret_key.before-restore``: on a new
    machine the portal made one at start, and only the backup's matches the restored data.
    """
    wanted = manifest["secret_key"]["fingerprint"]
    if key_file is None:
        if fingerprint(secret_key) == wanted:
            return []
        return ["the backup was made under a PORTAL_SECRET_KEY other than this portal's "
                f"(fingerprint {wanted}): set it back, or submitters' access codes and links "
                "in mails already sent will not verify"]
    if instance is None:
        if fingerprint(secret_key) == wanted:
            return []
        return [f"the backup's secret key was not written (pass --instance DIR): an app on "
                f"the restored database needs it, from the archive's {KEY_MEMBER}"]
    target = instance / "secret_key"
    notes = []
    if target.exists():
        if fingerprint(target.read_text().strip()) == wanted:
            return []
        kept = target.with_name("secret_key.before-restore")
        os.replace(target, kept)
        notes.append(f"the instance's previous secret key is kept in {kept}")
    instance.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key_file.read_text().strip())
    return notes + [f"wrote the backup's secret key to {target}; restart the portal to use it "
                    "(PORTAL_SECRET_KEY, when set, comes first)"]


# --- helpers ----------------------------------------------------------------------------------


def fingerprint(secret_key: str) -> str:
    """Names a key without revealing it."""
    return hmac.new(secret_key.encode(), b"portal backup key fingerprint v1",
                    hashlib.sha256).hexdigest()[:16]


def _dialect(url: URL) -> str:
    name = url.get_backend_name()
    if name not in DATABASE_MEMBER:
        raise BackupError(f"backups support PostgreSQL and SQLite, not {name}")
    return name


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("SQLite backups need a database file")
    return Path(url.database)


def _conninfo(url: URL) -> str:
    """A libpq connection string without the password (that goes in PGPASSWORD)."""
    params = {"host": url.host, "port": url.port, "user": url.username,
              "dbname": url.database}
    params.update({key: value if isinstance(value, str) else value[-1]
                   for key, value in url.query.items()})
    return " ".join(f"{key}={_quoted(str(value))}" for key, value in params.items()
                    if value not in (None, ""))


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found on PATH (PostgreSQL client tools)")
    return path


def _run(cmd: list[str], url: URL, what: str) -> None:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
