"""Back office: sign-in and sign-out, the staff member's password, the dashboard, ticket
queues and the ticket workflow. Every ticket query goes through ``portal.scoping.scoped``;
every read of personal data leaves an audit event."""

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import audit, exports, sessions
from portal.accounts import passwords
from portal.accounts import services as accounts
from portal.cases import repeats
from portal.extensions import db, limiter, limits_off
from portal.intake import attachments
from portal.intake import services as intake
from portal.models import utcnow

from . import services
from .forms import LoginForm, PasswordForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.add_app_template_global(repeats.flagged, "repeat_flagged")  # the queue's repeat marker


@bp.before_app_request
def password_rotation():
    """With rotation on, a staff member whose password is too old changes it first."""
    if (request.path.startswith("/admin") and current_user.is_authenticated
            and request.endpoint not in ("admin.password", "admin.logout", "static")
            and passwords.expired(current_user, utcnow())):
        flash(_("您的密码已超过规定的使用期限，请先修改密码。"))
        return redirect(url_for("admin.password"))
    return None


@bp.get("/")
@login_required
def dashboard():
    return render_template("admin/dashboard.html", figures=services.dashboard(current_user))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"], exempt_when=limits_off)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    form = LoginForm()
    remember_days = sessions.current_remember_days()
    failed = False
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            sessions.start(user, remember=bool(form.remember.data))
            return redirect(_next_page())
        failed = True
    return render_template("admin/login.html", form=form, failed=failed,
                           remember_days=remember_days)


def _next_page() -> str:
    """Back where the session ended, but only to a page of this back office."""
    target = request.args.get("next", "")
    if target.startswith("/admin/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.dashboard")


@bp.post("/logout")
@login_required
def logout():
    """Ends this session and every other session of the same user."""
    user = current_user._get_current_object()
    audit.record("logout", "user", str(user.id))
    sessions.end(user)
    flash(_("您已退出登录。"))
    return redirect(url_for("admin.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current.data, form.new.data)
        except accounts.AccountError as exc:
            (form.current if exc.field == "current" else form.new).errors = list(exc.messages)
        else:
            db.session.commit()
            sessions.start(user)  # this browser continues; every other session has ended
            flash(_("密码已修改，其他设备上的登录已全部退出。"))
            return redirect(url_for("admin.dashboard"))
    return render_template("admin/password.html", form=form)


@bp.get("/tickets/<kind>")
@login_required
def tickets(kind: str):
    from portal.cases import deadlines, owners
    from portal.pagination import page_arg

    from . import queues

    if kind not in services.KINDS:
        abort(404)
    form, valid = queues.read(current_user, kind, request.args)
    page, filters = None, {}
    if valid:
        chosen = form.filters()
        filters = chosen.args()
        page = services.queue(current_user, kind, chosen, page_arg())
    return render_template("admin/tickets.html", kind=kind, form=form, page=page,
                           filters=filters, state=deadlines.state,
                           owner_name=owners.display_name,
                           shows_identity=lambda r: services.shows_identity(current_user, r)
                           ), (200 if valid else 422)


@bp.get("/tickets/<kind>.csv")
@login_required
def tickets_csv(kind: str):
    return _tickets_export(kind, "csv")


@bp.get("/tickets/<kind>.xlsx")
@login_required
def tickets_xlsx(kind: str):
    return _tickets_export(kind, "xlsx")


def _tickets_export(kind: str, fmt: str):
    """The queue with the list's scope and filters; filters that cannot be read go back to
    the list and its messages, exporting nothing."""
    from . import queues

    if kind not in services.KINDS:
        abort(404)
    form, valid = queues.read(current_user, kind, request.args)
    if not valid:
        return redirect(url_for("admin.tickets", kind=kind, **request.args.to_dict()))
    chosen = form.filters()
    header, *rows = services.csv_rows(current_user, kind, chosen)
    return exports.table_response(header, rows, f"{kind}s", fmt, entity_type=kind,
                                  detail={"filters": chosen.args()})


exports.register_list("admin.tickets", csv="admin.tickets_csv", xlsx="admin.tickets_xlsx")


@bp.get("/tickets/<kind>/<ticket>")
@login_required
def ticket(kind: str, ticket: str):
    """The ticket page: each panel (portal.admin.panels) brings its part; actions post to
    their own endpoints (replies, owners, deadlines, transfers, projects)."""
    from . import ticket_page

    record = services.get_ticket(current_user, ticket, kind)
    panels = ticket_page.context(record, current_user)  # a panel may audit what it shows
    audit.record("view_ticket", kind, record.ticket)
    db.session.commit()
    return render_template("admin/ticket.html", record=record, kind=kind, **panels,
                           overdue=intake.overdue(record),
                           provisional=intake.provisional_deadline(record))


@bp.get("/attachments/<key>")
@login_required
def attachment(key: str):
    item, kind, ticket = services.attachment_for(current_user, key[:255])
    audit.record_now("download_attachment", kind, ticket,
                     {"filename": item.filename, "sha256": item.sha256})
    return attachments.send(item)
