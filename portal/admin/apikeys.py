"""Back-office pages of the exchange with partner platforms.

- ``/admin/apikeys`` (admins): the partners' API keys — partner, region, scopes, created by
  and when, last use, revocation; issuing shows the key once; revoking asks to confirm.
- ``/admin/exchange`` (admins, the bureau, region staff): send a project to a partner
  deployment (流转 across platforms) and follow the sends (waiting, sent, refused).

The rules are in ``portal.exchange.keys`` and ``portal.exchange.transfers``.
"""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal import audit, exports
from portal.exchange import keys, transfers
from portal.extensions import db
from portal.fields import MultiCheckboxField
from portal.models import ApiKey, OutboxJob, Project, Region

from . import services

bp = Blueprint("apikeys", __name__, url_prefix="/admin")

SCOPE_LABELS = {"pull": _l("拉取变更（政策、载体、机会、项目）"), "push": _l("推送项目流转")}


class IssueForm(FlaskForm):
    partner = StringField(_l("合作方标识"), validators=[
        DataRequired(_l("填写合作方标识，如 shanxi-province")), Length(max=80),
        Regexp(keys.PARTNER_PATTERN, message=_l("只能使用小写字母、数字和 . _ -"))],
        description=_l("如 shanxi-province；同一合作方的推送按此去重"))
    region = SelectField(_l("可访问的区域"), validators=[DataRequired(_l("选择区域"))],
                         invalid_choice_message=_l("从列表中选择区域"),
                         description=_l("密钥只能拉取该区域及其下级区域的数据，只能向其中流转项目"))
    scopes = MultiCheckboxField(_l("权限"), validators=[DataRequired(_l("至少选择一项权限"))])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=500)])


class RevokeForm(FlaskForm):
    pass


class PushForm(FlaskForm):
    ticket = StringField(_l("需求编号"), validators=[
        DataRequired(_l("填写已建立项目档案的需求编号，如 D-0123456789")), Length(max=32)])
    partner = SelectField(_l("合作平台"), validators=[DataRequired(_l("选择合作平台"))],
                          invalid_choice_message=_l("从列表中选择合作平台"))
    region = StringField(_l("对方平台的接收区域"), validators=[
        DataRequired(_l("填写对方平台的区域标识")), Length(max=80)],
        description=_l("对方平台的区域标识（slug），如 taiyuan-xiaodian"))
    reason = TextAreaField(_l("流转理由"), validators=[
        DataRequired(_l("写明流转理由")), Length(max=2000)])


def _admins_only() -> None:
    if current_user.role != "admin":
        abort(404)


@bp.before_request
@login_required
def staff_only():
    if current_user.role not in ("admin", "bureau", "region"):
        abort(404)


def _issue_form() -> IssueForm:
    form = IssueForm()
    form.region.choices = [SelectChoice("", "—")] + [
        SelectChoice(r.slug, r.tr("name")) for r in db.session.scalars(
            db.select(Region).order_by(Region.sort_order, Region.id))]
    form.scopes.choices = [SelectChoice(s, str(label)) for s, label in SCOPE_LABELS.items()]
    return form


@bp.get("/apikeys")
def index():
    _admins_only()
    items = keys.listing()
    audit.record_now("list_apikeys", "api_key", "", {"count": len(items)})
    return render_template("admin/apikeys.html", keys=items, form=RevokeForm(),
                           scope_labels=SCOPE_LABELS)


@bp.get("/apikeys/export.csv")
def keys_csv():
    return _keys_export("csv")


@bp.get("/apikeys/export.xlsx")
def keys_xlsx():
    return _keys_export("xlsx")


def _keys_export(fmt: str):
    """The key list's columns, in words as on the page (never a secret: none is kept)."""
    from .audit import format_at

    _admins_only()
    header = [_("密钥前缀"), _("合作方"), _("备注"), _("区域"), _("权限"), _("签发"),
              _("签发人"), _("最近使用"), _("状态")]
    rows = [[k.prefix, k.partner, k.note or "", k.region.tr("name"),
             "；".join(str(SCOPE_LABELS[s]) for s in k.scope_list), format_at(k.created_at),
             k.created_by.email if k.created_by else _("命令行"),
             format_at(k.last_used_at) if k.last_used_at else _("从未使用"),
             _("已吊销") + " " + format_at(k.revoked_at) if k.revoked_at else _("有效")]
            for k in keys.listing()]
    return exports.table_response(header, rows, "api-keys", fmt, entity_type="api_key")


exports.register_list("apikeys.index", csv="apikeys.keys_csv", xlsx="apikeys.keys_xlsx")


@bp.route("/apikeys/new", methods=["GET", "POST"])
def new():
    _admins_only()
    form = _issue_form()
    shown = None
    if form.validate_on_submit():
        region = db.session.scalars(db.select(Region).filter_by(slug=form.region.data)).first()
        try:
            key, secret = keys.issue(form.partner.data, region, form.scopes.data,
                                     by=current_user, note=form.note.data or "")
        except keys.ApiKeyError as exc:
            form.partner.errors = [str(exc)]
        else:
            db.session.commit()
            shown = (key, secret)
    return render_template("admin/apikey_new.html", form=form, shown=shown)


def _key(prefix: str) -> ApiKey:
    return keys.find(prefix) or abort(404)


@bp.get("/apikeys/<prefix>/revoke")
def confirm_revoke(prefix: str):
    _admins_only()
    return render_template("admin/apikey_revoke.html", key=_key(prefix), form=RevokeForm(),
                           scope_labels=SCOPE_LABELS)


@bp.post("/apikeys/<prefix>/revoke")
def revoke(prefix: str):
    _admins_only()
    key = _key(prefix)
    if RevokeForm().validate_on_submit():
        if keys.revoke(key, by=current_user):
            db.session.commit()
            flash(_("密钥 %(prefix)s 已吊销，使用它的请求从现在起被拒绝。", prefix=key.prefix))
        else:
            flash(_("密钥 %(prefix)s 此前已吊销。", prefix=key.prefix))
    return redirect(url_for("apikeys.index"))


# --- sending projects to partner deployments ---------------------------------------------


def _push_form() -> PushForm:
    form = PushForm()
    form.partner.choices = [SelectChoice("", "—")] + [
        SelectChoice(name, name) for name in sorted(transfers.partners())]
    return form


def _jobs() -> list[OutboxJob]:
    """The latest sends, newest first: those of the projects the user's scope holds
    (``portal.scoping.scoped``; the bureau and admins all of them)."""
    from portal.cases.projects import own_ids

    return list(db.session.scalars(
        db.select(OutboxJob).where(OutboxJob.kind == "exchange",
                                   OutboxJob.payload["demand_id"].as_integer().in_(
                                       own_ids(current_user)))
        .order_by(OutboxJob.id.desc()).limit(200)))


@bp.route("/exchange", methods=["GET", "POST"])
def outgoing():
    form = _push_form()
    if form.validate_on_submit():
        demand = services.get_ticket(current_user, form.ticket.data.strip(), "demand")
        project: Project | None = demand.project
        if project is None:
            form.ticket.errors = [_("这项需求还没有项目档案，受理后才能流转")]
        elif not transfers.may_push(current_user, project):
            form.ticket.errors = [_("只有承办区域或市局可以流转未结束的项目")]
        else:
            try:
                transfers.push(project, form.partner.data, form.region.data,
                               form.reason.data, actor=current_user)
            except transfers.ExchangeError as exc:
                field = next(iter(exc.fields), "ticket")
                getattr(form, field if hasattr(form, field) else "ticket").errors = [str(exc)]
            else:
                db.session.commit()
                transfers.drain_quietly()
                flash(_("已提交推送：项目 %(name)s 发往 %(partner)s。"
                        "对方暂时无法接收时会自动重试。",
                        name=project.name, partner=form.partner.data))
                return redirect(url_for("apikeys.outgoing"))
    return render_template("admin/exchange.html", form=form, jobs=_jobs(),
                           configured=bool(transfers.partners()), job_state=job_state)


def job_state(job: OutboxJob) -> str:
    """What became of a send, in words: delivered, refused (with the partner's answer), or
    waiting for its next attempt."""
    if job.done_at and not job.last_error:
        return _("已送达")
    if job.done_at:
        return f"{_('被对方拒收')} {job.last_error}"
    return _("等待重试（已尝试 %(n)d 次）", n=job.attempts)


@bp.get("/exchange/export.csv")
def sends_csv():
    return _sends_export("csv")


@bp.get("/exchange/export.xlsx")
def sends_xlsx():
    return _sends_export("xlsx")


def _sends_export(fmt: str):
    from .audit import format_at

    header = [_("对方编号"), _("合作平台"), _("接收区域"), _("提交时间"), _("状态")]
    rows = []
    for job in _jobs():
        body = job.payload.get("body", {})
        rows.append([body.get("external_id", ""), job.payload.get("partner", ""),
                     body.get("region", ""), format_at(job.created_at), job_state(job)])
    return exports.table_response(header, rows, "exchange-sends", fmt,
                                  entity_type="exchange_send")


exports.register_list("apikeys.outgoing", csv="apikeys.sends_csv", xlsx="apikeys.sends_xlsx")
