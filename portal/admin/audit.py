"""The audit trail viewer for admins: filters by user, action, ticket, object type and date;
CSV and XLSX export.

Only admins see it; to every other role it does not exist (404). It only reads: every route
here is a GET, and nothing in the application changes or deletes an event (on PostgreSQL a
trigger refuses to). Events are kept at least ``portal.audit.RETENTION_DAYS`` (180) days and
nothing purges them. Looking at the trail and exporting it are reads of personal data
(addresses, e-mail addresses), so both leave an event of their own.

Dates and times are those of Asia/Shanghai: a filter "2026-12-04" covers 00:00 to 24:00
+08:00 of that day, and each time is shown with its offset.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from portal.audit import RETENTION_DAYS, record_now
from portal.exports import register_list, table_response
from portal.extensions import db
from portal.labels import LABELS
from portal.models import AuditEvent, User
from portal.pagination import page_arg, paginate

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

SHANGHAI = ZoneInfo("Asia/Shanghai")
PER_PAGE = 50
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
FILTERS = ("user", "action", "ticket", "entity_type", "date_from", "date_to")

# --- how an event reads ---------------------------------------------------------------

ACTIONS = {
    "login": _l("登录"),
    "login_failed": _l("登录失败"),
    "locked": _l("账号锁定"),
    "unlock": _l("解除锁定"),
    "logout": _l("退出登录"),
    "password_changed": _l("修改密码"),
    "sessions_ended": _l("结束全部会话"),
    "transfer": _l("流转"),
    "assign": _l("分派"),
    "refer": _l("转交部门"),
    "view_ticket": _l("查看工单"),
    "reveal_contacts": _l("查看联系方式"),
    "download_attachment": _l("下载附件"),
    "export": _l("导出"),
    "submitted": _l("提交"),
    "rated": _l("评价"),
    "view_audit": _l("查看审计日志"),
    "list_users": _l("查看账号列表"),
    "user_created": _l("新建账号"),
    "user_updated": _l("修改账号"),
    "user_deactivated": _l("停用账号"),
    "user_activated": _l("启用账号"),
    "user_role_changed": _l("变更角色或区域"),
    "user_password_reset": _l("重置密码"),
    "take": _l("认领工单"),
    "reassign": _l("改派负责人"),
    "extend_deadline": _l("延长期限"),
    "reply": _l("公开答复"),
    "note": _l("内部备注"),
    "transfer_propose": _l("提出流转"),
    "transfer_accept": _l("接收流转"),
    "transfer_return": _l("退回流转"),
    "transfer_contest": _l("流转争议"),
    "transfer_withdraw": _l("撤回流转"),
    "transfer_decide": _l("市局裁定流转"),
    "routing_rule_add": _l("新增路由规则"),
    "routing_rule_edit": _l("修改路由规则"),
    "routing_rule_delete": _l("删除路由规则"),
    "routing_rule_move": _l("调整路由规则顺序"),
    "template_new": _l("新建答复模板"),
    "template_edit": _l("修改答复模板"),
    "template_deactivate": _l("停用答复模板"),
    "project_open": _l("建立项目档案"),
    "project_record": _l("记录项目进展"),
    "project_pool": _l("项目入库或撤回"),
    "list_apikeys": _l("查看 API 密钥"),
    "apikey_issue": _l("签发 API 密钥"),
    "apikey_revoke": _l("吊销 API 密钥"),
    "exchange_call": _l("交换接口调用"),
    "exchange_refused": _l("交换接口拒绝"),
    "exchange_receive": _l("接收平台间流转"),
    "exchange_push": _l("推送平台间流转"),
}
# Filters that stand for a family of actions ("status:accepted->closed", "user_…").
GROUPS = {
    "status:*": _l("状态变更（全部）"),
    "user_*": _l("账号管理（全部）"),
}
ENTITY_TYPES = {
    "demand": _l("投资需求"),
    "complaint": _l("投诉"),
    "user": _l("账号"),
    "attachment": _l("附件"),
    "audit_event": _l("审计日志"),
    "api_key": _l("API 密钥"),
    "exchange_send": _l("推送平台间流转"),
}
_STATUS = re.compile(r"^status:([a-z_]*)->([a-z_]+)$")


def action_label(action: str, entity_type: str = "") -> str:
    """A readable Chinese label; an action this viewer does not know is shown as stored."""
    if action in ACTIONS:
        return str(ACTIONS[action])
    status = _STATUS.match(action)
    if status:
        names = LABELS.get(f"{entity_type}_status", {})
        old, new = (str(names.get(code, code)) if code else "—" for code in status.groups())
        return _("状态变更：%(old)s → %(new)s", old=old, new=new)
    if action.startswith("user_"):
        return _("账号管理：%(action)s", action=action.removeprefix("user_"))
    return action


def entity_label(entity_type: str) -> str:
    return str(ENTITY_TYPES.get(entity_type, entity_type))


def local_time(at: datetime) -> datetime:
    """The moment in Asia/Shanghai; SQLite gives back the stored UTC time without its zone."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(SHANGHAI)


def format_at(at: datetime) -> str:
    """``2026-12-04 21:03:05 +08:00``: the wall time and the offset, so no one has to guess."""
    moment = local_time(at)
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def detail_text(detail) -> str:
    """The detail as one compact line of JSON, Chinese left readable."""
    if not detail:
        return ""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


# --- filters --------------------------------------------------------------------------


def _date(form, field) -> None:
    if not field.data:
        return
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", field.data):
            raise ValueError(field.data)
        value = date.fromisoformat(field.data)
    except ValueError:
        raise ValidationError(_("输入日期，格式如 2026-12-04")) from None
    if not EARLIEST <= value <= LATEST:
        raise ValidationError(_("输入 2000 年至 2099 年之间的日期"))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AuditFilterForm(FlaskForm):
    """The filters, read from the query string (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    user = StringField(_l("操作人"), filters=[_strip, lambda v: v.lower() if v else v],
                       description=_l("操作人的工作邮箱，须完整输入"),
                       render_kw={"type": "email", "autocomplete": "off", "spellcheck": "false"},
                       validators=[Optional(),
                                   Length(max=254, message=_l("电子邮箱不能超过 %(max)d 个字符")),
                                   Regexp(r"^[^@\s]+@[^@\s]+$", message=_l(
                                       "输入完整的工作邮箱，如 name@example.gov.cn"))])
    action = SelectField(_l("操作"), default="",
                         invalid_choice_message=_l("从列表中选择操作，或选择“全部”"))
    ticket = StringField(_l("工单或对象编号"), filters=[_strip],
                         description=_l("如 D-0123456789；也可以输入账号编号等其他对象的编号"),
                         render_kw={"autocomplete": "off", "spellcheck": "false"},
                         validators=[Optional(), Length(max=80, message=_l(
                             "编号不能超过 %(max)d 个字符"))])
    entity_type = SelectField(_l("对象类型"), default="",
                              invalid_choice_message=_l("从列表中选择对象类型，或选择“全部”"))
    date_from = StringField(_l("开始日期"), filters=[_strip], validators=[_date],
                            description=_l("北京时间，含当天"), render_kw={"type": "date"})
    date_to = StringField(_l("结束日期"), filters=[_strip], validators=[_date],
                          description=_l("北京时间，含当天"), render_kw={"type": "date"})

    @classmethod
    def from_args(cls, args) -> "AuditFilterForm":
        """A form bound to the query string. An action or object type the lists do not know
        yet (a link from elsewhere, a newer kind of event) is offered rather than refused."""
        form = cls(formdata=args or None)
        form.action.choices = [("", _("全部")),
                               *((code, str(label)) for code, label in ACTIONS.items()),
                               *((code, str(label)) for code, label in GROUPS.items())]
        form.entity_type.choices = [("", _("全部")),
                                    *((code, str(label)) for code, label in ENTITY_TYPES.items())]
        _offer(form.action, args.get("action", ""), 60, action_label)
        _offer(form.entity_type, args.get("entity_type", ""), 40, entity_label)
        return form

    def validate_date_to(self, field) -> None:
        # Compared only when both dates passed their own check (which runs first).
        if field.data and self.date_from.data and not field.errors \
                and not self.date_from.errors and field.data < self.date_from.data:
            raise ValidationError(_("结束日期不能早于开始日期"))  # ISO dates sort as text

    def validate_ticket(self, field) -> None:
        from portal.intake.tickets import normalise_ticket

        ticket = normalise_ticket(field.data or "")
        if re.fullmatch(r"[DC]-[0-9A-Z]{10}", ticket):  # typed as a person reads it
            field.data = ticket

    def active(self) -> dict:
        """The filters in use, as query-string arguments (for links, the export, the log)."""
        return {name: self[name].data for name in FILTERS if self[name].data}


def _offer(field, value: str, max_length: int, label) -> None:
    value = (value or "").strip()
    known = {code for code, _label in field.choices}
    if value and value not in known and len(value) <= max_length \
            and re.fullmatch(r"[a-z_:>\-*]+", value):
        field.choices.append((value, label(value)))


@dataclass
class Window:
    """Half-open [start, end) in UTC, from local dates."""

    start: datetime | None
    end: datetime | None

    @classmethod
    def from_dates(cls, first: str, last: str) -> "Window":
        def moment(day: date) -> datetime:
            return datetime.combine(day, time(), tzinfo=SHANGHAI).astimezone(UTC)

        start = moment(date.fromisoformat(first)) if first else None
        end = moment(date.fromisoformat(last) + timedelta(days=1)) if last else None
        return cls(start, end)


def events(filters: dict):
    """Events matching the filters, newest first."""
    stmt = db.select(AuditEvent)
    if filters.get("user"):
        stmt = stmt.where(AuditEvent.actor_id.in_(
            db.select(User.id).where(User.email == filters["user"])))
    action = filters.get("action", "")
    if action.endswith("*"):
        stmt = stmt.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
    elif action:
        stmt = stmt.where(AuditEvent.action == action)
    if filters.get("ticket"):
        stmt = stmt.where(AuditEvent.entity_id == filters["ticket"])
    if filters.get("entity_type"):
        stmt = stmt.where(AuditEvent.entity_type == filters["entity_type"])
    window = Window.from_dates(filters.get("date_from", ""), filters.get("date_to", ""))
    if window.start is not None:
        stmt = stmt.where(AuditEvent.at >= window.start)
    if window.end is not None:
        stmt = stmt.where(AuditEvent.at < window.end)
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


EXPORT_HEADER = ["time", "actor", "action", "action_label", "entity_type", "entity_id",
                 "detail", "ip"]


def export_rows(filters: dict):
    """One row per event, read in batches so a long trail streams; the query runs when the
    file is written, after the export's own event is recorded, so the file lists it."""
    stmt = events(filters).options(selectinload(AuditEvent.actor))
    for event in db.session.scalars(stmt.execution_options(yield_per=500)):
        yield [format_at(event.at), event.actor.email if event.actor else "", event.action,
               action_label(event.action, event.entity_type), event.entity_type,
               event.entity_id, detail_text(event.detail), event.ip]


# --- views ----------------------------------------------------------------------------


def admin_only(view):
    """Signed-in staff who are not admins get the same 404 as a path that does not exist."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != "admin":
            abort(404)
        return view(*args, **kwargs)

    return wrapped


HELPERS = {"action_label": action_label, "entity_label": entity_label, "format_at": format_at,
           "local_time": local_time, "detail_text": detail_text}


def _page(form, page=None, filters=None):
    return render_template("admin/audit.html", form=form, page=page, filters=filters or {},
                           retention_days=RETENTION_DAYS, **HELPERS)


def _filter_form():
    form = AuditFilterForm.from_args(request.args)
    valid = not any(name in request.args for name in FILTERS) or form.validate()
    return form, valid


@bp.get("/")
@admin_only
def index():
    form, valid = _filter_form()
    if not valid:
        return _page(form), 422
    filters = form.active()
    page = paginate(events(filters).options(selectinload(AuditEvent.actor)), page_arg(),
                    PER_PAGE)
    html = _page(form, page, filters)
    # Recorded after the page is drawn, so the list never shows the look that produced it.
    record_now("view_audit", "audit_event", "", {"filters": filters, "page": page.page})
    return html


@bp.get("/export.csv")
@admin_only
def export():
    return _export("csv")


@bp.get("/export.xlsx")
@admin_only
def export_xlsx():
    return _export("xlsx")


def _export(fmt: str):
    form, valid = _filter_form()
    if not valid:
        return _page(form), 422
    filters = form.active()
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M%S")
    return table_response(EXPORT_HEADER, export_rows(filters), f"audit-{stamp}", fmt,
                          entity_type="audit_event", detail={"filters": filters})


register_list("audit.index", csv="audit.export", xlsx="audit.export_xlsx")
