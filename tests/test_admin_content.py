"""The content editor (policies, sites, opportunities) through its real forms: what region
staff and reviewers may see and do, the rules' messages at the fields, versions, diff and
restore, translation status, and exports of exactly the rows the list shows."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from openpyxl import load_workbook

from portal import exports
from portal.content import versions
from portal.extensions import db
from portal.models import AuditEvent, ContentVersion, Industry, Opportunity, Policy, Site, Topic
from portal.sites import geometry
from seed import rules
from tests import factories

PASSWORD = "copper kettle drum"
ADMIN, BUREAU = "admin@example.gov.cn", "bureau@example.gov.cn"
EAST, WEST, DEPT = "east@example.gov.cn", "west@example.gov.cn", "dept@example.gov.cn"
FORMULA = '=HYPERLINK("http://x","点我")'
POLICY = {"title": "氢能产业扶持办法", "issuer": "测试市人民政府", "level": "county",
          "region": "east", "published": "2026-11-01", "status": "in_force",
          "body": "第一条 支持氢能装备企业落地。"}
SQUARE = '{"type": "Polygon", "coordinates": [[[113.30, 40.00], [113.31, 40.00], ' \
         '[113.31, 40.01], [113.30, 40.01], [113.30, 40.00]]]}'
BOW_TIE = {"type": "Polygon", "coordinates": [[[113.30, 40.00], [113.31, 40.01],
                                               [113.31, 40.00], [113.30, 40.01],
                                               [113.30, 40.00]]]}


@pytest.fixture
def world(app):
    """A city with two districts (east with a zone), a topic and an industry; an admin, a
    bureau reviewer, staff of each district and of a department; one policy of each
    district, one of the zone."""
    with app.app_context():
        city = factories.region(slug="city", kind="city", name="测试市")
        east = factories.region(slug="east", kind="district", name="东区", parent=city)
        factories.region(slug="west", kind="district", name="西区", parent=city)
        zone = factories.region(slug="east-zone", kind="zone", name="东区开发区", parent=east)
        db.session.add_all([Topic(slug="land", name="土地"),
                            Industry(slug="hydrogen", name="氢能")])
        from portal.models import Region

        west = db.session.scalars(db.select(Region).filter_by(slug="west")).one()
        factories.staff(ADMIN, PASSWORD, role="admin", name="管理员")
        factories.staff(BUREAU, PASSWORD, role="bureau", name="审核员")
        factories.staff(EAST, PASSWORD, role="region", region=east, name="东区小王")
        factories.staff(WEST, PASSWORD, role="region", region=west, name="西区小李")
        factories.staff(DEPT, PASSWORD, role="department", department=factories.department())
        ids = {
            "east": factories.policy("p-east", title=FORMULA, region=east,
                                     publication="draft").id,
            "zone": factories.policy("p-zone", title="开发区用地政策", region=zone,
                                     publication="published",
                                     translations={"en": {"title": "Zone land policy",
                                                          "_source": "machine"}}).id,
            "west": factories.policy("p-west", title="西区人才政策", region=west,
                                     publication="published").id,
        }
        db.session.commit()
        db.session.remove()
    return ids


def login(app, email):
    browser = app.test_client()
    answer = browser.post("/admin/login", data={"email": email, "password": PASSWORD})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return browser


def text(answer) -> str:
    return unescape(answer.get_data(as_text=True))


def rows_shown(answer) -> str:
    bodies = re.findall(r"<tbody>(.*?)</tbody>", answer.get_data(as_text=True), re.S)
    assert bodies
    return unescape("".join(bodies))


def policy(app, key=None, **where) -> Policy:
    with app.app_context():
        stmt = db.select(Policy).filter_by(**({"key": key} if key else where))
        row = db.session.scalars(stmt).one()
        db.session.expunge(row)
        return row


def new_policy(browser, **changes):
    return browser.post("/admin/content/policies/new", data={**POLICY, **changes})


def created_id(answer) -> int:
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return int(re.search(r"/policies/(\d+)/edit", answer.location).group(1))


# --- creating and the rules' messages ------------------------------------------------------


def test_region_staff_create_a_draft_with_an_english_title(app, world):
    east = login(app, EAST)
    page = east.get("/admin/content/policies/new")
    assert page.status_code == 200
    choices = re.findall(r'<option[^>]*value="([^"]*)"', text(page).split('id="region"')[1]
                         .split("</select>")[0])
    assert choices == ["", "east", "east-zone"]  # only their regions
    answer = new_policy(east, topics=["land"], industries=["hydrogen"],
                        **{"eligibility-0-field": "investment_wan",
                           "eligibility-0-op": "gte", "eligibility-0-value": "10000",
                           "eligibility-0-label": "投资1亿元以上",
                           "eligibility-1-field": "stage", "eligibility-1-op": "in",
                           "eligibility-1-value": "new, expansion",
                           "attachments-0-title": "申报表", "attachments-0-url": "/f/1.pdf"})
    record_id = created_id(answer)
    answer = east.post(f"/admin/content/policies/{record_id}/translations/en",
                       data={"title": "Measures supporting the hydrogen industry"})
    assert answer.status_code == 302
    row = policy(app, id=record_id)
    assert row.publication == "draft" and row.key.startswith("2026-11-01-")
    assert row.eligibility == [
        {"field": "investment_wan", "op": "gte", "value": 10000, "label": "投资1亿元以上"},
        {"field": "stage", "op": "in", "value": ["new", "expansion"]}]
    assert row.attachments == [{"title": "申报表", "url": "/f/1.pdf"}]
    block = row.translations["en"]
    assert block["title"] == "Measures supporting the hydrogen industry"
    assert block["_source"] == "human" and len(block["_date"]) == 10
    with app.app_context():
        assert [v.action for v in versions.history("policy", record_id)] == \
            ["translate", "create"]
    page = text(east.get(f"/admin/content/policies/{record_id}/edit"))
    assert "投资1亿元以上" in page and 'value="new, expansion"' in page


def test_a_bad_policy_gets_the_loaders_message_at_its_field(app, world):
    bad = {**POLICY, "effective_from": "2026-05-01", "effective_to": "2026-01-01"}
    with app.app_context():
        expected = rules.check("policy", {**bad, "key": "x"}, rules.Known.from_database())
    assert [p.field for p in expected] == ["effective_to"]
    answer = new_policy(login(app, ADMIN), effective_from="2026-05-01",
                        effective_to="2026-01-01")
    page = text(answer)
    assert answer.status_code == 200
    assert re.search(r"<title>错误：", page)
    assert expected[0].message in page
    assert re.search(r'<li><a href="#effective_to">有效期至：' + re.escape(expected[0].message),
                     page)
    assert 'id="effective_to-error"' in page
    assert 'value="2026-05-01"' in page and 'value="第一条' not in page  # input kept
    assert "第一条 支持氢能装备企业落地。</textarea>" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Policy.id))) == 3  # nothing saved


def test_every_problem_of_a_record_is_shown_at_once(app, world):
    answer = new_policy(login(app, ADMIN), title="", level="", published="2026-02-30",
                        region="nowhere", topics=["no-such-topic"])
    page = text(answer)
    assert page.count('class="error-message"') >= 2
    for field, message in (("title", "标题：不能为空"), ("level", "层级：缺少必填字段 level")):
        assert re.search(rf'href="#{field}">{message}', page), field
    answer = new_policy(login(app, ADMIN), published="2026-02-30", region="nowhere",
                        topics=["no-such-topic"])
    page = text(answer)
    assert "日期无效" in page and rules.unknown("nowhere") in page
    assert rules.unknown("no-such-topic") in page


def test_region_staff_file_only_under_their_region(app, world):
    answer = new_policy(login(app, EAST), region="west")
    assert "只能选择本辖区" in text(answer)
    answer = new_policy(login(app, EAST), region="")
    assert "只能选择本辖区" in text(answer)


def test_a_self_intersecting_parcel_gets_the_loaders_message(app, world):
    import json

    with pytest.raises(geometry.GeometryError) as direct:
        geometry.parse(BOW_TIE, "parcel")
    site = {"name": "坏地块", "kind": "parcel", "region": "east", "land_use": "industrial",
            "area_mu": "10"}
    browser = login(app, ADMIN)
    for sent in ({"geometry": json.dumps(BOW_TIE)},
                 {"geometry": "", "geometry_file": (io.BytesIO(json.dumps(BOW_TIE).encode()),
                                                    "parcel.geojson")}):
        answer = browser.post("/admin/content/sites/new", data={**site, **sent},
                              content_type="multipart/form-data")
        page = text(answer)
        assert answer.status_code == 200 and "<title>错误：" in page
        assert re.search(r'href="#geometry_file">位置：' + re.escape(str(direct.value)), page)
        assert re.search(r'class="error-message" id="geometry-error">' +
                         re.escape(str(direct.value)), page)
    answer = browser.post("/admin/content/sites/new",
                          data={**site, "area_mu": "十亩", "geometry": SQUARE})
    assert "输入数字，如 100 或 12.5" in text(answer)
    answer = browser.post("/admin/content/sites/new", data={**site, "geometry": SQUARE,
                                                            "readiness": ["road", "power"]})
    assert answer.status_code == 302
    with app.app_context():
        row = db.session.scalars(db.select(Site)).one()
        assert (row.name, row.readiness, row.publication) == ("坏地块", ["road", "power"],
                                                             "draft")
        assert row.drawn_area_mu > 0


def test_an_opportunity_through_its_form(app, world):
    browser = login(app, BUREAU)
    answer = browser.post("/admin/content/opportunities/new", data={
        "title": "氢能重卡应用场景", "kind": "scene", "region": "west", "industry": "hydrogen",
        "amount_wan": "1,200", "published": "2026-11-01", "deadline": "2026-10-01",
        "status": "open"})
    assert "deadline 早于 published" in text(answer)
    answer = browser.post("/admin/content/opportunities/new", data={
        "title": "氢能重卡应用场景", "kind": "scene", "region": "west", "industry": "hydrogen",
        "amount_wan": "1,200", "published": "2026-11-01", "deadline": "2026-12-01",
        "status": "open", "contact_name": "张工", "contact_phone": "0352-1234567"})
    assert answer.status_code == 302
    with app.app_context():
        row = db.session.scalars(db.select(Opportunity)).one()
        assert (row.amount_wan, row.industry.slug, row.contact_name) == (1200, "hydrogen",
                                                                          "张工")


# --- scope and workflow ----------------------------------------------------------------------


def test_region_staff_see_only_their_region_and_do_not_publish(app, world):
    east = login(app, EAST)
    listed = rows_shown(east.get("/admin/content/policies/"))
    assert FORMULA in listed and "开发区用地政策" in listed and "西区人才政策" not in listed
    west_id = world["west"]
    for url in (f"/admin/content/policies/{west_id}/edit",
                f"/admin/content/policies/{west_id}/history",
                f"/admin/content/policies/{west_id}/diff",
                f"/admin/content/policies/{west_id}/translations/en"):
        assert east.get(url).status_code == 404, url
    for url, data in ((f"/admin/content/policies/{west_id}/move", {"action": "archive"}),
                      (f"/admin/content/policies/{west_id}/edit", POLICY),
                      (f"/admin/content/policies/{west_id}/restore", {"number": "1"}),
                      (f"/admin/content/policies/{west_id}/translations/en", {"title": "x"})):
        assert east.post(url, data=data).status_code == 404, url
    own = world["east"]
    answer = east.post(f"/admin/content/policies/{own}/move", data={"action": "publish"},
                       follow_redirects=True)
    assert "只有审核人员可以执行此操作" in text(answer)
    assert policy(app, id=own).publication == "draft"
    page = text(east.get(f"/admin/content/policies/{own}/edit"))
    assert "提交审核</button>" in page and "发布</button>" not in page
    # A published record of their own zone is shown, but region staff do not change it.
    page = text(east.get(f"/admin/content/policies/{world['zone']}/edit"))
    assert "提交审核后或发布后，只有审核人员可以修改" in page and "保存</button>" not in page
    answer = east.post(f"/admin/content/policies/{world['zone']}/edit",
                       data={**POLICY, "region": "east-zone"})
    assert "提交审核后或发布后，只有审核人员可以修改" in text(answer)


def test_departments_have_no_editor(app, world):
    dept = login(app, DEPT)
    for url in ("/admin/content/policies/", "/admin/content/sites/new",
                "/admin/content/translations", f"/admin/content/policies/{world['east']}/edit",
                "/admin/content/opportunities/export.csv"):
        assert dept.get(url).status_code == 404, url
    assert "内容管理" not in text(dept.get("/admin/"))
    assert "内容管理" in text(login(app, EAST).get("/admin/"))
    assert app.test_client().get("/admin/content/policies/").status_code == 302  # sign in


def test_submit_return_publish_schedule_archive_reopen(app, world):
    east, bureau = login(app, EAST), login(app, BUREAU)
    own = world["east"]
    move = f"/admin/content/policies/{own}/move"
    assert east.post(move, data={"action": "submit"}).status_code == 302
    assert policy(app, id=own).publication == "review"
    answer = bureau.post(move, data={"action": "return", "note": ""}, follow_redirects=True)
    assert "退回时请说明需要修改的地方" in text(answer)
    bureau.post(move, data={"action": "return", "note": "请补充文号"})
    assert policy(app, id=own).publication == "draft"
    east.post(move, data={"action": "submit"})
    answer = bureau.post(move, data={"action": "publish", "publish_at": "明天上午"},
                         follow_redirects=True)
    assert "按 2026-12-01 09:00 的格式填写定时发布时间" in text(answer)
    assert policy(app, id=own).publication == "review"
    later = (datetime.now(UTC) + timedelta(days=30)).astimezone().strftime("%Y-%m-%dT%H:%M")
    answer = bureau.post(move, data={"action": "publish", "publish_at": later},
                         follow_redirects=True)
    assert "已定时发布" in text(answer)
    row = policy(app, id=own)
    assert row.publication == "published" and row.publish_at is not None
    listed = rows_shown(bureau.get("/admin/content/policies/?state=published"))
    assert "定时发布：" in listed and "已发布" in listed
    bureau.post(move, data={"action": "archive"})
    assert policy(app, id=own).publication == "archived"
    answer = bureau.post(move, data={"action": "archive"}, follow_redirects=True)
    assert "当前状态下不能执行此操作" in text(answer)
    bureau.post(move, data={"action": "reopen"})
    assert policy(app, id=own).publication == "draft"
    with app.app_context():
        notes = [(v.action, v.note) for v in versions.history("policy", own)]
    assert ("return", "请补充文号") in notes
    assert [a for a, _n in notes] == ["reopen", "archive", "publish", "submit", "return",
                                      "submit"]


def test_edit_history_diff_and_restore(app, world):
    admin = login(app, ADMIN)
    record_id = created_id(new_policy(admin))
    edit = f"/admin/content/policies/{record_id}/edit"
    page = text(admin.get(edit))
    assert 'value="氢能产业扶持办法"' in page and "readonly" in page  # the key stays
    answer = admin.post(edit, data={**POLICY, "title": "氢能产业扶持办法（修订）",
                                    "doc_number": "测政发〔2026〕1号"})
    assert answer.status_code == 302
    history = text(admin.get(f"/admin/content/policies/{record_id}/history"))
    assert "修改" in history and "新建" in history and "管理员" in history
    diff = admin.get(f"/admin/content/policies/{record_id}/diff?a=1&b=2")
    table = rows_shown(diff)
    assert "氢能产业扶持办法（修订）" in table and "测政发〔2026〕1号" in table
    assert "标题" in table and "文号" in table and "正文" not in table
    assert admin.get(f"/admin/content/policies/{record_id}/diff").status_code == 200
    answer = admin.post(f"/admin/content/policies/{record_id}/restore", data={"number": "1"},
                        follow_redirects=True)
    assert "已恢复第 1 版" in text(answer)
    row = policy(app, id=record_id)
    assert row.title == "氢能产业扶持办法" and row.doc_number == ""
    with app.app_context():
        assert versions.latest("policy", record_id).action == "restore"
    answer = admin.post(f"/admin/content/policies/{record_id}/restore", data={"number": "99"},
                        follow_redirects=True)
    assert "没有这个版本" in text(answer)


# --- translations ----------------------------------------------------------------------------


def test_translation_status_the_review_button_and_the_missing_list(app, world):
    bureau = login(app, BUREAU)
    zone = world["zone"]
    page = text(bureau.get(f"/admin/content/policies/{zone}/translations/en"))
    assert "机器翻译" in page and "译文已审校" in page
    assert 'value="Zone land policy"' in page
    gaps = rows_shown(bureau.get("/admin/content/translations?kind=policies&language=en"))
    assert "开发区用地政策" in gaps and "西区人才政策" in gaps
    east = rows_shown(login(app, EAST).get("/admin/content/translations"))
    assert "开发区用地政策" in east and "西区人才政策" not in east  # scoped

    answer = bureau.post(f"/admin/content/policies/{zone}/translations/en/reviewed",
                         follow_redirects=True)
    assert "已标记为人工审校" in text(answer)
    block = policy(app, id=zone).translations["en"]
    assert block["title"] == "Zone land policy" and block["_source"] == "human"
    page = text(bureau.get(f"/admin/content/policies/{zone}/translations/en"))
    assert "已审校" in page and "译文已审校</button>" not in page
    gaps = rows_shown(bureau.get("/admin/content/translations?kind=policies&language=en"))
    assert "开发区用地政策" not in gaps and "西区人才政策" in gaps

    listed = rows_shown(bureau.get("/admin/content/policies/?missing=en"))
    assert "西区人才政策" in listed and "开发区用地政策" not in listed
    listed = rows_shown(bureau.get("/admin/content/policies/?missing=ja"))
    assert "西区人才政策" in listed and "开发区用地政策" in listed

    # Emptying every field removes the language's block.
    bureau.post(f"/admin/content/policies/{zone}/translations/en", data={"title": ""})
    assert "en" not in policy(app, id=zone).translations
    with app.app_context():
        assert versions.latest("policy", zone).action == "translate"


# --- exports ---------------------------------------------------------------------------------


def csv_rows(answer) -> list[list[str]]:
    body = answer.get_data(as_text=True)
    assert body.startswith(exports.BOM)
    return list(csv.reader(io.StringIO(body[1:], newline="")))


@pytest.mark.parametrize("email, expected", [
    (ADMIN, {"p-east", "p-zone", "p-west"}), (EAST, {"p-east", "p-zone"}),
    (WEST, {"p-west"})])
def test_exports_hold_exactly_the_scoped_rows_neutralised(app, world, email, expected):
    browser = login(app, email)
    page = browser.get("/admin/content/policies/")
    assert 'href="/admin/content/policies/export.csv"' in page.get_data(as_text=True)
    table = csv_rows(browser.get("/admin/content/policies/export.csv"))
    assert {row[0] for row in table[1:]} == expected and len(table) == len(expected) + 1
    answer = browser.get("/admin/content/policies/export.xlsx")
    assert answer.headers["Content-Disposition"] == 'attachment; filename="policies.xlsx"'
    sheet = load_workbook(io.BytesIO(answer.data)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == table[0] and {r[0] for r in values[1:]} == expected
    cells = [c for r in sheet.iter_rows() for c in r]
    assert all(c.data_type in ("s", "n") for c in cells)
    for rows in (table, values):
        assert not any(str(c or "").startswith(exports.FORMULA_STARTS) for r in rows for c in r)
    if "p-east" in expected:
        assert "'" + FORMULA in {c for r in table for c in r}
        assert "'" + FORMULA in {c for r in values for c in r}
    with app.app_context():
        audited = db.session.scalars(db.select(AuditEvent.detail).filter_by(
            action="export", entity_type="policy").order_by(AuditEvent.id)).all()
    assert [(d["format"], d["rows"]) for d in audited] == [("csv", len(expected)),
                                                           ("xlsx", len(expected))]


def test_exports_follow_the_filters(app, world):
    admin = login(app, ADMIN)
    table = csv_rows(admin.get("/admin/content/policies/export.csv?state=published&region=east"))
    assert [row[0] for row in table[1:]] == ["p-zone"]
    table = csv_rows(admin.get("/admin/content/policies/export.csv?q=人才"))
    assert [row[0] for row in table[1:]] == ["p-west"]
    table = csv_rows(admin.get("/admin/content/translations/export.csv?language=en"))
    assert {row[2] for row in table[1:]} == {"p-east", "p-zone", "p-west"}
    with app.app_context():
        details = db.session.scalars(db.select(AuditEvent.detail).filter_by(
            action="export").order_by(AuditEvent.id)).all()
    assert details[0]["filters"] == {"state": "published", "region": "east"}
    assert details[-1]["filters"] == {"language": "en"}


# --- odd input ------------------------------------------------------------------------------


def test_odd_input_never_fails(app, world):
    admin = login(app, ADMIN)
    some = world["west"]
    for url, status in [
        ("/admin/content/", 404),
        ("/admin/content/nothing/", 404),
        ("/admin/content/demand/", 404),
        ("/admin/content/policies/0/edit", 404),
        ("/admin/content/policies/2147483647/edit", 404),
        ("/admin/content/policies/99999999999999999999/edit", 404),
        ("/admin/content/sites/1/edit", 404),
        (f"/admin/content/policies/{some}/translations/de", 404),
        (f"/admin/content/policies/{some}/translations/zh", 404),
        (f"/admin/content/policies/{some}/diff?a=abc", 404),
        (f"/admin/content/policies/{some}/diff?a=1&b=99", 404),
        (f"/admin/content/policies/{some}/diff?a=-1", 404),
        (f"/admin/content/policies/{some}/diff?b=99999999999999999999", 404),
        (f"/admin/content/policies/{some}/diff", 200),
        ("/admin/content/policies/?page=-5&state=zzz&region=../x&missing=xx&q=%25_%5C", 200),
        ("/admin/content/policies/?page=99999", 200),
        ("/admin/content/sites/?q=" + "长" * 500, 200),
        ("/admin/content/opportunities/export.xlsx?state=<b>", 200),
        ("/admin/content/translations?kind=x&language=zz", 200),
        ("/admin/content/policies/export.pdf", 404),
    ]:
        assert admin.get(url).status_code == status, url
    for url, data in [
        ("/admin/content/policies/new", {**POLICY, "published": "2026-13-45"}),
        ("/admin/content/policies/new", {**POLICY, "title": "长" * 400}),
        ("/admin/content/policies/new", {**POLICY, "title": "a\x00b", "key": "../../x"}),
        ("/admin/content/policies/new", {"eligibility-9-op": "gte", "topics": "x" * 300}),
        ("/admin/content/sites/new", {"name": "x", "floors": "9" * 30, "area_mu": "1e400",
                                      "geometry": "{not json"}),
        ("/admin/content/sites/new", {"name": "x", "kind": "factory", "geometry": "[]"}),
        ("/admin/content/opportunities/new", {"amount_wan": "NaN", "published": "x"}),
        (f"/admin/content/policies/{some}/edit", {"title": ""}),
    ]:
        answer = admin.post(url, data=data)
        assert answer.status_code == 200, (url, data)
        assert "<title>错误：" in text(answer)
    for url, data in [
        (f"/admin/content/policies/{some}/move", {"action": "fly"}),
        (f"/admin/content/policies/{some}/move", {"action": "publish",
                                                  "publish_at": "99999-01-01T00:00"}),
        (f"/admin/content/policies/{some}/restore", {"number": "x" * 50}),
        (f"/admin/content/policies/{some}/restore", {"number": "99999999999999999999"}),
        (f"/admin/content/policies/{some}/translations/ja/reviewed", {}),
        (f"/admin/content/policies/{some}/translations/ja", {"title": "\x00"}),
    ]:
        assert admin.post(url, data=data).status_code == 302, (url, data)
    assert admin.post("/admin/content/policies/new", data={**POLICY, "title": "Ａ\x00"}
                      ).status_code == 302  # control characters are dropped, not stored
    with app.app_context():
        assert db.session.scalars(db.select(Policy.title).filter_by(title="Ａ")).one()
        assert db.session.scalar(db.select(db.func.count(ContentVersion.id))) == 1


def test_a_sites_geometry_is_replaced_by_uploading_geojson(app, world):
    import json

    from portal.content import versions

    browser = login(app, ADMIN)
    site = {"name": "换边界的地块", "kind": "parcel", "region": "east", "land_use": "industrial",
            "area_mu": "10", "geometry": SQUARE}
    assert browser.post("/admin/content/sites/new", data=site).status_code == 302
    with app.app_context():
        row = db.session.scalars(db.select(Site).filter_by(name="换边界的地块")).one()
        site_id, before = row.id, row.geometry
    bigger = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
              "geometry": {"type": "Polygon", "coordinates": [[[113.30, 40.00], [113.32, 40.00],
                                                               [113.32, 40.02], [113.30, 40.02],
                                                               [113.30, 40.00]]]}}]}
    answer = browser.post(f"/admin/content/sites/{site_id}/edit",
                          content_type="multipart/form-data",
                          data={**site, "geometry": "", "geometry_file": (
                              io.BytesIO(json.dumps(bigger).encode()), "new-outline.geojson")})
    assert answer.status_code == 302, text(answer)
    with app.app_context():
        row = db.session.get(Site, site_id)
        assert row.geometry == bigger["features"][0]["geometry"] != before
        history = versions.history("site", site_id)
        assert history[0].action == "edit" and history[0].data["geometry"] == row.geometry
