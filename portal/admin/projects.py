"""Staff pages of the project files (一项目一档案) and the project pool (一图两库).

The pool lists what ``portal.cases.projects.visible`` allows; the actions on one file take the
demand through ``services.get_ticket`` (scoped: 404 outside the scope) and the workflow."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms import DateField as _DateField
from wtforms.validators import Length, NumberRange, Optional

from portal import audit, exports
from portal.cases import projects
from portal.extensions import db
from portal.fields import DecimalField, IntegerField, SelectField
from portal.mail import drain_mail_quietly
from portal.models import Demand, Region

from . import services

bp = Blueprint("projects", __name__, url_prefix="/admin")

_AMOUNT = [Optional(), NumberRange(min=0, max=100_000_000,
                                   message=_l("填写不小于 0 的金额（万元），如 12000"))]


class DateField(_DateField):
    """A date whose message says what to write, in the staff member's language."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("按 2026-03-02 的格式填写日期")) from exc


class ProjectForm(FlaskForm):
    """Figures and, optionally, the next stage of a project file."""

    stage = SelectField(_l("转入阶段"), validators=[Optional()],
                        description=_l("只记录数字时留空"))
    on = DateField(_l("该阶段日期"), validators=[Optional()],
                   description=_l("如 2026-03-02；留空为今天"))
    signed_amount_wan = DecimalField(_l("签约金额（总投资，万元）"), places=2, validators=_AMOUNT)
    invested_wan = DecimalField(_l("已完成投资（万元）"), places=2, validators=_AMOUNT)
    expected_output_wan = DecimalField(_l("预计年产值（万元）"), places=2, validators=_AMOUNT)
    jobs = IntegerField(_l("带动就业（人）"), validators=[
        Optional(), NumberRange(min=0, max=10_000_000, message=_l("填写不小于 0 的整数"))])
    name = StringField(_l("项目名称"), validators=[Optional(), Length(max=200)])
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=3000)],
                         description=_l("随阶段变化显示给投资方；结束项目时写明结果"))


class PoolForm(FlaskForm):
    in_pool = BooleanField(_l("放入项目库供其他县区承接"))


class OpenForm(FlaskForm):
    """Only the CSRF token: opens the file of an accepted demand that has none."""


def project_form(project=None, formdata=None) -> ProjectForm:
    form = ProjectForm(prefix="project", formdata=formdata)
    stages = projects.NEXT_STAGES[project.stage] if project is not None else ()
    form.stage.choices = [("", _("不变"))] + [(s, str(projects.STAGE_LABELS[s])) for s in stages]
    return form


def _demand(ticket: str) -> Demand:
    record = services.get_ticket(current_user, ticket)
    if not isinstance(record, Demand) or not projects.may_manage(current_user):
        abort(404)
    return record


def _back(record):
    return redirect(url_for("admin.ticket", kind="demand", ticket=record.ticket) + "#project",
                    code=303)


def _number(value):
    return float(value) if value is not None else None


@bp.post("/projects/<ticket>/open")
@login_required
def open_file(ticket: str):
    record = _demand(ticket)
    if OpenForm(prefix="open").validate_on_submit():
        try:
            projects.open_for(record, actor=current_user._get_current_object())
        except projects.ProjectError as exc:
            flash(str(exc), "error")
            return _back(record)
        db.session.commit()
        flash(_("已建立项目档案。"))
    return _back(record)


@bp.post("/projects/<ticket>/record")
@login_required
def record_progress(ticket: str):
    record = _demand(ticket)
    project = record.project
    if project is None:
        abort(404)
    form = project_form(project, request.form)
    if not form.validate_on_submit():
        for f in form:
            for message in f.errors:
                flash(_("%(field)s：%(message)s", field=f.label.text, message=message), "error")
        return _back(record)
    progress = projects.Progress(
        stage=form.stage.data or "", on=form.on.data,
        signed_amount_wan=_number(form.signed_amount_wan.data),
        invested_wan=_number(form.invested_wan.data),
        expected_output_wan=_number(form.expected_output_wan.data), jobs=form.jobs.data,
        note=form.note.data or "", name=form.name.data or "")
    try:
        projects.advance(project, progress, actor=current_user._get_current_object(),
                         ip=audit.client_address())
    except projects.ProjectError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(record)
    db.session.commit()
    drain_mail_quietly()  # a closing tells the investor
    flash(_("项目档案已更新。"))
    return _back(record)


@bp.post("/projects/<ticket>/pool")
@login_required
def pool_offer(ticket: str):
    record = _demand(ticket)
    form = PoolForm(prefix="pool")
    if record.project is None:
        abort(404)
    if form.validate_on_submit():
        projects.offer(record.project, bool(form.in_pool.data),
                       actor=current_user._get_current_object())
        db.session.commit()
        flash(_("已放入项目库。") if form.in_pool.data else _("已从项目库撤回。"))
    return _back(record)


FILTER_KEYS = ("q", "stage", "region", "stalled", "pool")


def _filters() -> projects.Filters:
    stage = request.args.get("stage", "")
    return projects.Filters(
        stage=stage if stage in projects.STAGE_LABELS else "",
        region=request.args.get("region", "")[:80],
        stalled=request.args.get("stalled") == "1", pool=request.args.get("pool") == "1",
        q=request.args.get("q", "").strip()[:100])


@bp.get("/projects")
@login_required
def index():
    filters = _filters()
    rows = projects.pool(current_user, filters)
    regions = db.session.scalars(db.select(Region).where(
        Region.kind.in_(("district", "county", "zone"))).order_by(Region.sort_order)).all()
    return render_template("admin/projects.html", rows=rows, filters=filters, regions=regions,
                           stages=projects.STAGE_LABELS, stall_labels=projects.STALL_LABELS,
                           query=_query())


def _query() -> dict:
    """The filters in use, as query-string arguments (the export links, the log)."""
    return {k: request.args[k][:100] for k in FILTER_KEYS if request.args.get(k)}


def _export(fmt: str):
    """The pool with the list's scope and filters."""
    header, *rows = projects.export_rows(projects.pool(current_user, _filters()))
    return exports.table_response(header, rows, "projects", fmt, entity_type="project",
                                  detail={"filters": _query()})


@bp.get("/projects.csv")
@login_required
def export_csv():
    return _export("csv")


@bp.get("/projects.xlsx")
@login_required
def export_xlsx():
    return _export("xlsx")


exports.register_list("projects.index", csv="projects.export_csv", xlsx="projects.export_xlsx")
