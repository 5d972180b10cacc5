"""Cross-lingual search on the Datong pack: an English, Japanese, Korean or Russian query
finds the Chinese policies that contain the term, through the glossary, among the first ten
results; the page says which Chinese term was searched."""

import pytest

from portal.extensions import db
from portal.glossary.services import expand
from portal.models import Policy

ENGLISH = [
    "land", "standard land", "industrial land", "talent", "hydrogen", "subsidy", "tax",
    "loan", "new energy", "photovoltaics", "wind power", "data centre", "complaint",
    "supply chain", "industry chain", "chain leader", "development zone",
    "foreign-invested enterprise", "investment promotion", "interest subsidy",
    "energy storage", "digital economy", "new materials", "modern medicine",
    "low-altitude economy", "artificial intelligence", "plot ratio", "land price",
    "tax per mu", "business environment", "equity investment", "industrial fund",
    "talent attraction", "benefits without application",
]
JAPANESE = ["標準地", "人材", "水素エネルギー", "補助金", "新エネルギー", "太陽光発電", "風力発電",
            "データセンター", "苦情", "サプライチェーン", "産業チェーン", "開発区"]
KOREAN = ["표준지", "인재", "수소 에너지", "보조금", "신에너지", "태양광", "풍력", "데이터센터",
          "공급망", "산업 체인", "개발구", "토지를"]
RUSSIAN = ["земля", "стандартный участок", "водородная энергетика", "субсидии",
           "новая энергетика", "солнечная энергетика", "ветроэнергетика", "жалоба",
           "цепочка поставок", "цифровая экономика", "кадров", "зона развития"]


def _chinese_text(policy: Policy) -> str:
    return "\n".join([policy.title, policy.doc_number, policy.summary, policy.body])


def _all_ids(client, q: str) -> list[int]:
    ids, page = [], 1
    while True:
        data = client.get("/api/v1/policies", query_string={"q": q, "page": page}).get_json()
        ids += [item["id"] for item in data["items"]]
        if page >= data["pages"]:
            return ids
        page += 1


@pytest.mark.parametrize("typed", ENGLISH + JAPANESE + KOREAN + RUSSIAN)
def test_a_foreign_query_finds_the_chinese_policies_with_the_term(site_app, site_client,
                                                                  typed):
    with site_app.app_context():
        expansion = expand(typed)
        assert len(expansion.groups) == 1 and expansion.matches, (
            f"the glossary does not know {typed!r}")
        chinese = expansion.matches[0].chinese
        policies = db.session.scalars(db.select(Policy)).all()
        expected = {p.id for p in policies if any(zh in _chinese_text(p) for zh in chinese)}
        db.session.remove()
    assert expected, f"no policy contains {chinese}"
    found = _all_ids(site_client, typed)
    assert expected <= set(found), f"{typed!r} → {chinese}: missing {expected - set(found)}"
    first_ten = found[:10]
    assert len(set(first_ten) & expected) == min(10, len(expected)) or set(first_ten) <= expected, (
        f"{typed!r} → {chinese}: first ten {first_ten}, expected {sorted(expected)}")


def test_enough_terms_per_language():
    assert len(ENGLISH) >= 30
    assert min(len(JAPANESE), len(KOREAN), len(RUSSIAN)) >= 10


@pytest.mark.parametrize("lang, typed", [("en", "standard land"), ("ja", "標準地"),
                                         ("ko", "표준지"), ("ru", "стандартный участок")])
def test_the_results_page_names_the_chinese_term(site_client, lang, typed):
    html = site_client.get(f"/{lang}/policies/", query_string={"q": typed}).get_data(as_text=True)
    assert '<p class="expanded" role="status">' in html
    assert '<span lang="zh-Hans">标准地</span>' in html.split('class="expanded"', 1)[1][:600]
    assert "<mark>标准地</mark>" in html


def test_site_wide_search_expands_too(site_client):
    html = site_client.get("/en/search", query_string={"q": "standard land"}
                           ).get_data(as_text=True)
    assert 'class="expanded"' in html and "<mark>标准地</mark>" in html


def test_the_english_page_suggestion_now_finds_policies(site_client):
    for q in ("land", "talent", "hydrogen", "standard land"):
        data = site_client.get("/api/v1/policies", query_string={"q": q}).get_json()
        assert data["total"] > 0, q


@pytest.mark.parametrize("lang", ["zh", "en", "ja", "ko", "ru"])
def test_every_search_the_page_suggests_finds_policies(site_client, lang):
    """The 常用搜索 links a search that found nothing offers, in the page's language, each
    find something."""
    import re
    from html import unescape

    html = site_client.get(f"/{lang}/policies/", query_string={"q": "zzqqxx"}
                           ).get_data(as_text=True)
    links = re.findall(rf'href="/{lang}/policies/\?q=[^"]+">([^<]+)</a>', html)
    assert len(links) == 5
    for word in map(unescape, links):
        data = site_client.get("/api/v1/policies", query_string={"q": word}).get_json()
        assert data["total"] > 0, (lang, word)
