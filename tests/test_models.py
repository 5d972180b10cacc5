from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import (
    BatchFigure,
    Complaint,
    Demand,
    Opportunity,
    Policy,
    Site,
    TicketEvent,
    User,
)
from tests import factories


def _fails(row):
    db.session.add(row)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_factories_build_valid_rows(ctx):
    site = factories.parcel()
    policy = factories.policy()
    user = factories.staff()
    db.session.commit()
    assert site.id and policy.id and user.id
    assert site.region.slug == "test-city"
    assert user.check_password("correct horse") and not user.check_password("wrong")


def test_negative_area_refused(ctx):
    region = factories.region()
    _fails(Site(key="neg", kind="parcel", name="x", region=region, land_use="industrial",
                area_mu=-1, geometry={}, latitude=40, longitude=113))


def test_parcel_needs_area_and_carrier_needs_floor_area(ctx):
    region = factories.region()
    _fails(Site(key="a", kind="parcel", name="x", region=factories.region(slug="r2"),
                land_use="industrial", geometry={}, latitude=40, longitude=113))
    _fails(Site(key="b", kind="factory", name="x", region=region, land_use="industrial",
                geometry={}, latitude=40, longitude=113))


def test_unknown_status_and_level_refused(ctx):
    _fails(Policy(key="x", title="t", issuer="i", level="galactic", published=date(2026, 1, 1),
                  status="in_force", body="b"))
    _fails(Policy(key="y", title="t", issuer="i", level="municipal", published=date(2026, 1, 1),
                  status="maybe", body="b"))


def test_empty_title_refused(ctx):
    _fails(Policy(key="x", title="", issuer="i", level="municipal", published=date(2026, 1, 1),
                  status="in_force", body="b"))


def test_effective_dates_ordered(ctx):
    _fails(Policy(key="x", title="t", issuer="i", level="municipal", published=date(2026, 1, 1),
                  status="in_force", body="b", effective_from=date(2026, 5, 1),
                  effective_to=date(2026, 1, 1)))


def test_plot_ratio_bounds_ordered(ctx):
    _fails(Site(
        key="pr", kind="parcel", name="x", region=factories.region(), land_use="industrial",
        area_mu=10, geometry={}, latitude=40, longitude=113, min_plot_ratio=2.0,
        max_plot_ratio=1.0))


def test_opportunity_deadline_after_published(ctx):
    _fails(Opportunity(key="o", kind="scene", title="t", published=date(2026, 3, 1),
                       deadline=date(2026, 2, 1)))


def test_timeline_event_belongs_to_exactly_one_ticket(ctx):
    _fails(TicketEvent(status="submitted"))
    now = datetime.now(UTC)
    demand = Demand(ticket="D-1", access_code_hash="h", contact_name="张三", consent_at=now,
                    company_name="某公司")
    complaint = Complaint(ticket="C-1", access_code_hash="h", contact_name="李四",
                          consent_at=now, category="policy", respondent_name="某局",
                          facts="事实")
    db.session.add_all([demand, complaint])
    db.session.flush()
    _fails(TicketEvent(status="submitted", demand_id=demand.id, complaint_id=complaint.id))


def test_complaint_rating_between_one_and_five(ctx):
    _fails(Complaint(ticket="C-2", access_code_hash="h", contact_name="李四",
                     consent_at=datetime.now(UTC), category="policy", respondent_name="某局",
                     facts="事实", rating=6))


def test_region_role_needs_a_region(ctx):
    _fails(User(email="county@example.gov.cn", role="region", password_hash="x"))


def test_batch_rate_is_a_percentage(ctx):
    _fails(BatchFigure(key="b", area="大同市", period="2023", batch="signed", projects=1,
                       published_rate_percent=120))
    _fails(BatchFigure(key="c", area="大同市", period="2023", batch="signed", projects=1,
                       rate_kind="signed_started", rate_part=-1))


def test_translation_falls_back_to_chinese(ctx):
    policy = factories.policy(translations={"en": {"title": "Test policy"}})
    assert policy.tr("title", "en") == "Test policy"
    assert policy.tr("title", "ja") == "测试政策"
    assert policy.tr("summary", "en") == ""
    assert policy.is_translated("title", "en") and not policy.is_translated("title", "ja")


def test_region_hierarchy(ctx):
    province = factories.region(slug="p", kind="province")
    city = factories.region(slug="c", kind="city", parent=province)
    zone = factories.region(slug="z", kind="zone", parent=city)
    db.session.commit()
    assert [r.slug for r in zone.ancestors()] == ["p", "c"]
    assert province.children == [city]
