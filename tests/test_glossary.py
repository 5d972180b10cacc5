"""The investment glossary: its data, its page, and where pages use it."""

import json
import re
from pathlib import Path

import pytest

from portal.extensions import db
from portal.models import Policy
from seed.glossary import GLOSSARY_DIR, read_glossary
from seed.loader import PackError
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parent.parent
PACK = ROOT / "seed" / "datong"


@pytest.fixture(scope="module")
def terms():
    return read_glossary()


def _pack_text() -> str:
    parts = [p.read_text(encoding="utf-8") for p in sorted((PACK / "policies").glob("*.txt"))]
    parts += [p.read_text(encoding="utf-8") for p in sorted(PACK.glob("*.yaml"))]
    parts.append(json.dumps(json.loads((PACK / "sites.geojson").read_text(encoding="utf-8")),
                            ensure_ascii=False))
    return "\n".join(parts)


def test_at_least_300_terms_in_english_and_100_in_all_five_languages(terms):
    assert len(terms) >= 300
    assert all(t.forms.get("en") and t.note.get("zh") and t.note.get("en") for t in terms)
    common = [t for t in terms if t.common]
    assert len(common) >= 100
    for term in common:
        assert all(term.forms.get(lang) for lang in ("ja", "ko", "ru")), term.zh
        assert all(term.note.get(lang) for lang in ("ja", "ko", "ru")), term.zh


def test_each_chinese_term_once_and_anchors_unique(terms):
    chinese = [zh for t in terms for zh in t.chinese]
    assert len(chinese) == len(set(chinese))
    assert len({t.key for t in terms}) == len(terms)
    assert all(re.fullmatch(r"[a-z0-9-]+", t.key) for t in terms)


def test_most_terms_occur_in_the_datong_pack(terms):
    text = _pack_text()
    used = [t for t in terms if any(zh in text for zh in t.chinese)]
    assert len(used) >= 0.8 * len(terms), len(used)


def test_japanese_uses_japanese_forms_not_simplified_chinese(terms):
    simplified = set("标准补贴贷资项发业经费")  # characters that Japanese writes otherwise
    wrong = [t.zh for t in terms if any(ch in simplified for ch in t.name("ja"))]
    assert not wrong, wrong[:20]


def test_a_bad_glossary_file_names_the_file_record_and_field(tmp_path):
    (tmp_path / "land.yaml").write_text("- zh: 标准地\n  en: standard land\n  common: true\n"
                                        "  note: {zh: 说明, en: note}\n", encoding="utf-8")
    with pytest.raises(PackError) as raised:
        read_glossary(tmp_path)
    assert "land.yaml" in str(raised.value)
    (tmp_path / "land.yaml").write_text("- zh: 土地\n  en: land\n  note: {zh: 说明, en: n}\n",
                                        encoding="utf-8")
    (tmp_path / "more.yaml").write_text("- zh: 土地\n  en: soil\n  note: {zh: 说明, en: n}\n",
                                        encoding="utf-8")
    with pytest.raises(PackError) as raised:
        read_glossary(tmp_path)
    assert "土地" in str(raised.value) and "land.yaml" in str(raised.value)


def test_check_command(runner):
    result = runner.invoke(args=["glossary", "check"])
    assert result.exit_code == 0, result.output
    counts = dict(line.split() for line in result.output.splitlines())
    assert int(counts["terms"]) >= 300 and int(counts["ja"]) >= 100


def test_an_unreadable_glossary_does_not_take_search_down(databases, tmp_path):
    broken = tmp_path / "glossary"
    broken.mkdir()
    (broken / "x.yaml").write_text("- zh: [unclosed\n", encoding="utf-8")
    app = make_app(databases.new("badglossary"), tmp_path, GLOSSARY_DIR=str(broken))
    client = app.test_client()
    for path in ("/en/policies/?q=land", "/en/glossary", "/en/search?q=land",
                 "/api/v1/policies?q=land"):
        assert client.get(path).status_code == 200, path


# --- the page -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en", "ja", "ko", "ru"])
def test_glossary_page_lists_terms_with_translations(site_client, terms, lang):
    html = site_client.get(f"/{lang}/glossary").get_data(as_text=True)
    assert html.count('class="glossary-term"') == len(terms)
    term = next(t for t in terms if t.zh == "标准地")
    block = html.split(f'id="{term.key}"', 1)[1].split("</div>", 1)[0]
    assert "标准地" in block
    for other in ("en", "ja", "ko", "ru"):
        if other != lang:
            assert term.name(other) in block
    assert term.note.get(lang, term.note["en"]) in block


@pytest.mark.parametrize("q, lang, expected", [
    ("standard land", "en", "标准地"), ("標準地", "ja", "标准地"), ("표준지", "ko", "标准地"),
    ("标准地", "zh", "标准地"), ("talent", "ru", "人才")])
def test_glossary_page_is_searchable_in_any_language(site_client, q, lang, expected):
    html = site_client.get(f"/{lang}/glossary", query_string={"q": q}).get_data(as_text=True)
    shown = re.findall(r'<dt><span lang="zh-Hans">([^<]+)</span>', html)
    assert expected in shown
    assert len(shown) < 40  # a filter, not the whole list


@pytest.mark.parametrize("q", ["", " ", "zzzzqqq", "*", "\"", "a:b", "🚀", "x" * 5000])
def test_glossary_page_answers_odd_queries(site_client, q):
    response = site_client.get("/en/glossary", query_string={"q": q})
    assert response.status_code == 200


def test_policy_pages_link_the_terms_they_use(site_client, site_db, terms):
    with site_db() as s:
        policy = s.scalars(db.select(Policy).filter_by(key="seed-000")).one()
        text = policy.title + policy.summary + policy.body
    html = site_client.get(f"/en/policies/{policy.id}").get_data(as_text=True)
    linked = re.findall(r'href="/en/glossary#([a-z0-9-]+)"', html)
    assert len(linked) >= 5
    by_key = {t.key: t for t in terms}
    for key in linked:
        assert any(zh in text for zh in by_key[key].chinese), key
    assert by_key[next(t.key for t in terms if t.zh == "标准地")].key in linked


def test_search_results_say_which_chinese_term_was_searched(site_client):
    html = site_client.get("/en/policies/", query_string={"q": "standard land"}
                           ).get_data(as_text=True)
    note = re.search(r'<p class="expanded"[^>]*>(.*?)</p>', html, re.S)
    assert note and "标准地" in note.group(1) and "standard land" in note.group(1)
    api = site_client.get("/api/v1/policies", query_string={"q": "standard land"}).get_json()
    assert {"typed": "standard land", "chinese": ["标准地"]} in [
        {"typed": m["typed"], "chinese": m["chinese"][:1]} for m in api["expanded"]]
    assert api["total"] > 0


def test_glossary_dir_default_is_the_shared_folder(app):
    assert Path(app.config["GLOSSARY_DIR"]) == GLOSSARY_DIR
