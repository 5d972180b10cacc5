"""The policy library's search page and API on the Datong pack."""

import re
from urllib.parse import parse_qs, urlparse

import pytest

from portal.extensions import db
from portal.models import Policy

WEIRD = ['"', '""', "*", "土地*", "(土地", "a:b", "level:zone", "土地 AND 人才", "OR", "NOT 土地",
         "土地 NEAR/3 人才", "\\", "+-!^~", "[1 TO 5]", "{}", "/.*/", "土地" * 5000, "😀",
         "👨‍👩‍👧", "", " ", "\t", "%", "_", "%_%", "'; DROP TABLE policy; --", "<script>"]


@pytest.mark.parametrize("q", WEIRD)
def test_odd_queries_never_fail(site_client, q):
    for path in ("/api/v1/policies", "/zh/policies/", "/en/search"):
        response = site_client.get(path, query_string={"q": q})
        assert response.status_code == 200, (path, q)


@pytest.mark.parametrize("args", [{"page": "-1"}, {"page": "abc"}, {"page": "99999999999"},
                                  {"level": "x"}, {"year": "20x6"}, {"sort": "nope"},
                                  {"topic": "x" * 5000}, {"q": "土地", "page": "500"}])
def test_odd_parameters_never_fail(site_client, args):
    """The page ignores what it cannot use; the API says which parameter is wrong."""
    answer = site_client.get("/api/v1/policies", query_string=args)
    if answer.status_code == 400:
        assert set(answer.get_json()["error"]["fields"]) & set(args), answer.get_json()
    else:
        assert answer.status_code == 200 and args == {"q": "土地", "page": "500"}
    assert site_client.get("/zh/policies/", query_string=args).status_code == 200


def test_facets_have_counts_that_add_up(site_client, site_db):
    body = site_client.get("/api/v1/policies").get_json()
    with site_db() as s:
        total = s.scalar(db.select(db.func.count(Policy.id)))
    assert body["total"] == total
    for name in ("level", "status", "year"):
        assert sum(body["facets"][name].values()) == total, name
    assert set(body["facets"]) >= {"level", "status", "issuer", "topic", "industry", "region",
                                   "year"}


def test_facet_link_narrows_and_keeps_the_query(site_client):
    html = site_client.get("/zh/policies/?q=土地").get_data(as_text=True)
    link = re.search(r'<a href="(/zh/policies/\?[^"]*level=municipal[^"]*)">', html).group(1)
    args = parse_qs(urlparse(link.replace("&amp;", "&")).query)
    assert args["q"] == ["土地"] and args["level"] == ["municipal"]
    filtered = site_client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    body = site_client.get("/api/v1/policies?q=土地&level=municipal").get_json()
    assert f"共 {body['total']} 项政策" in filtered
    assert all(i["level"] == "municipal" for i in body["items"])


def test_sort_by_date_orders_newest_first(site_client):
    items = site_client.get("/api/v1/policies?q=土地&sort=date").get_json()["items"]
    dates = [i["published"] for i in items]
    assert dates == sorted(dates, reverse=True) and len(dates) > 1


def test_relevance_puts_title_matches_first(site_client):
    items = site_client.get("/api/v1/policies?q=标准地").get_json()["items"]
    assert "标准地" in items[0]["title"]


def test_pages_are_stable_and_disjoint(site_client):
    first = site_client.get("/api/v1/policies?page=1").get_json()
    second = site_client.get("/api/v1/policies?page=2").get_json()
    again = site_client.get("/api/v1/policies?page=1").get_json()
    assert [i["id"] for i in first["items"]] == [i["id"] for i in again["items"]]
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


def test_empty_state_suggests_what_to_try(site_client):
    html = site_client.get("/zh/policies/?q=量子纠缠引力波&level=county").get_data(as_text=True)
    assert "没有找到符合条件的政策" in html
    assert "试试更短的关键词" in html and "去掉筛选条件" in html


def test_site_wide_search_covers_three_kinds(site_client):
    html = site_client.get("/zh/search?q=厂房").get_data(as_text=True)
    assert "土地与载体" in html and "/zh/sites/" in html
    html = site_client.get("/en/search?q=人才").get_data(as_text=True)
    assert "/en/policies/" in html


def test_detail_shows_attachments_and_related(site_client, site_db):
    with site_db() as s:
        policy = s.scalars(db.select(Policy).where(Policy.topics.any())).first()
        policy_id = policy.id
    html = site_client.get(f"/zh/policies/{policy_id}").get_data(as_text=True)
    assert "相关政策" in html


def test_feed_is_atom_with_newest_first(site_client):
    feed = site_client.get("/zh/policies/feed.xml").get_data(as_text=True)
    published = re.findall(r"<published>([^<]+)</published>", feed)
    assert published == sorted(published, reverse=True)
    assert 'xmlns="http://www.w3.org/2005/Atom"' in feed


def test_attachments_are_listed(app, client):
    from tests import factories

    with app.app_context():
        policy_id = factories.policy(attachments=[
            {"title": "申报表.docx", "url": "https://example.gov.cn/a.docx"}]).id
        db.session.commit()
    html = client.get(f"/zh/policies/{policy_id}").get_data(as_text=True)
    assert '<a href="https://example.gov.cn/a.docx" rel="noopener">申报表.docx</a>' in html
