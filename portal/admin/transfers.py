"""Staff actions on where a ticket is handled: 流转 between regions (propose, accept, return,
contest, withdraw, the bureau's decision), 交办 to a department, and the list of transfers
waiting for an answer with its export. The rules live in ``portal.cases.transfers`` and
``routing``."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal import exports
from portal.cases import routing, transfers
from portal.extensions import db
from portal.models import Department, Region

from . import services

bp = Blueprint("transfers", __name__, url_prefix="/admin")

_REASON_LENGTH = Length(max=1000, message=_l("不能超过 %(max)d 个字"))


def _percent(form, field) -> None:
    value = (field.data or "").strip()
    if value and not (value.isascii() and value.isdigit() and 0 <= int(value) <= 100):
        raise ValidationError(_l("输入 0 至 100 之间的整数，如 40"))


class ProposeForm(FlaskForm):
    region = SelectField(_l("流转至"), validators=[DataRequired(_l("选择接收的县区或开发区"))],
                         invalid_choice_message=_l("从列表中选择接收的县区或开发区"))
    reason = TextAreaField(_l("流转理由"), validators=[
        DataRequired(_l("写明流转理由，如：本区域无法满足用地需求")), _REASON_LENGTH])

    @classmethod
    def for_ticket(cls, record, **kw) -> "ProposeForm":
        form = cls(prefix="transfer", **kw)
        form.region.choices = [SelectChoice("", _("请选择"))] + [
            SelectChoice(r.slug, r.tr("name")) for r in db.session.scalars(
                db.select(Region).where(Region.kind.in_(routing.HOLDING_KINDS))
                .order_by(Region.sort_order)) if r.id != record.region_id]
        return form


class AcceptForm(FlaskForm):
    stats_share = StringField(_l("接收方统计分成（%）"), validators=[Optional(), _percent],
                              description=_l("项目投资额、产值等统计数据计入接收方的比例，"
                                             "其余计入流出方；不分成则留空"))
    tax_share = StringField(_l("接收方税收分成（%）"), validators=[Optional(), _percent],
                            description=_l("项目税收地方留成部分归接收方的比例；不分成则留空"))
    share_note = TextAreaField(_l("分成约定"), validators=[Optional(), _REASON_LENGTH],
                               description=_l("如：前三年按比例分成，之后全部归接收方"))

    def sharing(self) -> transfers.Sharing:
        def number(field):
            return int(field.data) if (field.data or "").strip() else None

        return transfers.Sharing(number(self.stats_share), number(self.tax_share),
                                 self.share_note.data or "")


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("理由"), validators=[DataRequired(_l("写明理由")),
                                                  _REASON_LENGTH])


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("撤回说明（选填）"), validators=[Optional(), _REASON_LENGTH])


class DecideForm(AcceptForm):
    holder = RadioField(_l("裁定由哪一方承办"), choices=[
        SelectChoice("to", _l("接收方")), SelectChoice("from", _l("原承办方"))],
        validators=[InputRequired(_l("选择由哪一方承办"))])
    reason = TextAreaField(_l("裁定理由"), validators=[DataRequired(_l("写明裁定理由")),
                                                      _REASON_LENGTH])


class ReferForm(FlaskForm):
    department = SelectField(_l("交办部门"), validators=[DataRequired(_l("选择承办部门"))],
                             invalid_choice_message=_l("从列表中选择承办部门"))
    note = TextAreaField(_l("交办说明"), validators=[Optional(), _REASON_LENGTH])

    @classmethod
    def for_ticket(cls, record, **kw) -> "ReferForm":
        form = cls(prefix="refer", **kw)
        form.department.choices = [SelectChoice("", _("请选择"))] + [
            SelectChoice(d.slug, d.tr("name")) for d in db.session.scalars(
                db.select(Department).order_by(Department.sort_order, Department.id))]
        return form


def _transfer(record, transfer_id: int):
    transfer = transfers.find(record, transfer_id)
    if transfer is None:
        abort(404)
    return transfer


def _back(record, kind: str):
    return redirect(url_for("admin.ticket", kind=kind, ticket=record.ticket) + "#routing")


def _done(record, kind: str, step, message: str):
    """Run one step; commit and say so, or roll back and show the rule it broke."""
    try:
        step()
    except (transfers.TransferError, routing.RoutingError) as exc:
        db.session.rollback()
        flash(str(exc))
        return _back(record, kind)
    db.session.commit()
    flash(message)
    return _back(record, kind)


def _invalid(form, record, kind: str):
    for errors in form.errors.values():
        for error in errors:
            flash(str(error))
    return _back(record, kind)


def _me():
    return current_user._get_current_object()


@bp.post("/tickets/<kind>/<ticket>/transfer")
@login_required
def propose(kind: str, ticket: str):
    record = services.get_ticket(current_user, ticket, kind)
    form = ProposeForm.for_ticket(record)
    if not form.validate_on_submit():
        return _invalid(form, record, kind)
    region = db.session.scalars(db.select(Region).filter_by(slug=form.region.data)).one()
    return _done(record, kind, lambda: transfers.propose(_me(), record, region,
                                                         form.reason.data),
                 _("已提出流转，等待%(region)s接收。", region=region.tr("name")))


@bp.post("/tickets/<kind>/<ticket>/transfers/<int:transfer_id>/accept")
@login_required
def accept(kind: str, ticket: str, transfer_id: int):
    record = services.get_ticket(current_user, ticket, kind)
    transfer = _transfer(record, transfer_id)
    form = AcceptForm(prefix="accept")
    if not form.validate_on_submit():
        return _invalid(form, record, kind)
    return _done(record, kind,
                 lambda: transfers.accept(_me(), record, transfer, form.sharing()),
                 _("已接收流转，本事项现由贵单位承办。"))


@bp.post("/tickets/<kind>/<ticket>/transfers/<int:transfer_id>/return")
@login_required
def send_back(kind: str, ticket: str, transfer_id: int):
    record = services.get_ticket(current_user, ticket, kind)
    transfer = _transfer(record, transfer_id)
    form = ReasonForm(prefix="answer")
    if not form.validate_on_submit():
        return _invalid(form, record, kind)
    return _done(record, kind,
                 lambda: transfers.send_back(_me(), record, transfer, form.reason.data),
                 _("已退回流转。"))


@bp.post("/tickets/<kind>/<ticket>/transfers/<int:transfer_id>/contest")
@login_required
def contest(kind: str, ticket: str, transfer_id: int):
    record = services.get_ticket(current_user, ticket, kind)
    transfer = _transfer(record, transfer_id)
    form = ReasonForm(prefix="answer")
    if not form.validate_on_submit():
        return _invalid(form, record, kind)
    return _done(record, kind,
                 lambda: transfers.contest(_me(), record, transfer, form.reason.data),
                 _("已提请市局裁定。"))


@bp.post("/tickets/<kind>/<ticket>/transfers/<int:transfer_id>/withdraw")
@login_required
def withdraw(kind: str, ticket: str, transfer_id: int):
    record = services.get_ticket(current_user, ticket, kind)
    transfer = _transfer(record, transfer_id)
    form = WithdrawForm(prefix="withdraw")
    if not form.validate_on_submit():
        return _invalid(form, record, kind)
    return _done(record, kind,
                 lambda: transfers.withdraw(_me(), record, transfer, form.reason.data or ""),
                 _("已撤回流转。"))


@bp.post("/tickets/<kind>/<ticket>/transfers/<int:transfer_id>/decide")
@login_required
def decide(kind: str, ticket: str, transfer_id: int):
    record = services.get_ticket(current_user, ticket, kind)
    transfer = _transfer(record, transfer_id)
    form = DecideForm(prefix="decide")
    if not form.validate_on_submit():
        return _invalid(form, record, kind)
    return _done(record, kind,
                 lambda: transfers.decide(_me(), record, transfer, form.holder.data == "to",
                                          form.reason.data, form.sharing()),
                 _("已裁定。"))


@bp.post("/tickets/complaint/<ticket>/refer")
@login_required
def refer(ticket: str):
    record = services.get_ticket(current_user, ticket, "complaint")
    form = ReferForm.for_ticket(record)
    if not form.validate_on_submit():
        return _invalid(form, record, "complaint")
    department = db.session.scalars(
        db.select(Department).filter_by(slug=form.department.data)).one()
    return _done(record, "complaint",
                 lambda: routing.refer(_me(), record, department, form.note.data or ""),
                 _("已交办。"))


@bp.get("/transfers")
@login_required
def index():
    incoming, others = transfers.waiting(_me())
    return render_template("admin/transfers.html", incoming=incoming, others=others)


STATUS_LABELS = {"proposed": _l("待接收"), "contested": _l("有争议，待市局裁定")}


@bp.get("/transfers.csv")
@login_required
def export_csv():
    return _export("csv")


@bp.get("/transfers.xlsx")
@login_required
def export_xlsx():
    return _export("xlsx")


def _export(fmt: str):
    """The list's two tables in one, marked by whether the transfer waits for this user."""
    from .audit import format_at

    incoming, others = transfers.waiting(_me())
    header = [_("编号"), _("流出"), _("接收"), _("状态"), _("提出时间"), _("流转理由"),
              _("待我方处理")]
    rows = [[ticket, t.from_region.tr("name") if t.from_region else _("市投资促进局"),
             t.to_region.tr("name"), str(STATUS_LABELS.get(t.status, t.status)),
             format_at(t.proposed_at), t.reason, _("是") if waits else ""]
            for group, waits in ((incoming, True), (others, False))
            for t, _kind, ticket in group]
    return exports.table_response(header, rows, "transfers", fmt, entity_type="transfer")


exports.register_list("transfers.index", csv="transfers.export_csv",
                      xlsx="transfers.export_xlsx")
