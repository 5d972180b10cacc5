"""Bulk import of policies, sites and opportunities, for reviewers and region staff.

Two steps: the upload is read and checked and the report shown row by row, with nothing
written; the upload waits in the database under a random token, and a confirmation that
carries only that token writes it, on whichever node it reaches
(``portal.content.importer``). Region staff import only into their own region; department
staff get 404.
"""

from pathlib import PurePath

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectChoice
from wtforms.validators import DataRequired, InputRequired

from portal import exports
from portal.content import importer, workflow
from portal.extensions import db

bp = Blueprint("imports", __name__, url_prefix="/admin/import")

KINDS = {"policy": _l("政策"), "site": _l("土地与载体"), "opportunity": _l("机会清单")}
SHOWN_ISSUES = 1000  # a longer report is cut; the count says how many more


class ImportForm(FlaskForm):
    kind = RadioField(_l("导入哪类数据"), choices=[SelectChoice(k, v) for k, v in KINDS.items()],
                      validators=[InputRequired(_l("选择要导入的数据类型"))],
                      invalid_choice_message=_l("选择要导入的数据类型"))
    upload = FileField(_l("文件"), validators=[
        FileRequired(_l("选择要导入的文件")),
        FileAllowed(sorted(ext.lstrip(".") for ext in importer.EXTENSIONS),
                    _l("只能导入 .csv、.xlsx 或 .geojson 文件，请使用下载的模板"))],
        description=_l("填好的模板：Excel（.xlsx）或 CSV；土地与载体也可用 GeoJSON。"
                       "不超过 %(mb)d MB、%(rows)d 行", mb=importer.MAX_BYTES // 2**20,
                       rows=importer.MAX_ROWS))
    mode = RadioField(_l("文件中有问题的行"), default="all", choices=[
        SelectChoice("all", _l("有任何问题时一条也不导入（推荐）")),
        SelectChoice("valid", _l("只导入没有问题的行，有问题的行跳过"))],
        validators=[InputRequired(_l("选择如何处理有问题的行"))],
        invalid_choice_message=_l("选择如何处理有问题的行"))


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


@bp.before_request
@login_required
def importers_only():
    if current_user.role not in workflow.EDITORS:
        abort(404)


def _user():
    return current_user._get_current_object()


@bp.route("/", methods=["GET", "POST"])
def index():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.upload.data
        filename = PurePath((upload.filename or "").replace("\\", "/")).name[:120]
        kind, mode = form.kind.data, form.mode.data
        data = upload.read(importer.MAX_BYTES + 1)
        try:
            rows = importer.read(kind, filename, data)
        except importer.FileRefused as exc:
            form.upload.errors = [str(exc)]
        else:
            report = importer.check(_user(), kind, rows)
            report.filename = filename
            token = importer.stash(_user(), kind, filename, mode, data) \
                if report.writes(mode) else None
            return _report(report, mode, token)
    return render_template("admin/imports/index.html", form=form, kinds=KINDS)


@bp.post("/confirm")
def confirm():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    token = form.token.data
    # Taken in this transaction: a second confirmation of the same upload (this node or
    # another) finds nothing once this one commits.
    stashed = importer.claim(_user(), token)
    if stashed is None:
        db.session.rollback()
        flash(_("这次上传已过期或已经导入，请重新上传文件。"))
        return redirect(url_for(".index"))
    rows = importer.read(stashed.kind, stashed.filename, stashed.data)
    try:
        report = importer.apply(_user(), stashed.kind, rows, stashed.mode,
                                filename=stashed.filename)
    except importer.Refused as exc:
        db.session.rollback()
        importer.discard(token)  # refused: the upload is not offered again
        db.session.commit()
        return _report(exc.report, stashed.mode, None, confirmed=True)
    db.session.commit()
    if not report.written:
        return _report(report, stashed.mode, None, confirmed=True)
    flash(_("已导入%(kind)s %(written)d 条（新建的为草稿，需提交审核后发布），跳过有问题的 "
            "%(skipped)d 行。", kind=KINDS[stashed.kind], written=report.written,
            skipped=len(report.data) - report.written))
    return redirect(url_for(".index"))


def _report(report: importer.Report, mode: str, token: str | None, confirmed: bool = False):
    issues = report.issues
    labels = {c.name: c.label() for c in importer.columns(report.kind)}
    return render_template(
        "admin/imports/report.html", report=report, mode=mode, kind_label=KINDS[report.kind],
        issues=issues[:SHOWN_ISSUES], hidden=max(0, len(issues) - SHOWN_ISSUES),
        column_labels=labels, writes=report.writes(mode), confirmed=confirmed,
        form=ConfirmForm(token=token) if token else None)


@bp.get("/template/<any(policy, site, opportunity):content_kind>.<any(csv, xlsx):fmt>")
def template(content_kind: str, fmt: str):
    """The empty template (machine names, then a row saying in Chinese what each means)."""
    data = importer.template(content_kind, fmt)
    response = Response(data, mimetype=exports.XLSX if fmt == "xlsx" else "text/csv")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="import-template-{content_kind}.{fmt}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
