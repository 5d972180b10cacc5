"""What every search engine must do, tested the same way on each (see conftest)."""

from datetime import date

import pytest

from search import Document, Query
from search.glossary import Glossary, Term

DOCS = [
    Document("policy", 1, "大同市标准地出让管理办法",
             "推行标准地出让，拿地即开工。工业用地按亩均税收考核。",
             {"level": "municipal", "status": "in_force", "topic": ["land", "standard-land"],
              "year": "2026"}, date(2026, 3, 1)),
    Document("policy", 2, "人才引进补贴实施细则",
             "对引进的高层次人才给予安家补贴，并提供土地和住房保障。",
             {"level": "municipal", "status": "in_force", "topic": ["talent"], "year": "2025"},
             date(2025, 6, 1)),
    Document("policy", 3, "山西省金融支持实体经济若干措施",
             "鼓励金融机构加大信贷投放。标准 与 准地 分开出现。",
             {"level": "provincial", "status": "expired", "topic": ["finance"], "year": "2024"},
             date(2024, 1, 15)),
    Document("policy", 4, "Datong Economic Zone guide for foreign investors",
             "Foreign-invested enterprises in the AI芯片 cluster enjoy land-use support. "
             "研发 AND 制造 NEAR 园区。🚀 新项目 <script>alert(1)</script>",
             {"level": "zone", "status": "in_force", "topic": ["foreign-investment", "land"],
              "year": "2026"}, date(2026, 1, 10)),
    Document("policy", 5, "招商引资奖励办法（征求意见稿）",
             "对新引进项目按实际到位资金给予奖励；土地出让金按规定执行。",
             {"level": "county", "status": "draft", "topic": ["investment-reward", "land"],
              "year": "2026"}, date(2026, 5, 20)),
    Document("site", 1, "标准厂房A栋", "土地平整，七通一平", {"type": "factory"}),
]


@pytest.fixture
def loaded(engine):
    engine.rebuild(DOCS)
    return engine


def ids(engine, text="", **kw):
    return engine.search(Query("policy", text, **kw)).ids


def test_chinese_substring_recall(loaded):
    assert set(ids(loaded, "土地")) == {2, 5}
    assert set(ids(loaded, "用地")) == {1}
    assert set(ids(loaded, "地出")) == {1, 5}  # across word boundaries: 土地出让, 标准地出让


def test_a_term_matches_only_where_it_occurs_whole(loaded):
    # doc 3 holds 标准 and 准地 apart, never 标准地
    assert set(ids(loaded, "标准地")) == {1}


def test_one_character_query(loaded):
    assert set(ids(loaded, "才")) == {2}


def test_all_terms_must_match(loaded):
    assert set(ids(loaded, "土地 补贴")) == {2}
    assert ids(loaded, "土地 金融") == []


def test_title_match_ranks_first(loaded):
    # 人才 is in doc 2's title and body; 招商 only in doc 5's title; 土地 only in bodies
    assert ids(loaded, "人才")[0] == 2
    assert ids(loaded, "标准地")[0] == 1


def test_other_kinds_stay_out(loaded):
    assert set(loaded.search(Query("site", "土地")).ids) == {1}
    assert 1 not in ids(loaded, "厂房")


def test_filters(loaded):
    assert set(ids(loaded, "土地", filters={"level": ["county"]})) == {5}
    assert set(ids(loaded, filters={"topic": ["talent", "finance"]})) == {2, 3}
    assert set(ids(loaded, filters={"topic": ["land"], "status": ["in_force"]})) == {1, 4}
    assert ids(loaded, filters={"level": ["national"]}) == []


def test_facet_counts_leave_out_their_own_filter(loaded):
    hits = loaded.search(Query("policy", "", {"level": ["municipal"]},
                               facets=("level", "topic", "year")))
    assert hits.total == 2
    assert hits.facets["level"] == {"municipal": 2, "provincial": 1, "zone": 1, "county": 1}
    assert hits.facets["topic"] == {"land": 1, "standard-land": 1, "talent": 1}
    assert hits.facets["year"] == {"2026": 1, "2025": 1}


def test_facets_follow_the_text_query(loaded):
    hits = loaded.search(Query("policy", "土地", facets=("status",)))
    assert hits.facets["status"] == {"in_force": 1, "draft": 1}


def test_highlight_in_the_original_text(loaded):
    hits = loaded.search(Query("policy", "土地"))
    assert "<mark>土地</mark>" in hits.snippets[2]
    assert "高层次人才" in hits.snippets[2]


def test_highlight_keeps_case_and_escapes_markup(loaded):
    hits = loaded.search(Query("policy", "ai芯片"))
    assert hits.ids == [4]
    assert "<mark>AI芯片</mark>" in hits.snippets[4]
    hits = loaded.search(Query("policy", "新项目"))
    assert "<script>" not in hits.snippets[4]


def test_latin_words_and_mixed_text(loaded):
    assert ids(loaded, "datong") == [4]
    assert ids(loaded, "Foreign investors") == [4]
    assert ids(loaded, "AI芯片") == [4]


def test_emoji(loaded):
    hits = loaded.search(Query("policy", "新项目"))
    assert hits.ids == [4]
    assert "🚀" in hits.snippets[4]
    loaded.search(Query("policy", "🚀"))  # answers, whatever it finds
    loaded.search(Query("policy", "👨‍👩‍👧 🇨🇳"))


@pytest.mark.parametrize("text", ['"', '""', "*", "土地*", "(土地", "土地)", "a:b", "level:zone",
                                  "土地 AND", "OR", "NOT 土地", "土地 NEAR/3 人才", "\\", "+-!^~",
                                  "[1 TO 5]", "{}", "/.*/", "土地" * 5000, "?", "&&", "||"])
def test_query_syntax_is_taken_literally(loaded, text):
    loaded.search(Query("policy", text, facets=("level",)))


def test_operators_are_words(loaded):
    # "OR" is not an operator: only documents that contain "or" can match.
    assert set(ids(loaded, "土地 OR 人才")) <= {4}
    assert ids(loaded, "研发 AND 制造") == [4]
    assert ids(loaded, "NEAR 园区") == [4]


def test_pagination(loaded):
    first = loaded.search(Query("policy", "", limit=2, offset=0, sort="date"))
    second = loaded.search(Query("policy", "", limit=2, offset=2, sort="date"))
    third = loaded.search(Query("policy", "", limit=2, offset=4, sort="date"))
    assert first.total == second.total == third.total == 5
    pages = first.ids + second.ids + third.ids
    assert sorted(pages) == [1, 2, 3, 4, 5]
    assert loaded.search(Query("policy", "", limit=2, offset=10)).ids == []


def test_sort_by_date(loaded):
    assert ids(loaded, "", sort="date") == [5, 1, 4, 2, 3]
    assert ids(loaded, "土地", sort="date") == [5, 2]


def test_updates_replace(loaded):
    loaded.index([Document("policy", 2, "人才公寓管理办法", "为人才提供公寓。",
                           {"level": "county", "topic": ["talent"]}, date(2025, 6, 1))])
    assert ids(loaded, "补贴") == []
    assert ids(loaded, "公寓") == [2]
    assert set(ids(loaded, filters={"level": ["county"]})) == {2, 5}
    assert loaded.search(Query("policy", "")).total == 5


def test_deletes_disappear(loaded):
    loaded.delete("policy", [2, 5])
    assert ids(loaded, "土地") == []
    assert loaded.search(Query("policy", "", facets=("level",))).facets["level"] == {
        "municipal": 1, "provincial": 1, "zone": 1}
    assert loaded.search(Query("site", "土地")).ids == [1]  # same id, other kind: kept


def test_rebuild_replaces_everything(loaded):
    loaded.rebuild([Document("policy", 9, "唯一的政策", "内容", {}, date(2026, 1, 1))])
    assert ids(loaded) == [9]
    assert loaded.search(Query("site", "")).ids == []


def test_health(engine):
    assert engine.health()["state"] in ("ok", "empty")
    engine.rebuild(DOCS)
    health = engine.health()
    assert health["state"] == "ok" and health["documents"] == len(DOCS)


def test_an_index_from_an_older_schema_is_replaced(tmp_path):
    """After an upgrade the old index reads as empty (pages fall back) until rebuilt."""
    import tantivy

    from search.embedded import EmbeddedEngine

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("old", stored=True)
    old = tantivy.Index(builder.build(), path=str(tmp_path))
    writer = old.writer(heap_size=15_000_000, num_threads=1)
    writer.add_document(tantivy.Document(old="x"))
    writer.commit()
    writer.wait_merging_threads()
    del writer, old
    engine = EmbeddedEngine(str(tmp_path))
    assert engine.health()["state"] == "empty"
    engine.rebuild(DOCS)
    assert engine.health()["documents"] == len(DOCS)
    assert sorted(p.name for p in tmp_path.iterdir()) == [engine.directory.name]


# --- cross-lingual search: translated titles and glossary groups -----------------------

GLOSSARY = Glossary([
    Term("标准地", {"en": ("standard land",), "ja": ("標準地",), "ko": ("표준지",),
                   "ru": ("стандартный участок",)}, {"zh": "…", "en": "…"}, "land", True),
    Term("土地", {"en": ("land",), "ja": ("土地",), "ko": ("토지",), "ru": ("земля",)},
         {"zh": "…", "en": "…"}, "land", True),
    Term("人才", {"en": ("talent",), "ja": ("人材",), "ko": ("인재",), "ru": ("кадры",)},
         {"zh": "…", "en": "…"}, "talent", True),
    Term("补贴", {"en": ("subsidy", "grant")}, {"zh": "…", "en": "…"}, "benefits",
         zh_also=("补助",)),
])
TRANSLATED = Document("policy", 6, "外资企业服务指南", "为外商投资企业提供全流程服务。",
                      {"level": "municipal", "status": "in_force"}, date(2026, 2, 1),
                      translations="Service guide for foreign-invested enterprises\n"
                                   "外資企業サービスガイド")


def grouped(engine, text, **kw):
    return engine.search(Query("policy", text, groups=GLOSSARY.expand(text).groups, **kw))


def test_a_group_matches_any_of_its_alternatives(loaded):
    hits = loaded.search(Query("policy", "land", groups=[["land", "土地", "用地"]]))
    assert set(hits.ids) == {1, 2, 4, 5}  # 用地 (1), 土地 (2, 5), land-use (4)


def test_every_group_must_match(loaded):
    groups = [["land", "土地"], ["talent", "人才"]]
    assert loaded.search(Query("policy", "land talent", groups=groups)).ids == [2]


def test_translated_titles_are_searched(loaded):
    loaded.index([TRANSLATED])
    assert ids(loaded, "service guide") == [6]
    assert ids(loaded, "サービスガイド") == [6]
    assert 6 not in ids(loaded, "standard")


def test_english_japanese_korean_and_russian_find_chinese_terms(loaded):
    for text in ("standard land", "Standard Land", "標準地", "표준지", "표준지를",
                 "стандартный участок", "стандартного участка"):
        assert grouped(loaded, text).ids == [1], text  # 标准地, never 标准 … 准地 apart (3)
    for text in ("talent", "talents", "人材", "인재", "кадры", "кадров"):
        assert grouped(loaded, text).ids == [2], text
    assert set(grouped(loaded, "land").ids) == {2, 4, 5}
    assert set(grouped(loaded, "земли").ids) == {2, 5}
    assert grouped(loaded, "land talent").ids == [2]


def test_snippets_mark_the_chinese_term_found(loaded):
    hits = grouped(loaded, "talent")
    assert "<mark>人才</mark>" in hits.snippets[2]


def test_facets_follow_a_grouped_query(loaded):
    hits = grouped(loaded, "land", facets=("status",))
    assert hits.facets["status"] == {"in_force": 2, "draft": 1}
