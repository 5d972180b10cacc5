"""Staff replies on a ticket (one form: text, public or internal, an optional new status,
files with a public reply) and the response templates admins manage."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from portal import audit, exports
from portal.cases import replies
from portal.extensions import db
from portal.intake import attachments, workflow
from portal.labels import LABELS
from portal.mail import drain_mail_quietly
from portal.models import COMPLAINT_CATEGORIES, ResponseTemplate
from portal.models.cases import TEMPLATE_KINDS

from . import services

bp = Blueprint("replies", __name__, url_prefix="/admin")

VISIBILITY = ("public", "note")


class ReplyForm(FlaskForm):
    text = TextAreaField(_l("答复或备注"), validators=[
        Optional(), Length(max=5000, message=_l("不能超过 %(max)d 个字"))])
    visibility = RadioField(_l("发给谁"), default="note", validate_choice=False, choices=[
        SelectChoice("public", _l("公开答复：提交人在查询页可见，并收到邮件")),
        SelectChoice("note", _l("内部备注：只有工作人员可见"))],
        validators=[InputRequired(_l("选择公开答复或内部备注")),
                    AnyOf(VISIBILITY, message=_l("选择公开答复或内部备注"))])
    # Choices are the moves the flow allows now; the flow itself checks the value.
    status = SelectField(_l("同时变更状态（选填）"), validate_choice=False)
    attachments = MultipleFileField(_l("附件（选填，仅随公开答复）"), description=_l(
        "PDF、Word、Excel 或图片，最多 5 个，每个不超过 10 MB"))

    @classmethod
    def for_ticket(cls, record, **kw) -> "ReplyForm":
        form = cls(prefix="reply", **kw)
        labels = LABELS[f"{workflow.kind_of(record)}_status"]
        form.status.choices = [SelectChoice("", _("不变更状态"))] + [
            SelectChoice(s, labels[s]) for s in workflow.allowed(record)]
        return form

    def uploaded(self) -> list[tuple[str, bytes]]:
        return [(f.filename or "", f.read()) for f in request.files.getlist(self.attachments.name)
                if f and (f.filename or f.content_length)]


class TemplateForm(FlaskForm):
    kind = SelectField(_l("适用于"), validate_choice=False, validators=[
        AnyOf(TEMPLATE_KINDS, message=_l("选择投资需求或投诉"))])
    category = SelectField(_l("投诉类别"), validate_choice=False,
                           description=_l("仅对投诉有效；不选则适用于所有类别"))
    title = StringField(_l("名称"), validators=[
        DataRequired(_l("输入模板名称，如：受理告知")),
        Length(max=200, message=_l("不能超过 %(max)d 个字"))])
    body = TextAreaField(_l("答复内容"), validators=[
        DataRequired(_l("输入答复内容")), Length(max=5000, message=_l("不能超过 %(max)d 个字"))])
    sort_order = IntegerField(_l("排序"), default=0, validators=[
        Optional(), NumberRange(min=0, max=9999, message=_l("输入 0 至 9999 的整数"))])
    active = BooleanField(_l("启用"), default=True)

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.kind.choices = [SelectChoice("demand", _("投资需求")),
                             SelectChoice("complaint", _("投诉"))]
        self.category.choices = [SelectChoice("", _("所有类别"))] + [
            SelectChoice(c, LABELS["complaint_category"][c]) for c in COMPLAINT_CATEGORIES]

    def validate_category(self, field) -> None:
        if field.data and field.data not in COMPLAINT_CATEGORIES:
            raise ValidationError(_("选择一个投诉类别，或不选"))

    def values(self) -> dict:
        return {"kind": self.kind.data, "category": self.category.data or "",
                "title": self.title.data.strip(), "body": self.body.data.strip(),
                "sort_order": self.sort_order.data or 0, "active": bool(self.active.data)}


# --- replies -----------------------------------------------------------------------------


@bp.post("/tickets/<kind>/<ticket>/reply")
@login_required
def reply(kind: str, ticket: str):
    """Save the reply and go back to the ticket; with a problem, show the ticket page with
    the form's messages and what was typed (files must be chosen again)."""
    record = services.get_ticket(current_user, ticket, kind)
    form = ReplyForm.for_ticket(record)
    if form.validate_on_submit():
        try:
            files = attachments.check_all(form.uploaded())
            replies.respond(record, replies.Reply(
                text=form.text.data or "", public=form.visibility.data == "public",
                status=form.status.data or "", files=files),
                actor=current_user._get_current_object(), ip=audit.client_address())
        except attachments.AttachmentsError as exc:
            form.attachments.errors = list(exc.messages)
        except replies.ReplyError as exc:
            getattr(form, exc.field).errors = [str(exc)]
        except workflow.WorkflowError as exc:
            form.status.errors = [str(exc)]
        else:
            db.session.commit()
            drain_mail_quietly()
            flash(_("已保存。") if not form.status.data else _("已保存，状态已更新。"))
            return redirect(url_for("admin.ticket", kind=kind, ticket=record.ticket))
    db.session.rollback()
    if request.files.getlist(form.attachments.name) and not form.attachments.errors:
        form.attachments.errors = [_("为安全起见，请重新选择要上传的文件。")]
    g.reply_form = form
    from .views import ticket as ticket_page

    return ticket_page(kind=kind, ticket=ticket)


# --- response templates (admins) -----------------------------------------------------------


def _admins_only() -> None:
    if current_user.role != "admin":
        abort(404)


def _template(template_id: int) -> ResponseTemplate:
    return db.session.get(ResponseTemplate, template_id) or abort(404)


@bp.get("/templates")
@login_required
def templates():
    _admins_only()
    return render_template("admin/templates.html", templates=replies.all_templates())


@bp.get("/templates.csv")
@login_required
def templates_csv():
    return _templates_export("csv")


@bp.get("/templates.xlsx")
@login_required
def templates_xlsx():
    return _templates_export("xlsx")


def _templates_export(fmt: str):
    """The list's columns, with the order and the text each template fills in."""
    _admins_only()
    header = [_("名称"), _("适用于"), _("投诉类别"), _("状态"), _("排序"), _("答复内容")]
    rows = [[t.title, _("投资需求") if t.kind == "demand" else _("投诉"),
             str(LABELS["complaint_category"][t.category]) if t.category
             else (_("所有类别") if t.kind == "complaint" else ""),
             _("启用") if t.active else _("已停用"), t.sort_order, t.body]
            for t in replies.all_templates()]
    return exports.table_response(header, rows, "response-templates", fmt,
                                  entity_type="response_template")


exports.register_list("replies.templates", csv="replies.templates_csv",
                      xlsx="replies.templates_xlsx")


@bp.route("/templates/new", methods=["GET", "POST"])
@login_required
def template_new():
    _admins_only()
    form = TemplateForm()
    if form.validate_on_submit():
        replies.save_template(None, form.values(), actor=current_user._get_current_object())
        db.session.commit()
        flash(_("答复模板已保存。"))
        return redirect(url_for("replies.templates"))
    return render_template("admin/templates_edit.html", form=form, template=None)


@bp.route("/templates/<id:template_id>", methods=["GET", "POST"])
@login_required
def template_edit(template_id: int):
    _admins_only()
    template = _template(template_id)
    form = TemplateForm(obj=template)
    if form.validate_on_submit():
        replies.save_template(template, form.values(), actor=current_user._get_current_object())
        db.session.commit()
        flash(_("答复模板已保存。"))
        return redirect(url_for("replies.templates"))
    return render_template("admin/templates_edit.html", form=form, template=template)


@bp.post("/templates/<id:template_id>/deactivate")
@login_required
def template_deactivate(template_id: int):
    _admins_only()
    template = _template(template_id)
    if FlaskForm().validate_on_submit():
        replies.deactivate_template(template, actor=current_user._get_current_object())
        db.session.commit()
        flash(_("答复模板已停用，不再出现在答复表单中。"))
    return redirect(url_for("replies.templates"))
