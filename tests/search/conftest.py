"""The engines the conformance suite runs against: the embedded engine always,
Elasticsearch when PORTAL_TEST_ELASTICSEARCH_URL names a server, PostgreSQL when
PORTAL_TEST_DATABASE_URL names a PostgreSQL database."""

import os
import uuid

import pytest
import sqlalchemy as sa

ES_URL = os.environ.get("PORTAL_TEST_ELASTICSEARCH_URL", "")
PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")


@pytest.fixture(params=["embedded", "elasticsearch", "postgres"])
def engine(request, tmp_path):
    if request.param == "embedded":
        from search.embedded import EmbeddedEngine

        yield EmbeddedEngine(str(tmp_path / "index"))
        return
    if request.param == "postgres":
        yield from _postgres_engine()
        return
    if not ES_URL:
        pytest.skip("set PORTAL_TEST_ELASTICSEARCH_URL to run the suite on Elasticsearch")
    from search.elastic import ElasticEngine

    instance = ElasticEngine(ES_URL, prefix=f"portal-test-{uuid.uuid4().hex[:8]}")
    yield instance
    instance.drop_all()


def _postgres_engine():
    """The engine on a schema of its own, so that tests running in parallel never share rows."""
    if not PG_URL.startswith("postgresql"):
        pytest.skip("set PORTAL_TEST_DATABASE_URL to a PostgreSQL database to run the suite "
                    "on the postgres engine")
    from search.postgres import PostgresEngine

    schema = f"search_test_{uuid.uuid4().hex[:8]}"
    connection = sa.create_engine(PG_URL)
    with connection.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    instance = PostgresEngine(connection, schema=schema)
    try:
        instance.create_table()
        yield instance
    finally:
        with connection.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        connection.dispose()
