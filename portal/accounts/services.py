"""Sign-in with lockout, and the account changes that end a user's sessions.

Lockout is counted per account in the database (``user.failed_logins``, ``locked_until``), so
every worker and every node agrees. A wrong password, a locked account, a deactivated one and
an unknown e-mail give the same answer after the same work: the password is always checked
against a hash (a dummy one when there is no account) and one audit event is written.
"""

import secrets
from datetime import UTC, datetime, timedelta
from functools import cache

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from portal import audit
from portal.extensions import db
from portal.models import Department, Region, User, utcnow

from . import passwords


class AccountError(ValueError):
    """A change the rules refuse; ``field`` names the form field the message belongs to."""

    def __init__(self, messages: list[str], field: str = "password"):
        super().__init__("；".join(messages))
        self.messages, self.field = messages, field


@cache
def _dummy_hash() -> str:
    """A hash made the same way as real ones, checked when there is no account to check."""
    return generate_password_hash(secrets.token_urlsafe(16))


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def is_locked(user: User, now: datetime | None = None) -> bool:
    until = _aware(user.locked_until)
    return until is not None and until > (now or utcnow())


def find(email: str) -> User | None:
    return db.session.scalars(db.select(User).filter_by(email=email.strip().lower()[:254])).first()


def authenticate(email: str, password: str) -> User | None:
    """The user when the password is right and the account active and not locked; else None,
    with the failure counted and audited."""
    now = utcnow()
    user = find(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        audit.record("login_failed", "user", "", {"email": email.strip().lower()[:254],
                                                  "reason": "unknown"}, actor=None)
        db.session.commit()
        return None
    right = user.check_password(password)
    if is_locked(user, now) or not user.active:
        audit.record("login_failed", "user", str(user.id),
                     {"reason": "locked" if user.active else "inactive"}, actor=user)
        db.session.commit()
        return None
    if not right:
        _count_failure(user, now)
        return None
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    audit.record("login", "user", str(user.id), actor=user)
    db.session.commit()
    return user


def _count_failure(user: User, now: datetime) -> None:
    """One more failure, counted by the database itself so concurrent workers add up."""
    config = current_app.config
    attempts = int(config.get("LOCKOUT_ATTEMPTS", 5))
    failures = db.session.execute(
        db.update(User).where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)).scalar_one()
    audit.record("login_failed", "user", str(user.id), {"reason": "password",
                                                        "failures": failures}, actor=user)
    if attempts and failures >= attempts:
        until = now + timedelta(minutes=int(config.get("LOCKOUT_MINUTES", 15)))
        db.session.execute(db.update(User).where(User.id == user.id)
                           .values(failed_logins=0, locked_until=until))
        audit.record("locked", "user", str(user.id),
                     {"until": until.isoformat(), "failures": failures}, actor=user)
    db.session.commit()


def unlock(user: User, *, by: User) -> None:
    user.failed_logins, user.locked_until = 0, None
    audit.record("unlock", "user", str(user.id), {"email": user.email}, actor=by)


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: the current password proves it is them; every session of
    theirs ends (the caller starts a new one for this browser)."""
    if not user.check_password(current):
        raise AccountError([_msg_wrong_current()], field="current")
    set_password(user, new, by=user)


def _msg_wrong_current() -> str:
    from flask_babel import gettext as _

    return _("当前密码不正确")


def set_password(user: User, new: str, *, by: User | None) -> None:
    from flask_babel import gettext as _

    found = passwords.problems(new, user.email)
    if not found and user.password_hash and user.check_password(new):
        found = [_("新密码不能与当前密码相同")]
    if found:
        raise AccountError(found)
    user.set_password(new)
    user.end_sessions()
    audit.record("password_changed", "user", str(user.id),
                 {"by_self": by is not None and by.id == user.id}, actor=by)


def create(email: str, password: str, *, role: str, region: Region | None = None,
           department: Department | None = None, name: str = "",
           by: User | None = None) -> User:
    """A new staff account; the password must pass the rules."""
    found = passwords.problems(password, email)
    if found:
        raise AccountError(found)
    user = User(email=email.strip().lower(), role=role, region=region, department=department,
                name=name)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", "user", str(user.id),
                 {"email": user.email, "role": role,
                  "region": region.slug if region else None,
                  "department": department.slug if department else None}, actor=by)
    return user


def update(user: User, *, by: User, role: str, region: Region | None,
           department: Department | None, active: bool, name: str) -> list[str]:
    """Change what an account may do; any change of rights ends its sessions at once."""
    before = {"role": user.role, "region": user.region.slug if user.region else None,
              "department": user.department.slug if user.department else None,
              "active": user.active, "name": user.name}
    user.role, user.region, user.department = role, region, department
    user.active, user.name = active, name
    after = {"role": role, "region": region.slug if region else None,
             "department": department.slug if department else None,
             "active": active, "name": name}
    changed = [k for k in before if before[k] != after[k]]
    if set(changed) - {"name"}:
        user.end_sessions()
    if changed:
        audit.record("user_updated", "user", str(user.id),
                     {k: [before[k], after[k]] for k in changed}, actor=by)
    return changed


def end_sessions(user: User, *, by: User) -> None:
    user.end_sessions()
    audit.record("sessions_ended", "user", str(user.id), {"email": user.email}, actor=by)
