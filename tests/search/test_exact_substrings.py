"""Every engine finds exactly the documents holding a term, checked against Python's ``in``
over Chinese texts made from a small alphabet, where grams recur in every combination (Latin
text is left out: Elasticsearch matches Latin words whole, by design)."""

import random
from datetime import date

import pytest

from search import Document, Query, SearchUnavailable, make_engine
from search.postgres import PostgresEngine, _keys

ALPHABET = "土地标准出让"


def _text(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(low, high)))


def test_terms_match_exactly_where_the_text_holds_them(engine):
    rng = random.Random(14)
    docs = [Document("policy", i, _text(rng, 2, 12), _text(rng, 0, 80), {},
                     date(2026, 1, 1 + i % 28)) for i in range(1, 201)]
    engine.rebuild(docs)
    terms = {_text(rng, 1, 4) for _ in range(80)}
    for term in sorted(terms):
        expected = {d.id for d in docs if term in d.title or term in d.body}
        hits = engine.search(Query("policy", f'"{term}"', limit=500))
        assert set(hits.ids) == expected, term
        assert hits.total == len(expected), term


def test_make_engine_chooses_postgres_on_the_portal_database():
    chosen = make_engine({"SEARCH_ENGINE": "postgres", "SEARCH_URL": "",
                          "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@127.0.0.1:1/x"})
    assert isinstance(chosen, PostgresEngine)
    assert chosen.engine.url.database == "x"
    chosen.dispose()
    with pytest.raises(ValueError, match="PORTAL_SEARCH='solr'"):
        make_engine({"SEARCH_ENGINE": "solr", "SEARCH_URL": ""})


def test_postgres_needs_postgresql(tmp_path):
    engine = PostgresEngine(f"sqlite:///{tmp_path / 'portal.db'}")
    try:
        assert engine.health()["state"] == "unavailable"
        with pytest.raises(SearchUnavailable, match="needs a PostgreSQL database"):
            engine.search(Query("policy", "土地"))
        with pytest.raises(SearchUnavailable):
            engine.rebuild([])
    finally:
        engine.dispose()


def test_a_term_asks_the_index_for_its_kind_and_grams():
    assert _keys("policy", "土") == ["\x01policy", "土"]
    assert _keys("site", "土地土地") == ["\x01site", "土地", "地土"]


def test_rebuild_leaves_the_table_as_the_migration_made_it(engine):
    """rebuild swaps in a new table: names, key and gram index must be the migration's."""
    if not isinstance(engine, PostgresEngine):
        pytest.skip("the postgres engine's table")
    import sqlalchemy as sa

    engine.rebuild([Document("policy", 1, "标准地", "拿地即开工", {"level": "county"})])
    schema = engine.table.schema
    inspector = sa.inspect(engine.engine)
    key = inspector.get_pk_constraint("search_entry", schema=schema)
    assert (key["name"], key["constrained_columns"]) == ("pk_search_entry", ["kind", "id"])
    [index] = inspector.get_indexes("search_entry", schema=schema)
    assert index["name"] == "ix_search_entry_grams"
    assert index["dialect_options"]["postgresql_using"] == "gin"
    assert not inspector.has_table("search_entry_next", schema=schema)
    assert engine.search(Query("policy", "地即", facets=("level",))).facets == {
        "level": {"county": 1}}


def test_rebuild_gives_up_rather_than_stall_searches(engine):
    """A reader holding the table (pg_dump does for the whole dump) makes rebuild give up
    after its lock timeout; the old rows keep answering."""
    if not isinstance(engine, PostgresEngine):
        pytest.skip("the postgres engine's table")
    import sqlalchemy as sa

    engine.rebuild([Document("policy", 1, "标准地", "拿地即开工", {})])
    with engine.engine.connect() as reader:
        reader.execute(sa.select(sa.func.count()).select_from(engine.table))  # holds a lock
        with pytest.raises(SearchUnavailable, match="lock timeout"):
            engine.rebuild([Document("policy", 2, "人才", "补贴", {})])
        reader.rollback()
    assert engine.search(Query("policy", "标准")).ids == [1]
