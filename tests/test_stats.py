"""Figures drawn from the records, against values worked out by hand: 三个一批 rates with the
published definitions, service performance in working days across the 2026 Spring Festival
(15–23 Feb off, Saturdays 14 and 28 Feb worked), ratings; each within the user's scope."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from portal.cases import stats
from portal.extensions import db
from portal.intake import workflow
from portal.models import BatchFigure, Project, Region, User
from tests import factories
from tests.test_projects import PASSWORD, login, make_complaint, make_demand


def shanghai(day: str, hour: int = 10) -> datetime:
    """10:00 in Shanghai on ``day`` (02:00 UTC)."""
    y, m, d = map(int, day.split("-"))
    return datetime(y, m, d, hour - 8, tzinfo=UTC)


def _project(demand, **figures) -> Project:
    project = Project(demand=demand, region_id=demand.region_id, name=demand.company_name,
                      figures={}, **figures)
    db.session.add(project)
    return project


@pytest.fixture
def records(app):
    """Four projects (three in 平城区, one in 云冈区) and four tickets with known times.

    三个一批, 2026 (amounts in 万元):
      P1 平城 signed 2026-01-10  1,000,000, started 03-02, invested 600,000, producing 06-01,
         output 800,000
      P2 平城 signed 2026-02-13    923,000, started 04-01, invested 100,000
      P3 平城 signed 2026-01-09    314,000, not started
      P4 云冈 signed 2025-11-20    200,000, started 2026-01-05, invested 50,000
    签约一批 2026: P1–P3, 223.7 亿; started of them P1, P2: 192.3 亿 → 85.96 % (seed 003's
    192.3 ÷ 223.7). 开工一批 2026: P1, P2, P4, 212.3 亿, invested 75 亿; producing of them P1
    with 60 亿 invested → 60 ÷ 212.3 = 28.26 %. 投产一批: P1, 100 亿, output 80 亿.
    """
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区",
                                     parent=city)
        yungang = factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
        factories.staff(email="admin@example.gov.cn", password=PASSWORD, role="admin")
        factories.staff(email="pc@example.gov.cn", password=PASSWORD, role="region",
                        region=pingcheng)

        # Service performance (working days after the day of submission, Shanghai dates):
        # D1 submitted Fri 13 Feb; first contact Sat 14 Feb (a working day): 1; accepted
        #    Tue 24 Feb: 14 Feb + 24 Feb = 2; signed Mon 2 Mar: 14, 24–28 Feb, 2 Mar = 7.
        #    Acknowledgement due 1 working day after 13 Feb = Sat 14 Feb: late.
        # D2 submitted Tue 10 Feb, accepted and contacted Wed 11 Feb: 1, on time.
        # D3 submitted Mon 5 Jan, contacted Thu 8 Jan: 3, accepted Fri 9 Jan: 4, late.
        # C1 submitted Thu 12 Feb, contacted and accepted Thu 26 Feb: 13, 14, 24, 25, 26 = 5;
        #    closed 5 Mar, within its 60 working days: on time.
        d1 = make_demand(pingcheng, company="一号公司", submitted=shanghai("2026-02-13"),
                         status="signed", first_contact_at=shanghai("2026-02-14"),
                         accepted_at=shanghai("2026-02-24"), rating=5)
        d2 = make_demand(pingcheng, company="二号公司", submitted=shanghai("2026-02-10"),
                         status="started", first_contact_at=shanghai("2026-02-11"),
                         accepted_at=shanghai("2026-02-11", 16), rating=2)
        d3 = make_demand(pingcheng, company="三号公司", submitted=shanghai("2026-01-05"),
                         status="signed", first_contact_at=shanghai("2026-01-08"),
                         accepted_at=shanghai("2026-01-09"))
        d4 = make_demand(yungang, company="四号公司", submitted=shanghai("2025-11-03"),
                         status="started")
        # C2 submitted Mon 2 Mar, not yet accepted: due 7 working days later, Wed 11 Mar.
        make_complaint(yungang, submitted=shanghai("2026-03-02"), category="policy")
        make_complaint(yungang, submitted=shanghai("2026-02-12"), status="closed",
                       accepted_at=shanghai("2026-02-26"),
                       first_contact_at=shanghai("2026-02-26"),
                       closed_at=shanghai("2026-03-05"), rating=4)
        _project(d1, stage="producing", signed_on=date(2026, 3, 2), signed_amount_wan=1_000_000,
                 started_on=date(2026, 3, 2), invested_wan=600_000,
                 producing_on=date(2026, 6, 1), expected_output_wan=800_000)
        _project(d2, stage="started", signed_on=date(2026, 2, 13), signed_amount_wan=923_000,
                 started_on=date(2026, 4, 1), invested_wan=100_000)
        _project(d3, stage="signed", signed_on=date(2026, 1, 9), signed_amount_wan=314_000)
        _project(d4, stage="started", signed_on=date(2025, 11, 20), signed_amount_wan=200_000,
                 started_on=date(2026, 1, 5), invested_wan=50_000)
        db.session.add(BatchFigure(key="datong-2023-signed", area="大同市",
                                   period="2023年以来（共5次“三个一批”活动）", batch="signed",
                                   projects=115, investment_yi=223.7,
                                   rate_kind="signed_started", rate_part=192.3,
                                   published_rate_percent=85.96))
        db.session.commit()
        db.session.remove()


def _user(email) -> User:
    return db.session.scalars(db.select(User).filter_by(email=email)).one()


def test_periods():
    today = date(2026, 12, 4)
    assert stats.period("", today) == stats.period("2026", today)
    q1 = stats.period("2026Q1", today)
    assert (q1.start, q1.end) == (date(2026, 1, 1), date(2026, 3, 31))
    q4 = stats.period("2026q4", today)
    assert (q4.key, q4.start, q4.end) == ("2026Q4", date(2026, 10, 1), date(2026, 12, 31))
    since = stats.period("since2023", today)
    assert (since.start, since.end) == (date(2023, 1, 1), today)
    for bad in ("2026Q5", "last year", "20261", "sinceabcd"):
        with pytest.raises(stats.PeriodError):
            stats.period(bad, today)


def test_three_batches_with_the_published_definitions(app, records):
    # Seed 003's own figures give its published rate with the same arithmetic.
    assert round(100 * 192.3 / 223.7, 2) == 85.96
    with app.app_context():
        everything = stats.own_projects(_user("admin@example.gov.cn"))
        signed, started, producing = stats.batches(everything, stats.period("2026"))
        assert (signed.projects, signed.investment_wan, signed.next_projects,
                signed.next_wan, signed.rate_percent) == (3, 2_237_000, 2, 1_923_000, 85.96)
        assert (started.projects, started.investment_wan, started.invested_wan,
                started.next_projects, started.next_wan, started.rate_percent) == \
            (3, 2_123_000, 750_000, 1, 600_000, 28.26)
        assert (producing.projects, producing.investment_wan, producing.output_wan,
                producing.rate_percent) == (1, 1_000_000, 800_000, None)
        # First quarter: P1–P3 signed (223.7 亿), only P1 started by 31 March (100 亿):
        # 44.70 %; P4 and P1 started (120 亿), neither producing by then.
        signed, started, producing = stats.batches(everything, stats.period("2026Q1"))
        assert (signed.projects, signed.rate_percent) == (3, 44.7)
        assert (started.projects, started.investment_wan, started.rate_percent) == \
            (2, 1_200_000, 0.0)
        assert producing.projects == 0 and producing.rate_percent is None
        # 平城区 sees its own three: the started batch is P1 and P2, 60 ÷ 192.3 = 31.20 %.
        own = stats.own_projects(_user("pc@example.gov.cn"))
        assert len(own) == 3
        signed, started, _ = stats.batches(own, stats.period("2026"))
        assert signed.rate_percent == 85.96 and started.rate_percent == 31.2


def test_service_performance_across_the_spring_festival(app, records):
    now = datetime(2026, 3, 10, tzinfo=UTC)
    with app.app_context():
        perf = stats.performance(_user("admin@example.gov.cn"), now)
        total = perf.total
        assert total.tickets == 6
        assert sorted(total.to_accept) == [1, 2, 4, 5]
        assert total.median(total.to_accept) == 3.0 and total.mean(total.to_accept) == 3.0
        assert sorted(total.to_contact) == [1, 1, 3, 5]
        assert total.median(total.to_contact) == 2.0
        # To signing: D1 7; D2 10 → 13 Feb: 3; D3 5 → 9 Jan: 4; D4 3 → 20 Nov 2025: 13.
        assert sorted(total.to_sign) == [3, 4, 7, 13] and total.median(total.to_sign) == 5.5
        # Settled: D1 late, D2 on time, D3 late, C1 on time → 2 of 4. Not counted: D4 (no
        # record of when it was accepted) and C2 (its deadline, 11 March, has not passed).
        assert (total.settled, total.on_time, total.on_time_percent) == (4, 2, 50.0)
        later = stats.performance(_user("admin@example.gov.cn"),
                                  shanghai("2026-03-12")).total
        assert (later.settled, later.on_time, later.on_time_percent) == (5, 2, 40.0)
        feb = perf.by_month["2026-02"]
        assert (feb.tickets, sorted(feb.to_accept), feb.median(feb.to_accept)) == \
            (3, [1, 2, 5], 2)
        assert perf.by_month["2026-01"].to_accept == [4]
        assert perf.by_region["平城区"].median(perf.by_region["平城区"].to_accept) == 2
        assert perf.by_region_month[("云冈区", "2026-02")].to_accept == [5]

        own = stats.performance(_user("pc@example.gov.cn"), now)
        assert own.total.tickets == 3 and set(own.by_region) == {"平城区"}
        assert (own.total.settled, own.total.on_time) == (3, 1)


def test_ratings_by_region_and_category(app, records):
    with app.app_context():
        rated = stats.ratings(_user("admin@example.gov.cn"))
        regions = {r.label: (r.average, r.count) for r in rated["by_region"]}
        assert regions == {"平城区": (3.5, 2), "云冈区": (4.0, 1)}
        categories = {r.label: (r.average, r.count) for r in rated["by_category"]}
        assert categories == {"投资需求": (3.5, 2), "拖欠账款": (4.0, 1)}
        own = stats.ratings(_user("pc@example.gov.cn"))
        assert [(r.label, r.average, r.count) for r in own["by_region"]] == [("平城区", 3.5, 2)]


def test_the_stats_page_and_its_exports(app, records):
    browser = login(app, "admin@example.gov.cn")
    page = browser.get("/admin/stats?period=2026").get_data(as_text=True)
    assert "85.96%" in page and "28.26%" in page
    assert "223.7" in page and "192.3" in page  # our batch, in 亿元
    assert "公布数字" in page and "2023年以来" in page  # the published figures beside
    assert "3.5" in page  # 平城区's average rating
    bad = browser.get("/admin/stats?period=nonsense")
    assert bad.status_code == 400
    assert "统计期格式为 2026" in bad.get_data(as_text=True)

    rows = list(csv.reader(io.StringIO(
        browser.get("/admin/stats/performance.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["分组", "区域", "月份", "件数"]
    total = rows[1]
    assert total[0] == "合计" and total[3] == "6" and total[5] == "3.0"
    answer = browser.get("/admin/stats/performance.xlsx")
    assert answer.headers["Content-Disposition"] == 'attachment; filename="performance.xlsx"'
    sheet = load_workbook(io.BytesIO(answer.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][0] == "合计" and values[1][3] == 6 and values[1][5] == 3

    pc = login(app, "pc@example.gov.cn")
    page = pc.get("/admin/stats?period=2026").get_data(as_text=True)
    assert "31.2%" in page and "28.26%" not in page
    xlsx = load_workbook(io.BytesIO(pc.get("/admin/stats/performance.xlsx").data)).active
    assert not any("云冈区" in str(v) for row in xlsx.iter_rows(values_only=True) for v in row)


def test_dashboard_section_and_ticket_export_rating(app, records):
    browser = login(app, "admin@example.gov.cn")
    page = browser.get("/admin/").get_data(as_text=True)
    assert "服务绩效与项目" in page and "受理用时中位数" in page
    assert "平均评价（3 条）" in page and "3.67" in page  # (5 + 2 + 4) ÷ 3
    rows = list(csv.reader(io.StringIO(
        browser.get("/admin/tickets/demand.csv").get_data(as_text=True).lstrip("\ufeff"))))
    rating = rows[0].index("rating")
    assert sorted(r[rating] for r in rows[1:]) == ["", "", "2", "5"]


def test_transition_stamps_the_milestones(app, records):
    with app.app_context():
        region = db.session.scalars(db.select(Region).filter_by(slug="pingcheng")).one()
        staff = _user("pc@example.gov.cn")
        demand = make_demand(region, company="新公司")
        workflow.transition(demand, "accepted", actor=None)
        assert demand.accepted_at is not None and demand.first_contact_at is None
        first = demand.accepted_at
        workflow.transition(demand, "negotiating", actor=staff)
        assert demand.first_contact_at is not None and demand.accepted_at == first
        workflow.transition(demand, "closed", actor=staff, note="企业放弃")
        assert demand.closed_at is not None
        db.session.rollback()
