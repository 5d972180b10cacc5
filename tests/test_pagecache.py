"""The page cache: anonymous pages come from it, a change to public content shows on the very
next request (back office, loader, clock, index, another app on the same database), and
nothing personal is ever kept or shared."""

import base64
import gzip
import hashlib
import json
import re
import shutil
import socket
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import yaml

from portal import pagecache
from portal.content import schedule
from portal.extensions import db
from portal.indexing import reindex
from portal.models import Opportunity, Policy, PublicVersion, Region
from seed.loader import PACKS_DIR, load_pack
from tests import factories
from tests.conftest import make_app
from tests.servers import redis_url
from tests.test_admin_content import ADMIN, BUREAU, EAST, POLICY, created_id, login, world

__all__ = ["world"]  # the fixture, used by name


def text(answer) -> str:
    if answer.is_json:
        return json.dumps(answer.get_json(), ensure_ascii=False)
    return unescape(answer.get_data(as_text=True))


def anonymous(app):
    """A visitor without cookies of their own (the language cookie is not sent back)."""
    return app.test_client(use_cookies=False)


def state(answer) -> str | None:
    return answer.headers.get("X-Cache")


def token(app) -> str:
    with app.app_context():
        try:
            return db.session.get(PublicVersion, 1).token
        finally:
            db.session.remove()


# --- hits, revalidation, compression -------------------------------------------------------


def test_a_page_comes_from_the_cache_the_second_time(app, world):
    visitor = anonymous(app)
    url = f"/zh/policies/{world['zone']}"
    first, second = visitor.get(url), visitor.get(url)
    assert (state(first), state(second)) == ("MISS", "HIT")
    assert first.data == second.data and "开发区用地政策" in text(second)
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Cache-Control"] == "no-cache"
    assert "Accept-Encoding" in second.headers["Vary"]
    assert second.headers["Set-Cookie"].startswith("lang=zh")  # as the app sets it
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                 "Referrer-Policy"):
        assert second.headers[name] == first.headers[name]


def test_revalidation_gzip_and_head(app, world):
    visitor = anonymous(app)
    url = f"/zh/policies/{world['zone']}"
    plain = visitor.get(url)
    again = visitor.get(url, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == plain.headers["ETag"]
    other = visitor.get(url, headers={"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200 and other.data == plain.data
    packed = visitor.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
    assert gzip.decompress(packed.data) == plain.data
    refused = visitor.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data
    head = visitor.head(url)
    assert head.status_code == 200 and head.data == b"" and state(head) == "HIT"
    assert int(head.headers["Content-Length"]) == len(plain.data)


def test_the_api_is_cached_per_language(app, world):
    visitor = anonymous(app)
    english = visitor.get("/api/v1/policies", headers={"Accept-Language": "en"})
    chinese = visitor.get("/api/v1/policies", headers={"Accept-Language": "zh-CN"})
    assert state(english) == state(chinese) == "MISS"
    titles = {p["title"] for p in english.get_json()["items"]}
    assert "Zone land policy" in titles
    assert "开发区用地政策" in {p["title"] for p in chinese.get_json()["items"]}
    again = visitor.get("/api/v1/policies", headers={"Accept-Language": "en"})
    assert state(again) == "HIT" and again.get_json() == english.get_json()
    assert "Accept-Language" in again.headers["Vary"]


def test_the_display_mode_has_its_own_page(app, world):
    standard, elder = anonymous(app), app.test_client()
    elder.set_cookie("display", "elder", domain="portal.test")
    assert state(standard.get("/zh/policies/")) == "MISS"
    page = elder.get("/zh/policies/")
    assert state(page) == "MISS" and 'class="elder"' in text(page)
    assert state(elder.get("/zh/policies/")) == "HIT"
    assert 'class="elder"' not in text(standard.get("/zh/policies/"))


# --- never stale -----------------------------------------------------------------------------


def test_back_office_changes_show_on_the_next_request(app, world):
    visitor = anonymous(app)
    for url in ("/zh/policies/", "/zh/policies/?q=氢能", "/api/v1/policies?q=氢能"):
        visitor.get(url)
        assert state(visitor.get(url)) == "HIT"
        assert "氢能产业扶持办法" not in text(visitor.get(url))
    admin = login(app, ADMIN)
    record = created_id(admin.post("/admin/content/policies/new",
                                   data={**POLICY, "region": "east"}))
    before = token(app)
    admin.post(f"/admin/content/policies/{record}/move", data={"action": "submit"})
    assert login(app, BUREAU).post(f"/admin/content/policies/{record}/move",
                                   data={"action": "publish"}).status_code == 302
    assert token(app) != before
    for url in ("/zh/policies/", "/zh/policies/?q=氢能", "/api/v1/policies?q=氢能"):
        answer = visitor.get(url)
        assert state(answer) == "MISS" and "氢能产业扶持办法" in text(answer), url
    detail = f"/zh/policies/{record}"
    assert "氢能产业扶持办法" in text(visitor.get(detail))
    admin.post(f"/admin/content/policies/{record}/edit",
               data={**POLICY, "region": "east", "title": "氢能产业扶持办法（修订）"})
    assert "氢能产业扶持办法（修订）" in text(visitor.get(detail))
    login(app, BUREAU).post(f"/admin/content/policies/{record}/move",
                            data={"action": "archive"})
    assert visitor.get(detail).status_code == 404
    assert "氢能产业扶持办法" not in text(visitor.get("/zh/policies/?q=氢能"))


def test_a_load_shows_on_the_next_request(app, tmp_path):
    pack = tmp_path / "pack"
    shutil.copytree(PACKS_DIR / "datong", pack)
    with app.app_context():
        load_pack(str(pack))
        reindex()
        policy_id = db.session.scalars(db.select(Policy.id).filter_by(key="seed-000")).one()
        db.session.remove()
    visitor = anonymous(app)
    url = f"/zh/policies/{policy_id}"
    visitor.get(url)
    assert state(visitor.get(url)) == "HIT"
    file = pack / "policies.yaml"
    records = yaml.safe_load(file.read_text("utf-8"))
    records[0]["title"] = "大同市促进招商引资高质量发展实施意见（修订版）"
    file.write_text(yaml.safe_dump(records, allow_unicode=True), "utf-8")
    with app.app_context():
        load_pack(str(pack))
        db.session.remove()
    answer = visitor.get(url)
    assert state(answer) == "MISS" and "（修订版）" in text(answer)
    assert "（修订版）" in text(visitor.get("/zh/policies/?q=修订版"))


def test_two_apps_on_one_database_see_each_others_changes(databases, tmp_path):
    url = databases.new("pagecache_two")
    one = make_app(url, tmp_path / "one")
    two = make_app(url, tmp_path / "two", SEARCH_INDEX_DIR=str(tmp_path / "one" / "search"))
    with one.app_context():
        city = factories.region(slug="city", name="测试市")
        policy_id = factories.policy("p-1", title="飞地经济合作办法", region=city).id
        db.session.commit()
        db.session.remove()
    first, second = anonymous(one), anonymous(two)
    page = f"/zh/policies/{policy_id}"
    for visitor in (first, second):
        visitor.get(page)
        assert state(visitor.get(page)) == "HIT"
    with one.app_context():
        db.session.get(Policy, policy_id).title = "飞地经济合作办法（2027年修订）"
        db.session.commit()
        db.session.remove()
    assert "（2027年修订）" in text(second.get(page))
    assert "（2027年修订）" in text(first.get(page))
    region_page = "/zh/regions/city"  # not in the search index: the commit alone tells
    for visitor in (first, second):
        visitor.get(region_page)
        assert state(visitor.get(region_page)) == "HIT"
    with two.app_context():
        db.session.scalars(db.select(Region).filter_by(slug="city")).one().name = "新测试市"
        db.session.commit()
        db.session.remove()
    assert "新测试市" in text(first.get(region_page))
    with two.app_context():
        db.session.delete(db.session.get(Policy, policy_id))
        db.session.commit()
        db.session.remove()
    assert first.get(page).status_code == 404


def test_a_scheduled_publication_shows_when_its_time_comes(app, world):
    clock = {"now": datetime(2026, 12, 1, 9, 0, tzinfo=UTC)}
    app.config["CONTENT_CLOCK"] = lambda: clock["now"]
    try:
        with app.app_context():
            later = factories.policy("p-later", title="定时发布的人才政策",
                                     publish_at=clock["now"] + timedelta(hours=2)).id
            db.session.commit()
            due = db.session.get(PublicVersion, 1).due_at
            db.session.remove()
        assert due == int((clock["now"] + timedelta(hours=2)).timestamp())
        visitor = anonymous(app)
        page = f"/zh/policies/{later}"
        visitor.get("/zh/policies/")
        assert visitor.get(page).status_code == 404
        assert state(visitor.get("/zh/policies/")) == "HIT"
        clock["now"] += timedelta(hours=2, minutes=1)
        # Due, but the clock has not ticked: every page is rendered afresh until it has.
        answer = visitor.get(page)
        assert state(answer) == "BYPASS" and "定时发布的人才政策" in text(answer)
        assert state(visitor.get("/zh/policies/")) == "BYPASS"
        with app.app_context():
            schedule.apply_due()
            assert db.session.get(PublicVersion, 1).due_at is None
            db.session.remove()
        visitor.get("/zh/policies/")
        listing = visitor.get("/zh/policies/")
        assert state(listing) == "HIT" and "定时发布的人才政策" in text(listing)
    finally:
        app.config.pop("CONTENT_CLOCK")


def test_countdowns_move_with_the_day(app):
    clock = {"now": datetime(2026, 12, 1, 1, 0, tzinfo=UTC)}
    app.config["CONTENT_CLOCK"] = lambda: clock["now"]
    try:
        with app.app_context():
            city = factories.region(slug="city", name="测试市")
            item = Opportunity(key="o-1", kind="project", title="氢能装备配套项目", region=city,
                               status="open", published=date(2026, 11, 1),
                               deadline=date(2026, 12, 11))
            db.session.add(item)
            db.session.commit()
            item_id = item.id
            db.session.remove()
        visitor = anonymous(app)
        page = f"/zh/opportunities/{item_id}"
        assert "还剩 10 天" in text(visitor.get(page))
        assert state(visitor.get(page)) == "HIT"
        clock["now"] += timedelta(hours=16)  # 09:00 → 01:00 the next day in China
        answer = visitor.get(page)
        assert state(answer) == "MISS" and "还剩 9 天" in text(answer)
    finally:
        app.config.pop("CONTENT_CLOCK")


def test_a_page_rendered_while_search_is_down_is_not_kept(app, world, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    original = app.config["SEARCH_INDEX_DIR"]
    app.config["SEARCH_INDEX_DIR"] = str(blocker / "index")
    app.extensions.pop("search", None)
    visitor = anonymous(app)
    try:
        for _ in range(2):
            answer = visitor.get("/zh/policies/?q=人才")
            assert "全文检索暂时不可用" in text(answer) and state(answer) is None
    finally:
        app.config["SEARCH_INDEX_DIR"] = original
        app.extensions.pop("search", None)
    with app.app_context():
        reindex()
    answer = visitor.get("/zh/policies/?q=人才")
    assert "全文检索暂时不可用" not in text(answer) and "西区人才政策" in text(answer)


# --- never leaks ---------------------------------------------------------------------------


def test_a_staff_members_pages_never_reach_a_visitor(app, world):
    east = login(app, EAST)
    draft = f"/zh/policies/{world['east']}"
    for url in ("/zh/", "/zh/policies/", draft, "/api/v1/policies", "/admin/"):
        answer = east.get(url)
        assert state(answer) is None, url  # a session: straight to the app, never kept
    listing = east.get("/admin/content/policies/")
    assert listing.headers["Cache-Control"] == "no-store" and state(listing) is None
    visitor = anonymous(app)
    assert state(visitor.get("/zh/policies/")) == "MISS"  # nothing was kept for the staff
    assert visitor.get(draft).status_code == 404
    assert visitor.get("/admin/content/policies/").status_code in (302, 401)


def test_a_form_with_a_csrf_token_is_never_kept(app, world):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        tokens = set()
        for _ in range(2):
            answer = anonymous(app).get("/zh/demands/new")
            assert answer.status_code == 200 and state(answer) is None
            assert any(c.startswith("session=") for c in answer.headers.getlist("Set-Cookie"))
            tokens.add(re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                                 text(answer)).group(1))
        assert len(tokens) == 2
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


@pytest.mark.parametrize("url", ["/zh/track", "/zh/alerts/confirm/not-a-token",
                                 "/api/v1/track/D-0000000000", "/healthz",
                                 "/zh/policies/subscribe"])
def test_personal_and_live_pages_are_never_kept(app, url):
    visitor = anonymous(app)
    answers = [visitor.get(url) for _ in range(2)]
    assert all(state(a) in (None, "BYPASS") for a in answers), url
    assert all(a.status_code < 500 for a in answers)


def test_no_inline_script_nonce_is_served_twice(app):
    with app.app_context():
        factories.parcel("s-1")
        db.session.commit()
    visitor = anonymous(app)
    answers = [visitor.get("/zh/sites/") for _ in range(3)]
    assert [state(a) for a in answers] == ["MISS", "HIT", "HIT"]
    for answer in answers:
        policy = answer.headers["Content-Security-Policy"]
        assert "nonce-" not in policy and "nonce=" not in text(answer)
        scripts = re.findall(r"<script>(.*?)</script>", answer.get_data(as_text=True), re.S)
        assert scripts
        for script in scripts:
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy


def test_odd_requests_never_fail(app, world):
    visitor = anonymous(app)
    for url in ("/zh/policies/?q=%ff%fe", "/zh/policies/?q=" + "地" * 3000,
                "/zh/policies/?page=-1", "/zh/policies/?q=%00", "/api/v1/policies?lang=xx",
                "/zh/policies/99999999999999999999", "/zh/../admin/"):
        for headers in ({}, {"Accept-Encoding": "gzip;q=bogus"}, {"If-None-Match": '"'},
                        {"Cookie": "display=elder; lang=%ff"},
                        {"Accept-Language": "*;q=abc, zh-Hant-TW"}):
            assert visitor.get(url, headers=headers).status_code < 500, (url, headers)


def test_the_cache_can_be_switched_off(app, world):
    app.config["PAGE_CACHE"] = False
    try:
        answers = [anonymous(app).get("/zh/policies/") for _ in range(2)]
        assert [state(a) for a in answers] == [None, None]
    finally:
        app.config["PAGE_CACHE"] = True


# --- Redis -----------------------------------------------------------------------------------


def test_apps_share_pages_through_redis(databases, tmp_path):
    import redis

    url, store_url = databases.new("pagecache_redis"), redis_url()
    one = make_app(url, tmp_path / "one", REDIS_URL=store_url)
    two = make_app(url, tmp_path / "two", REDIS_URL=store_url,
                   SEARCH_INDEX_DIR=str(tmp_path / "one" / "search"))
    try:
        with one.app_context():
            factories.policy("p-1", title="飞地经济合作办法", region=factories.region())
            db.session.commit()
            db.session.remove()
        assert state(anonymous(one).get("/zh/policies/")) == "MISS"
        shared = anonymous(two).get("/zh/policies/")
        assert state(shared) == "HIT" and "飞地经济合作办法" in text(shared)
        with two.app_context():
            db.session.scalars(db.select(Policy)).one().title = "飞地经济合作办法（修订）"
            db.session.commit()
            db.session.remove()
        answer = anonymous(one).get("/zh/policies/")
        assert state(answer) == "MISS" and "（修订）" in text(answer)
    finally:
        with redis.Redis.from_url(store_url) as store:
            store.flushdb()


def test_pages_are_served_while_redis_is_down(app, world, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    down = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path,
                    REDIS_URL=f"redis://127.0.0.1:{port}/0")
    visitor = anonymous(down)
    for _ in range(3):
        answer = visitor.get(f"/zh/policies/{world['zone']}")
        assert answer.status_code == 200 and "开发区用地政策" in text(answer)
        assert state(answer) == "MISS"
    health = visitor.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert health["page_cache"] == {"store": "redis", "state": "unavailable"}


def test_entries_are_dropped_by_clear(app, world):
    visitor = anonymous(app)
    visitor.get("/zh/policies/")
    pagecache.clear(app)
    assert state(visitor.get("/zh/policies/")) == "MISS"


def test_search_pages_change_when_the_index_catches_up(app, world):
    """A change committed while another process held the index's writer reaches the index
    later. Meanwhile the index is behind: search pages answer from the database with the
    notice, and are not kept; once caught up, the engine's page is kept again."""
    import tantivy

    from portal.indexing import drain
    from search import engine

    with app.app_context():
        engine().health()
        directory = str(engine().directory)
    writer = tantivy.Index.open(directory).writer(heap_size=15_000_000, num_threads=1)
    with app.app_context():
        factories.policy("p-enclave", title="飞地经济合作办法", region=factories.region())
        db.session.commit()
        db.session.remove()
    visitor = anonymous(app)
    url = "/zh/policies/?q=飞地"
    visitor.get(url)
    behind = visitor.get(url)
    assert state(behind) != "HIT" and "飞地经济合作办法" in text(behind)
    assert "全文检索暂时不可用" in text(behind)
    del writer
    with app.app_context():
        assert drain() == (1, 0)
    answer = visitor.get(url)
    assert state(answer) == "MISS" and "飞地经济合作办法" in text(answer)
    assert "全文检索暂时不可用" not in text(answer)
    assert state(visitor.get(url)) == "HIT"
