"""Bulk import: files read into records, checked by the shared rules row by row, written as
drafts in one transaction with one audit event; templates that round-trip; the two-step
pages and who may use them."""

import csv
import hashlib
import io
import json
import re
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.content import importer, versions, workflow
from portal.content.schedule import CHINA
from portal.extensions import db
from portal.models import (
    AuditEvent,
    ContentVersion,
    ImportStash,
    Industry,
    Opportunity,
    Policy,
    Region,
    Site,
    Topic,
    User,
)
from seed import rules
from tests import factories

PASSWORD = "copper kettle drum"
ADMIN, CITY, OTHER, DEPT = ("admin@example.gov.cn", "city@example.gov.cn",
                            "other@example.gov.cn", "dept@example.gov.cn")
# 测试市 spans this box; 乙市 lies east of it.
BOX = {"type": "Polygon", "coordinates": [[[113.0, 39.8], [113.6, 39.8], [113.6, 40.2],
                                           [113.0, 40.2], [113.0, 39.8]]]}
OTHER_BOX = {"type": "Polygon", "coordinates": [[[114.0, 39.8], [114.6, 39.8], [114.6, 40.2],
                                                 [114.0, 40.2], [114.0, 39.8]]]}
BOW_TIE = {"type": "Polygon", "coordinates": [[[113.30, 40.00], [113.31, 40.01],
                                               [113.31, 40.00], [113.30, 40.01],
                                               [113.30, 40.00]]]}


@pytest.fixture
def world(app):
    """测试市 (with a boundary and a zone), 乙市, two topics and an industry; an admin, a
    测试市 clerk, a 乙市 clerk and a department member."""
    with app.app_context():
        city = factories.region(boundary=BOX)
        factories.region(slug="zone-a", kind="zone", name="甲开发区", parent=city)
        other = factories.region(slug="other-city", name="乙市", longitude=114.3,
                                 boundary=OTHER_BOX)
        db.session.add_all([Topic(slug="land", name="土地"), Topic(slug="talent", name="人才"),
                            Industry(slug="new-energy", name="新能源")])
        factories.staff(ADMIN, PASSWORD, role="admin")
        factories.staff(CITY, PASSWORD, role="region", region=city)
        factories.staff(OTHER, PASSWORD, role="region", region=other)
        factories.staff(DEPT, PASSWORD, role="department",
                        department=factories.department())
        db.session.commit()
        db.session.remove()


def person(email) -> User:
    return db.session.scalars(db.select(User).filter_by(email=email)).one()


def count(model, **by) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)).filter_by(**by))


def xlsx(rows) -> bytes:
    book = Workbook()
    for values in rows:
        book.active.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def found(report) -> set[tuple[int, str]]:
    return {(i.row, i.column) for i in report.issues}


# --- a thousand sites ------------------------------------------------------------------------

SITE_HEADER = ["key", "kind", "name", "region", "land_use", "area_mu", "floor_area_m2",
               "readiness", "available_from", "longitude", "latitude", "geometry", "is_demo"]


def site_row(i: int) -> list:
    x, y = 113.05 + (i % 50) * 0.01, 39.85 + (i // 50) * 0.0125
    if i % 2 == 0:
        square = {"type": "Polygon", "coordinates": [[[x, y], [x + 0.004, y],
                                                      [x + 0.004, y + 0.004], [x, y + 0.004],
                                                      [x, y]]]}
        return [f"s-{i:04d}", "parcel", f"测试地块{i}", "test-city", "industrial", 93.5, None,
                "road；water、power", datetime(2026, 12, 1), None, None, json.dumps(square), "是"]
    return [f"s-{i:04d}", "factory", f"标准厂房{i}", "测试市", "industrial", None, "2,400",
            "power", "2026-12-01", x, y, None, "否"]


def thousand_sites() -> bytes:
    rows = [SITE_HEADER] + [site_row(i) for i in range(1000)]
    rows[1 + 100][SITE_HEADER.index("geometry")] = json.dumps(BOW_TIE)  # sheet row 102
    rows[1 + 500][SITE_HEADER.index("area_mu")] = "十二亩"  # sheet row 502
    rows[1 + 901][SITE_HEADER.index("region")] = "nowhere"  # sheet row 903
    return xlsx(rows)


@pytest.mark.slow
def test_a_thousand_sites_with_three_bad_rows(world, ctx):
    admin = person(ADMIN)
    rows = importer.read("site", "土地.xlsx", thousand_sites())
    report = importer.check(admin, "site", rows)
    assert len(report.data) == 1000
    assert found(report) == {(102, "geometry"), (502, "area_mu"), (903, "region")}
    assert len(report.issues) == 3
    messages = {i.row: i.message for i in report.issues}
    assert "自相交" in messages[102] and "十二亩" in messages[502]
    assert messages[903] == rules.unknown("nowhere")
    assert count(Site) == 0  # checking writes nothing

    refused = importer.apply(admin, "site", rows, "all", filename="土地.xlsx")
    db.session.commit()
    assert refused.written == 0 and count(Site) == 0
    written = importer.apply(admin, "site", rows, "valid", filename="土地.xlsx")
    db.session.commit()
    assert written.written == 997
    assert count(Site) == 997 and count(Site, publication="draft") == 997
    assert count(ContentVersion, action="import", kind="site") == 997
    events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["content_import", "content_import"]
    assert events[0].detail == {"kind": "site", "file": "土地.xlsx", "rows": 1000,
                                "written": 0, "refused": 1000}
    assert events[1].detail["written"] == 997 and events[1].detail["refused"] == 3
    parcel = db.session.scalars(db.select(Site).filter_by(key="s-0002")).one()
    assert parcel.readiness == ["road", "water", "power"] and parcel.is_demo
    assert parcel.available_from == date(2026, 12, 1) and parcel.drawn_area_mu > 0
    factory = db.session.scalars(db.select(Site).filter_by(key="s-0001")).one()
    assert factory.floor_area_m2 == 2400 and factory.region.slug == "test-city"
    assert factory.geometry == {"type": "Point", "coordinates": [113.06, 39.85]}
    assert not db.session.scalars(db.select(Site).filter_by(key="s-0100")).first()


# --- CSV, GeoJSON, encodings ---------------------------------------------------------------

POLICY_HEADER = ["key", "title", "issuer", "level", "region", "published", "status",
                 "topics", "industries", "body", "is_demo", "title_en", "summary_ja"]


def test_a_csv_of_policies_reads_the_way_a_clerk_writes(world, ctx):
    data = csv_bytes([
        POLICY_HEADER,
        ["# 标识", "标题"],  # a comment row
        ["p-1", "氢能产业扶持办法", "测试市人民政府", "市级", "test-city", "2026/1/5",
         "in_force", "土地；talent", "新能源", "第一条 支持氢能。\n第二条 附则。", "否",
         "Hydrogen measures", "水素産業支援"],
        [],
        ["p-2", "人才政策", "测试市人民政府", "municipal", "zone-a", "2026年2月1日",
         "in_force", "", "", "第一条", "", "", ""],
    ])
    admin = person(ADMIN)
    rows = importer.read("policy", "政策.csv", data)
    report = importer.check(admin, "policy", rows)
    assert report.issues == []
    assert [c.number for c in report.data] == [3, 5]
    importer.apply(admin, "policy", rows, filename="政策.csv")
    db.session.commit()
    first = db.session.scalars(db.select(Policy).filter_by(key="p-1")).one()
    assert first.publication == "draft" and first.level == "municipal"
    assert first.published == date(2026, 1, 5)
    assert sorted(t.slug for t in first.topics) == ["land", "talent"]
    assert [i.slug for i in first.industries] == ["new-energy"]
    assert first.body == "第一条 支持氢能。\n第二条 附则。"
    today = workflow.now().astimezone(CHINA).date().isoformat()
    assert first.translations == {
        "en": {"title": "Hydrogen measures", "_source": "human", "_date": today},
        "ja": {"summary": "水素産業支援", "_source": "human", "_date": today}}
    second = db.session.scalars(db.select(Policy).filter_by(key="p-2")).one()
    assert second.region.slug == "zone-a" and second.published == date(2026, 2, 1)
    assert versions.latest("policy", first.id).action == "import"


def test_policy_rows_name_each_problem_and_its_column(world, ctx):
    data = csv_bytes([
        POLICY_HEADER,
        ["p-1", "", "测试市人民政府", "galactic", "test-city", "2026-13-01", "in_force",
         "land;nowhere", "", "正文", "maybe", "", ""],
        ["p-1", "重复", "测试市人民政府", "municipal", "test-city", "2026-01-01", "in_force",
         "", "", "正文", "", "", ""],
    ])
    report = importer.check(person(ADMIN), "policy", importer.read("policy", "p.csv", data))
    assert (2, "published") in found(report) and (2, "is_demo") in found(report)
    assert {(2, "title"), (2, "level")} <= found(report)
    duplicate = [i for i in report.issues if i.row == 3]
    assert [(i.column, i.message) for i in duplicate] == [
        ("key", "与第 2 行的标识重复，同一个标识只能出现一次")]
    assert report.writes("all") == 0 and report.writes("valid") == 0


def test_opportunities_in_gb18030_and_in_utf8_with_or_without_bom(world, ctx):
    rows = [["key", "kind", "title", "region", "industry", "amount_wan", "published",
             "deadline", "status"],
            ["o-1", "场景机会", "光伏运维场景", "测试市", "new-energy", "1,200.5", "2026-03-01",
             "2026-06-30", "征集中"]]
    admin = person(ADMIN)
    for encoding in ("gb18030", "utf-8-sig", "utf-8"):
        parsed = importer.read("opportunity", "机会.csv", csv_bytes(rows, encoding))
        report = importer.check(admin, "opportunity", parsed)
        assert report.issues == [], encoding
        record = report.valid[0].record
        assert record["title"] == "光伏运维场景" and record["kind"] == "scene"
        assert record["amount_wan"] == 1200.5 and record["region"] == "test-city"
        assert record["status"] == "open"
    importer.apply(admin, "opportunity", parsed)
    db.session.commit()
    row = db.session.scalars(db.select(Opportunity)).one()
    assert row.industry.slug == "new-energy" and row.deadline == date(2026, 6, 30)


def test_a_geojson_of_sites(world, ctx):
    parcel = {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [
        [[[113.1, 39.9], [113.11, 39.9], [113.11, 39.91], [113.1, 39.91], [113.1, 39.9]]]]},
        "properties": {"key": "g-1", "kind": "parcel", "name": "北区地块", "region": "test-city",
                       "land_use": "industrial", "area_mu": 180, "readiness": ["road"],
                       "name_en": "North plot",
                       "translations": {"ja": {"name": "北区画"}}}}
    office = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.2, 40.0]},
              "properties": {"key": "g-2", "kind": "office", "name": "科创大厦",
                             "region": "test-city", "land_use": "commercial",
                             "floor_area_m2": "3600", "readiness": "power；telecom"}}
    outside = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.3, 40.0]},
               "properties": {"key": "g-3", "kind": "office", "name": "界外楼宇",
                              "region": "test-city", "land_use": "commercial",
                              "floor_area_m2": 100}}
    document = {"type": "FeatureCollection", "features": [parcel, office, outside]}
    admin = person(ADMIN)
    rows = importer.read("site", "sites.geojson", json.dumps(document).encode())
    report = importer.check(admin, "site", rows)
    assert found(report) == {(3, "geometry")}
    importer.apply(admin, "site", rows, "valid", filename="sites.geojson")
    db.session.commit()
    plot = db.session.scalars(db.select(Site).filter_by(key="g-1")).one()
    assert plot.geometry["type"] == "Polygon"  # a one-part MultiPolygon, as GIS exports it
    assert plot.translations["ja"]["name"] == "北区画"
    assert plot.translations.get("en") is None  # a whole translations object wins
    office_row = db.session.scalars(db.select(Site).filter_by(key="g-2")).one()
    assert office_row.readiness == ["power", "telecom"] and office_row.floor_area_m2 == 3600

    document["features"] = [{**office, "properties": {**office["properties"], "fid": 7}}]
    report = importer.check(admin, "site", importer.read(
        "site", "s.geojson", json.dumps(document).encode()))
    assert found(report) == {(0, "fid")} and report.blocked and report.writes("valid") == 0
    with pytest.raises(importer.FileRefused, match="GeoJSON 文件只能导入土地和载体"):
        importer.read("policy", "p.geojson", json.dumps(document).encode())


def test_an_existing_key_updates_what_the_user_may_edit(world, ctx):
    city = db.session.scalars(db.select(Region).filter_by(slug="test-city")).one()
    published = factories.policy("p-live", region=city, translations={
        "en": {"title": "Live", "_source": "machine", "_date": "2026-01-01"}})
    db.session.commit()
    data = csv_bytes([["key", "title"], ["p-live", "修订后的标题"]])
    # Region staff may not change a published record; a reviewer may.
    clerk = importer.check(person(CITY), "policy", importer.read("policy", "u.csv", data))
    assert [(i.row, i.column) for i in clerk.issues] == [(2, "key")]
    report = importer.check(person(ADMIN), "policy", importer.read("policy", "u.csv", data))
    assert report.issues == [] and report.updates == 1
    importer.apply(person(ADMIN), "policy", importer.read("policy", "u.csv", data))
    db.session.commit()
    db.session.refresh(published)
    assert published.title == "修订后的标题" and published.publication == "published"
    assert published.issuer == "测试市人民政府" and published.body == "第一条 正文。"
    # The English block was not in the file: who made it stays as it was.
    assert published.translations == {
        "en": {"title": "Live", "_source": "machine", "_date": "2026-01-01"}}
    assert versions.latest("policy", published.id).action == "import"

    other = db.session.scalars(db.select(Region).filter_by(slug="other-city")).one()
    factories.policy("p-other", region=other, publication="draft")
    db.session.commit()
    data = csv_bytes([["key", "title", "issuer", "level", "region", "published", "status",
                       "body"],
                      ["p-other", "改", "乙市人民政府", "municipal", "test-city", "2026-01-01",
                       "in_force", "正文"]])
    report = importer.check(person(CITY), "policy", importer.read("policy", "o.csv", data))
    assert [(i.column, i.message) for i in report.issues] == [
        ("key", "这个标识已被其他记录使用，请换一个标识")]


def test_region_staff_import_only_into_their_region(world, ctx):
    data = csv_bytes([["key", "kind", "title", "region", "published"],
                      ["o-1", "scene", "本市场景", "zone-a", "2026-03-01"],
                      ["o-2", "scene", "外市场景", "other-city", "2026-03-01"]])
    clerk = person(CITY)
    rows = importer.read("opportunity", "o.csv", data)
    report = importer.check(clerk, "opportunity", rows)
    assert [(i.row, i.column, i.message) for i in report.issues] == [
        (3, "region", "只能选择本辖区")]
    assert report.writes("all") == 0 and report.writes("valid") == 1
    importer.apply(clerk, "opportunity", rows, "valid")
    db.session.commit()
    assert db.session.scalars(db.select(Opportunity.key)).all() == ["o-1"]


# --- templates -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_template_filled_with_the_packs_records_imports_with_no_problem(site_app, fmt):
    """Every policy, site and opportunity of the Datong pack, written into the template and
    read back, is the same record and passes every check (as an update by a reviewer)."""
    reviewer = User(email="r@example.gov.cn", role="admin", active=True)  # never added
    with site_app.app_context():
        try:
            for kind, model in workflow.MODELS.items():
                records = [rules.to_record(kind, row)
                           for row in db.session.scalars(db.select(model).order_by(model.id))]
                data = importer.template(kind, fmt, records)
                report = importer.check(reviewer, kind, importer.read(kind, f"t.{fmt}", data))
                assert report.issues == [], kind
                assert [c.record for c in report.data] == records, kind
                assert report.updates == len(records) > 20
        finally:
            db.session.rollback()
            db.session.remove()


def test_the_empty_template_explains_each_column(world, ctx):
    book = load_workbook(io.BytesIO(importer.template("site", "xlsx")))
    assert book.sheetnames == ["数据", "说明", "可选值"]
    header, notes = list(book["数据"].iter_rows(max_row=2, values_only=True))
    assert header[:3] == ("key", "kind", "name") and "geometry" in header
    assert "name_en" in header and "_source_ru" in header
    assert notes[0].startswith("# 标识")
    assert notes[header.index("area_mu")] == "面积（亩）（土地必填）：只填数字，如 12.5"
    choices = {(r[0], r[1]) for r in book["可选值"].iter_rows(min_row=2, values_only=True)}
    assert ("kind", "parcel") in choices and ("region", "test-city") in choices
    text = importer.template("policy", "csv").decode("utf-8")
    assert text.startswith("\ufeffkey,title,") and "\n# 标识" in text
    # An empty template names its columns; with no rows it is refused with a clear message.
    with pytest.raises(importer.FileRefused, match="没有数据行"):
        importer.read("policy", "t.csv", importer.template("policy", "csv"))


# --- refused files -----------------------------------------------------------------------------


def test_files_that_cannot_be_read_are_refused_with_a_clear_message(world, ctx, monkeypatch):
    cases = [
        ("p.pdf", b"%PDF-1.4", "只能导入 .csv、.xlsx 或 .geojson"),
        ("p.xlsx", b"not a zip file at all", "不是有效的 Excel"),
        ("p.csv", b"key,title\n" + b"x" * importer.MAX_BYTES, "超过 10 MB"),
        ("p.csv", b"\x81\x30\xff\xff\x00", "无法识别文件的字符编码"),
        ("p.geojson", b"{not json", "不是有效的 GeoJSON"),
        ("p.csv", b"\xef\xbb\xbf \n", "文件是空的"),
    ]
    for name, data, message in cases:
        with pytest.raises(importer.FileRefused, match=re.escape(message)):
            importer.read("policy" if not name.endswith("geojson") else "site", name, data)
    many = csv_bytes([["key"]] + [[f"k{i}"] for i in range(importer.MAX_ROWS + 1)])
    with pytest.raises(importer.FileRefused, match="超过 20000 行"):
        importer.read("policy", "many.csv", many)
    # A small workbook that unpacks to too much, or has too many rows, is refused too.
    book = xlsx([["key", "title"]] + [[f"k{i}", "标题"] for i in range(10)])
    monkeypatch.setattr(importer, "MAX_ROWS", 9)
    with pytest.raises(importer.FileRefused, match="超过 9 行"):
        importer.read("policy", "many.xlsx", book)
    monkeypatch.setattr(importer, "MAX_UNPACKED", 1000)
    with pytest.raises(importer.FileRefused, match="文件内容过大"):
        importer.read("policy", "bomb.xlsx", book)
    unknown = importer.check(person(ADMIN), "policy", importer.read(
        "policy", "u.csv", csv_bytes([["key", "titel"], ["p-1", "x"]])))
    assert (1, "titel") in found(unknown) and unknown.blocked


# --- the pages ----------------------------------------------------------------------------------


def login(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def upload(browser, kind, name, data, mode="all"):
    """The form posted as a browser would; encoded in memory (werkzeug's own encoder puts a
    large body in a temporary file nobody closes)."""
    boundary, body = encode_multipart({"kind": kind, "mode": mode,
                                       "upload": FileStorage(io.BytesIO(data), filename=name)})
    return browser.post("/admin/import/", data=body,
                        content_type=f"multipart/form-data; boundary={boundary}")


OPPORTUNITIES = [["key", "kind", "title", "region", "published"],
                 ["o-1", "scene", "本市场景", "test-city", "2026-03-01"],
                 ["o-2", "project", "开发区项目", "甲开发区", "2026-03-02"]]


def test_upload_report_then_confirm(app, world):
    browser = login(app, CITY)
    page = browser.get("/admin/import/")
    assert page.status_code == 200 and "批量导入" in page.get_data(as_text=True)
    response = upload(browser, "opportunity", "机会.csv", csv_bytes(OPPORTUNITIES))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "尚未写入任何记录" in html
    assert "确认导入 2 条" in html
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    with app.app_context():
        assert count(Opportunity) == 0 and count(AuditEvent, action="content_import") == 0

    # Someone else cannot use the token.
    other = login(app, ADMIN)
    assert other.post("/admin/import/confirm", data={"token": token}).status_code == 302
    with app.app_context():
        assert count(Opportunity) == 0

    done = browser.post("/admin/import/confirm", data={"token": token}, follow_redirects=True)
    assert "已导入机会清单 2 条" in done.get_data(as_text=True)
    with app.app_context():
        assert count(Opportunity, publication="draft") == 2
        assert count(AuditEvent, action="content_import") == 1
        assert count(AuditEvent, action="content_create") == 0
    again = browser.post("/admin/import/confirm", data={"token": token}, follow_redirects=True)
    assert "已过期或已经导入" in again.get_data(as_text=True)
    with app.app_context():
        assert count(Opportunity) == 2


def test_the_report_page_lists_problems_and_offers_no_confirmation_in_all_mode(app, world):
    browser = login(app, CITY)
    rows = OPPORTUNITIES + [["o-3", "scene", "外市场景", "other-city", "2026-03-01"]]
    html = upload(browser, "opportunity", "o.csv", csv_bytes(rows)).get_data(as_text=True)
    assert "<title>错误：" in html and "只能选择本辖区" in html
    assert "<th scope=\"row\">4</th>" in html and "一条也不导入" in html
    assert 'name="token"' not in html
    html = upload(browser, "opportunity", "o.csv", csv_bytes(rows), mode="valid").get_data(
        as_text=True)
    assert "确认导入 2 条" in html and "将被跳过" in html
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    browser.post("/admin/import/confirm", data={"token": token})
    with app.app_context():
        assert sorted(db.session.scalars(db.select(Opportunity.key))) == ["o-1", "o-2"]
        event = db.session.scalars(db.select(AuditEvent).filter_by(
            action="content_import")).one()
        assert event.detail["written"] == 2 and event.detail["refused"] == 1


def test_the_page_refuses_bad_files_with_a_message(app, world):
    browser = login(app, ADMIN)
    html = upload(browser, "policy", "p.xlsx", b"PK not really").get_data(as_text=True)
    assert "错误：" in html and "不是有效的 Excel" in html
    html = upload(browser, "policy", "p.exe", b"MZ").get_data(as_text=True)
    assert "只能导入 .csv、.xlsx 或 .geojson 文件" in html
    html = upload(browser, "user", "p.csv", b"key\np-1", mode="bogus").get_data(as_text=True)
    assert "选择要导入的数据类型" in html and "选择如何处理有问题的行" in html
    big = b"key\n" + b"x" * (importer.MAX_BYTES + 10)
    html = upload(browser, "policy", "p.csv", big).get_data(as_text=True)
    assert "文件超过 10 MB" in html
    with app.app_context():
        assert count(Policy) == 0


def test_templates_download_and_departments_see_nothing(app, world):
    browser = login(app, CITY)
    response = browser.get("/admin/import/template/site.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert load_workbook(io.BytesIO(response.data)).sheetnames[0] == "数据"
    response = browser.get("/admin/import/template/policy.csv")
    assert response.mimetype == "text/csv" and response.data.startswith(b"\xef\xbb\xbfkey,")
    assert browser.get("/admin/import/template/policy.pdf").status_code == 404
    assert browser.get("/admin/import/template/user.csv").status_code == 404
    assert 'href="/admin/import/"' in browser.get("/admin/import/").get_data(as_text=True)

    department = login(app, DEPT)
    assert department.get("/admin/import/").status_code == 404
    assert department.get("/admin/import/template/site.csv").status_code == 404
    assert upload(department, "opportunity", "o.csv",
                  csv_bytes(OPPORTUNITIES)).status_code == 404
    assert department.post("/admin/import/confirm", data={"token": "x" * 43}).status_code == 404
    assert app.test_client().get("/admin/import/").status_code == 302  # to the sign-in page


def stashed() -> list[ImportStash]:
    return list(db.session.scalars(db.select(ImportStash)))


def test_an_expired_upload_is_refused_and_cleared(app, world, monkeypatch):
    browser = login(app, ADMIN)
    html = upload(browser, "opportunity", "o.csv", csv_bytes(OPPORTUNITIES)).get_data(
        as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    digest = hashlib.sha256(token.encode()).hexdigest()
    with app.app_context():
        [row] = stashed()
        assert (row.token_hash, row.user_id, row.kind, row.mode, row.filename) == (
            digest, person(ADMIN).id, "opportunity", "all", "o.csv")
        assert row.data == csv_bytes(OPPORTUNITIES)
        assert token.encode() not in row.data and token not in row.token_hash
    monkeypatch.setattr(importer, "STASH_SECONDS", -1)
    done = browser.post("/admin/import/confirm", data={"token": token}, follow_redirects=True)
    assert "已过期或已经导入" in done.get_data(as_text=True)
    upload(browser, "opportunity", "o.csv", csv_bytes(OPPORTUNITIES))
    with app.app_context():
        assert [r.token_hash for r in stashed()] != [digest]  # pruned; only the new one left
        assert len(stashed()) == 1
    assert browser.post("/admin/import/confirm", data={"token": "../../etc"}).status_code == 302
    with app.app_context():
        assert count(Opportunity) == 0


def test_a_refused_confirmation_clears_its_upload(app, world):
    """Mode "all" with a row that became wrong between the report and the confirmation: the
    confirmation is refused and the upload not kept for another try."""
    browser = login(app, CITY)
    html = upload(browser, "opportunity", "o.csv", csv_bytes(OPPORTUNITIES)).get_data(
        as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    with app.app_context():
        other = db.session.scalars(db.select(Region).filter_by(slug="other-city")).one()
        db.session.add(Opportunity(key="o-2", kind="scene", title="乙市场景",
                                   published=date(2026, 3, 1), region_id=other.id))
        db.session.commit()
    html = browser.post("/admin/import/confirm", data={"token": token}).get_data(as_text=True)
    assert 'name="token"' not in html and "这个标识已被其他记录使用" in html
    with app.app_context():
        assert stashed() == [] and count(Opportunity) == 1
