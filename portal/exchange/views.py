"""The exchange API under /api/v1/exchange: partner platforms pull what changed and push
project transfers, with a bearer API key (``portal.exchange.keys``).

Every call is authenticated before anything else (401 without a live key, 403 when the key
lacks the scope), counted against the key's own limit (EXCHANGE_RATELIMIT; 429 with
Retry-After) and written to the audit trail with its answer's status.
"""

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from portal import audit
from portal.errors import json_error
from portal.extensions import csrf, db, limiter
from portal.i18n import normalise
from portal.models import utcnow

from . import changes, keys, transfers

bp = Blueprint("exchange", __name__, url_prefix="/api/v1/exchange")
csrf.exempt(bp)

PULL_KINDS = ("policies", "sites", "opportunities", "projects")
SCOPE = {"POST": "push"}  # every other method: pull


def presented_secret() -> str:
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip()[:200] if scheme.lower() == "bearer" else ""


def current_key():
    """The live key of this request (checked once), or None."""
    if "exchange_key" not in g:
        g.exchange_key = keys.authenticate(presented_secret())
    return g.exchange_key


def limit_key() -> str:
    key = current_key()
    return f"exchange:{key.prefix}" if key is not None else f"exchange-anon:{request.remote_addr}"


def exchange_limit() -> str:
    return current_app.config.get("EXCHANGE_RATELIMIT") or "600/hour"


def limit_off() -> bool:
    config = current_app.config
    return not config.get("LIMITS_ON", True) or \
        str(config.get("EXCHANGE_RATELIMIT", "")).strip().lower() == "off"


limited = limiter.shared_limit(exchange_limit, scope="exchange", key_func=limit_key,
                               exempt_when=limit_off)


@bp.record_once
def _register(state) -> None:
    from .commands import apikeys_cli, exchange_cli

    state.app.cli.add_command(apikeys_cli)
    state.app.cli.add_command(exchange_cli)
    state.app.after_request(transfers.catch_up)


@bp.before_request
def authenticate():
    g.lang = normalise(request.args.get("lang")) or normalise(
        request.accept_languages.best_match(["zh", "en", "ja", "ko", "ru"])) or "zh"
    key = current_key()
    if key is None:
        response, status = json_error(401, _("缺少有效的 API 密钥，或密钥已被吊销。"))
        response.headers["WWW-Authenticate"] = 'Bearer realm="exchange"'
        return response, status
    if not key.allows(SCOPE.get(request.method, "pull")):
        return json_error(403, _("这个 API 密钥无权执行此操作。"))
    return None


@bp.after_request
def record_call(response):
    """Every call, answered or refused, in the audit trail; the key's last use."""
    key = g.get("exchange_key")
    detail = {"method": request.method, "path": request.path[:200],
              "status": response.status_code}
    if response.status_code >= 500:
        db.session.rollback()  # whatever failed is not committed with the audit event
    try:
        if key is not None:
            key.last_used_at = utcnow()
            audit.record("exchange_call", "api_key", key.prefix, detail | {
                "partner": key.partner}, actor=None)
        else:
            audit.record("exchange_refused", "api_key",
                         keys.presented_prefix(presented_secret()), detail, actor=None)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("could not audit an exchange call")
    response.headers["Cache-Control"] = "no-store"
    return response


def _position():
    """The stream position from ``cursor`` or ``since``; a 400 answer when neither reads."""
    cursor, since = request.args.get("cursor", ""), request.args.get("since", "")
    if cursor:
        try:
            return changes.Position.decode(cursor[:200]), None
        except changes.CursorError:
            return None, json_error(400, _("查询参数有误，请按 fields 中的说明修改。"),
                                    fields={"cursor": _("使用上一页返回的 cursor")})
    if not since:
        return None, json_error(400, _("查询参数有误，请按 fields 中的说明修改。"),
                                fields={"since": _("填写 ISO 8601 时间，如 2026-01-01T00:00:00Z")})
    try:
        return changes.Position(changes.parse_since(since[:64])), None
    except ValueError:
        return None, json_error(400, _("查询参数有误，请按 fields 中的说明修改。"),
                                fields={"since": _("填写 ISO 8601 时间，如 2026-01-01T00:00:00Z")})


def _limit():
    raw = request.args.get("limit", "")
    if not raw:
        return changes.DEFAULT_LIMIT, None
    if raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= changes.MAX_LIMIT:
        return int(raw), None
    return None, json_error(400, _("查询参数有误，请按 fields 中的说明修改。"), fields={
        "limit": _("输入 1 至 %(max)d 的整数", max=changes.MAX_LIMIT)})


def pull(kind: str):
    lang = request.args.get("lang")
    if lang and normalise(lang) is None:
        return json_error(400, _("查询参数有误，请按 fields 中的说明修改。"),
                          fields={"lang": _("须为以下之一：%(choices)s",
                                            choices="zh, en, ja, ko, ru")})
    position, error = _position()
    if error:
        return error
    limit, error = _limit()
    if error:
        return error
    page = changes.changes(kind, current_key(), position, limit)
    return jsonify({
        "items": page.items,
        "removed": page.removed,
        "cursor": page.cursor.encode(),
        "more": page.more,
    })


def _pull_view(kind: str):
    """One named view per kind: the limiter and the audit trail tell them apart by name."""

    def view():
        return pull(kind)

    view.__name__ = view.__qualname__ = f"pull_{kind}"
    return limited(view)


for _kind in PULL_KINDS:
    bp.add_url_rule(f"/{_kind}", endpoint=_kind, view_func=_pull_view(_kind), methods=["GET"])


@bp.post("/transfers")
@limited
def receive():
    if not request.is_json:
        return json_error(415)
    body = request.get_json(silent=True)
    if body is None:
        return json_error(400, _("请求内容不是有效的 JSON。"))
    try:
        answer = transfers.receive(current_key(), body)
    except transfers.ExchangeError as exc:
        db.session.rollback()
        return json_error(exc.status, str(exc), fields=exc.fields)
    if answer.replayed:
        return jsonify(answer.body | {"replayed": True}), 200
    return jsonify(answer.body), 201
