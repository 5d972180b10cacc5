"""Records changed since a time, for partners that keep a copy (the province of its cities).

Each kind is one stream of changes ordered by ``(updated_at, id)``. A page holds the next
``limit`` changes after a position: the live records in ``items``, and in ``removed`` the ids
of records that stopped being public (archived, back to draft, scheduled for later) — a
partner deletes those from its copy. The answer's ``cursor`` is the position after the last
change of the page (or the same position when there was none); the partner asks again with
it until ``more`` is false and keeps it for its next pull. A record changed while a partner
pages gets a newer ``updated_at``, so it comes again later in the stream: nothing is missed.

Changes younger than ``EXCHANGE_SETTLE_SECONDS`` (2 s by default) are left for the next pull:
a transaction that stamped its rows a moment ago may not have committed yet, and once the
stream has moved past a time it never looks back.

Projects (一项目一档案) are shared without the investor's personal data: no contact name,
phone or e-mail, no credit code, message or staff notes (the outcome is free text). Every
project of the key's region tree is shared: the province sees its cities' files (一图两库), a
county its own.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_
from sqlalchemy.orm import Session, selectinload

from portal.api import serializers
from portal.converters import MAX_ID
from portal.extensions import db
from portal.models import ApiKey, Demand, Opportunity, Policy, Project, Site, utcnow

from . import keys

KINDS = {"policies": Policy, "sites": Site, "opportunities": Opportunity,
         "projects": Project}
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
SETTLE_SECONDS = 2.0


class CursorError(ValueError):
    """A cursor this server did not make."""


@dataclass(frozen=True)
class Position:
    """After ``at``/``id`` in the stream: ``id`` 0 means "at or after ``at``"."""

    at: datetime
    id: int = 0

    def encode(self) -> str:
        raw = f"{self.at.astimezone(UTC).isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Position":
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            at, _sep, number = raw.partition("|")
            position = cls(as_utc(datetime.fromisoformat(at)), int(number))
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
            raise CursorError(text) from exc
        if not 0 <= position.id <= MAX_ID:  # no database integer holds more
            raise CursorError(text)
        return position


def as_utc(value: datetime) -> datetime:
    """SQLite hands times back without their zone; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_since(text: str) -> datetime:
    """An ISO 8601 time (a date means its midnight; no offset means UTC). ValueError."""
    try:
        return as_utc(datetime.fromisoformat(text.strip()))
    except OverflowError as exc:
        raise ValueError(text) from exc


@dataclass
class Page:
    items: list[dict]
    removed: list[dict]
    cursor: Position
    more: bool


def _scope(stmt, model, key: ApiKey):
    ids = keys.region_ids(key)
    return stmt if ids is None else stmt.where(model.region_id.in_(ids))


def changes(kind: str, key: ApiKey, position: Position, limit: int = DEFAULT_LIMIT) -> Page:
    """The next page of changes, serialized. It reads through a session of its own: the
    portal's request session shows public requests live records only
    (``portal.content.workflow``), and the stream must see the others to report them
    removed."""
    with Session(db.engine) as session:
        return _changes(session, kind, key, position, limit)


def _changes(session: Session, kind: str, key: ApiKey, position: Position,
             limit: int) -> Page:
    model = KINDS[kind]
    settle = float(current_app.config.get("EXCHANGE_SETTLE_SECONDS", SETTLE_SECONDS))
    until = utcnow() - timedelta(seconds=settle)
    after = or_(model.updated_at > position.at,
                and_(model.updated_at == position.at, model.id > position.id))
    stmt = _scope(db.select(model), model, key).where(after, model.updated_at <= until)
    stmt = stmt.order_by(model.updated_at, model.id).limit(limit + 1)
    if model is Project:
        stmt = stmt.options(selectinload(Project.demand).selectinload(Demand.industry),
                            selectinload(Project.region))
    rows = list(session.scalars(stmt))
    more, rows = len(rows) > limit, rows[:limit]
    now = utcnow()
    items, removed = [], []
    for row in rows:
        if model is Project or row.is_live(now):
            items.append(serialize(kind, row))
        else:
            removed.append({"id": row.id, "updated_at": stamp(row.updated_at)})
    cursor = Position(as_utc(rows[-1].updated_at), rows[-1].id) if rows else position
    return Page(items, removed, cursor, more)


def stamp(value: datetime) -> str:
    return as_utc(value).isoformat()


def serialize(kind: str, row) -> dict:
    body = {"policies": serializers.policy_full, "sites": serializers.site_full,
            "opportunities": serializers.opportunity, "projects": project}[kind](row)
    return body | {"updated_at": stamp(row.updated_at)}


def project(item: Project) -> dict:
    """A project file without the investor's personal data."""
    demand = item.demand
    return {
        "id": item.id,
        "ticket": demand.ticket,
        "name": item.name,
        "company_name": demand.company_name,
        "investor_type": demand.investor_type,
        "industry": demand.industry.slug if demand.industry else None,
        "region": item.region.slug if item.region else None,
        "stage": item.stage,
        "in_pool": item.in_pool,
        "amount_wan": demand.amount_wan,
        "signed_amount_wan": item.signed_amount_wan,
        "invested_wan": item.invested_wan,
        "expected_output_wan": item.expected_output_wan,
        "jobs": item.jobs,
        "signed_on": _day(item.signed_on),
        "started_on": _day(item.started_on),
        "producing_on": _day(item.producing_on),
        "closed_on": _day(item.closed_on),
    }


def _day(value) -> str | None:
    return value.isoformat() if value else None
