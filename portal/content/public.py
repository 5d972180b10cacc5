"""The public version: one token that changes with everything anonymous visitors can see.

Any transaction that writes a table public pages read replaces ``public_version.token`` before
it commits, in the same transaction, so the page cache (``portal.pagecache``), whose every key
holds the token, can never serve a page from before a change that has committed, on any worker
or node. It does not matter who writes: the loader, the back office, the clock publishing or
closing on schedule, or a restore: every ORM flush and every statement run through a session
is seen. The search index is kept apart from the database and changes after the commit that
queued the change, so the outbox replaces the token again once the index has taken it
(``portal.indexing``).

Writes to tables no public page reads (tickets, staff, audit, rate limits, mail, the outbox,
alert subscriptions) leave the token alone, so a burst of submissions during a fair does not
empty the cache. A table not named here counts as public: a new table can only make the cache
miss more often, never serve a stale page.
"""

import secrets
from datetime import UTC, datetime

from flask import has_app_context
from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from portal.content.workflow import now
from portal.models import Opportunity, Policy, PublicVersion, Site, utcnow

PRIVATE_TABLES = frozenset({
    "alembic_version", "alert_delivery", "alert_subscription", "api_key", "attachment",
    "audit_event", "complaint", "content_version", "demand", "exchange_receipt", "import_stash",
    "outbox_job", "policy_release", "project", "public_version", "rate_limit_counter",
    "response_template", "routing_rule", "ticket_event", "transfer", "user",
})
SCHEDULED = (Policy, Site, Opportunity)
FLAG = "public_changed"


def register() -> None:
    """Listen on every session in the process (once): Flask-SQLAlchemy's, and the plain
    sessions the outbox and the commands open."""
    if not event.contains(Session, "after_flush", _note_flush):
        event.listen(Session, "after_flush", _note_flush)
        event.listen(Session, "do_orm_execute", _note_statement)
        event.listen(Session, "before_commit", _bump_before_commit)
        event.listen(Session, "after_soft_rollback", _forget)


def _is_public(table_name: str) -> bool:
    return table_name not in PRIVATE_TABLES


def _note_flush(session: Session, _context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(obj), "__table__", None)
        if table is not None and _is_public(table.name):
            session.info[FLAG] = True
            return


def _note_statement(state) -> None:
    """INSERT, UPDATE and DELETE statements run through a session (bulk changes that no
    flush sees); raw SQL text counts as a change unless it is a SELECT."""
    if state.is_select:
        return
    statement = state.statement
    if isinstance(statement, TextClause):
        if not str(statement).lstrip().lower().startswith(("select", "with", "pragma", "set")):
            state.session.info[FLAG] = True
        return
    table = getattr(statement, "table", None)
    if (state.is_update or state.is_delete or state.is_insert) and \
            (table is None or _is_public(getattr(table, "name", ""))):
        state.session.info[FLAG] = True


def _bump_before_commit(session: Session) -> None:
    session.flush()  # the last changes count too
    if session.info.pop(FLAG, False) and \
            inspect(session.connection()).has_table(PublicVersion.__tablename__):
        bump(session)  # (a database still being migrated has no pages to keep)


def _forget(session: Session, _transaction) -> None:
    session.info.pop(FLAG, None)


def bump(session: Session) -> None:
    """Replace the token in the session's transaction, and note when the next scheduled
    publication falls due. The row is written last, just before commit, so transactions
    that change content hold its lock only for an instant."""
    values = {"token": secrets.token_hex(16), "changed_at": utcnow(),
              "due_at": _next_due(session)}
    done = session.execute(update(PublicVersion).where(PublicVersion.id == 1).values(**values)
                           .execution_options(synchronize_session=False))
    if not done.rowcount:  # an emptied table (tests): the row comes back
        session.add(PublicVersion(id=1, **values))
        session.flush()


def _next_due(session: Session) -> int | None:
    """The earliest ``publish_at`` still ahead, in Unix seconds: pages must be rendered
    afresh from then on, until the clock has published the record."""
    at = now() if has_app_context() else datetime.now(UTC)
    earliest = None
    for model in SCHEDULED:
        value = session.scalar(select(func.min(model.publish_at)).where(
            model.publication == "published", model.publish_at > at))
        if value is not None:
            value = value if value.tzinfo else value.replace(tzinfo=UTC)
            earliest = value if earliest is None or value < earliest else earliest
    return int(earliest.timestamp()) if earliest else None
