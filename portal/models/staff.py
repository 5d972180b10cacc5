"""Staff accounts, departments, the audit trail, rate-limit counters and the outbox."""

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db

from .base import TranslatableMixin, check_in, utcnow

# admin: everything; bureau: the city's 促投局, all regions; region: one county or zone;
# department: answers complaints addressed to it.
ROLES = ("admin", "bureau", "region", "department")
OUTBOX_KINDS = ("index", "unindex", "mail", "exchange")  # exchange: portal.exchange.push


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class Department(TranslatableMixin, db.Model):
    """A government body that answers complaints addressed to it (市发展改革委, 市自然资源局 …)."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    region = relationship("Region")


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        check_in("role", ROLES),
        CheckConstraint("role <> 'region' OR region_id IS NOT NULL", name="region_role_scoped"),
        CheckConstraint("length(email) > 3", name="email_present"),
        CheckConstraint("role <> 'department' OR department_id IS NOT NULL",
                        name="department_role_scoped"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # What the session cookie and the remember cookie carry instead of the id: replacing it
    # ends every session of the user at once (logout, password change, deactivation, role).
    session_token: Mapped[str] = mapped_column(String(64), unique=True,
                                               default=new_session_token)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Lockout counted in the database, so every worker and node agrees.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    region = relationship("Region")
    department = relationship("Department")

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive accounts
        return self.active

    def get_id(self) -> str:
        return self.session_token

    def end_sessions(self) -> None:
        """Every cookie issued so far stops working on its next request."""
        self.session_token = new_session_token()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.password_changed_at = utcnow()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class AuditEvent(db.Model):
    """One staff action or read of personal data. Written once: the application has no path
    that changes or deletes one, and on PostgreSQL a trigger refuses UPDATE and DELETE."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")

    actor = relationship("User")


class RateLimitCounter(db.Model):
    """A fixed-window counter of the per-client limits, shared by every worker and node
    (the limiter's storage when no Redis is configured)."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch


class OutboxJob(db.Model):
    """A job written in the same transaction as the change that needs it, run after commit."""

    __tablename__ = "outbox_job"
    __table_args__ = (
        check_in("kind", OUTBOX_KINDS),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
