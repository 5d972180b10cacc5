"""Publishing: one set of rules, who may move what, what the public sees, the clock."""

from datetime import UTC, date, datetime, timedelta

import pytest

from portal.content import schedule, versions, workflow
from portal.extensions import db
from portal.indexing import drain
from portal.models import AuditEvent, ContentVersion, Opportunity, Policy
from seed import rules
from tests import factories

BOW_TIE = {"type": "Polygon", "coordinates": [[[113.30, 40.00], [113.31, 40.01],
                                               [113.31, 40.00], [113.30, 40.01],
                                               [113.30, 40.00]]]}


def policy_record(**kw) -> dict:
    record = {"key": "p-new", "title": "氢能产业扶持办法", "issuer": "测试市人民政府",
              "level": "municipal", "published": "2026-11-01", "status": "in_force",
              "body": "第一条 支持氢能装备企业落地。", "region": "test-city",
              "translations": {"en": {"title": "Measures supporting the hydrogen industry"}}}
    record.update(kw)
    return record


@pytest.fixture
def city(ctx):
    city = factories.region()
    factories.region(slug="zone-a", kind="zone", name="甲开发区", parent=city)
    factories.region(slug="other-city", name="乙市")
    db.session.commit()
    return city


@pytest.fixture
def people(city):
    from portal.models import Region

    zone = db.session.scalars(db.select(Region).filter_by(slug="zone-a")).one()
    people = {
        "admin": factories.staff("admin@example.gov.cn", role="admin"),
        "bureau": factories.staff("bureau@example.gov.cn", role="bureau"),
        "zone": factories.staff("zone@example.gov.cn", role="region", region=zone),
        "city": factories.staff("city@example.gov.cn", role="region", region=city),
    }
    db.session.commit()
    return people


def test_the_form_gets_the_same_messages_as_the_loader(people):
    with pytest.raises(workflow.Invalid) as raised:
        workflow.save(people["admin"], "policy", policy_record(
            region="nowhere", effective_from="2026-05-01", effective_to="2026-01-01"))
    found = {(p.field, p.message) for p in raised.value.problems}
    assert ("region", rules.unknown("nowhere")) in found
    assert any(f == "effective_to" for f, _m in found)
    with pytest.raises(workflow.Invalid) as raised:
        workflow.save(people["admin"], "policy", policy_record(level="galactic", title=""))
    fields = {p.field for p in raised.value.problems}
    assert {"level", "title"} <= fields
    assert db.session.scalar(db.select(db.func.count(Policy.id))) == 0


def test_a_self_intersecting_parcel_is_refused_with_the_loaders_message(people):
    from portal.sites import geometry

    record = {"key": "s-x", "kind": "parcel", "name": "坏地块", "region": "test-city",
              "land_use": "industrial", "area_mu": 10, "geometry": BOW_TIE}
    with pytest.raises(workflow.Invalid) as raised:
        workflow.save(people["admin"], "site", record)
    with pytest.raises(geometry.GeometryError) as direct:
        geometry.parse(BOW_TIE, "parcel")
    assert [(p.field, p.message) for p in raised.value.problems] == [
        ("geometry", str(direct.value))]


def test_region_staff_file_only_under_their_region(people):
    with pytest.raises(workflow.Invalid) as raised:
        workflow.save(people["zone"], "policy", policy_record(region="other-city"))
    assert [p.field for p in raised.value.problems] == ["region"]
    row = workflow.save(people["zone"], "policy", policy_record(region="zone-a"))
    db.session.commit()
    assert row.publication == "draft" and row.updated_by_id == people["zone"].id


def test_draft_review_publish_archive_with_versions_and_audit(people):
    row = workflow.save(people["city"], "policy", policy_record())
    db.session.commit()
    workflow.move(people["city"], row, "submit")
    db.session.commit()
    with pytest.raises(workflow.ContentError):
        workflow.move(people["city"], row, "publish")  # region staff do not publish
    with pytest.raises(workflow.ContentError):
        workflow.save(people["city"], "policy", policy_record(title="改"), row=row)
    with pytest.raises(workflow.ContentError):
        workflow.move(people["bureau"], row, "return")  # a return needs a note
    workflow.move(people["bureau"], row, "return", note="请补充文号")
    db.session.commit()
    assert row.publication == "draft"
    workflow.save(people["city"], "policy", policy_record(doc_number="测政发〔2026〕1号"), row=row)
    workflow.move(people["city"], row, "submit")
    workflow.move(people["bureau"], row, "publish")
    db.session.commit()
    assert row.publication == "published" and row.reviewed_by_id == people["bureau"].id
    workflow.move(people["admin"], row, "archive")
    db.session.commit()
    actions = [v.action for v in versions.history("policy", row.id)]
    assert actions == ["archive", "publish", "submit", "edit", "return", "submit", "create"]
    audited = db.session.scalars(db.select(AuditEvent.action).where(
        AuditEvent.entity_type == "policy")).all()
    assert {"content_create", "content_submit", "content_return", "content_publish",
            "content_archive"} <= set(audited)


def test_diff_and_restore(people):
    row = workflow.save(people["admin"], "policy", policy_record())
    db.session.commit()
    workflow.save(people["admin"], "policy", policy_record(
        title="氢能产业扶持办法（修订）",
        translations={"en": {"title": "Revised hydrogen measures"}}), row=row)
    db.session.commit()
    first, second = sorted(versions.history("policy", row.id), key=lambda v: v.number)
    changes = {c.field: (c.before, c.after) for c in versions.diff(first.data, second.data)}
    assert changes["title"] == ("氢能产业扶持办法", "氢能产业扶持办法（修订）")
    assert changes["en.title"][1] == "Revised hydrogen measures"
    workflow.restore(people["admin"], "policy", row, first.number)
    db.session.commit()
    assert row.title == "氢能产业扶持办法"
    assert versions.latest("policy", row.id).action == "restore"


def _public(client, path):
    return client.get(path).get_data(as_text=True)


def test_the_public_sees_live_records_only(app, client, people):
    row = workflow.save(people["admin"], "policy", policy_record())
    db.session.commit()
    drain()
    pid = row.id
    assert client.get(f"/zh/policies/{pid}").status_code == 404
    assert "氢能产业扶持办法" not in _public(client, "/zh/policies/?q=氢能")
    assert client.get("/api/v1/policies?q=氢能").get_json()["total"] == 0
    workflow.move(people["admin"], row, "publish")
    db.session.commit()
    drain()
    assert client.get(f"/zh/policies/{pid}").status_code == 200
    assert "氢能产业扶持办法" in _public(client, "/zh/policies/?q=氢能")
    assert "Measures supporting the hydrogen" in _public(client, "/en/policies/?q=hydrogen")
    workflow.move(people["admin"], db.session.get(Policy, pid), "archive")
    db.session.commit()
    drain()
    assert client.get(f"/zh/policies/{pid}").status_code == 404
    assert client.get("/api/v1/policies?q=氢能").get_json()["total"] == 0
    assert f"/policies/{pid}" not in _public(client, "/sitemap.xml")


def test_scheduled_publication_and_expiry_follow_the_clock(app, client, people):
    clock = {"now": datetime(2026, 12, 1, 9, 0, tzinfo=UTC)}
    app.config["CONTENT_CLOCK"] = lambda: clock["now"]
    try:
        row = workflow.save(people["admin"], "policy", policy_record(effective_to="2026-12-31"))
        workflow.move(people["admin"], row, "publish",
                      publish_at=datetime(2026, 12, 2, 0, 0, tzinfo=UTC))
        item = Opportunity(key="o-1", kind="scene", title="氢能重卡应用场景",
                           published=date(2026, 11, 1), deadline=date(2026, 12, 10))
        db.session.add(item)
        db.session.commit()
        pid = row.id
        drain()
        assert client.get(f"/zh/policies/{pid}").status_code == 404  # scheduled, not yet
        assert schedule.apply_due() == {"went_live": 0, "expired": 0, "closed": 0}

        clock["now"] += timedelta(days=1)  # 2 December
        assert client.get(f"/zh/policies/{pid}").status_code == 200  # live by the clock
        assert schedule.apply_due()["went_live"] == 1
        drain()
        assert pid in [i["id"] for i in client.get("/api/v1/policies?q=氢能").get_json()["items"]]

        clock["now"] = datetime(2026, 12, 11, 1, 0, tzinfo=UTC)  # 9:00 in Datong
        assert schedule.apply_due()["closed"] == 1
        assert db.session.get(Opportunity, item.id).status == "closed"

        clock["now"] = datetime(2027, 1, 1, 2, 0, tzinfo=UTC)
        assert schedule.apply_due() == {"went_live": 0, "expired": 1, "closed": 0}
        assert db.session.get(Policy, pid).status == "expired"
        assert [v.action for v in versions.history("policy", pid)][:2] == ["expire", "publish"]
        assert schedule.apply_due() == {"went_live": 0, "expired": 0, "closed": 0}
    finally:
        app.config.pop("CONTENT_CLOCK")


def test_reloading_the_pack_keeps_what_staff_changed(app, runner, ctx):
    from seed.loader import load_pack

    load_pack("datong")
    staff = factories.staff(role="admin")
    row = db.session.scalars(db.select(Policy).filter_by(key="seed-000")).one()
    record = rules.to_record("policy", row) | {"title": "人工修订的标题"}
    workflow.save(staff, "policy", record, row=row)
    db.session.commit()
    load_pack("datong")
    assert db.session.scalars(db.select(Policy.title).filter_by(key="seed-000")).one() == \
        "人工修订的标题"
    loads = db.session.scalar(db.select(db.func.count(ContentVersion.id)).where(
        ContentVersion.action == "load"))
    assert loads >= 51 + 26  # each pack record has its "load" version, once


def test_a_draft_for_comment_says_when_its_period_ended(app, client, people):
    clock = {"now": datetime(2026, 12, 1, 9, 0, tzinfo=UTC)}
    app.config["CONTENT_CLOCK"] = lambda: clock["now"]
    try:
        row = workflow.save(people["admin"], "policy", policy_record(
            status="draft", comment_until="2026-12-10"))
        workflow.move(people["admin"], row, "publish")
        db.session.commit()
        page = _public(client, f"/zh/policies/{row.id}")
        assert "意见征集截止日期" in page and "最后更新" in page
        clock["now"] = datetime(2026, 12, 11, 9, 0, tzinfo=UTC)
        assert "意见征集已于" in _public(client, f"/zh/policies/{row.id}")
    finally:
        app.config.pop("CONTENT_CLOCK")


def test_tick_command(app, runner, people):
    item = Opportunity(key="o-old", kind="scene", title="过期场景", published=date(2020, 1, 1),
                       deadline=date(2020, 6, 30))
    db.session.add(item)
    db.session.commit()
    result = runner.invoke(args=["content", "tick"])
    assert result.exit_code == 0, result.output
    assert dict(line.split() for line in result.output.splitlines())["closed"] == "1"
    db.session.expire_all()
    assert db.session.get(Opportunity, item.id).status == "closed"


def test_a_time_typed_in_beijing_time_goes_live_at_that_moment(app, client, people):
    """09:00 Beijing time is 01:00 UTC on both engines (SQLite keeps no offset)."""
    from zoneinfo import ZoneInfo

    clock = {"now": datetime(2026, 12, 1, 0, 0, tzinfo=UTC)}
    app.config["CONTENT_CLOCK"] = lambda: clock["now"]
    try:
        row = workflow.save(people["admin"], "policy", policy_record())
        workflow.move(people["admin"], row, "publish", publish_at=datetime(
            2026, 12, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        db.session.commit()
        pid = row.id
        db.session.expire_all()
        clock["now"] = datetime(2026, 12, 2, 0, 59, tzinfo=UTC)
        assert client.get(f"/zh/policies/{pid}").status_code == 404
        assert schedule.apply_due()["went_live"] == 0
        clock["now"] = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
        assert client.get(f"/zh/policies/{pid}").status_code == 200
        assert schedule.apply_due()["went_live"] == 1
    finally:
        app.config.pop("CONTENT_CLOCK")
