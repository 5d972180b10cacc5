"""Staff sessions the server can end.

The session cookie and the "remember me" cookie carry the user's ``session_token``, not the
id: replacing the token (logout, password change, deactivation, role or region change) ends
every session of that user on its next request, on every worker and node. A session also
ends after ``SESSION_IDLE_MINUTES`` without a request and ``SESSION_MAX_HOURS`` after sign-in;
"remember me" lasts ``REMEMBER_DAYS`` at most and is revoked the same way.
"""

import secrets
import time
from datetime import timedelta

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.extensions import db, login_manager

STARTED, SEEN = "_started", "_seen"
MAX_REMEMBER_DAYS = 7


def init_app(app: Flask) -> None:
    count = app.config.get("PROXY_COUNT", 0)
    if count and not isinstance(app.wsgi_app, ProxyFix):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    https = bool(app.config.get("HTTPS"))
    app.config.update(
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_PATH="/admin",
        REMEMBER_COOKIE_DURATION=timedelta(days=min(max(app.config.get("REMEMBER_DAYS", 0), 1),
                                                    MAX_REMEMBER_DAYS)),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=app.config.get("SESSION_MAX_HOURS", 12)),
    )
    if https:
        app.config["PREFERRED_URL_SCHEME"] = "https"

    login_manager.login_view = "admin.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    app.before_request(_expire)


def load_user(token: str):
    """The user whose current token this is; any older token finds nobody."""
    from portal.models import User

    if not token or len(token) > 64:
        return None
    user = db.session.scalars(db.select(User).filter_by(session_token=token)).first()
    return user if user is not None and user.active else None


def start(user, remember: bool = False) -> None:
    """A fresh session for a user who has just proved who they are."""
    session.clear()  # nothing carried over from before sign-in (fixation)
    login_user(user, remember=remember and current_remember_days() > 0, fresh=True)
    now = int(time.time())
    session[STARTED] = session[SEEN] = now
    session["_sid"] = secrets.token_urlsafe(16)
    session.permanent = True


def end(user=None) -> None:
    """End this session and, with ``user``, every other one of theirs."""
    if user is not None:
        user.end_sessions()
        db.session.commit()
    logout_user()
    session.clear()


def current_remember_days() -> int:
    """Days a "remember me" cookie lasts: 0 (the default) offers no such option; at most 7."""
    from flask import current_app

    return max(0, min(int(current_app.config.get("REMEMBER_DAYS", 0)), MAX_REMEMBER_DAYS))


def _expire():
    """End a staff session idle too long or older than its absolute lifetime."""
    if not request.path.startswith("/admin") or not current_user.is_authenticated:
        return None
    from flask import current_app

    now = int(time.time())
    started, seen = session.get(STARTED), session.get(SEEN)
    if started is None:  # restored from the remember cookie: a new session starts now
        session[STARTED] = session[SEEN] = now
        session.permanent = True
        return None
    idle = current_app.config.get("SESSION_IDLE_MINUTES", 30) * 60
    lifetime = current_app.config.get("SESSION_MAX_HOURS", 12) * 3600
    if now - (seen or 0) > idle or now - started > lifetime:
        remembered = current_remember_days() > 0 and \
            request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
        if remembered:  # a device the user chose to trust: its cookie starts a new session
            session.clear()
            return redirect(request.full_path if request.method == "GET" else request.path)
        logout_user()
        session.clear()
        flash(_("登录已超时，请重新登录。"))
        return redirect(url_for("admin.login", next=request.path))
    if now - (seen or 0) >= 30:  # the cookie is rewritten at most twice a minute
        session[SEEN] = now
    return None
