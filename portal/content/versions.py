"""Version history of staff-published records: every saved state, who and when, a diff
between two versions, and restore (which is a new version, never a rewrite of history)."""

from dataclasses import dataclass

from portal.extensions import db
from portal.models import ContentVersion
from seed import rules


def latest(kind: str, record_id: int) -> ContentVersion | None:
    return db.session.scalars(
        db.select(ContentVersion).filter_by(kind=kind, record_id=record_id)
        .order_by(ContentVersion.number.desc()).limit(1)).first()


def history(kind: str, record_id: int) -> list[ContentVersion]:
    return list(db.session.scalars(
        db.select(ContentVersion).filter_by(kind=kind, record_id=record_id)
        .order_by(ContentVersion.number.desc())))


def edited_by_staff(kind: str, record_id: int) -> bool:
    """Once staff have changed a record, reloading the data pack leaves it alone."""
    last = latest(kind, record_id)
    return last is not None and last.action != "load"


def snapshot(kind: str, row) -> dict:
    return rules.to_record(kind, row)


def record(kind: str, row, action: str, author=None, note: str = "",
           only_if_changed: bool = False) -> ContentVersion | None:
    """Keep the row's current state as the next version (the caller commits)."""
    db.session.flush()
    data = snapshot(kind, row)
    last = latest(kind, row.id)
    if only_if_changed and last is not None and last.data == data \
            and last.publication == row.publication:
        return None
    version = ContentVersion(kind=kind, record_id=row.id, number=(last.number + 1) if last else 1,
                             action=action, publication=row.publication or "", data=data,
                             note=note or "", author_id=getattr(author, "id", None))
    db.session.add(version)
    return version


@dataclass
class Change:
    field: str
    before: object
    after: object


def diff(older: dict, newer: dict) -> list[Change]:
    """Field by field; translations compared per language and field."""
    changes = []
    for name in sorted(set(older) | set(newer)):
        if name == "translations":
            continue
        if older.get(name) != newer.get(name):
            changes.append(Change(name, older.get(name), newer.get(name)))
    before, after = older.get("translations") or {}, newer.get("translations") or {}
    for lang in sorted(set(before) | set(after)):
        a, b = before.get(lang) or {}, after.get(lang) or {}
        for name in sorted(set(a) | set(b)):
            if a.get(name) != b.get(name):
                changes.append(Change(f"{lang}.{name}", a.get(name), b.get(name)))
    return changes
