"""Staff actions on a ticket's owner (首接负责制): take it, hand it to a colleague."""

from flask import Blueprint, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField
from wtforms.validators import DataRequired

from portal.cases import owners
from portal.extensions import db

from . import services

bp = Blueprint("owners", __name__, url_prefix="/admin")


class TakeForm(FlaskForm):
    """No fields: the CSRF token is the whole form."""


class ReassignForm(FlaskForm):
    assignee = SelectField(_l("改派给"), validators=[DataRequired(_l("选择接手的工作人员"))],
                           invalid_choice_message=_l("从列表中选择责任单位的在岗工作人员"))

    @classmethod
    def for_ticket(cls, record, **kw) -> "ReassignForm":
        form = cls(prefix="owner", **kw)
        form.assignee.choices = [SelectChoice("", _("请选择"))] + [
            SelectChoice(str(u.id), owners.display_name(u)) for u in owners.members(record)
            if u.id != record.assignee_id]
        return form


def _back(record, kind: str):
    return redirect(url_for("admin.ticket", kind=kind, ticket=record.ticket))


@bp.post("/tickets/<kind>/<ticket>/take")
@login_required
def take(kind: str, ticket: str):
    record = services.get_ticket(current_user, ticket, kind)
    if not TakeForm().validate_on_submit():
        flash(_("页面已过期，请刷新后重新提交"))
        return _back(record, kind)
    try:
        owners.take(current_user._get_current_object(), record)
    except owners.OwnerError as exc:
        db.session.rollback()
        flash(str(exc))
        return _back(record, kind)
    db.session.commit()
    flash(_("您已负责此工单。"))
    return _back(record, kind)


@bp.post("/tickets/<kind>/<ticket>/owner")
@login_required
def reassign(kind: str, ticket: str):
    record = services.get_ticket(current_user, ticket, kind)
    user = current_user._get_current_object()
    if not owners.may_reassign(user, record):
        flash(_("只有市促投局、管理员或当前负责人可以改派未办结的工单"))
        return _back(record, kind)
    form = ReassignForm.for_ticket(record)
    if form.validate_on_submit():
        assignee = next((u for u in owners.members(record)
                         if str(u.id) == form.assignee.data), None)
        try:
            if assignee is None:
                raise owners.OwnerError(_("从列表中选择责任单位的在岗工作人员"))
            owners.reassign(user, record, assignee)
        except owners.OwnerError as exc:
            form.assignee.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("已改派给 %(name)s。", name=owners.display_name(assignee)))
            return _back(record, kind)
    db.session.rollback()
    g.owner_form = form
    from .views import ticket as ticket_page

    return ticket_page(kind=kind, ticket=ticket)
