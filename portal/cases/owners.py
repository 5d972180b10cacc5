"""首接负责制: every ticket has a responsible unit and a person in it.

The unit is the region holding the ticket (``region_id``), or the city bureau when none
does; the person (``assignee_id``) is a member of that unit. Staff of the unit and of the
bureau may take a ticket for themselves; the bureau, admins and the current owner may hand
it to another active member of the unit. A transfer to another region (流转) leaves the
ticket without an owner until someone there takes it. Every change is audited and kept in
the internal timeline.
"""

from flask_babel import gettext as _

from portal import audit
from portal.extensions import db
from portal.models import TicketEvent, User, utcnow


class OwnerError(ValueError):
    """A change of owner the rules do not allow; the message is for the staff member."""


def display_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.name or user.email


def unit_name(record) -> str:
    return record.region.tr("name") if record.region is not None else _("市促投局")


def members(record) -> list[User]:
    """Active staff of the ticket's responsible unit, by name."""
    stmt = db.select(User).where(User.active.is_(True))
    if record.region_id is not None:
        stmt = stmt.where(User.role == "region", User.region_id == record.region_id)
    else:
        stmt = stmt.where(User.role == "bureau")
    return list(db.session.scalars(stmt.order_by(User.name, User.email)))


def in_unit(user: User, record) -> bool:
    """Whether ``user`` belongs to the ticket's responsible unit."""
    if record.region_id is None:
        return user.role == "bureau"
    return user.role == "region" and user.region_id == record.region_id


def may_take(user: User, record) -> bool:
    return (user.active and record.status != "closed" and record.assignee_id != user.id
            and (user.role == "bureau" or in_unit(user, record)))


def may_reassign(user: User, record) -> bool:
    return record.status != "closed" and (
        user.role in ("admin", "bureau")
        or (record.assignee_id is not None and record.assignee_id == user.id))


def take(user: User, record) -> None:
    """``user`` becomes the person responsible for ``record`` (我来负责)."""
    if not may_take(user, record):
        raise OwnerError(_("您不能负责这件工单：只有责任单位或市促投局的工作人员"
                           "可以认领未办结的工单"))
    _set(user, record, user, "take")


def reassign(user: User, record, assignee: User) -> None:
    """Hand ``record`` to ``assignee``, an active member of its responsible unit."""
    if not may_reassign(user, record):
        raise OwnerError(_("只有市促投局、管理员或当前负责人可以改派未办结的工单"))
    if not assignee.active or not in_unit(assignee, record):
        raise OwnerError(_("选择%(unit)s的在岗工作人员", unit=unit_name(record)))
    if assignee.id == record.assignee_id:
        raise OwnerError(_("%(name)s 已是这件工单的负责人", name=display_name(assignee)))
    _set(user, record, assignee, "reassign")


def _set(actor: User, record, assignee: User, action: str) -> None:
    previous = record.assignee
    record.assignee = assignee
    note = _("%(name)s 负责此工单（%(unit)s）", name=display_name(assignee),
             unit=unit_name(record)) if action == "take" else \
        _("改派：%(old)s → %(new)s（%(unit)s）", old=display_name(previous) or "—",
          new=display_name(assignee), unit=unit_name(record))
    record.events.append(TicketEvent(status=record.status, kind="system", public=False,
                                     actor=actor, note=note, at=utcnow()))
    audit.record(action, type(record).__tablename__, record.ticket,
                 {"to": assignee.email, "from": previous.email if previous else None,
                  "unit": record.region.slug if record.region is not None else "bureau"},
                 actor=actor)
