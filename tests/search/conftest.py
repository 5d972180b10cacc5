"""The engines the conformance suite runs against: the embedded engine always,
Elasticsearch when PORTAL_TEST_ELASTICSEARCH_URL names a server."""

import os
import uuid

import pytest

ES_URL = os.environ.get("PORTAL_TEST_ELASTICSEARCH_URL", "")


@pytest.fixture(params=["embedded", "elasticsearch"])
def engine(request, tmp_path):
    if request.param == "embedded":
        from search.embedded import EmbeddedEngine

        yield EmbeddedEngine(str(tmp_path / "index"))
        return
    if not ES_URL:
        pytest.skip("set PORTAL_TEST_ELASTICSEARCH_URL to run the suite on Elasticsearch")
    from search.elastic import ElasticEngine

    instance = ElasticEngine(ES_URL, prefix=f"portal-test-{uuid.uuid4().hex[:8]}")
    yield instance
    instance.drop_all()
