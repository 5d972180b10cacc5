"""The staff action on a ticket's deadline: more working days for a complaint's conclusion,
with a reason (延期办结)."""

import re

from flask import Blueprint, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Length

from portal.cases import deadlines
from portal.extensions import db

from . import services

bp = Blueprint("deadlines", __name__, url_prefix="/admin")


class ExtensionForm(FlaskForm):
    days = StringField(_l("延长工作日数"), filters=[lambda v: v.strip() if v else v],
                       validators=[DataRequired(_l("输入延长的工作日数，如 15"))],
                       render_kw={"inputmode": "numeric", "autocomplete": "off"})
    reason = TextAreaField(_l("延期理由"), validators=[
        DataRequired(_l("写明延长期限的理由，如：需要多个部门联合核查")),
        Length(max=1000, message=_l("不能超过 %(max)d 个字"))])
    public = BooleanField(_l("在查询页告知投诉人（含理由）"), default=True)

    def __init__(self, *args, **kw):
        kw.setdefault("prefix", "extension")
        super().__init__(*args, **kw)

    def validate_days(self, field) -> None:
        top = deadlines.MAX_EXTENSION_DAYS
        if not re.fullmatch(r"[0-9]{1,3}", field.data or "") \
                or not 1 <= int(field.data) <= top:
            raise ValidationError(_("输入 1 至 %(max)d 之间的整数", max=top))
        field.data = int(field.data)


@bp.post("/tickets/<kind>/<ticket>/extension")
@login_required
def extend(kind: str, ticket: str):
    record = services.get_ticket(current_user, ticket, kind)
    user = current_user._get_current_object()
    if not deadlines.may_extend(user, record):
        flash(_("这件工单现在不能延长期限：只有已受理、尚未答复或办结的投诉可以延期，"
                "且由市促投局、管理员或责任县区决定"))
        return redirect(url_for("admin.ticket", kind=kind, ticket=record.ticket))
    form = ExtensionForm()
    if form.validate_on_submit():
        try:
            deadlines.extend(record, form.days.data, form.reason.data, actor=user,
                             public=bool(form.public.data))
        except deadlines.DeadlineError as exc:
            form.days.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("办结期限已延长。"))
            return redirect(url_for("admin.ticket", kind=kind, ticket=record.ticket))
    db.session.rollback()
    g.extension_form = form
    from .views import ticket as ticket_page

    return ticket_page(kind=kind, ticket=ticket)
