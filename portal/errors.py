"""Error pages in the page's language, and the JSON error shape for the API."""

import math
import time
from datetime import timedelta

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import limiter

MESSAGES = {
    400: _l("请求无法处理，请检查后重试。"),
    401: _l("需要有效的身份凭据。"),
    403: _l("您没有权限访问此页面。"),
    404: _l("找不到您要访问的页面。"),
    405: _l("不支持此请求方法。"),
    413: _l("提交的内容过大。"),
    415: _l("不支持此内容类型。"),
    422: _l("提交的内容有误，请修改后重试。"),
    429: _l("请求过于频繁，请稍后再试。"),
    500: _l("服务器出现错误，我们已记录此问题，请稍后再试。"),
}
CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid", 429: "rate_limited", 500: "server_error",
}
# Headers worth keeping from the exception (Allow on 405, Retry-After on 429).
KEPT_HEADERS = ("Allow", "Retry-After")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def message_for(status: int) -> str:
    return str(MESSAGES.get(status, MESSAGES[500]))


def json_error(status: int, message: str | None = None, fields: dict | None = None):
    body = {
        "error": {
            "code": CODES.get(status, "error"),
            "message": message or message_for(status),
            "fields": fields or {},
        }
    }
    return jsonify(body), status


def handle_http(exc: HTTPException):
    status = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k in KEPT_HEADERS}
    message = message_for(status)
    wait = retry_after() if status == 429 else None
    if wait is not None:
        headers["Retry-After"] = str(wait)
        message = _("请求过于频繁，请在%(wait)s后再试。", wait=wait_text(wait))
    if wants_json():
        body, status = json_error(status, message)
    else:
        body = render_template("errors/error.html", status=status, message=message)
    return body, status, headers


def retry_after() -> int | None:
    """Whole seconds until the window of the limit this request broke ends, or None when the
    429 did not come from the limiter."""
    limit = limiter.current_limit if limiter.initialized else None
    if limit is None or not limit.breached:
        return None
    return max(1, math.ceil(limit.window.reset_time - time.time()))


def wait_text(seconds: int) -> str:
    """"45秒钟", "3分钟", "1小时" in the page's language: whole units, rounded up, so that
    trying again after it never meets the limit again."""
    unit = next(u for u in (86400, 3600, 60, 1) if seconds >= u or u == 1)
    whole = timedelta(seconds=math.ceil(seconds / unit) * unit)
    return format_timedelta(whole, threshold=1)


def handle_unexpected(exc: Exception):
    current_app.logger.exception("unhandled error on %s", request.path)
    return handle_http(InternalServerError())
