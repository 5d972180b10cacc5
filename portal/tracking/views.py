"""Following a ticket with its number and access code, and rating the answer."""

from flask import Blueprint, render_template, request

from portal.cases import replies
from portal.extensions import failed_lookup, limiter, limits_off
from portal.intake import attachments, services
from portal.intake.forms import RatingForm, TrackForm

bp = Blueprint("tracking", __name__, url_prefix="/<lang:lang>")
GUESSES = "10/minute;60/hour"  # per client: a code cannot be found by trying


@bp.route("/track", methods=["GET", "POST"])
@limiter.limit(GUESSES, methods=["POST"], exempt_when=limits_off, deduct_when=failed_lookup)
def track():
    form = TrackForm()
    record, not_found = None, False
    if form.validate_on_submit():
        record = services.find(form.ticket.data, form.access_code.data)
        not_found = record is None
    if record is None:
        return render_template("tracking/track.html", form=form, not_found=not_found), \
            404 if not_found else 200
    return _status_page(record, form)


@bp.post("/track/rate")
@limiter.limit(GUESSES, exempt_when=limits_off, deduct_when=failed_lookup)
def rate():
    form, rating = TrackForm(), RatingForm()
    record = services.find(form.ticket.data or "", form.access_code.data or "") \
        if form.validate_on_submit() else None
    if record is None:
        return render_template("tracking/track.html", form=form, not_found=True), 404
    if rating.validate():
        try:
            services.rate(record, int(rating.rating.data), rating.comment.data or "")
        except ValueError as exc:
            rating.rating.errors = [str(exc)]
    return _status_page(record, form, rating)


@bp.post("/track/file")
@limiter.limit(GUESSES, exempt_when=limits_off, deduct_when=failed_lookup)
def reply_file():
    """A file staff sent with a public reply, for whoever holds the ticket and its access
    code (posted, never in a URL); the submitter's own files are not served here."""
    form = TrackForm()
    record = services.find(form.ticket.data or "", form.access_code.data or "") \
        if form.validate_on_submit() else None
    item = replies.public_file(record, request.form.get("file", "")) if record else None
    if item is None:
        return render_template("tracking/track.html", form=form, not_found=True), 404
    return attachments.send(item)


def _status_page(record, form, rating=None):
    return render_template("tracking/status.html", record=record, form=form,
                           rating=rating or RatingForm(),
                           events=services.public_events(record),
                           reply_files=replies.files_by_event(record),
                           kind="demand" if record.ticket.startswith("D") else "complaint")
