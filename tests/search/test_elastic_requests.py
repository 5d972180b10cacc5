"""The Elasticsearch engine's request bodies, built without a server (the conformance suite
runs them against one when PORTAL_TEST_ELASTICSEARCH_URL is set)."""

from search.base import Document, Query
from search.elastic import (
    BIGRAM_ANALYZER,
    UNIGRAM_ANALYZER,
    ElasticEngine,
    _mappings,
    _search_request,
    _source,
)


def test_a_glossary_group_is_one_should_clause_per_alternative():
    query = Query("policy", "land talent", groups=[["land", "土地", "用地"], ["talent", "人才"]])
    request = _search_request(query, query.term_groups(), None)
    must = request["query"]["bool"]["must"]
    assert len(must) == 2
    first = must[0]["bool"]
    assert first["minimum_should_match"] == 1
    clauses = [c["multi_match"] for c in first["should"]]
    assert [c["query"] for c in clauses] == ["land", "土地", "用地"]
    assert clauses[0]["analyzer"] == UNIGRAM_ANALYZER  # Latin: unigram phrase
    assert "analyzer" not in clauses[1]  # Han: the field's bigram search analyzer
    assert all("translations^2" in c["fields"] for c in clauses)


def test_a_single_term_stays_a_plain_phrase_clause():
    query = Query("policy", "土地")
    request = _search_request(query, query.term_groups(), None)
    assert request["query"]["bool"]["must"] == [{"multi_match": {
        "query": "土地", "type": "phrase", "fields": ["title^3", "translations^2", "body"],
        "tie_breaker": 1.0}}]


def test_translations_are_mapped_and_sent():
    mapping = _mappings(None)["properties"]["translations"]
    assert mapping["search_analyzer"] == BIGRAM_ANALYZER
    doc = Document("policy", 1, "标题", "正文", translations="Title\nタイトル")
    assert _source(doc)["translations"] == "Title\nタイトル"


def test_aliases_carry_the_mapping_version():
    engine = ElasticEngine("http://127.0.0.1:9", prefix="portal")
    assert engine._alias("policy") == "portal-policy-v2"
