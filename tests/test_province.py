"""Province mode: two cities (the Datong pack and the small Shuozhou demo pack) in one
deployment; each city's entry by path and by host sees its own records and the province's,
the province level sees both; the page cache keeps entries apart; staff per city."""

import re

import pytest

from portal.extensions import db
from portal.models import Complaint, Demand, Opportunity, Policy, Region, Site
from tests import factories
from tests.conftest import make_app
from tests.test_intake import COMPLAINT, api_demand

PASSWORD = "copper kettle drum"
HOSTS = {"invest.datong.example": "datong", "invest.shuozhou.example": "shuozhou"}
DT_POLICY = "大同市工业用地“标准地”出让实施办法"
SZ_POLICY = "朔州经济开发区标准地出让办法（演示）"
SZ_SITE = "怀仁陶瓷产业园C-02地块（演示）"
SZ_SCENE = "陶瓷窑炉节能改造应用场景（演示）"


def _snapshot() -> dict:
    """Every Datong record as the pages read it."""
    def rows(model, *names):
        return sorted(tuple(str(getattr(r, n)) for n in names)
                      for r in db.session.scalars(db.select(model)))

    return {"regions": rows(Region, "slug", "kind", "parent_id", "name", "sort_order",
                            "translations", "figures"),
            "policies": rows(Policy, "key", "title", "region_id", "body", "translations"),
            "sites": rows(Site, "key", "name", "region_id", "geometry"),
            "opportunities": rows(Opportunity, "key", "title", "region_id")}


@pytest.fixture(scope="module")
def province(databases, tmp_path_factory):
    """Datong loaded, then Shuozhou beside it; indexed; a bureau per city and one for the
    province; a demand and a complaint sent through each city's entry."""
    from portal.indexing import reindex
    from seed.loader import load_pack

    app = make_app(databases.new("province"), tmp_path_factory.mktemp("province"),
                   CITY_HOSTS=dict(HOSTS))
    state = {"app": app}
    with app.app_context():
        load_pack("datong")
        state["before"] = _snapshot()
        state["counts_first"] = load_pack("shuozhou")
        after = _snapshot()
        state["counts_again"] = load_pack("shuozhou")
        reindex()
        shuozhou_ids = {r.id for r in db.session.scalars(db.select(Region))
                        if r.slug in ("shuozhou", "shuocheng", "huairen", "shuozhou-edz")}
        # Datong's records, unchanged: the snapshot without the rows the second pack added.
        state["after"] = {
            name: [row for row in rows if not _is_shuozhou(name, row, shuozhou_ids)]
            for name, rows in after.items()}
        regions = {r.slug: r for r in db.session.scalars(db.select(Region))}
        factories.staff(email="dt@example.gov.cn", password=PASSWORD, role="bureau",
                        region=regions["datong"])
        factories.staff(email="sz@example.gov.cn", password=PASSWORD, role="bureau",
                        region=regions["shuozhou"])
        factories.staff(email="sx@example.gov.cn", password=PASSWORD, role="bureau",
                        region=regions["shanxi"])
        factories.staff(email="all@example.gov.cn", password=PASSWORD, role="admin")
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    tickets = {}
    for city, county in (("datong", "pingcheng"), ("shuozhou", "huairen")):
        answer = client.post(f"/{city}/api/v1/demands", json=_json_demand(county))
        assert answer.status_code == 201, answer.get_data(as_text=True)
        tickets[f"demand-{city}"] = answer.get_json()["ticket"]
        answer = client.post(f"/{city}/zh/complaints/new", data=COMPLAINT)
        assert answer.status_code == 201, answer.get_data(as_text=True)[:500]
    with app.app_context():
        for record in db.session.scalars(db.select(Complaint)):
            tickets[f"complaint-{record.region.slug}"] = record.ticket
        db.session.remove()
    state["tickets"] = tickets
    return state


def _json_demand(county: str) -> dict:
    return api_demand(preferred_regions=[county])


def _is_shuozhou(name, row, ids) -> bool:
    if name == "regions":
        return row[0] in ("shuozhou", "shuocheng", "huairen", "shuozhou-edz")
    return row[0].startswith("sz-")


@pytest.fixture
def web(province):
    return province["app"].test_client()


def _api_policies(web, prefix="", host=None, **args) -> dict:
    """The API's answer, with the items of every page."""
    headers = {"Host": host} if host else {}
    first, items, page = None, [], 1
    while True:
        answer = web.get(f"{prefix}/api/v1/policies", query_string={"page": page, **args},
                         headers=headers)
        assert answer.status_code == 200
        body = answer.get_json()
        first = first or body
        items += body["items"]
        if page >= body["pages"]:
            return first | {"items": items}
        page += 1


def _expected(app, city: str | None) -> dict[str, set[str]]:
    """Titles each kind of record should show under ``city`` (None: all live ones)."""
    from portal.content.workflow import live

    with app.app_context():
        regions = {r.slug: r for r in db.session.scalars(db.select(Region))}
        if city is None:
            allowed = None
        else:
            root = regions[city]
            allowed = {root.id} | {a.id for a in root.ancestors()}
            frontier = [root]
            while frontier:
                frontier = [c for r in frontier for c in r.children]
                allowed |= {c.id for c in frontier}
        out = {}
        for name, model, title in (("policies", Policy, Policy.title),
                                   ("sites", Site, Site.name),
                                   ("opportunities", Opportunity, Opportunity.title)):
            stmt = db.select(title).where(live(model))
            if allowed is not None:
                stmt = stmt.where(model.region_id.in_(allowed))
            out[name] = set(db.session.scalars(stmt))
        db.session.remove()
    return out


def test_second_pack_loads_beside_the_first_without_changing_it(province):
    assert province["after"] == province["before"]
    assert province["counts_again"] == province["counts_first"]
    first = province["counts_first"]
    assert first["policy"] == len(province["before"]["policies"]) + 2
    assert first["site"] == len(province["before"]["sites"]) + 2


def test_the_second_pack_passes_the_pack_checks(province):
    """The checks the Datong pack passes: schema and references (the province region from
    the database), English for every visitor field, the five languages for places."""
    from seed.loader import read_pack

    with province["app"].app_context():
        pack = read_pack("shuozhou")
        for region in pack.data["regions.yaml"]:
            for lang in ("en", "ja", "ko", "ru"):
                assert region["translations"][lang]["name"], (region["slug"], lang)
                assert region["translations"][lang]["summary"], (region["slug"], lang)
        for policy in pack.data["policies.yaml"]:
            assert policy["is_demo"] and "演示" in policy["source_note"]
            assert set(policy["translations"]["en"]) >= {"title", "summary", "source_note"}
        for feature in pack.data["sites.geojson"]["features"]:
            assert feature["properties"]["is_demo"]
        for record in pack.data["opportunities.yaml"]:
            assert record["is_demo"]
        db.session.remove()


@pytest.mark.parametrize("city", ["datong", "shuozhou"])
def test_a_city_entry_by_path_shows_its_city_and_the_province(province, web, city):
    app = province["app"]
    want = _expected(app, city)
    everything = _expected(app, None)
    got = {item["title"] for item in _api_policies(web, f"/{city}")["items"]}
    assert got == want["policies"]
    assert got < everything["policies"]
    assert _api_policies(web, f"/{city}")["total"] == len(want["policies"])
    # A province policy applies to every city.
    with app.app_context():
        provincial = db.session.scalars(db.select(Policy.title).join(Region).where(
            Region.slug == "shanxi")).first()
        db.session.remove()
    assert provincial in got
    sites = web.get(f"/{city}/api/v1/sites.geojson").get_json()
    assert {f["properties"]["name"] for f in sites["features"]} == want["sites"]
    assert all(f["properties"]["url"].startswith(f"http://portal.test/{city}/")
               for f in sites["features"])
    opportunities = web.get(f"/{city}/api/v1/opportunities").get_json()
    titles = {item["title"] for item in opportunities["items"]}
    assert titles <= want["opportunities"] and titles
    page = web.get(f"/{city}/zh/policies/", query_string={"q": "标准地"}
                   ).get_data(as_text=True)
    assert (DT_POLICY in page) == (city == "datong")
    assert (SZ_POLICY in page) == (city == "shuozhou")
    assert f'href="/{city}/zh/policies/' in page  # links stay in the city's entry
    page = web.get(f"/{city}/zh/sites/").get_data(as_text=True)
    assert (SZ_SITE in page) == (city == "shuozhou")
    page = web.get(f"/{city}/zh/opportunities/").get_data(as_text=True)
    assert (SZ_SCENE in page) == (city == "shuozhou")
    home = web.get(f"/{city}/zh/")
    assert home.status_code == 200
    assert ("朔州市" if city == "shuozhou" else "大同市") in home.get_data(as_text=True)


def test_the_province_level_shows_both_cities(province, web):
    want = _expected(province["app"], None)
    answer = _api_policies(web)
    assert {i["title"] for i in answer["items"]} == want["policies"]
    assert answer["total"] == len(want["policies"])
    page = web.get("/zh/policies/", query_string={"q": "标准地"}).get_data(as_text=True)
    assert DT_POLICY in page and SZ_POLICY in page
    sites = web.get("/api/v1/sites.geojson").get_json()
    assert {f["properties"]["name"] for f in sites["features"]} == want["sites"]
    home = web.get("/zh/").get_data(as_text=True)
    assert "山西省" in home


def test_search_totals_follow_the_entry(province, web):
    """The same words find the city's policies under its entry, both under the province."""
    datong = _api_policies(web, "/datong", q="标准地")
    shuozhou = _api_policies(web, "/shuozhou", q="标准地")
    both = _api_policies(web, q="标准地")
    titles = {name: {i["title"] for i in answer["items"]}
              for name, answer in (("dt", datong), ("sz", shuozhou), ("both", both))}
    assert SZ_POLICY in titles["sz"] and SZ_POLICY not in titles["dt"]
    assert DT_POLICY in titles["dt"] and DT_POLICY not in titles["sz"]
    with province["app"].app_context():  # no region: shown at the province level only
        nowhere = set(db.session.scalars(db.select(Policy.title).where(
            Policy.region_id.is_(None))))
        db.session.remove()
    assert titles["both"] - nowhere == titles["dt"] | titles["sz"]
    assert both["total"] == len(titles["both"])
    shared = titles["dt"] & titles["sz"]  # the province's policies, in both cities
    assert shared and shared <= _expected(province["app"], "datong")["policies"]
    assert datong["total"] == len(titles["dt"]) and shuozhou["total"] == len(titles["sz"])
    assert "shuozhou-edz" not in datong["facets"].get("region", {})
    page = web.get("/shuozhou/zh/search", query_string={"q": "陶瓷"}).get_data(as_text=True)
    assert SZ_SITE in page or SZ_SCENE in page
    page = web.get("/datong/zh/search", query_string={"q": "陶瓷"}).get_data(as_text=True)
    assert SZ_SITE not in page and SZ_SCENE not in page


def test_another_citys_record_is_not_found_under_a_city_entry(province, web):
    with province["app"].app_context():
        sz = db.session.scalars(db.select(Policy).filter_by(key="sz-demo-001")).one().id
        site = db.session.scalars(db.select(Site).filter_by(key="sz-parcel-001")).one().id
        db.session.remove()
    assert web.get(f"/shuozhou/zh/policies/{sz}").status_code == 200
    assert web.get(f"/datong/zh/policies/{sz}").status_code == 404
    assert web.get(f"/datong/api/v1/policies/{sz}").status_code == 404
    assert web.get(f"/datong/api/v1/sites/{site}").status_code == 404
    assert web.get(f"/zh/policies/{sz}").status_code == 200
    assert web.get("/datong/zh/regions/huairen").status_code == 404
    assert web.get("/shuozhou/zh/regions/huairen").status_code == 200
    assert web.get("/nowhere/zh/").status_code == 404


def test_a_city_entry_by_host(province, web):
    want = _expected(province["app"], "shuozhou")
    answer = _api_policies(web, host="invest.shuozhou.example")
    assert {i["title"] for i in answer["items"]} == want["policies"]
    page = web.get("/zh/policies/", query_string={"q": "标准地"},
                   headers={"Host": "invest.datong.example"}).get_data(as_text=True)
    assert DT_POLICY in page and SZ_POLICY not in page


def test_the_page_cache_keeps_each_entry_apart(province, web):
    """Each entry's page is stored under its own key: asked in turn, twice, every entry gets
    its own page back (the second time from the cache)."""
    entries = [("", None), ("/datong", None), ("/shuozhou", None),
               ("", "invest.datong.example"), ("", "invest.shuozhou.example")]
    seen = {}
    for _round in range(2):
        for prefix, host in entries:
            headers = {"Host": host} if host else {}
            answer = web.get(f"{prefix}/zh/policies/", query_string={"q": "标准地"},
                             headers=headers)
            assert answer.status_code == 200
            page = answer.get_data(as_text=True)
            shows = (DT_POLICY in page, SZ_POLICY in page)
            seen.setdefault((prefix, host), set()).add(
                (shows, answer.headers.get("X-Cache", answer.headers.get("X-Page-Cache"))))
    states = {state for answers in seen.values() for _shows, state in answers}
    assert "HIT" in states, states  # the cache answered the second round
    for (prefix, host), answers in seen.items():
        shows = {s for s, _state in answers}
        assert len(shows) == 1, (prefix, host, answers)
        city = prefix.strip("/") or (HOSTS.get(host) if host else None)
        expected = {"datong": (True, False), "shuozhou": (False, True), None: (True, True)}
        assert shows == {expected[city]}, (prefix, host)


def _as(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


@pytest.mark.parametrize("email, cities", [
    ("dt@example.gov.cn", {"datong"}),
    ("sz@example.gov.cn", {"shuozhou"}),
    ("sx@example.gov.cn", {"datong", "shuozhou"}),
    ("all@example.gov.cn", {"datong", "shuozhou"}),
])
def test_city_bureau_sees_its_city_province_bureau_sees_both(province, email, cities):
    browser = _as(province["app"], email)
    tickets = province["tickets"]
    assert len(tickets) == 4
    for name, ticket in tickets.items():
        kind, city = name.split("-")
        visible = city in cities
        assert browser.get(f"/admin/tickets/{kind}/{ticket}").status_code == (
            200 if visible else 404), (name, email)
        queue = browser.get(f"/admin/tickets/{kind}").get_data(as_text=True)
        assert (ticket in queue) == visible, (name, email)
        export = browser.get(f"/admin/tickets/{kind}.csv").get_data(as_text=True)
        assert (ticket in export) == visible, (name, email)
        found = browser.get(f"/admin/tickets/{kind}", query_string={"q": ticket})
        row = f'href="/admin/tickets/{kind}/{ticket}"'  # (the search box repeats the query)
        assert (row in found.get_data(as_text=True)) == visible, (name, email)
    dashboard = browser.get("/admin/").get_data(as_text=True)
    assert f"<strong>{len(cities)}</strong> 条待办需求" in dashboard
    # Content: a city bureau edits its own city's records only.
    with province["app"].app_context():
        sz = db.session.scalars(db.select(Policy).filter_by(key="sz-demo-001")).one().id
        db.session.remove()
    edit = browser.get(f"/admin/content/policies/{sz}/edit")
    assert edit.status_code == (200 if "shuozhou" in cities else 404), email


def test_tickets_sent_through_a_city_entry_go_to_that_city(province):
    with province["app"].app_context():
        for model in (Demand, Complaint):
            for record in db.session.scalars(db.select(model)):
                assert record.region is not None
                assert record.region.slug in ("datong", "pingcheng", "shuozhou", "huairen")
        db.session.remove()


def test_users_create_makes_a_city_bureau(province):
    runner = province["app"].test_cli_runner()
    result = runner.invoke(args=["users", "create", "dt2@example.gov.cn", "--role", "bureau",
                                 "--region", "datong", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    browser = _as(province["app"], "dt2@example.gov.cn")
    tickets = province["tickets"]
    assert browser.get(f"/admin/tickets/demand/{tickets['demand-datong']}").status_code == 200
    assert browser.get(f"/admin/tickets/demand/{tickets['demand-shuozhou']}").status_code == 404


def test_a_single_city_deployment_has_no_city_entries(site_client):
    """One city: /LANG/… is the city, a city prefix is an unknown path as before."""
    assert site_client.get("/datong/zh/").status_code == 404
    page = site_client.get("/zh/").get_data(as_text=True)
    assert "大同市" in page
    assert re.search(r'href="/zh/policies/', page)


def test_feed_sitemap_and_matcher_follow_the_entry(province, web):
    with province["app"].app_context():
        sz = db.session.scalars(db.select(Policy).filter_by(key="sz-demo-001")).one().id
        db.session.remove()
    feed = web.get("/datong/zh/policies/feed.xml").get_data(as_text=True)
    assert "朔州" not in feed and "/datong/zh/policies/" in feed
    feed = web.get("/shuozhou/zh/policies/feed.xml").get_data(as_text=True)
    assert f"/shuozhou/zh/policies/{sz}" in feed
    sitemap = web.get("/datong/sitemap.xml").get_data(as_text=True)
    assert f"/policies/{sz}<" not in sitemap and "http://portal.test/datong/zh/" in sitemap
    assert f"/shuozhou/zh/policies/{sz}<" in web.get("/shuozhou/sitemap.xml").get_data(
        as_text=True)
    assert f"/zh/policies/{sz}<" in web.get("/sitemap.xml").get_data(as_text=True)
    regions = {r["slug"] for r in web.get("/datong/api/v1/regions").get_json()["items"]}
    assert "datong" in regions and "shanxi" in regions and "shuozhou" not in regions
    matched = web.post("/datong/api/v1/policies/match", json={"industry": "new-materials"})
    assert matched.status_code == 200
    assert all("朔州" not in item["policy"]["title"] for item in matched.get_json()["items"])


def test_a_city_bureau_files_records_in_its_city_only(province):
    browser = _as(province["app"], "dt@example.gov.cn")
    form = browser.get("/admin/content/policies/new").get_data(as_text=True)
    assert 'value="pingcheng"' in form and 'value="huairen"' not in form
    from portal.content import workflow
    from seed import rules

    with province["app"].app_context():
        from portal.models import User

        user = db.session.scalars(db.select(User).filter_by(email="dt@example.gov.cn")).one()
        regions = {r.slug: r for r in db.session.scalars(db.select(Region))}
        known = rules.Known(regions=regions, topics={}, industries={})
        assert workflow._scope_problems(user, {"region": "huairen"}, known)
        assert not workflow._scope_problems(user, {"region": "pingcheng"}, known)
        db.session.remove()


def test_city_hosts_setting_is_read():
    from portal.province import parse_hosts

    assert parse_hosts("datong=invest.datong.example, shuozhou=Invest.Shuozhou.example,bad") == {
        "invest.datong.example": "datong", "invest.shuozhou.example": "shuozhou"}
    assert parse_hosts("") == {}
