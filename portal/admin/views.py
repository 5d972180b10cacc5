"""Back office: sign-in and the dashboard."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.extensions import limiter

from . import services
from .forms import LoginForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@login_required
def dashboard():
    return render_template("admin/dashboard.html", figures=services.dashboard())


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            services.record_login(user, request.remote_addr)
            return redirect(url_for("admin.dashboard"))
        failed = True
    return render_template("admin/login.html", form=form, failed=failed)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("您已退出登录。"))
    return redirect(url_for("admin.login"))
