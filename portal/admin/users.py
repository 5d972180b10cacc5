"""Staff accounts, for admins: list and export, create, change rights, deactivate, unlock,
end sessions.

Any change of role, region, department or activity ends the account's sessions at once
(``portal.accounts.services.update``). Other roles get 404: the page does not exist for them.
"""

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from portal import audit, exports
from portal.accounts import services as accounts
from portal.extensions import db
from portal.labels import LABELS
from portal.models import ROLES, Department, Region, User

from .forms import NewUserForm, UserForm

bp = Blueprint("users", __name__, url_prefix="/admin/users")


@bp.before_request
@login_required
def admins_only():
    if current_user.role != "admin":
        abort(404)


def _choices(form: UserForm) -> UserForm:
    form.role.choices = [SelectChoice(r, LABELS["role"][r]) for r in ROLES]
    form.region.choices = [SelectChoice("", "—")] + [
        SelectChoice(r.slug, r.tr("name")) for r in db.session.scalars(
            db.select(Region).where(Region.kind.in_(("city", "district", "county", "zone")))
            .order_by(Region.sort_order))]
    form.department.choices = [SelectChoice("", "—")] + [
        SelectChoice(d.slug, d.tr("name")) for d in db.session.scalars(
            db.select(Department).order_by(Department.sort_order, Department.id))]
    return form


def _region(slug: str) -> Region | None:
    return db.session.scalars(db.select(Region).filter_by(slug=slug)).first() if slug else None


def _department(slug: str) -> Department | None:
    return db.session.scalars(
        db.select(Department).filter_by(slug=slug)).first() if slug else None


def _get(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


def _users() -> list[User]:
    """Every account, as the list and its export show them."""
    return db.session.scalars(db.select(User).order_by(User.role, User.email)).all()


@bp.get("/")
def index():
    users = _users()
    audit.record_now("list_users", "user", "", {"count": len(users)})
    return render_template("admin/users.html", users=users, locked=accounts.is_locked)


@bp.get("/export.csv")
def export_csv():
    return _export("csv")


@bp.get("/export.xlsx")
def export_xlsx():
    return _export("xlsx")


def _export(fmt: str):
    """The list's columns, in words as on the page; the last sign-in with its offset."""
    from .audit import format_at

    def scope(user: User) -> str:
        if user.region:
            return user.region.tr("name")
        return user.department.tr("name") if user.department else _("全市")

    def state(user: User) -> str:
        if not user.active:
            return _("已停用")
        return _("已锁定") if accounts.is_locked(user) else _("正常")

    header = [_("电子邮箱"), _("姓名"), _("角色"), _("范围"), _("状态"), _("最近登录")]
    rows = [[u.email, u.name or "", str(LABELS["role"][u.role]), scope(u), state(u),
             format_at(u.last_login_at) if u.last_login_at else ""] for u in _users()]
    return exports.table_response(header, rows, "users", fmt, entity_type="user")


exports.register_list("users.index", csv="users.export_csv", xlsx="users.export_xlsx")


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = _choices(NewUserForm())
    shown = None
    if form.validate_on_submit():
        if accounts.find(form.email.data) is not None:
            form.email.errors = [_("这个电子邮箱已有账号")]
        else:
            password = form.password.data or secrets.token_urlsafe(12)
            try:
                user = accounts.create(
                    form.email.data, password, role=form.role.data,
                    region=_region(form.region.data) if form.role.data == "region" else None,
                    department=_department(form.department.data)
                    if form.role.data == "department" else None,
                    name=form.name.data or "", by=current_user)
            except accounts.AccountError as exc:
                form.password.errors = list(exc.messages)
            else:
                db.session.commit()
                if form.password.data:
                    flash(_("账号已创建。"))
                    return redirect(url_for("users.edit", user_id=user.id))
                shown = (user, password)
    return render_template("admin/user_new.html", form=form, shown=shown)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
def edit(user_id: int):
    user = _get(user_id)
    form = _choices(UserForm(obj=None if _posted() else _values(user)))
    if form.validate_on_submit():
        if user.id == current_user.id and (form.role.data != "admin" or not form.active.data):
            form.role.errors = [_("不能取消或停用自己的管理员账号，请由另一位管理员操作")]
        else:
            changed = accounts.update(
                user, by=current_user, role=form.role.data,
                region=_region(form.region.data) if form.role.data == "region" else None,
                department=_department(form.department.data)
                if form.role.data == "department" else None,
                active=bool(form.active.data), name=form.name.data or "")
            db.session.commit()
            flash(_("已保存，该账号的所有登录已退出。") if set(changed) - {"name"}
                  else _("已保存。"))
            return redirect(url_for("users.edit", user_id=user.id))
    return render_template("admin/user_edit.html", form=form, user=user,
                           locked=accounts.is_locked(user))


def _posted() -> bool:
    from flask import request

    return request.method == "POST"


def _values(user: User):
    class Values:
        name = user.name
        role = user.role
        region = user.region.slug if user.region else ""
        department = user.department.slug if user.department else ""
        active = user.active

    return Values()


@bp.post("/<int:user_id>/unlock")
def unlock(user_id: int):
    user = _get(user_id)
    accounts.unlock(user, by=current_user)
    db.session.commit()
    flash(_("账号已解除锁定。"))
    return redirect(url_for("users.edit", user_id=user.id))


@bp.post("/<int:user_id>/sessions/end")
def end_sessions(user_id: int):
    user = _get(user_id)
    accounts.end_sessions(user, by=current_user)
    db.session.commit()
    flash(_("该账号在所有设备上的登录已退出。"))
    if user.id == current_user.id:
        return redirect(url_for("admin.login"))
    return redirect(url_for("users.edit", user_id=user.id))
