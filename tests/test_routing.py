"""Routing of new tickets: a site's zone, the preferred region, the routing table for
complaints (from the data pack, edited by admins), and the staff alert to that unit."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Complaint, Demand, OutboxJob, RoutingRule
from tests import factories
from tests.test_intake import COMPLAINT, demand

PASSWORD = "copper kettle drum"


@pytest.fixture
def world(app):
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区",
                                     parent=city)
        yungang = factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
        zone = factories.region(slug="datong-edz", kind="zone", name="大同经济技术开发区",
                                parent=pingcheng)
        site = factories.parcel(key="edz-1", region_row=zone)
        factories.staff(email="zone@example.gov.cn", password=PASSWORD, role="region",
                        region=zone)
        factories.staff(email="yg@example.gov.cn", password=PASSWORD, role="region",
                        region=yungang)
        factories.staff(email="bureau@example.gov.cn", password=PASSWORD, role="bureau")
        factories.staff(email="admin@example.gov.cn", password=PASSWORD, role="admin")
        xzsp = factories.department(slug="xzsp", name="大同市行政审批服务管理局")
        zrzy = factories.department(slug="zrzy", name="大同市自然资源局")
        factories.staff(email="xzsp@example.gov.cn", password=PASSWORD, role="department",
                        department=xzsp)
        db.session.add_all([
            RoutingRule(keyword="自然资源", department=zrzy, region=yungang, sort_order=0),
            RoutingRule(category="approval", department=xzsp, sort_order=10),
        ])
        db.session.commit()
        return {"site": site.id}


def _as(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def _mailed(app) -> set[str]:
    with app.app_context():
        return {job.payload["to"] for job in db.session.scalars(
            db.select(OutboxJob).filter_by(kind="mail"))}


def test_interest_in_a_zone_site_reaches_the_zone(client, app, world):
    assert client.post("/zh/demands/new", data=demand(
        site=str(world["site"]), preferred_regions=["yungang"])).status_code == 201
    with app.app_context():
        record = db.session.scalars(db.select(Demand)).one()
        assert record.region.slug == "datong-edz" and record.first_region.slug == "datong-edz"
        ticket = record.ticket
    assert {"zone@example.gov.cn", "bureau@example.gov.cn"} <= _mailed(app)
    assert "yg@example.gov.cn" not in _mailed(app)
    url = f"/admin/tickets/demand/{ticket}"
    for email, status in (("zone@example.gov.cn", 200), ("bureau@example.gov.cn", 200),
                          ("yg@example.gov.cn", 404)):
        assert _as(app, email).get(url).status_code == status, email
    page = _as(app, "zone@example.gov.cn").get(url).get_data(as_text=True)
    assert "首谈首报" in page and "大同经济技术开发区" in page


def test_without_a_site_the_first_preferred_region_in_the_investors_order(client, app, world):
    client.post("/zh/demands/new", data=demand(preferred_regions=["yungang", "pingcheng"]))
    client.post("/zh/demands/new", data=demand(company_name="无意向公司"))
    with app.app_context():
        regions = {d.company_name: d.region.slug if d.region else None
                   for d in db.session.scalars(db.select(Demand))}
    assert regions == {"大同示例新能源有限公司": "yungang", "无意向公司": None}  # None: bureau


@pytest.mark.parametrize("changes, region, department", [
    ({}, "pingcheng", "xzsp"),  # the category rule; the respondent's region holds it
    ({"respondent_name": "某区自然资源分局"}, "yungang", "zrzy"),  # the keyword rule first
    ({"category": "arrears"}, "pingcheng", None),  # no rule: the respondent's region
    ({"category": "arrears", "respondent_region": ""}, None, None),  # else the bureau
])
def test_a_complaint_is_routed_by_its_category_and_respondent(client, app, world, changes,
                                                              region, department):
    data = COMPLAINT | {"respondent_region": "pingcheng"} | changes
    assert client.post("/zh/complaints/new", data=data).status_code == 201
    with app.app_context():
        record = db.session.scalars(db.select(Complaint)).one()
        assert (record.region.slug if record.region else None) == region
        assert record.first_region_id == record.region_id
        assert (record.department.slug if record.department else None) == department
        ticket = record.ticket
    dept = _as(app, "xzsp@example.gov.cn").get(f"/admin/tickets/complaint/{ticket}")
    assert dept.status_code == (200 if department == "xzsp" else 404)
    assert ("xzsp@example.gov.cn" in _mailed(app)) == (department == "xzsp")


def test_admins_edit_the_routing_table(app, world):
    assert _as(app, "bureau@example.gov.cn").get("/admin/routing/").status_code == 404
    assert _as(app, "bureau@example.gov.cn").post("/admin/routing/", data={
        "new-category": "policy", "new-department": "zrzy"}).status_code == 404
    admin = _as(app, "admin@example.gov.cn")
    page = admin.get("/admin/routing/").get_data(as_text=True)
    assert "自然资源" in page and "行政审批" in page

    answer = admin.post("/admin/routing/", data={"new-category": "policy", "new-keyword": "税",
                                                  "new-region": "", "new-department": ""})
    assert answer.status_code == 422
    assert "选择承办区域或承办部门，至少一项" in answer.get_data(as_text=True)
    assert admin.post("/admin/routing/", data={"new-category": "nonsense", "new-region": "",
                                               "new-department": "zrzy"}).status_code == 422
    assert admin.post("/admin/routing/", data={
        "new-category": "policy", "new-keyword": "税务", "new-region": "",
        "new-department": "xzsp"}).status_code == 302

    def table():
        with app.app_context():
            return [(r.category, r.keyword, r.department.slug if r.department else None)
                    for r in db.session.scalars(db.select(RoutingRule).order_by(
                        RoutingRule.sort_order, RoutingRule.id))]

    def rule_id(keyword):
        with app.app_context():
            return db.session.scalars(db.select(RoutingRule.id).filter_by(
                keyword=keyword)).one()

    assert table()[-1] == ("policy", "税务", "xzsp")
    new = rule_id("税务")
    assert admin.post(f"/admin/routing/{new}", data={
        f"rule{new}-category": "policy", f"rule{new}-keyword": "税务",
        f"rule{new}-region": "", f"rule{new}-department": "zrzy"}).status_code == 302
    assert table()[-1] == ("policy", "税务", "zrzy")
    admin.post(f"/admin/routing/{new}/up")
    admin.post(f"/admin/routing/{new}/up")
    assert table()[0] == ("policy", "税务", "zrzy")
    admin.post(f"/admin/routing/{new}/delete")
    assert [k for _, k, _ in table()] == ["自然资源", ""]
    assert admin.post("/admin/routing/999999/delete").status_code == 404
    with app.app_context():
        actions = [a for (a,) in db.session.execute(db.select(AuditEvent.action).where(
            AuditEvent.action.like("routing_rule_%")).order_by(AuditEvent.id))]
    assert actions == ["routing_rule_add", "routing_rule_edit", "routing_rule_move",
                       "routing_rule_move", "routing_rule_delete"]


def test_the_datong_pack_carries_the_routing_table(site_db):
    from portal.cases import routing

    with site_db():
        assert routing.matching_rule("approval", "某县政府").department.slug == "xzsp"
        assert routing.matching_rule("other", "大同市自然资源局").department.slug == "zrzy"
        assert routing.matching_rule("other", "大同经开区管委会").region.slug == "datong-edz"
        assert routing.matching_rule("other", "某村委会") is None
