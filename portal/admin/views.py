"""Back office: sign-in, the dashboard, ticket queues and the ticket workflow."""

import csv
import io

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import SelectChoice

from portal.extensions import db, limiter, limits_off
from portal.intake import attachments, workflow
from portal.intake import services as intake
from portal.labels import LABELS
from portal.models import Region

from . import services
from .forms import LoginForm, StatusForm, TransferForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@login_required
def dashboard():
    return render_template("admin/dashboard.html", figures=services.dashboard())


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"], exempt_when=limits_off)
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


@bp.get("/tickets/<kind>")
@login_required
def tickets(kind: str):
    if kind not in services.KINDS:
        return redirect(url_for("admin.tickets", kind="demand"))
    status = request.args.get("status", "")
    rows = services.queue(current_user, kind, status, request.args.get("overdue") == "1")
    return render_template("admin/tickets.html", kind=kind, rows=rows, status=status,
                           overdue=intake.overdue)


@bp.get("/tickets/<kind>.csv")
@login_required
def tickets_csv(kind: str):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(services.csv_rows(current_user, kind))
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={kind}s.csv"})


def _forms(record):
    status_form = StatusForm(prefix="status")
    status_form.status.choices = [
        SelectChoice(s, LABELS[f"{workflow.kind_of(record)}_status"][s])
        for s in workflow.allowed(record)]
    transfer_form = TransferForm(prefix="transfer")
    transfer_form.region.choices = [SelectChoice(r.slug, r.tr("name")) for r in db.session.scalars(
        db.select(Region).where(Region.kind.in_(("district", "county", "zone")))
        .order_by(Region.sort_order))]
    return status_form, transfer_form


@bp.route("/tickets/<kind>/<ticket>", methods=["GET", "POST"])
@login_required
def ticket(kind: str, ticket: str):
    record = services.get_ticket(current_user, ticket)
    status_form, transfer_form = _forms(record)
    if request.method == "POST":
        if "status-status" in request.form and status_form.validate_on_submit():
            try:
                workflow.transition(record, status_form.status.data, actor=current_user,
                                    note=status_form.note.data or "",
                                    public=bool(status_form.public.data),
                                    ip=request.remote_addr or "")
                db.session.commit()
                flash(_("状态已更新。"))
                return redirect(request.path)
            except workflow.WorkflowError as exc:
                status_form.status.errors = [str(exc)]
        elif "transfer-region" in request.form and transfer_form.validate_on_submit():
            region = db.session.scalars(
                db.select(Region).filter_by(slug=transfer_form.region.data)).one()
            services.transfer(current_user, record, region, transfer_form.reason.data,
                              ip=request.remote_addr or "")
            db.session.commit()
            flash(_("已流转。"))
            return redirect(url_for("admin.tickets", kind=kind))
    return render_template("admin/ticket.html", record=record, kind=kind,
                           status_form=status_form, transfer_form=transfer_form,
                           identity=services.shows_identity(current_user, record),
                           overdue=intake.overdue(record),
                           provisional=intake.provisional_deadline(record))


@bp.get("/attachments/<key>")
@login_required
def attachment(key: str):
    return attachments.send(services.attachment_for(current_user, key))
