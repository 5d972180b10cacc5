"""Publishing: who may do what to a policy, site or opportunity, and what the public sees.

States: draft → review → published → archived. Region staff create and edit their region's
drafts and submit them; the bureau and admins (reviewers) edit anything, publish (now or at a
set time), return a submission with a note, archive and reopen. ``move`` is the one function
that changes a state: it checks the move, stamps who and when, keeps a version and writes the
audit event, in the caller's transaction. ``save`` stores an edit through the same rules the
data-pack loader and the importer use (``seed.rules``).

What anonymous visitors see is decided in one place too: ``register`` adds a criterion to
every ORM query made while serving a public page (anything outside ``/admin``), so a draft, a
submission, an archived record or one scheduled for later never appears in a list, a count, a
map, a feed or a detail page, however it is reached. The search index holds only live records
(``portal.indexing``).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import event, or_
from sqlalchemy.orm import with_loader_criteria

from portal.audit import record as audit
from portal.extensions import db
from portal.models import Opportunity, Policy, Region, Site, User
from seed import rules

from . import versions

MODELS = {"policy": Policy, "site": Site, "opportunity": Opportunity}
KINDS = {model: kind for kind, model in MODELS.items()}
REVIEWERS = ("admin", "bureau")
EDITORS = ("admin", "bureau", "region")
# action → (states it may start from, state it leads to, roles allowed)
MOVES = {
    "submit": (("draft",), "review", EDITORS),
    "return": (("review",), "draft", REVIEWERS),
    "publish": (("draft", "review"), "published", REVIEWERS),
    "archive": (("published", "review", "draft"), "archived", REVIEWERS),
    "reopen": (("archived", "published"), "draft", REVIEWERS),
}


class ContentError(Exception):
    """A move or an edit that is not allowed; the message says why, in the user's language."""


@dataclass
class Invalid(Exception):
    problems: list[rules.Problem]


def now() -> datetime:
    """The clock publishing runs on; tests set ``CONTENT_CLOCK`` to a callable."""
    clock = current_app.config.get("CONTENT_CLOCK") if current_app else None
    return clock() if clock else datetime.now(UTC)


def live(model, at: datetime | None = None):
    """SQL: the rows of ``model`` anonymous visitors see at ``at`` (now)."""
    at = at or now()
    return (model.publication == "published") & or_(model.publish_at.is_(None),
                                                    model.publish_at <= at)


def can_edit(user: User, row) -> bool:
    if user.role in REVIEWERS:
        return True
    return user.role == "region" and row.publication == "draft"


def check_move(user: User, row, action: str) -> str:
    """The state ``action`` leads to, or ContentError."""
    from flask_babel import gettext as _

    if action not in MOVES:
        raise ContentError(_("未知的操作"))
    sources, target, roles = MOVES[action]
    if user.role not in roles:
        raise ContentError(_("只有审核人员可以执行此操作"))
    if row.publication not in sources:
        raise ContentError(_("当前状态下不能执行此操作"))
    return target


def move(user: User, row, action: str, note: str = "", publish_at: datetime | None = None):
    """Change ``row``'s state; the caller commits."""
    from flask_babel import gettext as _

    target = check_move(user, row, action)
    if action == "return" and not note.strip():
        raise ContentError(_("退回时请说明需要修改的地方"))
    kind = KINDS[type(row)]
    row.publication = target
    row.updated_by_id = user.id
    if action == "publish":
        row.reviewed_by_id, row.reviewed_at = user.id, now()
        # Stored in UTC: SQLite keeps a datetime without its offset, so a Beijing-time value
        # would compare 8 hours late against the UTC clock.
        row.publish_at = (publish_at.astimezone(UTC)
                          if publish_at and publish_at > now() else None)
    versions.record(kind, row, action, author=user, note=note)
    audit(f"content_{action}", kind, row.id, {"note": note[:200]}, actor=user)
    return row


def save(user: User, kind: str, record: dict, row=None, action: str | None = None,
         audited: bool = True):
    """Create or change a record from a record dict; Invalid with every problem when the
    shared rules refuse it. A new record starts as a draft. ``audited=False`` leaves the
    audit event to the caller (an import is one event for all its records)."""
    from flask_babel import gettext as _

    model = MODELS[kind]
    if row is not None and not can_edit(user, row):
        raise ContentError(_("提交审核后或发布后，只有审核人员可以修改"))
    known = rules.Known.from_database()
    problems = rules.check(kind, record, known)
    problems += _scope_problems(user, record, known)
    if row is None and db.session.scalars(
            db.select(model.id).filter_by(key=record.get("key"))).first() is not None:
        problems.append(rules.Problem("key", _("重复的标识")))
    if problems:
        raise Invalid(problems)
    created = row is None
    if created:
        row = model(key=record["key"], publication="draft")
        db.session.add(row)
    for name, value in rules.values(kind, record, known).items():
        setattr(row, name, value)
    row.updated_by_id = user.id
    versions.record(kind, row, action or ("create" if created else "edit"), author=user)
    if audited:
        audit("content_create" if created else f"content_{action or 'edit'}", kind, row.id,
              actor=user)
    return row


def _scope_problems(user: User, record: dict, known: rules.Known) -> list[rules.Problem]:
    """Region staff may only file records under their own region (or its zones)."""
    from flask_babel import gettext as _

    if user.role != "region":
        if user.role not in REVIEWERS or user.region is None:
            return []
        from portal.scoping import scoped  # a city bureau (province mode): its city's regions

        allowed = set(db.session.scalars(scoped(user, Region, db.select(Region.id))))
        region = known.regions.get(record.get("region"))
        if region is not None and region.id not in allowed:
            return [rules.Problem("region", _("只能选择本辖区"))]
        return []
    from portal.sites.services import region_ids

    allowed = set(region_ids(user.region.slug)) if user.region else set()
    region = known.regions.get(record.get("region"))
    if region is None or region.id not in allowed:
        return [rules.Problem("region", _("只能选择本辖区"))]
    return []


def restore(user: User, kind: str, row, number: int):
    """Make an old version the current state again, as a new version."""
    from flask_babel import gettext as _

    old = next((v for v in versions.history(kind, row.id) if v.number == number), None)
    if old is None:
        raise ContentError(_("没有这个版本"))
    return save(user, kind, dict(old.data), row=row, action="restore")


# --- what the public sees ------------------------------------------------------------------


def _public_request() -> bool:
    return has_request_context() and not request.path.startswith("/admin")


def _only_live(state) -> None:
    if not state.is_select or not _public_request():
        return
    at = now()
    state.statement = state.statement.options(*(
        with_loader_criteria(
            model, lambda cls: (cls.publication == "published")
            & or_(cls.publish_at.is_(None), cls.publish_at <= at), include_aliases=True)
        for model in MODELS.values()))


def register(app: Flask) -> None:
    from flask_sqlalchemy.session import Session as FlaskSession

    if not event.contains(FlaskSession, "do_orm_execute", _only_live):
        event.listen(FlaskSession, "do_orm_execute", _only_live)
