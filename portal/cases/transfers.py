"""流转: a ticket moves from the region holding it to another only when that region accepts.

The holder (staff of the holding region, or the city bureau) proposes a transfer with a
reason; the ticket stays with the holder meanwhile. The receiving region accepts it (the
ticket becomes theirs, the owner is cleared, 首谈首报 and the deadline clock stay as they were)
or returns it with a reason; when it contests (both regions claim the project), the city
bureau decides. For a transferred project the receiving region's share of statistics and tax
is recorded on acceptance (seed 000 (六), 001 (六(三)), 004 (20)).

Statuses of a Transfer: proposed → accepted | returned | withdrawn | contested;
contested → decided (the bureau gave the ticket to the receiving region) or returned (the
bureau left it with the holder; ``answered_by`` is then a bureau member). While a transfer is
pending (proposed or contested) the receiving region may open the ticket (``portal.scoping``).
Every step writes an internal timeline event (kind "transfer") and an audit event.
"""

from dataclasses import dataclass

from flask_babel import gettext as _

from portal import audit
from portal.extensions import db
from portal.models import Complaint, Demand, Region, TicketEvent, Transfer, User, utcnow

from .routing import HOLDING_KINDS

PENDING = ("proposed", "contested")
MOVED = ("accepted", "decided")  # the ticket went to the receiving region
CITY_ROLES = ("admin", "bureau")


class TransferError(ValueError):
    """A step the rules do not allow; the message is for the staff member."""


@dataclass
class Sharing:
    """The receiving region's share of a transferred project's statistics and tax."""

    stats_percent: int | None = None
    tax_percent: int | None = None
    note: str = ""


def scope_of(user: User) -> list[int]:
    from portal.sites.services import region_ids

    return region_ids(user.region.slug) if user.role == "region" and user.region else []


def _column(record):
    return Transfer.demand_id if isinstance(record, Demand) else Transfer.complaint_id


def history(record) -> list[Transfer]:
    return list(db.session.scalars(db.select(Transfer).where(_column(record) == record.id)
                                   .order_by(Transfer.proposed_at, Transfer.id)))


def pending(record) -> Transfer | None:
    return db.session.scalars(db.select(Transfer).where(
        _column(record) == record.id, Transfer.status.in_(PENDING))).first()


def find(record, transfer_id: int) -> Transfer | None:
    """The transfer of this ticket with that id (None for another ticket's)."""
    return db.session.scalars(db.select(Transfer).where(
        _column(record) == record.id, Transfer.id == transfer_id)).first()


def sharings(record) -> list[Transfer]:
    """Transfers of this ticket that took effect with an agreed sharing."""
    return [t for t in history(record) if t.status in MOVED and (
        t.stats_share_percent is not None or t.tax_share_percent is not None or t.share_note)]


# --- who may do what ---------------------------------------------------------------------


def holds(user: User, record) -> bool:
    """The bureau and admins hold every ticket; region staff the tickets of their region."""
    if user.role in CITY_ROLES:
        return True
    return record.region_id is not None and record.region_id in scope_of(user)


def receives(user: User, transfer: Transfer) -> bool:
    """Staff of the receiving region, other than the one who proposed it."""
    return (user.role == "region" and transfer.to_region_id in scope_of(user)
            and transfer.proposed_by_id != user.id)


def may_propose(user: User, record) -> bool:
    return holds(user, record) and record.status != "closed" and pending(record) is None


def may_answer(user: User, transfer: Transfer | None) -> bool:
    return transfer is not None and transfer.status == "proposed" and receives(user, transfer)


def may_withdraw(user: User, record, transfer: Transfer | None) -> bool:
    return (transfer is not None and transfer.status == "proposed" and holds(user, record)
            and not receives(user, transfer))


def may_decide(user: User, transfer: Transfer | None) -> bool:
    return transfer is not None and transfer.status == "contested" and user.role in CITY_ROLES


# --- steps ---------------------------------------------------------------------------------


def _name(region: Region | None) -> str:
    return region.tr("name") if region is not None else _("市投资促进局")


def _log(user: User, record, action: str, note: str, detail: dict) -> None:
    record.events.append(TicketEvent(status=record.status, public=False, actor=user,
                                     note=note, kind="transfer", at=utcnow()))
    audit.record(action, type(record).__tablename__, record.ticket, detail, actor=user)


def propose(user: User, record, to_region: Region, reason: str) -> Transfer:
    if not holds(user, record):
        raise TransferError(_("只有承办区域或市局可以提出流转"))
    if record.status == "closed":
        raise TransferError(_("已办结的事项不能流转"))
    if pending(record) is not None:
        raise TransferError(_("该事项已有一项流转等待接收，请等对方答复或撤回后再提出"))
    if to_region.kind not in HOLDING_KINDS:
        raise TransferError(_("只能流转到县区或开发区"))
    if to_region.id == record.region_id:
        raise TransferError(_("该事项已由%(region)s承办，请选择其他县区或开发区",
                              region=to_region.tr("name")))
    reason = reason.strip()
    if not reason:
        raise TransferError(_("写明流转理由，如：本区域无法满足用地需求"))
    transfer = Transfer(from_region=record.region, to_region=to_region, status="proposed",
                        reason=reason, proposed_by=user, proposed_at=utcnow(),
                        **{_column(record).key: record.id})
    db.session.add(transfer)
    _log(user, record, "transfer_propose",
         _("提出流转：%(old)s → %(new)s；理由：%(reason)s", old=_name(record.region),
           new=_name(to_region), reason=reason),
         {"from": record.region.slug if record.region else None, "to": to_region.slug,
          "reason": reason})
    return transfer


def _answered(user: User, transfer: Transfer, status: str, answer: str) -> None:
    transfer.status, transfer.answer = status, answer
    transfer.answered_by, transfer.answered_at = user, utcnow()


def _move(record, transfer: Transfer, sharing: Sharing) -> None:
    """The ticket (and its project file) now belongs to the receiving region; the owner is
    cleared for that region to choose; first_region and the deadline clock are untouched."""
    record.region = transfer.to_region
    record.assignee = None
    project = getattr(record, "project", None)
    if project is not None:
        project.region = transfer.to_region
    transfer.stats_share_percent = sharing.stats_percent
    transfer.tax_share_percent = sharing.tax_percent
    transfer.share_note = sharing.note.strip()


def _sharing_text(sharing: Sharing) -> str:
    parts = []
    if sharing.stats_percent is not None:
        parts.append(_("统计分成：接收方 %(n)d%%", n=sharing.stats_percent))
    if sharing.tax_percent is not None:
        parts.append(_("税收分成：接收方 %(n)d%%", n=sharing.tax_percent))
    if sharing.note.strip():
        parts.append(sharing.note.strip())
    return "；".join(parts)


def _check_sharing(record, sharing: Sharing) -> None:
    for value in (sharing.stats_percent, sharing.tax_percent):
        if value is not None and not 0 <= value <= 100:
            raise TransferError(_("分成比例应在 0 至 100 之间"))
    if isinstance(record, Complaint) and (sharing.stats_percent is not None
                                          or sharing.tax_percent is not None):
        raise TransferError(_("投诉不涉及统计和税收分成"))


def accept(user: User, record, transfer: Transfer, sharing: Sharing) -> None:
    if not may_answer(user, transfer):
        raise TransferError(_("只有接收方可以接收这项流转"))
    _check_sharing(record, sharing)
    previous = transfer.from_region
    _answered(user, transfer, "accepted", "")
    _move(record, transfer, sharing)
    text = _sharing_text(sharing)
    note = _("流转已接收：%(old)s → %(new)s", old=_name(previous),
             new=_name(transfer.to_region))
    _log(user, record, "transfer_accept", "；".join(filter(None, [note, text])),
         {"transfer": transfer.id, "to": transfer.to_region.slug,
          "stats_share_percent": sharing.stats_percent,
          "tax_share_percent": sharing.tax_percent, "share_note": transfer.share_note})


def send_back(user: User, record, transfer: Transfer, reason: str) -> None:
    """The receiving region returns the proposal with a reason; the holder keeps the ticket."""
    if not may_answer(user, transfer):
        raise TransferError(_("只有接收方可以退回这项流转"))
    reason = _required(reason, _("写明退回理由"))
    _answered(user, transfer, "returned", reason)
    _log(user, record, "transfer_return",
         _("流转被退回：%(region)s；理由：%(reason)s", region=_name(transfer.to_region),
           reason=reason), {"transfer": transfer.id, "reason": reason})


def contest(user: User, record, transfer: Transfer, reason: str) -> None:
    """The receiving region claims the project too: the city bureau decides who holds it."""
    if not may_answer(user, transfer):
        raise TransferError(_("只有接收方可以提请市局裁定"))
    reason = _required(reason, _("写明争议理由"))
    transfer.status, transfer.answer = "contested", reason
    _log(user, record, "transfer_contest",
         _("流转有争议，提请市局裁定：%(region)s；理由：%(reason)s",
           region=_name(transfer.to_region), reason=reason),
         {"transfer": transfer.id, "reason": reason})


def withdraw(user: User, record, transfer: Transfer, reason: str) -> None:
    if not may_withdraw(user, record, transfer):
        raise TransferError(_("只有提出方可以撤回这项流转"))
    reason = reason.strip()
    _answered(user, transfer, "withdrawn", reason)
    _log(user, record, "transfer_withdraw",
         _("流转已撤回：%(region)s", region=_name(transfer.to_region)),
         {"transfer": transfer.id, "reason": reason})


def decide(user: User, record, transfer: Transfer, to_receiver: bool, reason: str,
           sharing: Sharing) -> None:
    """The city bureau settles a contested transfer: the receiving region takes the ticket
    (decided, with the sharing it sets) or the holder keeps it (returned)."""
    if not may_decide(user, transfer):
        raise TransferError(_("只有市局可以裁定有争议的流转"))
    reason = _required(reason, _("写明裁定理由"))
    if to_receiver:
        _check_sharing(record, sharing)
        previous = transfer.from_region
        _answered(user, transfer, "decided", reason)
        _move(record, transfer, sharing)
        note = _("市局裁定：由%(new)s承办（原%(old)s）；理由：%(reason)s",
                 new=_name(transfer.to_region), old=_name(previous), reason=reason)
        note = "；".join(filter(None, [note, _sharing_text(sharing)]))
    else:
        _answered(user, transfer, "returned", reason)
        note = _("市局裁定：仍由%(old)s承办；理由：%(reason)s",
                 old=_name(transfer.from_region), reason=reason)
    winner = transfer.to_region if to_receiver else transfer.from_region
    _log(user, record, "transfer_decide", note,
         {"transfer": transfer.id, "holder": winner.slug if winner else None,
          "reason": reason, "stats_share_percent": transfer.stats_share_percent,
          "tax_share_percent": transfer.tax_share_percent})


def _required(text: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise TransferError(message)
    return text


# --- lists ---------------------------------------------------------------------------------


def open_transfers(user: User) -> list[tuple[Transfer, str, str]]:
    """Pending transfers of the tickets this user may see, as (transfer, kind, ticket),
    newest first: through the one scoping function, so a region sees the ones proposed to
    it and the ones it proposed."""
    from portal.scoping import scoped

    rows = []
    for kind, model, column in (("demand", Demand, Transfer.demand_id),
                                ("complaint", Complaint, Transfer.complaint_id)):
        visible = scoped(user, model, db.select(model.id))
        stmt = (db.select(Transfer, model.ticket).join(model, model.id == column)
                .where(Transfer.status.in_(PENDING), column.in_(visible)))
        rows += [(t, kind, ticket) for t, ticket in db.session.execute(stmt)]
    return sorted(rows, key=lambda row: (row[0].proposed_at, row[0].id), reverse=True)


def waiting(user: User) -> tuple[list, list]:
    """(for this user to answer or decide, the others this user may see), from
    ``open_transfers``: a region answers those proposed to it, the bureau the contested."""
    mine, others = [], []
    ids = scope_of(user)
    for row in open_transfers(user):
        transfer = row[0]
        if (transfer.status == "proposed" and transfer.to_region_id in ids) or (
                transfer.status == "contested" and user.role in CITY_ROLES):
            mine.append(row)
        else:
            others.append(row)
    return mine, others
