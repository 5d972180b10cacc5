"""Query expansion through the glossary, without an engine: which words become which
Chinese terms, and what is left alone."""

import pytest

from search.glossary import MAX_ALTERNATIVES, Glossary, Term, plain, words_key
from search.text import MAX_TERMS

NOTE = {"zh": "…", "en": "…"}
GLOSSARY = Glossary([
    Term("标准地", {"en": ("standard land",), "ja": ("標準地",), "ko": ("표준지",),
                   "ru": ("стандартный участок",)}, NOTE, "land", True),
    Term("土地", {"en": ("land",), "ja": ("土地",), "ko": ("토지",), "ru": ("земля",)},
         NOTE, "land", True),
    Term("用地", {"en": ("land", "land use")}, NOTE, "land"),
    Term("补贴", {"en": ("subsidy", "grant")}, NOTE, "benefits", zh_also=("补助",)),
    Term("人才", {"en": ("talent",), "ja": ("人材",)}, NOTE, "talent"),
])


def groups(text):
    return GLOSSARY.expand(text).groups


def test_an_english_word_becomes_its_chinese_terms():
    assert groups("land") == [["land", "土地", "用地"]]
    assert groups("subsidies") == [["subsidies", "补贴", "补助"]]
    assert groups("Grant") == [["grant", "补贴", "补助"]]


def test_the_longest_phrase_wins():
    assert groups("standard land") == [["standard land", "标准地"]]
    assert groups("land use subsidy") == [["land use", "用地"], ["subsidy", "补贴", "补助"]]
    assert groups('"standard land"') == [["standard land", "标准地"]]


def test_words_not_in_the_glossary_stay_as_typed():
    assert groups("hydrogen land") == [["hydrogen"], ["land", "土地", "用地"]]
    assert GLOSSARY.expand("hydrogen").matches == []


def test_chinese_is_searched_as_typed():
    assert groups("土地") == [["土地"]]
    assert groups("标准地 补贴") == [["标准地"], ["补贴"]]


def test_japanese_and_korean_forms_and_particles():
    assert groups("標準地") == [["標準地", "标准地"]]
    assert groups("人材を") == [["人材を", "人才"]]
    assert groups("표준지를") == [["표준지를", "标准地"]]
    assert groups("를") == [["를"]]  # a particle alone is a word, not a term


def test_russian_inflections():
    assert groups("земли") == [["земли", "土地"]]
    assert groups("Стандартного участка") == [["стандартного участка", "标准地"]]
    assert words_key("участок") == words_key("участка")


def test_matches_say_which_chinese_terms_were_searched():
    matches = GLOSSARY.expand("standard land talent").matches
    assert [(m.typed, m.chinese) for m in matches] == [("standard land", ["标准地"]),
                                                       ("talent", ["人才"])]


def test_names_beside_chinese():
    assert GLOSSARY.name_of("标准地", "en") == "standard land"
    assert GLOSSARY.name_of("标准地", "zh") == ""
    assert GLOSSARY.name_of("人才", "ko") == ""
    assert GLOSSARY.name_of("不存在", "en") == ""


@pytest.mark.parametrize("text", ["", "   ", '"', "*", "land " * 50, "🚀", "a:b", "\x00",
                                  "土地" * 500, "OR AND NOT", "-", "ー", "를을"])
def test_odd_queries_expand_without_error(text):
    expansion = GLOSSARY.expand(text)
    assert len(expansion.groups) <= MAX_TERMS
    assert all(group and all(group) for group in expansion.groups)
    assert all(len(group) <= MAX_ALTERNATIVES + 1 for group in expansion.groups)


def test_plain_is_one_group_per_term():
    assert plain("土地 land").groups == [["土地"], ["land"]]


def test_korean_compounds_match_with_or_without_spaces():
    glossary = Glossary([Term("产业链", {"ko": ("산업체인",)}, NOTE, "industry-chain"),
                         Term("氢能", {"ko": ("수소 에너지",)}, NOTE, "energy")])
    assert glossary.expand("산업 체인").groups == [["산업 체인", "产业链"]]
    assert glossary.expand("수소에너지").groups == [["수소에너지", "氢能"]]
    assert glossary.expand("수소 에너지").groups == [["수소 에너지", "氢能"]]


def test_words_are_stemmed_right_when_threads_stem_at_once():
    """A Snowball stemmer holds the word it works on: shared between the threads of a
    gunicorn worker, it mixed their words up and raised IndexError (a 500 under load)."""
    from concurrent.futures import ThreadPoolExecutor

    phrases = ["стандартный участок", "земельные участки", "промышленные парки",
               "standard lands", "industrial parks", "водородная энергетика"] * 50
    expected = [words_key(p) for p in phrases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(5):
            assert list(pool.map(words_key, phrases)) == expected
