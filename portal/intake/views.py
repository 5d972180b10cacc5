"""需求对接 and 投诉: the demand and complaint forms."""

import secrets

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _

from portal.audit import client_address
from portal.extensions import limiter, limits_off
from portal.i18n import current_lang

from . import attachments, services, subject
from .forms import ComplaintForm, DemandForm

bp = Blueprint("intake", __name__, url_prefix="/<lang:lang>")


def submission_limit() -> str:
    """PORTAL_RATELIMIT, e.g. 20/hour per client, shared by the demand and complaint forms
    and their API (``off`` disables limiting altogether)."""
    value = current_app.config.get("PORTAL_RATELIMIT", "20/hour")
    return "20/hour" if value.strip().lower() == "off" else value  # off: exempt anyway


def uploaded_files() -> list[tuple[str, bytes]]:
    """(name, bytes) of every file part that holds a file; empty parts are the browser's way
    of saying "no file chosen"."""
    return [(f.filename or "", f.read()) for f in request.files.getlist("attachments")
            if f and (f.filename or f.content_length)]


def _submit(form, kind: str, template: str, **context):
    if not form.validate_on_submit():
        return render_template(template, form=form, **context)
    if form.is_bot():
        abort(400)
    try:
        files = attachments.check_all(uploaded_files())
    except attachments.AttachmentsError as exc:
        form.attachments.errors = list(exc.messages) + [
            _("为安全起见，请重新选择要上传的文件。")]
        return render_template(template, form=form, **context)
    submit = services.submit_demand if kind == "demand" else services.submit_complaint
    try:
        receipt = submit(form.record_values(), files, key=form.idempotency_key.data or None,
                         language=current_lang(), client=client_address())
    except services.IdempotencyConflict:
        # The same page sent again with other answers (back, edit, submit): nothing was
        # saved; a fresh key lets the visitor send these answers as a new submission.
        form.idempotency_key.data = secrets.token_urlsafe(16)
        form.idempotency_key.errors = [_(
            "这份表单已经提交过，这次填写的内容与上次不同，因此没有保存。"
            "如需另行提交，请核对内容后再次点击提交。")]
        form.attachments.errors = [_("为安全起见，请重新选择要上传的文件。")] if files else []
        return render_template(template, form=form, **context), 422
    services.after_submission()
    return render_template("intake/confirmation.html", receipt=receipt), 201 \
        if not receipt.replayed else 200


@bp.route("/demands/new", methods=["GET", "POST"])
@limiter.shared_limit(submission_limit, scope="submissions", methods=["POST"],
                      exempt_when=limits_off)
def new_demand():
    """Opened from a site or an opportunity (``?site=ID``, ``?opportunity=ID``), the form
    shows it at the top; a link naming no live record answers 404 with the form and a
    message. The "remove" button posts the form back without the record, keeping every
    answer, and saves nothing."""
    form = DemandForm.from_database()
    missing = []
    if request.method == "GET":
        found, missing = subject.from_query(request.args)
        form.site.data, form.opportunity.data = found.get("site"), found.get("opportunity")
    elif (removed := request.form.get("remove_subject")) in subject.KINDS:
        form[removed].data, form[removed].raw_data = None, []
        return render_template("intake/demand.html", form=form,
                               subjects=subject.of_form(form), removed=removed,
                               files_dropped=bool(uploaded_files()))
    context = {"subjects": subject.of_form(form), "missing": missing}
    if missing:
        return render_template("intake/demand.html", form=form, **context), 404
    return _submit(form, "demand", "intake/demand.html", **context)


@bp.route("/complaints/new", methods=["GET", "POST"])
@limiter.shared_limit(submission_limit, scope="submissions", methods=["POST"],
                      exempt_when=limits_off)
def new_complaint():
    return _submit(ComplaintForm.from_database(), "complaint", "intake/complaint.html")
