"""机会清单: filters, search in five languages, deadline countdowns, 揭榜挂帅 phases, closing at
the deadline, and pages that follow the database.

Most tests read the Datong pack (``site_app``) with the content clock set to one day, so the
expected figures are computed here from the database rows, independently of the portal's SQL.
"""

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from portal.extensions import db
from portal.models import Opportunity, Region

TODAY = date(2026, 12, 5)


def at(day: date, hour: int = 12) -> datetime:
    """Noon in China on ``day``, as the content clock's UTC time."""
    return datetime(day.year, day.month, day.day, hour - 8, tzinfo=UTC)


@pytest.fixture
def clock(site_app, monkeypatch):
    """The content clock of the shared Datong app, set per test and restored after it."""
    state = {"now": at(TODAY)}
    monkeypatch.setitem(site_app.config, "CONTENT_CLOCK", lambda: state["now"])

    def set_day(day: date) -> None:
        state["now"] = at(day)

    return set_day


@pytest.fixture
def rows(site_db):
    """Every opportunity of the pack as plain values, with its region and the regions above."""
    with site_db() as s:
        out = []
        for o in s.scalars(db.select(Opportunity)):
            regions = [o.region.slug, *(r.slug for r in o.region.ancestors())] if o.region else []
            out.append({"id": o.id, "key": o.key, "kind": o.kind, "status": o.status,
                        "deadline": o.deadline, "amount": o.amount_wan, "regions": regions,
                        "industry": o.industry.slug if o.industry else None,
                        "text": "\n".join([o.title, o.summary, o.body]),
                        "translated": "\n".join(
                            block.get(name, "") for block in (o.translations or {}).values()
                            for name in ("title", "summary")).lower()})
        return out


def is_open(r, today=TODAY) -> bool:
    return r["status"] == "open" and (r["deadline"] is None or r["deadline"] >= today)


def api_ids(client, **args) -> set[int]:
    body = client.get("/api/v1/opportunities", query_string=args).get_json()
    assert body["total"] == len(body["items"]), body["total"]
    return {item["id"] for item in body["items"]}


def page_total(client, lang="zh", **args) -> int:
    html = client.get(f"/{lang}/opportunities/", query_string=args).get_data(as_text=True)
    return int(re.search(r"共 (\d+) 个机会", html).group(1))


# --- filters -------------------------------------------------------------------------------


FILTERS = {
    "kind": ({"kind": "challenge"}, lambda r: r["kind"] == "challenge"),
    "industry": ({"industry": "hydrogen"}, lambda r: r["industry"] == "hydrogen"),
    # A county or district takes in its zones: yungang-edz lies in yungang.
    "region": ({"region": "yungang"}, lambda r: "yungang" in r["regions"]),
    "amount": ({"min_amount": "300", "max_amount": "400"},
               lambda r: r["amount"] is not None and 300 <= r["amount"] <= 400),
    "within": ({"within": "30"}, lambda r: r["deadline"] is not None
               and TODAY <= r["deadline"] <= TODAY + timedelta(days=30)),
    "deadline_by": ({"deadline_by": "2026-12-31"},
                    lambda r: r["deadline"] is not None and r["deadline"] <= date(2026, 12, 31)),
}


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_narrows_to_what_the_database_holds(site_client, clock, rows, name):
    args, keep = FILTERS[name]
    expected_all = {r["id"] for r in rows if keep(r)}
    expected_open = {r["id"] for r in rows if keep(r) and is_open(r)}
    assert expected_open, "the pack should have open items for this filter"
    assert len(expected_all) < len(rows), "the filter should leave something out"
    assert api_ids(site_client, **args) == expected_all  # the API defaults to every status
    assert api_ids(site_client, status="open", **args) == expected_open
    assert page_total(site_client, **args) == len(expected_open)  # the page: open ones


def test_region_includes_its_zones(site_client, clock, rows, site_db):
    with site_db() as s:
        zone = s.scalar(db.select(Region).filter_by(slug="yungang-edz"))
        assert zone.parent.slug == "yungang"
    in_zone = {r["id"] for r in rows if r["regions"][:1] == ["yungang-edz"]}
    assert in_zone and in_zone <= api_ids(site_client, region="yungang")


def test_status_open_closing_closed(site_client, clock, rows):
    open_ids = {r["id"] for r in rows if is_open(r)}
    closed = {r["id"] for r in rows if not is_open(r)}
    closing = {r["id"] for r in rows if is_open(r) and r["deadline"] is not None
               and r["deadline"] <= TODAY + timedelta(days=7)}
    assert closed and open_ids
    assert api_ids(site_client, status="open") == open_ids
    assert api_ids(site_client, status="closed") == closed
    assert api_ids(site_client, status="closing") == closing
    assert api_ids(site_client, status="all") == {r["id"] for r in rows}
    assert page_total(site_client) == len(open_ids)
    assert page_total(site_client, status="closed") == len(closed)


def test_counts_per_kind_and_status(site_client, clock, rows):
    body = site_client.get("/api/v1/opportunities?status=open").get_json()
    for kind in ("scene", "project", "challenge", "capability", "demand"):
        assert body["counts"]["kind"][kind] == sum(
            1 for r in rows if r["kind"] == kind and is_open(r)), kind
    assert body["counts"]["status"]["closed"] == sum(1 for r in rows if not is_open(r))
    html = site_client.get("/zh/opportunities/?kind=challenge").get_data(as_text=True)
    challenges = sum(1 for r in rows if r["kind"] == "challenge" and is_open(r))
    assert re.search(rf'aria-current="page">揭榜挂帅 <span class="count">{challenges}</span>',
                     html)
    # The tab for all kinds keeps the other filters and drops the kind.
    assert 'href="/zh/opportunities/?status=closed"' in site_client.get(
        "/zh/opportunities/?status=closed&kind=scene").get_data(as_text=True)


def test_filters_are_kept_and_each_can_be_cleared(site_client, clock):
    html = site_client.get("/zh/opportunities/?industry=hydrogen&min_amount=100&within=90"
                           ).get_data(as_text=True)
    assert '<option value="hydrogen" selected>' in html
    assert 'value="100"' in html and '<option value="90" selected>' in html
    chips = re.search(r'<div class="chosen-filters">(.*?)</div>', html, re.S).group(1)
    links = [a.replace("&amp;", "&") for a in re.findall(r'href="([^"]+)"', chips)]
    assert len(links) == 3
    assert any("industry" not in a and "min_amount=100" in a for a in links)
    assert 'href="/zh/opportunities/">清除全部筛选</a>' in html


@pytest.mark.parametrize("args, field", [
    ({"kind": "nope"}, "kind"), ({"industry": "no-such"}, "industry"),
    ({"region": "x" * 500}, "region"), ({"min_amount": "abc"}, "min_amount"),
    ({"max_amount": "-5"}, "max_amount"), ({"min_amount": "nan"}, "min_amount"),
    ({"min_amount": "1e300"}, "min_amount"), ({"min_amount": "500", "max_amount": "100"},
                                              "max_amount"),
    ({"within": "8"}, "within"), ({"deadline_by": "2026-02-30"}, "deadline_by"),
    ({"deadline_by": "tomorrow"}, "deadline_by"), ({"status": "maybe"}, "status"),
])
def test_bad_values_say_what_to_do(site_client, clock, args, field):
    answer = site_client.get("/zh/opportunities/", query_string=args)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "<title>错误：" in html and 'class="error-summary"' in html
    assert f'<a href="#{field}">' in html and f'id="{field}-error"' in html
    assert "共" in html  # the list still answers, by the other filters
    api = site_client.get("/api/v1/opportunities", query_string=args)
    assert api.status_code == 400 and field in api.get_json()["error"]["fields"]


def test_english_message_for_a_bad_amount(site_client, clock):
    html = site_client.get("/en/opportunities/?min_amount=lots").get_data(as_text=True)
    assert 'id="min_amount-error"' in html and 'value="lots"' in html


# --- search --------------------------------------------------------------------------------


HYDROGEN = ("氢能", "氢气", "氢燃料")


@pytest.mark.parametrize("lang, q", [("zh", "氢能"), ("en", "hydrogen"), ("ja", "水素"),
                                     ("ko", "수소"), ("ru", "водород")])
def test_search_in_every_language_finds_the_chinese_items(site_client, clock, rows, lang, q):
    expected = {r["id"] for r in rows
                if any(t in r["text"] for t in HYDROGEN) or q.lower() in r["translated"]}
    assert len(expected) >= 2
    body = site_client.get("/api/v1/opportunities",
                           query_string={"q": q, "lang": lang}).get_json()
    assert {i["id"] for i in body["items"]} == expected
    assert not body["degraded"]
    if lang != "zh":
        assert body["expanded"] and "氢能" in body["expanded"][0]["chinese"]
    html = site_client.get(f"/{lang}/opportunities/", query_string={"q": q, "status": "all"}
                           ).get_data(as_text=True)
    assert "<mark>" in html
    assert len(re.findall(r'class="card opp-item"', html)) == len(expected)


def test_search_and_filters_combine(site_client, clock, rows):
    expected = {r["id"] for r in rows if r["kind"] == "capability"
                and any(t in r["text"] for t in HYDROGEN)}
    assert expected
    assert api_ids(site_client, q="氢能", kind="capability") == expected


def test_search_falls_back_to_the_database_with_a_note(site_client, site_app, clock, rows,
                                                       tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    original = site_app.config["SEARCH_INDEX_DIR"]
    engine = site_app.extensions.pop("search", None)
    site_app.config["SEARCH_INDEX_DIR"] = str(blocker / "index")
    try:
        body = site_client.get("/api/v1/opportunities?q=hydrogen&lang=en").get_json()
        html = site_client.get("/zh/opportunities/?q=氢能&status=all").get_data(as_text=True)
    finally:
        site_app.config["SEARCH_INDEX_DIR"] = original
        site_app.extensions.pop("search", None)
        if engine is not None:
            site_app.extensions["search"] = engine
    chinese = {r["id"] for r in rows if any(t in r["text"] for t in HYDROGEN)}
    assert body["degraded"] and {i["id"] for i in body["items"]} == chinese
    assert "全文检索暂时不可用" in html and "<mark>氢能</mark>" in html


@pytest.mark.parametrize("q", ['"', "*", "(氢", "%", "_", "'; DROP TABLE opportunity; --",
                               "氢" * 3000, "😀", "<script>"])
def test_odd_queries_never_fail(site_client, clock, q):
    assert site_client.get("/zh/opportunities/", query_string={"q": q}).status_code == 200
    assert site_client.get("/api/v1/opportunities", query_string={"q": q}).status_code == 200


# --- countdown -----------------------------------------------------------------------------


def _card(html: str, title: str) -> str:
    start = html.index(title)
    return html[html.rindex('<li class="card', 0, start):html.index("</li>", start)]


def test_countdown_by_the_content_clock(site_client, clock, rows, site_db):
    with site_db() as s:
        item = s.scalar(db.select(Opportunity).filter_by(key="dt-challenge-004"))
        title, deadline = item.title, item.deadline
    clock(deadline - timedelta(days=3))
    assert "还剩 3 天" in _card(site_client.get("/zh/opportunities/").get_data(as_text=True),
                               title)
    clock(deadline)
    assert "今日截止" in _card(site_client.get("/zh/opportunities/").get_data(as_text=True),
                              title)
    clock(deadline + timedelta(days=1))
    assert title not in site_client.get("/zh/opportunities/").get_data(as_text=True)
    closed = site_client.get("/zh/opportunities/?status=closed").get_data(as_text=True)
    assert "已截止" in _card(closed, title)


@pytest.mark.parametrize("days, text", [(1, "Остался 1 день"), (2, "Осталось 2 дня"),
                                        (5, "Осталось 5 дней"), (21, "Остался 21 день"),
                                        (22, "Осталось 22 дня"), (11, "Осталось 11 дней")])
def test_russian_countdown_uses_the_right_plural(site_client, clock, site_db, days, text):
    with site_db() as s:
        item = s.scalar(db.select(Opportunity).filter_by(key="dt-challenge-005"))
        item_id, deadline = item.id, item.deadline
    clock(deadline - timedelta(days=days))
    html = site_client.get(f"/ru/opportunities/{item_id}").get_data(as_text=True)
    assert text in html


# --- 揭榜挂帅 phases -------------------------------------------------------------------------


@pytest.mark.parametrize("day, phase", [
    (date(2026, 6, 20), "揭榜申报"), (date(2027, 1, 20), "评审"), (date(2027, 3, 10), "公示"),
    (date(2027, 3, 20), "公示"), (date(2027, 4, 1), "授榜")])
def test_challenge_shows_the_current_phase_by_date(site_client, clock, site_db, day, phase):
    with site_db() as s:
        item = s.scalar(db.select(Opportunity).filter_by(key="dt-challenge-002"))
        item_id = item.id
    clock(day)
    html = site_client.get(f"/zh/opportunities/{item_id}").get_data(as_text=True)
    current = re.search(r'<li class="phase phase-current" aria-current="step">\s*'
                        r'<span class="phase-name">([^<]+)</span>', html)
    assert current and current.group(1) == phase
    assert html.count('aria-current="step"') == 1
    assert f"当前阶段：{phase}" in html
    api = site_client.get("/api/v1/opportunities?kind=challenge&status=all").get_json()
    mine = next(i for i in api["items"] if i["id"] == item_id)
    codes = {"揭榜申报": "apply", "评审": "review", "公示": "notice", "授榜": "award"}
    assert mine["phase"] == codes[phase]
    if day == date(2027, 3, 20):  # between 公示 and 授榜: says when the next one begins
        assert "下一阶段“授榜”将于" in html


def test_list_shows_the_phase_of_challenges(site_client, clock):
    html = site_client.get("/zh/opportunities/?kind=challenge").get_data(as_text=True)
    assert html.count("当前阶段：揭榜申报") == len(re.findall(r'class="card opp-item"', html))


# --- the clock closes, nothing is deleted ------------------------------------------------------


def _item(**kw) -> Opportunity:
    values = {"key": "o-1", "kind": "scene", "title": "测试场景机会", "summary": "测试摘要",
              "published": date(2026, 11, 1), "deadline": date(2026, 12, 4),
              "status": "open", "publication": "published"}
    return Opportunity(**(values | kw))


def test_item_past_its_deadline_closes_on_the_tick_and_stays_readable(app, client):
    from portal.content.schedule import apply_due

    app.config["CONTENT_CLOCK"] = lambda: at(TODAY)
    try:
        with app.app_context():
            item = _item()
            db.session.add(item)
            db.session.commit()
            item_id = item.id
            assert apply_due()["closed"] == 1
            assert db.session.scalar(db.select(Opportunity.status).filter_by(id=item_id)) \
                == "closed"
        assert "测试场景机会" not in client.get("/zh/opportunities/").get_data(as_text=True)
        assert "测试场景机会" in client.get("/zh/opportunities/?status=closed"
                                           ).get_data(as_text=True)
        page = client.get(f"/zh/opportunities/{item_id}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and 'class="notice notice-closed"' in html
        assert "征集已于" in html and "有意向，提交需求" not in html
    finally:
        app.config.pop("CONTENT_CLOCK")


def test_changes_in_the_database_show_on_the_list_and_the_item(app, client):
    app.config["CONTENT_CLOCK"] = lambda: at(TODAY)
    try:
        with app.app_context():
            item = _item(deadline=date(2026, 12, 20), amount_wan=300.0)
            db.session.add(item)
            db.session.commit()
            item_id = item.id
        listing = client.get("/zh/opportunities/").get_data(as_text=True)
        detail = client.get(f"/zh/opportunities/{item_id}").get_data(as_text=True)
        assert "测试场景机会" in listing and "还剩 15 天" in listing and "300 万元" in listing
        assert "300 万元" in detail
        with app.app_context():
            row = db.session.scalar(db.select(Opportunity).filter_by(id=item_id))
            row.title, row.deadline, row.amount_wan = "改过的机会标题", date(2026, 12, 8), 1250.0
            db.session.commit()
        listing = client.get("/zh/opportunities/").get_data(as_text=True)
        detail = client.get(f"/zh/opportunities/{item_id}").get_data(as_text=True)
        assert "测试场景机会" not in listing and "改过的机会标题" in listing
        assert "还剩 3 天" in listing and "1,250 万元" in listing
        assert "改过的机会标题" in detail and "1,250 万元" in detail
        assert "2026年12月8日" in detail
        assert client.get("/zh/opportunities/?min_amount=1000").get_data(as_text=True) \
            .count("改过的机会标题") == 1
        # The search index followed the change through the outbox.
        found = client.get("/api/v1/opportunities?q=改过").get_json()
        assert [i["id"] for i in found["items"]] == [item_id]
    finally:
        app.config.pop("CONTENT_CLOCK")


# --- the pack's rules for phases -----------------------------------------------------------


@pytest.mark.parametrize("record, message", [
    ({"kind": "scene", "phases": [{"phase": "publish", "starts": "2026-06-01"}]}, "只有揭榜挂帅"),
    ({"phases": [{"phase": "review", "starts": "2026-07-01"},
                 {"phase": "apply", "starts": "2026-06-01"}]}, "顺序不对"),
    ({"phases": [{"phase": "apply", "starts": "2026-06-01", "ends": "2026-05-01"}]},
     "结束日期早于开始日期"),
    ({"phases": [{"phase": "apply", "starts": "2026-06-01", "ends": "2027-05-01"}]},
     "晚于截止日期"),
    ({"phases": [{"phase": "apply", "starts": "2026-02-30"}]}, "日期无效"),
    ({"phases": [{"phase": "vote", "starts": "2026-06-01"}]}, "phase"),
])
def test_phase_rules(ctx, record, message):
    from seed import rules

    base = {"key": "c-1", "kind": "challenge", "title": "揭榜", "published": "2026-06-01",
            "deadline": "2026-12-31"}
    problems = rules.check("opportunity", base | record, rules.Known())
    assert any(message in str(p) for p in problems), problems


def test_phases_round_trip_through_versions(ctx):
    from seed import rules

    record = {"key": "c-1", "kind": "challenge", "title": "揭榜", "published": "2026-06-01",
              "deadline": "2026-12-31", "status": "open", "is_demo": False,
              "phases": [{"phase": "publish", "starts": "2026-06-01"},
                         {"phase": "apply", "starts": "2026-06-01", "ends": "2026-12-31"}]}
    assert rules.check("opportunity", record, rules.Known()) == []
    row = Opportunity(key="c-1", publication="published",
                      **rules.values("opportunity", record, rules.Known()))
    db.session.add(row)
    db.session.flush()
    assert rules.to_record("opportunity", row)["phases"] == record["phases"]


# --- the back-office editor ----------------------------------------------------------------


def test_staff_edit_phases_in_the_opportunity_editor(app):
    """Phases are rows of the editor's form; a wrong order is refused at the phase table with
    the rules' message, a right one is saved, versioned and shown on the public page."""
    from portal.models import ContentVersion
    from tests import factories

    app.config["CONTENT_CLOCK"] = lambda: at(date(2026, 7, 1))
    try:
        with app.app_context():
            factories.region(slug="city", kind="city", name="测试市")
            factories.staff("bureau@example.gov.cn", "copper kettle drum", role="bureau",
                            name="审核员")
            db.session.commit()
        browser = app.test_client()
        assert browser.post("/admin/login", data={"email": "bureau@example.gov.cn",
                                                  "password": "copper kettle drum"}
                            ).status_code == 302
        form = browser.get("/admin/content/opportunities/new").get_data(as_text=True)
        assert 'id="phases"' in form and 'name="phases-0-phase"' in form
        base = {"title": "揭榜挂帅：测试攻关", "kind": "challenge", "region": "city",
                "published": "2026-06-01", "deadline": "2026-08-31", "status": "open"}
        wrong = base | {"phases-0-phase": "review", "phases-0-starts": "2026-09-10",
                        "phases-1-phase": "apply", "phases-1-starts": "2026-06-01",
                        "phases-1-ends": "2026-08-31"}
        answer = browser.post("/admin/content/opportunities/new", data=wrong)
        html = answer.get_data(as_text=True)
        assert answer.status_code in (200, 422) and "顺序不对" in html
        assert 'href="#phases"' in html
        right = base | {"phases-0-phase": "publish", "phases-0-starts": "2026-06-01",
                        "phases-1-phase": "apply", "phases-1-starts": "2026-06-01",
                        "phases-1-ends": "2026-08-31",
                        "phases-2-phase": "review", "phases-2-starts": "2026-09-10"}
        answer = browser.post("/admin/content/opportunities/new", data=right)
        assert answer.status_code == 302, answer.get_data(as_text=True)
        with app.app_context():
            row = db.session.scalar(db.select(Opportunity))
            item_id = row.id
            assert [p["phase"] for p in row.phases] == ["publish", "apply", "review"]
            assert db.session.scalar(db.select(ContentVersion.data).filter_by(
                record_id=item_id, kind="opportunity"))["phases"][2] == {
                    "phase": "review", "starts": "2026-09-10"}
            edit = browser.get(f"/admin/content/opportunities/{item_id}/edit"
                               ).get_data(as_text=True)
            assert 'value="2026-09-10"' in edit
            row.publication = "published"
            db.session.commit()
        page = browser.get(f"/zh/opportunities/{item_id}").get_data(as_text=True)
        assert "当前阶段：揭榜申报" in page
    finally:
        app.config.pop("CONTENT_CLOCK")
