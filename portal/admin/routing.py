"""The routing table for complaints, for admins: list, export, add, edit, delete and reorder
rules (the first matching rule wins). Every change is audited; other roles get 404."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from portal import exports
from portal.cases import routing
from portal.extensions import db
from portal.labels import LABELS
from portal.models import COMPLAINT_CATEGORIES, Department, Region, RoutingRule

bp = Blueprint("routing", __name__, url_prefix="/admin/routing")


class RuleForm(FlaskForm):
    category = SelectField(_l("投诉类别"), validate_choice=True,
                           invalid_choice_message=_l("从列表中选择投诉类别"))
    keyword = StringField(_l("被投诉方名称包含"), validators=[
        Optional(), Length(max=80, message=_l("不能超过 %(max)d 个字"))],
        description=_l("留空表示任意名称"))
    region = SelectField(_l("承办区域"), invalid_choice_message=_l("从列表中选择承办区域"),
                         description=_l("留空则由被投诉方所在区域承办"))
    department = SelectField(_l("承办部门"), invalid_choice_message=_l("从列表中选择承办部门"))

    @classmethod
    def build(cls, rule: RoutingRule | None = None, bound: bool = True) -> "RuleForm":
        """The form for ``rule`` (or a new one); unbound forms show the rule as saved."""
        prefix = f"rule{rule.id}" if rule else "new"
        form = cls(prefix=prefix) if bound else cls(prefix=prefix, formdata=None)
        form.category.choices = [SelectChoice("", _("任意类别"))] + [
            SelectChoice(c, LABELS["complaint_category"][c]) for c in COMPLAINT_CATEGORIES]
        form.region.choices = [SelectChoice("", "—")] + [
            SelectChoice(r.slug, r.tr("name")) for r in db.session.scalars(
                db.select(Region).where(Region.kind.in_(routing.HOLDING_KINDS))
                .order_by(Region.sort_order))]
        form.department.choices = [SelectChoice("", "—")] + [
            SelectChoice(d.slug, d.tr("name")) for d in db.session.scalars(
                db.select(Department).order_by(Department.sort_order, Department.id))]
        if rule is not None and not (bound and form.is_submitted()):
            form.category.data = rule.category
            form.keyword.data = rule.keyword
            form.region.data = rule.region.slug if rule.region else ""
            form.department.data = rule.department.slug if rule.department else ""
        return form

    def values(self) -> routing.RuleValues:
        def find(model, slug):
            return db.session.scalars(db.select(model).filter_by(slug=slug)).first() \
                if slug else None

        return routing.RuleValues(self.category.data or "", self.keyword.data or "",
                                  find(Region, self.region.data),
                                  find(Department, self.department.data))


class MoveForm(FlaskForm):
    """No fields but the CSRF token; the direction is in the URL."""


@bp.before_request
@login_required
def admins_only():
    if current_user.role != "admin":
        abort(404)


def _rule(rule_id: int) -> RoutingRule:
    return db.session.get(RoutingRule, rule_id) or abort(404)


def _page(failed: RoutingRule | None = None, form: RuleForm | None = None, status=200):
    """The table with a form per rule; a form that failed keeps its input and messages."""
    rules = routing.rules()
    forms = {rule.id: form if failed is not None and rule.id == failed.id
             else RuleForm.build(rule, bound=False) for rule in rules}
    new = form if failed is None and form is not None else RuleForm.build(bound=False)
    return render_template("admin/routing.html", rules=rules, forms=forms, new=new,
                           move_form=MoveForm(formdata=None)), status


@bp.get("/")
def index():
    return _page()


@bp.get("/export.csv")
def export_csv():
    return _export("csv")


@bp.get("/export.xlsx")
def export_xlsx():
    return _export("xlsx")


def _export(fmt: str):
    """The table in its order, each rule in words as the page's form shows it."""
    header = [_("顺序"), _("投诉类别"), _("被投诉方名称包含"), _("承办区域"), _("承办部门")]
    rows = [[n, str(LABELS["complaint_category"][r.category]) if r.category else _("任意类别"),
             r.keyword, r.region.tr("name") if r.region else "",
             r.department.tr("name") if r.department else ""]
            for n, r in enumerate(routing.rules(), start=1)]
    return exports.table_response(header, rows, "routing-rules", fmt,
                                  entity_type="routing_rule")


exports.register_list("routing.index", csv="routing.export_csv", xlsx="routing.export_xlsx")


def _save(form: RuleForm, apply, failed: RoutingRule | None):
    if form.validate_on_submit():
        try:
            apply(form.values())
        except routing.RoutingError as exc:
            db.session.rollback()
            form.region.errors = [str(exc)]  # the rule names no body to answer it
        else:
            db.session.commit()
            flash(_("路由规则已保存。"))
            return redirect(url_for("routing.index"))
    return _page(failed, form, status=422)


@bp.post("/")
def add():
    return _save(RuleForm.build(), routing.add_rule, None)


@bp.post("/<int:rule_id>")
def edit(rule_id: int):
    rule = _rule(rule_id)
    return _save(RuleForm.build(rule), lambda values: routing.update_rule(rule, values), rule)


@bp.post("/<int:rule_id>/delete")
def delete(rule_id: int):
    rule = _rule(rule_id)
    if MoveForm().validate_on_submit():
        routing.delete_rule(rule)
        db.session.commit()
        flash(_("路由规则已删除。"))
    return redirect(url_for("routing.index"))


@bp.post("/<int:rule_id>/<any(up, down):direction>")
def move(rule_id: int, direction: str):
    rule = _rule(rule_id)
    if MoveForm().validate_on_submit():
        routing.move_rule(rule, -1 if direction == "up" else 1)
        db.session.commit()
    return redirect(url_for("routing.index"))
