"""Every public page renders in all five languages from the Datong pack; language routing
works."""

import re

import pytest

from portal.extensions import db
from portal.i18n import HTML_LANG
from portal.models import Industry, Opportunity, Policy, Region, Site

LANGS = ("zh", "en", "ja", "ko", "ru")
LIST_PAGES = ("", "environment/", "policies/", "policies/match", "sites/", "opportunities/",
              "services", "search?q=土地")


def _first_id(session, model):
    return session.scalars(db.select(model.id).order_by(model.id)).first()


def _one(session, model, **filters):
    return session.scalars(db.select(model).filter_by(**filters)).first()


@pytest.fixture
def detail_paths(site_db):
    with site_db() as s:
        region = _one(s, Region, kind="city").slug
        zone = _one(s, Region, kind="zone").slug
        industry = s.scalars(
            db.select(Industry.slug).where(Industry.chain_nodes.any())).first()
        return [f"regions/{region}", f"regions/{zone}", f"industries/{industry}",
                f"policies/{_first_id(s, Policy)}", f"sites/{_first_id(s, Site)}",
                f"opportunities/{_first_id(s, Opportunity)}"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", LIST_PAGES)
def test_list_pages_render(site_client, lang, page):
    response = site_client.get(f"/{lang}/{page}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<html lang="{HTML_LANG[lang]}"' in html
    assert '<main id="main"' in html and 'href="#main"' in html
    assert re.search(r"<title>[^<]+</title>", html)


@pytest.mark.parametrize("lang", LANGS)
def test_detail_pages_render(site_client, detail_paths, lang):
    for path in detail_paths:
        response = site_client.get(f"/{lang}/{path}")
        assert response.status_code == 200, path


def test_home_is_built_from_the_database(site_client, site_db):
    with site_db() as s:
        newest = s.scalars(db.select(Policy.title).order_by(Policy.published.desc())).first()
    html = site_client.get("/zh/").get_data(as_text=True)
    assert newest in html
    assert "大同市" in html
    for batch_label in ("签约一批", "开工一批", "投产一批"):
        assert batch_label in html
    assert "115" in html  # seed 003: 签约一批 115 projects (223.7 亿元 on the environment page)


def test_english_pages_are_translated(site_client, site_db):
    with site_db() as s:
        name = _one(s, Region, slug="datong").tr("name", "en")
    html = site_client.get("/en/").get_data(as_text=True)
    assert "Policies" in html
    assert "政策查询" not in html  # navigation comes from the en catalog
    assert name in html


def test_ja_ko_ru_prefixes_are_accepted(site_client):
    for lang in ("ja", "ko", "ru"):
        response = site_client.get(f"/{lang}/policies/")
        assert response.status_code == 200
        assert f'<html lang="{lang}">' in response.get_data(as_text=True)


def test_unknown_language_prefix_is_404(site_client):
    assert site_client.get("/fr/").status_code == 404
    assert site_client.get("/zh-CN/").status_code == 404


@pytest.mark.parametrize("header, expected", [
    ("en-US,en;q=0.9", "/en/"),
    ("zh-CN,zh;q=0.9", "/zh/"),
    ("ja", "/ja/"),
    ("fr-FR", "/zh/"),
    ("", "/zh/"),
])
def test_root_redirects_by_accept_language(site_client, header, expected):
    response = site_client.get("/", headers={"Accept-Language": header})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(expected)


def test_language_cookie_beats_accept_language(site_client):
    site_client.get("/en/")  # remembers en
    response = site_client.get("/", headers={"Accept-Language": "zh-CN"})
    assert response.headers["Location"].endswith("/en/")


def test_language_switcher_keeps_the_page_and_query(site_client):
    html = site_client.get("/zh/policies/?level=municipal&q=土地").get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)" hreflang="en"', html)
    assert links and links[0].startswith("/en/policies/")
    assert "level=municipal" in links[0] and "q=" in links[0]


def test_404_page_in_the_page_language(site_client):
    zh = site_client.get("/zh/policies/999999")
    en = site_client.get("/en/policies/999999")
    assert zh.status_code == en.status_code == 404
    assert "找不到您要访问的页面" in zh.get_data(as_text=True)
    assert "could not be found" in en.get_data(as_text=True)
    assert '<html lang="en">' in en.get_data(as_text=True)


def test_demo_records_are_marked_on_the_page(site_client, site_db):
    with site_db() as s:
        demo = _one(s, Site, is_demo=True).id
    html = site_client.get(f"/zh/sites/{demo}").get_data(as_text=True)
    assert "演示数据" in html
    html = site_client.get(f"/en/sites/{demo}").get_data(as_text=True)
    assert "Demo data" in html


def test_real_policy_is_not_marked_demo(site_client, site_db):
    with site_db() as s:
        real = _one(s, Policy, key="seed-000").id
    html = site_client.get(f"/zh/policies/{real}").get_data(as_text=True)
    assert "同政发〔2026〕2号" in html
    assert 'class="badge badge-demo"' not in html


def test_policy_text_keeps_its_structure(site_client, site_db):
    with site_db() as s:
        real = _one(s, Policy, key="seed-000").id
    html = site_client.get(f"/zh/policies/{real}").get_data(as_text=True)
    assert "<h3>一、高位协同推进，强化招商评估管理</h3>" in html
    assert "<h4>（一）构建纵横联动招商服务体系</h4>" in html


def test_draft_policy_badge(site_client, site_db):
    with site_db() as s:
        draft = _one(s, Policy, key="seed-002")
        draft_id, status = draft.id, draft.status
    assert status == "draft"
    html = site_client.get(f"/zh/policies/{draft_id}").get_data(as_text=True)
    assert "征求意见稿" in html


def test_policy_search_finds_a_phrase_split_across_a_print_line(site_client, site_db):
    # In the raw 001 text this phrase is broken over two lines; cleaned, search finds it.
    with site_db() as s:
        real = _one(s, Policy, key="seed-001").id
    html = site_client.get("/zh/policies/?q=资源配置").get_data(as_text=True)
    assert f"/zh/policies/{real}" in html
    assert "<mark>资源配置</mark>" in html


def test_policy_filters_narrow_the_list(site_client, site_db):
    with site_db() as s:
        all_count = s.scalar(db.select(db.func.count(Policy.id)))
        drafts = s.scalar(db.select(db.func.count(Policy.id)).filter_by(status="draft"))
    html = site_client.get("/zh/policies/?status=draft").get_data(as_text=True)
    assert f"共 {drafts} 项政策" in html
    assert drafts < all_count


def test_site_list_filters_by_kind(site_client, site_db):
    with site_db() as s:
        parcels = s.scalar(db.select(db.func.count(Site.id)).filter_by(kind="parcel"))
    html = site_client.get("/zh/sites/?kind=parcel").get_data(as_text=True)
    assert f"共 {parcels} 处" in html


def test_admin_login_page_renders_in_both_languages(site_client):
    assert "工作人员登录" in site_client.get("/admin/login").get_data(as_text=True)
    html = site_client.get("/admin/login", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    assert "Staff sign-in" in html


def test_machine_pages(site_client):
    assert "Disallow: /admin/" in site_client.get("/robots.txt").get_data(as_text=True)
    sitemap = site_client.get("/sitemap.xml").get_data(as_text=True)
    assert "/en/policies/" in sitemap and "/zh/sites/" in sitemap
    feed = site_client.get("/zh/policies/feed.xml")
    assert feed.mimetype == "application/atom+xml"
    assert feed.get_data(as_text=True).count("<entry>") >= 10


RESOURCE = re.compile(r'<(?:script|img|source|iframe)[^>]*\ssrc="([^"]+)"'
                      r'|<link[^>]*\shref="([^"]+)"'
                      r"|url\(['\"]?([^)'\"]+)")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", re.S)


def test_no_page_loads_anything_from_another_host(site_client):
    """Every page in the sitemap (Chinese ones) plus the map pages: scripts, styles, images
    and fonts come from this server; inline scripts name no other host."""
    sitemap = site_client.get("/sitemap.xml").get_data(as_text=True)
    pages = [u.replace("http://portal.test", "") for u in re.findall(r"<loc>([^<]+)</loc>",
                                                                     sitemap)]
    pages = [p for p in pages if p.startswith("/zh/")] + ["/zh/sites/?kind=parcel",
                                                          "/zh/policies/match", "/admin/login"]
    assert len(pages) > 100
    for path in pages:
        html = site_client.get(path).get_data(as_text=True)
        for groups in RESOURCE.findall(html):
            url = next(g for g in groups if g)
            assert not re.match(r"(https?:)?//", url) or url.startswith("http://portal.test/"), \
                (path, url)
        for script in INLINE_SCRIPT.findall(html):
            assert not re.search(r"https?://(?!portal\.test)", script), path


def test_matcher_page_lists_qualifying_policies(site_client):
    html = site_client.get("/zh/policies/match?industry=new-energy&investor_type=foreign"
                           "&stage=new&investment_wan=20000&region=datong-edz"
                           ).get_data(as_text=True)
    assert "/zh/policies/" in html and "<title>错误：" not in html
    assert "免申即享" in html or "符合" in html


def test_matcher_page_keeps_input_and_explains_errors(site_client):
    html = site_client.get("/zh/policies/match?investment_wan=很多&industry=new-energy"
                           ).get_data(as_text=True)
    assert "<title>错误：" in html
    assert 'href="#investment_wan"' in html
    assert 'value="很多"' in html
    selected = re.findall(r"<option[^>]*new-energy[^>]*>", html)
    assert selected and "selected" in selected[0]
