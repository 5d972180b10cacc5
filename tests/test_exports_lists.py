"""Every staff list downloads as CSV and as XLSX: exactly the rows the list shows the user
(the same scoped query and filters), every text cell neutralised against formula injection,
an unknown format a 404, and every download audited. The URL map is walked so that a list
page added without its downloads fails here."""

import csv
import io
import re
from dataclasses import dataclass
from html import unescape

import pytest
from flask import url_for
from openpyxl import load_workbook
from werkzeug.exceptions import NotFound

from portal import exports
from portal.audit import record
from portal.cases import routing, transfers
from portal.extensions import db
from portal.models import AuditEvent, ResponseTemplate
from tests import factories
from tests.test_projects import accept, make_complaint, make_demand

PASSWORD = "copper kettle drum"
ADMIN, PC = "admin@example.gov.cn", "pc@example.gov.cn"
FORMULA = '=HYPERLINK("http://x")'
# The zone's name, for the figures (their only text); not a substring of FORMULA.
ZONE = '=HYPERLINK("http://x","开发区")'
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def world(app):
    """大同 with three districts and a zone within 平城区; an admin and a 平城区 user; tickets,
    transfers, projects, rules, templates and audit events, each list with a row of
    平城区 (holding the formula) and one of another region."""
    with app.app_context():
        city = factories.region(slug="datong", kind="city", name="大同市")
        pingcheng = factories.region(slug="pingcheng", kind="district", name="平城区",
                                     parent=city)
        yungang = factories.region(slug="yungang", kind="district", name="云冈区", parent=city)
        xinrong = factories.region(slug="xinrong", kind="district", name="新荣区", parent=city)
        zone = factories.region(slug="pc-zone", kind="zone", name=ZONE, parent=pingcheng)
        department = factories.department()
        admin = factories.staff(email=ADMIN, password=PASSWORD, role="admin", name="管理员")
        pc = factories.staff(email=PC, password=PASSWORD, role="region", region=pingcheng,
                             name="平城区工作人员")
        yg = factories.staff(email="yg@example.gov.cn", password=PASSWORD, role="region",
                             region=yungang, name=FORMULA)
        demands = {"pc": make_demand(pingcheng, company=FORMULA),
                   "yg": make_demand(yungang, company="云冈装备制造有限公司"),
                   "zone": make_demand(zone, company="开发区新材料有限公司"),
                   "pc_move": make_demand(pingcheng, company="平城待流转公司"),
                   "yg_move": make_demand(yungang, company="云冈待流转公司")}
        complaints = {"pc": make_complaint(pingcheng, company_name=FORMULA),
                      "yg": make_complaint(yungang, company_name="云冈投诉公司")}
        accept(demands["pc"], pc)
        accept(demands["yg"], yg)
        db.session.flush()
        demands["pc"].project.name = FORMULA
        demands["yg"].project.name = "云冈装备项目"
        transfers.propose(pc, demands["pc_move"], yungang, FORMULA)
        transfers.propose(yg, demands["yg_move"], xinrong, "云冈区无合适用地")
        routing.add_rule(routing.RuleValues("", FORMULA, None, department))
        routing.add_rule(routing.RuleValues("arrears", "煤矿", yungang, None))
        db.session.add_all([
            ResponseTemplate(kind="complaint", title=FORMULA, body="您的投诉已收悉。"),
            ResponseTemplate(kind="demand", title="受理告知", body="您的需求已受理。")])
        record("view_ticket", "demand", FORMULA, actor=admin)
        record("view_ticket", "demand", "D-AUDIT00001", actor=pc)
        db.session.commit()
        found = {f"demand:{k}": d.ticket for k, d in demands.items()}
        found |= {f"complaint:{k}": c.ticket for k, c in complaints.items()}
        found["emails"] = {ADMIN, PC, yg.email}
        db.session.remove()
    return found


@dataclass(frozen=True)
class Case:
    """One list as a test sees it: where it is, its downloads, which column names a row, and
    which rows admin and the 平城区 user must see (``None``: the list does not exist for
    them)."""

    page: str
    download: str  # the CSV's URL; the XLSX's is the same with .xlsx
    key: int
    entity_type: str
    admin: set
    region: set | None
    formula: str | None = FORMULA  # the payload that must arrive neutralised
    unique: bool = True  # one row per key (the figures repeat a region by month)

    def universe(self) -> set:
        return self.admin | (self.region or set())


def cases(world) -> dict[str, Case]:
    d = {k.split(":")[1]: v for k, v in world.items() if k.startswith("demand:")}
    c = {k.split(":")[1]: v for k, v in world.items() if k.startswith("complaint:")}
    return {
        "demands": Case("/admin/tickets/demand", "/admin/tickets/demand.csv", 0, "demand",
                        set(d.values()), {d["pc"], d["zone"], d["pc_move"]}),
        "demands-filtered": Case("/admin/tickets/demand?region=pc-zone",
                                 "/admin/tickets/demand.csv?region=pc-zone", 0, "demand",
                                 {d["zone"]}, {d["zone"]}, formula=None),
        "complaints": Case("/admin/tickets/complaint", "/admin/tickets/complaint.csv", 0,
                           "complaint", set(c.values()), {c["pc"]}),
        "transfers": Case("/admin/transfers", "/admin/transfers.csv", 0, "transfer",
                          {d["pc_move"], d["yg_move"]}, {d["pc_move"]}),
        "projects": Case("/admin/projects", "/admin/projects.csv", 0, "project",
                         {FORMULA, "云冈装备项目"}, {FORMULA}),
        "projects-filtered": Case("/admin/projects?q=云冈", "/admin/projects.csv?q=云冈", 0,
                                  "project", {"云冈装备项目"}, set(), formula=None),
        "stats": Case("/admin/stats", "/admin/stats/performance.csv", 1, "performance",
                      {"平城区", "云冈区", ZONE}, {"平城区", ZONE}, formula=ZONE, unique=False),
        "audit": Case("/admin/audit/?action=view_ticket",
                      "/admin/audit/export.csv?action=view_ticket", 5, "audit_event",
                      {FORMULA, "D-AUDIT00001"}, None),
        "users": Case("/admin/users/", "/admin/users/export.csv", 0, "user",
                      world["emails"], None),
        "routing": Case("/admin/routing/", "/admin/routing/export.csv", 2, "routing_rule",
                        {FORMULA, "煤矿"}, None),
        "templates": Case("/admin/templates", "/admin/templates.csv", 0, "response_template",
                          {FORMULA, "受理告知"}, None),
    }


def login(app, email):
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": email, "password": PASSWORD}
                        ).status_code == 302
    return browser


def xlsx_url(url: str) -> str:
    path, _sep, query = url.partition("?")
    return path.removesuffix(".csv") + ".xlsx" + ("?" + query if query else "")


def shown(html: str) -> str:
    """The list's rows only (every table body), so a name in a filter's choices is not
    taken for a row."""
    bodies = re.findall(r"<tbody>(.*?)</tbody>", html, re.S)
    assert bodies, html
    return unescape("".join(bodies))


def csv_table(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith(exports.BOM)
    return list(csv.reader(io.StringIO(text[len(exports.BOM):], newline="")))


def xlsx_table(response) -> tuple[list[list], list]:
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    return [list(row) for row in sheet.iter_rows(values_only=True)], cells


def exports_of(app, entity_type: str) -> list[dict]:
    with app.app_context():
        return [e.detail for e in db.session.scalars(
            db.select(AuditEvent).filter_by(action="export", entity_type=entity_type)
            .order_by(AuditEvent.id))]


def keys(rows: list[list], case: Case) -> list[str]:
    """The row-naming cell of each data row, with the neutralising quote taken off."""
    found = [str(row[case.key] or "").removeprefix("'") for row in rows[1:]]
    return [key for key in found if key] if not case.unique else found


NAMES = ["demands", "demands-filtered", "complaints", "transfers", "projects",
         "projects-filtered", "stats", "audit", "users", "routing", "templates"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("email", [ADMIN, PC])
def test_each_list_exports_what_it_shows(app, world, name, email):
    case = cases(world)[name]
    expected = case.admin if email == ADMIN else case.region
    browser = login(app, email)
    page = browser.get(case.page)
    if expected is None:  # an admins' list: it does not exist for others, nor its files
        assert page.status_code == 404
        assert browser.get(case.download).status_code == 404
        assert browser.get(xlsx_url(case.download)).status_code == 404
        assert exports_of(app, case.entity_type) == []
        return
    assert page.status_code == 200
    on_page = {key for key in case.universe() if key in shown(page.get_data(as_text=True))}
    assert on_page == expected, "the list itself"

    answer = browser.get(case.download)
    assert answer.status_code == 200 and answer.content_type == CSV_TYPE
    assert answer.headers["Content-Disposition"].startswith("attachment; ")
    assert answer.headers["Cache-Control"] == "no-store"
    table = csv_table(answer)
    assert set(keys(table, case)) == expected, "the CSV"
    if case.unique:
        assert len(table) - 1 == len(expected)

    answer = browser.get(xlsx_url(case.download))
    assert answer.status_code == 200 and answer.content_type == XLSX_TYPE
    assert re.fullmatch(r'attachment; filename="[\w-]+\.xlsx"',
                        answer.headers["Content-Disposition"])
    assert answer.headers["Cache-Control"] == "no-store"
    sheet, cells = xlsx_table(answer)
    assert set(keys(sheet, case)) == expected, "the XLSX"
    assert sheet[0] == table[0]  # the same header
    assert len(sheet) == len(table)
    if case.unique:
        assert sorted(keys(sheet, case)) == sorted(keys(table, case))

    if case.formula:
        assert "'" + case.formula in {cell for row in table for cell in row}
        assert "'" + case.formula in {cell for row in sheet for cell in row}
    assert not any(cell.startswith(exports.FORMULA_STARTS) for row in table for cell in row)
    assert not any(isinstance(c.value, str) and c.value.startswith(exports.FORMULA_STARTS)
                   for c in cells)
    assert all(c.data_type in ("s", "n") for c in cells)  # never "f", a formula

    assert browser.get(case.download.replace(".csv", ".pdf")).status_code == 404
    details = exports_of(app, case.entity_type)
    assert [detail["format"] for detail in details] == ["csv", "xlsx"]  # and not the .pdf
    if case.unique and case.entity_type != "audit_event":  # the trail streams, uncounted
        assert [detail["rows"] for detail in details] == [len(expected)] * 2


def test_the_filters_are_recorded_with_the_export(app, world):
    browser = login(app, ADMIN)
    browser.get("/admin/tickets/demand.xlsx?region=pc-zone&status=open")
    browser.get("/admin/projects.xlsx?q=云冈&stalled=1")
    browser.get("/admin/audit/export.xlsx?action=view_ticket")
    assert exports_of(app, "demand")[0]["filters"] == {"region": "pc-zone", "status": "open"}
    assert exports_of(app, "project")[0]["filters"] == {"q": "云冈", "stalled": "1"}
    assert exports_of(app, "audit_event")[0] == {"filters": {"action": "view_ticket"},
                                                 "format": "xlsx"}


def test_a_filter_that_cannot_be_read_exports_nothing(app, world):
    browser = login(app, PC)
    for url in ("/admin/tickets/demand.xlsx?region=yungang",
                "/admin/tickets/demand.xlsx?status=nonsense"):
        answer = browser.get(url)
        assert answer.status_code == 302 and "/admin/tickets/demand?" in answer.location
    admin = login(app, ADMIN)
    assert admin.get("/admin/audit/export.xlsx?date_from=yesterday").status_code == 422
    assert exports_of(app, "demand") == exports_of(app, "audit_event") == []


def test_the_audit_export_lists_its_own_event(app, world):
    """Recorded before the rows are read, so the file shows that it was taken."""
    sheet, _cells = xlsx_table(login(app, ADMIN).get("/admin/audit/export.xlsx"))
    assert sheet[1][1:3] == [ADMIN, "export"]
    assert sheet[1][6] == '{"filters":{},"format":"xlsx"}'


# --- the helper ---------------------------------------------------------------------------


def test_an_unknown_format_is_a_404_and_records_nothing(app):
    with app.test_request_context("/admin/x"):
        for fmt in ("pdf", "CSV", "", "xlsx "):
            with pytest.raises(NotFound):
                exports.table_response(["a"], [["b"]], "x", fmt, entity_type="thing")
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0


def test_table_response_audits_then_sends_either_format(app):
    with app.test_request_context("/admin/x"):
        answer = exports.table_response(["名称", "数"], [["=1+1", -5]], "things", "xlsx",
                                        entity_type="thing", detail={"filters": {"q": "a"}})
        event = db.session.scalars(db.select(AuditEvent)).one()
        assert (event.action, event.entity_type, event.detail) == (
            "export", "thing", {"filters": {"q": "a"}, "format": "xlsx", "rows": 1})
        assert answer.headers["Content-Disposition"] == 'attachment; filename="things.xlsx"'
        sheet, _cells = xlsx_table(answer)
        assert sheet == [["名称", "数"], ["'=1+1", -5]]  # the number stays a number
        answer = exports.table_response(["名称", "数"], iter([["=1+1", -5]]), "things", "csv",
                                        entity_type="thing")
        answer.direct_passthrough = False
        assert answer.get_data(as_text=True) == "\ufeff名称,数\r\n'=1+1,'-5\r\n"
        assert db.session.scalars(db.select(AuditEvent.detail).order_by(AuditEvent.id)
                                  ).all()[-1] == {"format": "csv"}  # a stream is not counted


@pytest.mark.parametrize("value, cell", [
    ("=1", "'=1"), ("\x01=1", "'=1"), ("\x00\x08@SUM(1)", "'@SUM(1)"), ("#N/A", "#N/A"),
    ("\t=1", "'\t=1"), ("－1", "'－1"), ("a\x01b", "ab"), (None, None), (True, "True"),
    (float("nan"), "nan"), (-5, -5), (2.5, 2.5),
])
def test_xlsx_cells(value, cell):
    """Control characters go before the check, so none can hide a formula behind it; text
    is always a string cell (``#N/A`` is not an error value), numbers stay numbers."""
    [[_before, written, _after]] = load_workbook(io.BytesIO(
        exports.xlsx_bytes([["x", value, "y"]]))).active.iter_rows()
    assert written.value == cell
    assert written.data_type == ("n" if cell is None or isinstance(cell, int | float) else "s")


def test_a_list_registers_both_formats():
    with pytest.raises(ValueError, match="give one export endpoint"):
        exports.register_list("x.index", csv="x.export_csv")


# --- every list has both ------------------------------------------------------------------

# GET pages under /admin that are not lists of records, and why. A new page that lists
# records registers with portal.exports.register_list instead.
NOT_LISTS = {
    "admin.dashboard": "figures and links to the lists",
    "admin.login": "the sign-in form",
    "admin.password": "the password form",
    "admin.ticket": "one ticket",
    "admin.attachment": "a download",
    "users.new": "a form",
    "users.edit": "one account",
    "replies.template_new": "a form",
    "replies.template_edit": "one template",
    "reference.index": "a redirect to the first list",
    "reference.region": "one region",
    "reference.industry": "one industry",
    "reference.batch_figure": "one figure",
    "reference.batch_figure_new": "a form",
    "reference.service": "one service link",
    "reference.service_new": "a form",
    "reference.factor_cost": "one factor cost",
    "reference.factor_cost_new": "a form",
    "reference.history": "one record's versions",
    "reference.diff": "two versions compared",
    "imports.index": "the upload form",
    "imports.template": "a template download",
    "apikeys.new": "a form (and the new key, shown once)",
    "apikeys.confirm_revoke": "one key",
}
NOT_LISTS |= {f"content.{slug}_{page}": why
              for slug in ("policies", "sites", "opportunities")
              for page, why in (("new", "a form"), ("edit", "one record"),
                                ("translation", "one record's translation"),
                                ("history", "one record's versions"),
                                ("diff", "two versions compared"))}


def test_every_staff_list_has_a_csv_and_an_xlsx_export(app):
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/admin") and "GET" in rule.methods}
    downloads = {endpoint for formats in exports.LISTS.values() for endpoint in formats.values()}
    unknown = set(rules) - set(exports.LISTS) - downloads - set(NOT_LISTS)
    assert not unknown, ("a GET page under /admin that is neither a list registered with "
                         f"portal.exports.register_list nor in NOT_LISTS: {sorted(unknown)}")
    assert not set(NOT_LISTS) - set(rules), "NOT_LISTS names a page that no longer exists"
    assert set(exports.LISTS) <= set(rules)
    for page, formats in exports.LISTS.items():
        assert set(formats) == {"csv", "xlsx"}, page
        for fmt, endpoint in formats.items():
            rule = rules.get(endpoint)
            assert rule is not None, f"{page}: no GET route for {endpoint}"
            assert rule.rule.endswith("." + fmt), rule.rule
            assert rule.arguments == rules[page].arguments, rule.rule  # kind carries over


def test_each_list_page_links_both_downloads(app, world):
    browser = login(app, ADMIN)
    for page, formats in exports.LISTS.items():
        for kind in ("demand", "complaint") if rules_take_kind(app, page) else (None,):
            args = {"kind": kind} if kind else {}
            with app.test_request_context():
                urls = [url_for(page, **args)] + [url_for(formats[fmt], **args)
                                                  for fmt in exports.FORMATS]
            html = browser.get(urls[0]).get_data(as_text=True)
            for url in urls[1:]:
                assert re.search(f'href="{re.escape(url)}[?"]', html), (page, url)
            assert "导出 CSV" in html and "导出 Excel" in html, page


def rules_take_kind(app, endpoint: str) -> bool:
    return any("kind" in rule.arguments for rule in app.url_map.iter_rules(endpoint=endpoint))
