"""The Atom feed takes the search page's filters: each narrows it exactly as it narrows the
page, the title says what is filtered, the search page links to the feed of its filters, and
values that cannot be right are dropped as the page drops them. The feed parses as Atom with
stable ids and RFC 3339 dates."""

import re
from datetime import datetime
from html import unescape
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest

from portal.policies.views import FEED_SIZE

ATOM = "{http://www.w3.org/2005/Atom}"


def _feed(client, query: str = "", lang: str = "zh") -> ElementTree.Element:
    answer = client.get(f"/{lang}/policies/feed.xml{query}")
    assert answer.status_code == 200
    assert answer.mimetype == "application/atom+xml"
    root = ElementTree.fromstring(answer.data)  # noqa: S314 (our own markup)
    assert root.tag == f"{ATOM}feed"
    return root


def _entries(root) -> list[str]:
    return [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")]


def _page_total(client, query: str) -> int:
    html = client.get(f"/zh/policies/{query}").get_data(as_text=True)
    return int(re.search(r"共 (\d+) 项政策", html).group(1))


def _first_value(client, name: str, total: int) -> str:
    """A value of facet ``name`` on the search page that selects fewer than all policies."""
    html = unescape(client.get("/zh/policies/").get_data(as_text=True))
    for value in re.findall(rf'href="/zh/policies/\?{name}=([^"&]+)"', html):
        if 0 < _page_total(client, f"?{name}={value}") < total:
            return value
    pytest.fail(f"no {name} value narrows the search")


def test_the_feed_is_valid_atom_with_stable_ids_and_dates(site_client):
    first, second = _feed(site_client), _feed(site_client)
    assert first.findtext(f"{ATOM}id") == second.findtext(f"{ATOM}id") \
        == "http://portal.test/zh/policies/feed.xml"
    assert _entries(first) == _entries(second) and len(_entries(first)) == FEED_SIZE
    assert len(set(_entries(first))) == len(_entries(first))
    datetime.fromisoformat(first.findtext(f"{ATOM}updated").replace("Z", "+00:00"))
    published = []
    for entry in first.findall(f"{ATOM}entry"):
        assert entry.findtext(f"{ATOM}title")
        assert re.fullmatch(r"http://portal\.test/zh/policies/\d+", entry.findtext(f"{ATOM}id"))
        for name in ("published", "updated"):
            datetime.fromisoformat(entry.findtext(f"{ATOM}{name}").replace("Z", "+00:00"))
        published.append(entry.findtext(f"{ATOM}published"))
    assert published == sorted(published, reverse=True)


@pytest.mark.parametrize("name", ["level", "topic", "industry", "region", "status"])
def test_each_filter_narrows_the_feed_as_it_narrows_the_search(site_client, name):
    total = _page_total(site_client, "")
    value = _first_value(site_client, name, total)
    expected = _page_total(site_client, f"?{name}={value}")
    root = _feed(site_client, f"?{name}={value}")
    assert len(_entries(root)) == min(expected, FEED_SIZE) < total
    assert set(_entries(root)) <= set(_entries(_feed(site_client, "?sort=date")) +
                                      _entries(_feed(site_client, f"?{name}={value}")))
    assert root.findtext(f"{ATOM}id").endswith(f"/zh/policies/feed.xml?{name}={value}")


def test_a_query_and_a_filter_together(site_client):
    alone = _page_total(site_client, "?q=土地")
    both = _page_total(site_client, "?q=土地&level=municipal")
    assert 0 < both < alone
    root = _feed(site_client, "?q=土地&level=municipal")
    assert len(_entries(root)) == min(both, FEED_SIZE)
    title = root.findtext(f"{ATOM}title")
    assert "关键词：“土地”" in title and "层级：市级" in title


def test_the_title_says_what_is_filtered_in_the_readers_language(site_client):
    assert "：" not in _feed(site_client).findtext(f"{ATOM}title")
    english = _feed(site_client, "?level=municipal", lang="en").findtext(f"{ATOM}title")
    assert "Municipal" in english and "市级" not in english


@pytest.mark.parametrize("query", ["?level=galactic", "?status=in_forc", "?page=abc",
                                   "?sort=random", "?q=" + "土" * 5000, "?level=&topic=",
                                   "?year=20x6", "?level=municipal&level=national"])
def test_values_that_cannot_be_right_are_dropped_as_the_search_page_drops_them(
        site_client, query):
    assert site_client.get(f"/zh/policies/{query}").status_code == 200
    root = _feed(site_client, query)
    if "q=" not in query and "level=municipal" not in query:
        assert _entries(root) == _entries(_feed(site_client, "?sort=date"))


@pytest.mark.parametrize("query", ["?status=%00", "?q=%ff%fe", "?level=" + "%e5" * 3])
def test_malformed_input_is_a_clear_4xx_as_on_the_search_page(site_client, query):
    page = site_client.get(f"/zh/policies/{query}")
    feed = site_client.get(f"/zh/policies/feed.xml{query}")
    assert feed.status_code == page.status_code
    assert feed.status_code < 500


def test_an_unknown_topic_gives_an_empty_valid_feed(site_client):
    root = _feed(site_client, "?topic=no-such-topic")
    assert _entries(root) == []
    assert root.findtext(f"{ATOM}updated")


def test_the_search_page_links_to_the_feed_and_the_alerts_of_its_filters(site_client):
    html = unquote(unescape(site_client.get("/zh/policies/?q=土地&level=municipal&sort=date")
                            .get_data(as_text=True)))
    feed = "/zh/policies/feed.xml?q=土地&level=municipal"
    assert f'<link rel="alternate" type="application/atom+xml" title="符合当前条件的最新政策" ' \
           f'href="{feed}">' in html
    assert f'href="{feed}" type="application/atom+xml"' in html
    assert 'href="/zh/policies/subscribe?q=土地&level=municipal"' in html
    unfiltered = unescape(site_client.get("/zh/policies/").get_data(as_text=True))
    assert "符合当前条件的最新政策" not in unfiltered
