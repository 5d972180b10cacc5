"""A submission repeating an earlier one (same sender, similar text, within 30 days) is taken
in like any other and linked to the earlier ticket; staff see the link on both tickets and a
marker in the queue, never where it would name a complainant who asked not to be named."""

from datetime import timedelta

import pytest

from portal.cases import repeats
from portal.extensions import db
from portal.models import Complaint, Demand, Region
from tests import factories
from tests.test_intake import COMPLAINT, demand, valid_credit_code

PASSWORD = "copper kettle drum"
FACTS = "2026年9月提交施工许可申请，材料齐全，至今未办理也未告知原因，多次电话询问无人答复。"


def _complain(client, **changes) -> str:
    answer = client.post("/api/v1/complaints", json=COMPLAINT | {
        "facts": FACTS, "consent": True} | changes)
    assert answer.status_code == 201, answer.get_json()  # a repeat is never refused
    return answer.get_json()["ticket"]


def _demand(client, **changes) -> str:
    answer = client.post("/zh/demands/new", data=demand(**changes))
    assert answer.status_code == 201
    with client.application.app_context():
        return db.session.scalars(db.select(Demand.ticket).order_by(Demand.id.desc())).first()


def _repeat_of(app, model, ticket: str) -> str:
    with app.app_context():
        return db.session.scalars(db.select(model.repeat_of).filter_by(ticket=ticket)).one()


def test_the_same_complaint_again_is_linked_not_refused(client, app):
    first = _complain(client)
    # Reworded a little, same phone: linked.
    second = _complain(client, facts=FACTS.replace("多次电话询问无人答复", "打电话也没人接"))
    assert second != first
    assert _repeat_of(app, Complaint, first) == ""
    assert _repeat_of(app, Complaint, second) == first
    # The latest earlier match is the one linked; its own link leads back.
    third = _complain(client, facts=FACTS + "请尽快处理。")
    assert _repeat_of(app, Complaint, third) == second


def test_same_email_and_same_respondent_is_a_repeat_even_in_other_words(client, app):
    first = _complain(client, contact_phone="13700001111", contact_email="Li@Example.com")
    second = _complain(client, contact_phone="13700002222", contact_email="li@example.com",
                       respondent_name=" 某县行政审批服务管理局 ",
                       facts="施工许可拖了三个月，要求给出书面说法，不然无法开工建设厂房。")
    assert _repeat_of(app, Complaint, second) == first


@pytest.mark.parametrize("changes", [
    # Someone else with the same words.
    {"contact_phone": "13600003333"},
    # The same sender about something else, somewhere else.
    {"respondent_name": "某区住房和城乡建设局",
     "facts": "厂房竣工验收材料提交后被要求重复补充同一份检测报告，前后共四次，每次说法不一样。"},
])
def test_a_different_sender_or_a_different_matter_is_not_a_repeat(client, app, changes):
    _complain(client)
    assert _repeat_of(app, Complaint, _complain(client, **changes)) == ""


def test_after_thirty_days_it_is_a_new_matter(client, app):
    first = _complain(client)
    with app.app_context():
        record = db.session.scalars(db.select(Complaint).filter_by(ticket=first)).one()
        record.submitted_at = record.submitted_at - timedelta(days=31)
        db.session.commit()
    second = _complain(client)
    assert _repeat_of(app, Complaint, second) == ""
    with app.app_context():  # the first a day inside the window, the second long outside
        first_row, second_row = (db.session.scalars(db.select(Complaint).filter_by(
            ticket=t)).one() for t in (first, second))
        first_row.submitted_at = first_row.submitted_at + timedelta(days=2)
        second_row.submitted_at = second_row.submitted_at - timedelta(days=90)
        db.session.commit()
    assert _repeat_of(app, Complaint, _complain(client)) == first


def test_demands_from_the_same_company_code_or_for_the_same_site(client, app):
    code = valid_credit_code("91140200MA0L")
    first = _demand(client, credit_code=code, message="建设储能电池组装线，年产2GWh。")
    # Another contact of the same company (same credit code), similar message.
    second = _demand(client, credit_code=code, contact_phone="13500005555",
                     contact_email="", message="建设储能电池组装线，年产3GWh。")
    assert _repeat_of(app, Demand, second) == first
    # Another company: not linked, though the words are the same.
    other = _demand(client, credit_code=valid_credit_code("91140200MA0P"),
                    contact_phone="13500006666", contact_email="zhang@example.com",
                    message="建设储能电池组装线，年产2GWh。")
    assert _repeat_of(app, Demand, other) == ""
    # The same sender interested in the same site, in other words.
    with app.app_context():
        site_id = factories.parcel().id
        db.session.commit()
    site_first = _demand(client, credit_code=valid_credit_code("91140200MA0Q"),
                         contact_phone="13500007777", contact_email="",
                         message="想了解地块的供地方式。", site=str(site_id))
    site_again = _demand(client, credit_code=valid_credit_code("91140200MA0R"),
                         contact_phone="13500007777", contact_email="",
                         message="请问该地块能否分期出让？用于光伏组件。", site=str(site_id))
    assert _repeat_of(app, Demand, site_again) == site_first


def test_similarity_of_long_texts_is_bounded():
    """Only the first COMPARED_CHARS characters are compared, so a 10,800-character text
    costs no more than a 3,000-character one (difflib is quadratic in the worst case)."""
    base = "申请材料齐全但审批部门迟迟不予办理，" * 600  # 10,800 characters
    text = repeats._text(Complaint(facts=base))
    assert len(text) == repeats.COMPARED_CHARS
    assert repeats.similar_text(text, repeats._text(Complaint(facts=base + "另补充说明。")))
    assert not repeats.similar_text("施工许可逾期未办", "拖欠工程款两年未付")


# --- what staff see ----------------------------------------------------------------------


@pytest.fixture
def staffed(app):
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        xinrong = factories.region(slug="xinrong", kind="district", name="新荣区", parent=city)
        factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
        factories.staff(email="bureau@example.gov.cn", password=PASSWORD, role="bureau")
        factories.staff(email="xinrong@example.gov.cn", password=PASSWORD, role="region",
                        region=xinrong)
        db.session.commit()


def _as(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def test_staff_see_the_link_both_ways_and_a_marker_in_the_queue(client, app, staffed):
    first = _complain(client, respondent_region="xinrong")
    second = _complain(client, respondent_region="xinrong", facts=FACTS + "再次投诉。")
    browser = _as(app, "bureau@example.gov.cn")
    page = browser.get(f"/admin/tickets/complaint/{second}").get_data(as_text=True)
    assert "疑似重复提交" in page
    assert f'href="/admin/tickets/complaint/{first}"' in page
    page = browser.get(f"/admin/tickets/complaint/{first}").get_data(as_text=True)
    assert "此后的相似提交" in page and f'href="/admin/tickets/complaint/{second}"' in page
    assert "疑似重复提交" not in page
    queue = browser.get("/admin/tickets/complaint").get_data(as_text=True)
    rows = {t: row for row in queue.split("<tr")[1:] for t in (first, second) if t in row}
    assert "疑似重复" in rows[second] and "疑似重复" not in rows[first]


def test_an_earlier_ticket_held_elsewhere_is_named_not_linked(client, app, staffed):
    first = _complain(client, respondent_region="yungang")
    second = _complain(client, respondent_region="xinrong")
    assert _repeat_of(app, Complaint, second) == first
    page = _as(app, "xinrong@example.gov.cn").get(
        f"/admin/tickets/complaint/{second}").get_data(as_text=True)
    assert first in page and "由其他单位办理" in page
    assert f'href="/admin/tickets/complaint/{first}"' not in page
    assert _as(app, "xinrong@example.gov.cn").get(
        f"/admin/tickets/complaint/{first}").status_code == 404


def test_no_link_names_a_complainant_who_asked_not_to_be_named(client, app, staffed):
    """A withheld complaint about 新荣区, then the same complaint, not withheld, about 云冈区
    and held by 新荣区: a link between them would tell 新荣区 who complained about it."""
    hidden = _complain(client, respondent_region="xinrong", withhold_identity=True)
    named = _complain(client, respondent_region="yungang")
    assert _repeat_of(app, Complaint, named) == hidden
    with app.app_context():
        record = db.session.scalars(db.select(Complaint).filter_by(ticket=named)).one()
        record.region = db.session.scalars(db.select(Region).filter_by(slug="xinrong")).one()
        db.session.commit()
    browser = _as(app, "xinrong@example.gov.cn")
    page = browser.get(f"/admin/tickets/complaint/{named}").get_data(as_text=True)
    assert "大同示例制造有限公司" in page  # this one may be named
    assert hidden not in page and "疑似重复" not in page
    page = browser.get(f"/admin/tickets/complaint/{hidden}").get_data(as_text=True)
    assert named not in page and "大同示例制造有限公司" not in page
    queue = browser.get("/admin/tickets/complaint").get_data(as_text=True)
    assert "疑似重复" not in queue
    # The bureau sees the link.
    page = _as(app, "bureau@example.gov.cn").get(
        f"/admin/tickets/complaint/{named}").get_data(as_text=True)
    assert f'href="/admin/tickets/complaint/{hidden}"' in page
