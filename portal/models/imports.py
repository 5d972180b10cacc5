"""Uploads waiting between the import report and the staff member's confirmation
(``portal.content.importer``): in the database, so the confirmation may reach another node
than the report. Private (no public page reads it); transient: rows expire after
``importer.STASH_SECONDS`` and are pruned on the next upload. ``portal.backup`` takes every
table, this one too; a restored upload is still usable only with its token, until it
expires."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db

from .base import check_in, utcnow

IMPORT_KINDS = ("policy", "site", "opportunity")
IMPORT_MODES = ("all", "valid")


class ImportStash(db.Model):
    """One upload, named by a random token of which only the SHA-256 is kept; the token is
    valid only for the user who uploaded."""

    __tablename__ = "import_stash"
    __table_args__ = (check_in("kind", IMPORT_KINDS), check_in("mode", IMPORT_MODES))

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(120))
    mode: Mapped[str] = mapped_column(String(8))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
