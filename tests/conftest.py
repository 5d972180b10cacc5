"""Fixtures: apps on a real database (SQLite by default, PostgreSQL when
PORTAL_TEST_DATABASE_URL names a server database), migrated with Alembic.

- ``app`` / ``client`` / ``runner``: an empty, migrated database, wiped after each test.
- ``site_app`` / ``site_client``: one database per session with the Datong pack loaded and
  indexed, for tests that only read.
"""

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
_APPS = []  # every app made here, so their connection pools are closed at the end


class Databases:
    """Creates the databases a session needs and drops them at the end."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.created: list[str] = []

    def new(self, name: str) -> str:
        if not SERVER_URL:
            return f"sqlite:///{self.tmp / (name + '.db')}"
        base = sa.engine.make_url(SERVER_URL)
        dbname = f"{base.database}_{name}_{uuid.uuid4().hex[:8]}"
        self._admin(f'CREATE DATABASE "{dbname}"')
        self.created.append(dbname)
        return base.set(database=dbname).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        engine = sa.create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
        engine.dispose()

    def drop_all(self) -> None:
        for app in _APPS:
            with app.app_context():
                db.engine.dispose()
        for name in self.created:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    dbs = Databases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.drop_all()


def make_app(url: str, tmp: Path, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "SEARCH_URL": "",
        "SEARCH_INDEX_DIR": str(tmp / "search"),
        "LIMITS_ON": False,
        "WTF_CSRF_ENABLED": False,
        "SEARCH_CATCH_UP": 0,  # tests drain explicitly; test_search_outbox turns it on
        "CONTENT_TICK": 0,  # tests apply scheduled publishing explicitly
        "SERVER_NAME": "portal.test",
    }
    config.update(overrides)
    app = create_app(config)
    _APPS.append(app)
    with app.app_context():
        upgrade(directory=str(ROOT / "portal" / "migrations"))
    return app


def wipe(engine) -> None:
    """Empty every table. On PostgreSQL the audit trail's trigger refuses DELETE; the test
    database's superuser switches triggers off for this one transaction (replica mode), an
    administrator's path the application does not have. DELETE, unlike TRUNCATE, costs
    nothing on the few rows a test writes."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _forget_pages():
    """Pages kept under one test's configuration (map tiles, a clock) are not served to
    the next: configuration is not part of a page-cache key, since it does not change while
    an app runs, except in tests."""
    yield
    from portal import pagecache

    for app in _APPS:
        pagecache.clear(app)


@pytest.fixture(scope="session")
def _scratch_app(databases, tmp_path_factory):
    return make_app(databases.new("scratch"), tmp_path_factory.mktemp("scratch"))


@pytest.fixture
def app(_scratch_app, tmp_path):
    """An empty migrated database and search index; what a test writes is deleted after it.

    No app context stays pushed: each test-client request gets its own, as in production
    (a shared one would carry ``g`` and the locale from one request into the next).
    """
    _scratch_app.config["SEARCH_INDEX_DIR"] = str(tmp_path / "search")
    _scratch_app.extensions.pop("search", None)
    yield _scratch_app
    with _scratch_app.app_context():
        db.session.remove()
        wipe(db.engine)
    _scratch_app.extensions.pop("search", None)


@pytest.fixture
def ctx(app):
    """An app context on the empty database, for tests that use ``db.session`` directly."""
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def site_app(databases, tmp_path_factory):
    """The Datong pack, loaded and indexed once per session. Tests must not write to it."""
    from portal.indexing import reindex
    from seed.loader import load_pack

    app = make_app(databases.new("site"), tmp_path_factory.mktemp("site"))
    with app.app_context():
        load_pack("datong")
        reindex()
        db.session.remove()
    return app


@pytest.fixture
def site_client(site_app):
    return site_app.test_client()


@pytest.fixture
def site_db(site_app):
    """``with site_db() as session:`` reads the Datong database between requests."""

    @contextmanager
    def session():
        with site_app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    return session


# Tests whose outcome does not depend on the database engine: markup and accessibility in
# Chromium, catalogs, the search engines' own suite, pure text, chart and geometry functions.
# CI runs the SQLite and the PostgreSQL suites side by side (.ci/run, PORTAL_TEST_SUITE names
# the suite) and gives each of these to the suite named here only (the SQLite suite runs under
# coverage, which makes it the slower one); run on their own, both suites run everything.
DB_INDEPENDENT = {
    "test_browser_a11y.py": "postgresql",
    "test_browser_csp.py": "postgresql",
    "test_browser_cases.py": "postgresql",
    "test_browser_content.py": "postgresql",
    "test_browser_opportunities.py": "postgresql",
    "test_elder_mode.py": "postgresql",
    "test_browser_geometry.py": "postgresql",
    "test_browser_chain_map.py": "postgresql",
    "test_browser_charts.py": "postgresql",
    "test_charts.py": "postgresql",
    "test_catalogs.py": "postgresql",
    "test_catalog_ru_plurals.py": "postgresql",
    "test_site_geometry_upload.py": "postgresql",
    "test_textclean.py": "postgresql",
    "test_offline.py": "postgresql",
    "test_deploy.py": "postgresql",
    "tests/search/": "postgresql",
}


def pytest_collection_modifyitems(config, items):
    suite = os.environ.get("PORTAL_TEST_SUITE", "")
    if not suite:
        return
    skip = pytest.mark.skip(reason="does not depend on the database; the other CI suite runs it")
    for item in items:
        path = item.path.as_posix()
        for name, home in DB_INDEPENDENT.items():
            if home != suite and (path.endswith(name) or f"/{name}" in path):
                item.add_marker(skip)
