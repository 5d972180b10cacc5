"""Publishing state and version history of the public records staff edit.

Policies, sites and opportunities move draft → review → published → archived
(``portal.content.workflow`` is the one function that moves them). A published record with a
``publish_at`` in the future is scheduled: it goes live when the clock passes it. Every change
is kept as a ``ContentVersion``: a snapshot of the record in the data pack's record format, so
any version can be compared with another or restored, and the same rules validate it.
"""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from portal.extensions import db

from .base import check_in, utcnow

PUBLICATION_STATES = ("draft", "review", "published", "archived")
CONTENT_ACTIONS = ("create", "edit", "submit", "return", "publish", "archive", "reopen",
                   "restore", "import", "expire", "close", "translate", "load")


class PublishableMixin:
    """Columns every staff-published record carries."""

    publication: Mapped[str] = mapped_column(String(16), default="published",
                                             server_default="published", index=True)
    publish_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @declared_attr
    def reviewed_by_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    @declared_attr
    def updated_by_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    def is_live(self, now: datetime | None = None) -> bool:
        """What anonymous visitors see: published, and past its scheduled time if any."""
        if self.publication != "published":
            return False
        if self.publish_at is None:
            return True
        now = now or utcnow()
        at = self.publish_at if self.publish_at.tzinfo else self.publish_at.replace(
            tzinfo=now.tzinfo)
        return at <= now


def publication_check(table: str):
    return check_in("publication", PUBLICATION_STATES)


class ContentVersion(db.Model):
    """One saved state of a record, in the pack's record format (``portal.content.records``)."""

    __tablename__ = "content_version"
    __table_args__ = (
        UniqueConstraint("kind", "record_id", "number", name="one_number_per_version"),
        Index("ix_content_version_record", "kind", "record_id"),
        check_in("action", CONTENT_ACTIONS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    publication: Mapped[str] = mapped_column(String(16), default="")
    data: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    author = relationship("User")


class PublicVersion(db.Model):
    """One row naming the current state of everything anonymous visitors can see.

    Its ``token`` is replaced in the same transaction as any change to public content
    (``portal.content.public``), and every page-cache key holds it, so a cached page is never
    served after a change, on any worker or node. A random token rather than a counter: a
    counter could start again from a number it had already given (an emptied table, a
    restored backup) and meet pages cached under it. ``due_at`` is the earliest scheduled
    publication still to come (Unix seconds); from then on pages are rendered afresh until
    the clock has published it.
    """

    __tablename__ = "public_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[int | None] = mapped_column(BigInteger)
