"""A ticket's deadline, from one function.

``state(record, now)`` is the only place that decides which deadline a ticket is under, when
it falls due and whether it is overdue or due soon: the ticket page, the queues and their
filters, the dashboard counts and the CSV export all ask it, so they cannot disagree. The
working-day arithmetic (holidays, 调休, pauses) is ``portal.intake.deadlines``.

The deadlines (外商投资企业投诉工作办法 for complaints):

- a complaint is accepted or refused within 7 working days of complete materials
  (``acceptance``); once accepted it is concluded within 60 working days of the acceptance
  (``conclusion``), which staff may extend with a reason;
- a demand is acknowledged within 1 working day (``acknowledgement``); accepting it ends that
  deadline, and an accepted demand is never overdue on it;
- while supplements (补正) are awaited the clock stops: the paused working days move the due
  date, and a paused ticket is neither overdue nor due soon.

The stored ``accept_due_at`` and ``due_at`` columns are written from ``state`` (``refresh``)
whenever the clock changes, so that the queues can sort in SQL; nothing reads them to decide
anything.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask_babel import gettext as _
from sqlalchemy import and_, case

from portal.intake import deadlines as days
from portal.models import Complaint, Demand, TicketEvent, utcnow

ACKNOWLEDGEMENT, ACCEPTANCE, CONCLUSION = "acknowledgement", "acceptance", "conclusion"
# Working days left at which a running deadline is flagged as due soon.
DUE_SOON_DAYS = 2
# An extension, in working days, that one decision may grant.
MAX_EXTENSION_DAYS = 60

_ALLOWED = {ACKNOWLEDGEMENT: "demand_ack", ACCEPTANCE: "complaint_accept",
            CONCLUSION: "complaint_conclude"}
# Statuses in which each deadline still runs (or is paused); any other status has met or
# ended it. An answered complaint has been answered in time or not: the clock has stopped.
_RUNNING = {
    ACKNOWLEDGEMENT: {"submitted"},
    ACCEPTANCE: {"submitted", "supplement"},
    CONCLUSION: {"submitted", "supplement", "accepted", "in_progress"},
}
# Statuses that show a complaint was accepted, for records from before ``accepted_at``.
_ACCEPTED_STATUSES = {"accepted", "in_progress", "answered"}


class DeadlineError(ValueError):
    """A deadline action the ticket's state does not allow; the message is for staff."""


@dataclass(frozen=True)
class DeadlineState:
    kind: str | None  # ACKNOWLEDGEMENT, ACCEPTANCE, CONCLUSION; None: no clock at all
    due_on: date | None  # the last working day (Shanghai); None until the clock starts
    due_at: datetime | None  # the instant it passes: 23:59:59 in Shanghai that day, in UTC
    active: bool  # the ticket still owes this step (the clock runs or is paused)
    overdue: bool
    due_soon: bool
    paused: bool
    provisional: bool  # runs into a year whose holidays are not yet published
    paused_days: int  # working days added for supplements, an open pause counted to today
    extension_days: int
    extension_reason: str
    days_left: int | None  # working days from today to the due date; negative when overdue
    allowed_days: int  # the period the rules give, before pauses and extensions

    @property
    def label(self) -> str:
        return label(self.kind)


NO_DEADLINE = DeadlineState(None, None, None, False, False, False, False, False, 0, 0, "",
                            None, 0)


def label(kind: str | None) -> str:
    return {ACKNOWLEDGEMENT: _("确认期限"), ACCEPTANCE: _("受理期限"),
            CONCLUSION: _("办结期限")}.get(kind or "", _("期限"))


def accepted(record) -> bool:
    return record.accepted_at is not None or record.status in _ACCEPTED_STATUSES


def _kind(record) -> str | None:
    if isinstance(record, Demand):
        return ACKNOWLEDGEMENT
    if isinstance(record, Complaint):
        return CONCLUSION if accepted(record) else ACCEPTANCE
    return None


def _accepted_on(record) -> datetime | None:
    """When the complaint was accepted; for a record accepted before ``accepted_at`` was
    stamped, the timeline's first acceptance, else the day its materials were complete."""
    if record.accepted_at is not None:
        return record.accepted_at
    moments = [e.at for e in record.events if e.status == "accepted" and e.kind == "status"]
    return min(moments) if moments else record.materials_complete_at


def state(record, now: datetime | None = None) -> DeadlineState:
    """The deadline ``record`` is under at ``now`` (default: this moment)."""
    kind = _kind(record)
    return NO_DEADLINE if kind is None else _state(record, _aware(now), kind)


def _state(record, now: datetime, kind: str) -> DeadlineState:
    today = days.local_date(now)
    active = record.status in _RUNNING[kind]
    start = _accepted_on(record) if kind == CONCLUSION else record.materials_complete_at
    allowed = days.deadline_days(_ALLOWED[kind])
    extension = (record.extension_days or 0) if kind == CONCLUSION else 0
    reason = (record.extension_reason or "") if kind == CONCLUSION else ""
    if start is None:  # materials incomplete: the clock has not started
        return DeadlineState(kind, None, None, active, False, False, False, False, 0,
                             extension, reason, None, allowed)
    paused_days = record.paused_working_days or 0
    paused = active and record.paused_since is not None
    if paused:
        paused_days += days.working_days_paused(days.local_date(record.paused_since), today)
    start_day = days.local_date(start)
    due_on = days.due_date(start_day, allowed, paused_days, extension)
    due_at = days.end_of_local_day(due_on)
    running = active and not paused
    overdue = running and now > due_at
    days_left = days.working_days_between(today, due_on) if active else None
    due_soon = running and not overdue and days_left is not None \
        and days_left <= DUE_SOON_DAYS
    return DeadlineState(kind, due_on, due_at, active, overdue, due_soon, paused,
                         days.provisional(start_day, due_on), paused_days, extension, reason,
                         days_left, allowed)


def _aware(moment: datetime | None) -> datetime:
    moment = moment or utcnow()
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def refresh(record, now: datetime | None = None) -> None:
    """Write the current deadline's date to the stored column the queues sort by:
    ``accept_due_at`` while a complaint awaits acceptance (it stays as it was when the
    complaint is accepted), ``due_at`` for a complaint's conclusion and a demand's
    acknowledgement."""
    current = state(record, now)
    if current.due_at is None:
        return
    if current.kind == ACCEPTANCE:
        record.accept_due_at = current.due_at
    else:
        record.due_at = current.due_at


def on_transition(record, to_status: str, now: datetime) -> None:
    """Milestones and the clock when ``record`` has just moved to ``to_status`` (called by
    ``portal.intake.workflow.transition`` after any pause has been settled and the status
    set).

    Acceptance freezes the acceptance deadline and starts the conclusion period from that
    day; pauses before it moved the acceptance deadline only, so their count starts again.
    """
    if to_status == "accepted" and record.accepted_at is None:
        if isinstance(record, Complaint):
            frozen = _state(record, _aware(now), ACCEPTANCE)  # as it stood when met
            record.accept_due_at = frozen.due_at or record.accept_due_at
            record.paused_working_days = 0
        record.accepted_at = now
    if to_status == "closed" and record.closed_at is None:
        record.closed_at = now
    refresh(record, now)


def may_extend(user, record) -> bool:
    """The bureau, admins and the region holding the ticket decide on more time; a
    department answers within the time it is given."""
    if user.role not in ("admin", "bureau", "region"):
        return False
    current = state(record)
    return current.kind == CONCLUSION and current.active


def extend(record, working_days: int, reason: str, *, actor, public: bool) -> TicketEvent:
    """Add ``working_days`` to a complaint's conclusion deadline with a reason; the timeline
    keeps every extension (the record keeps the total and the latest reason)."""
    from portal import audit

    current = state(record)
    if current.kind != CONCLUSION or not current.active:
        raise DeadlineError(_("只有已受理、尚未答复或办结的投诉可以延长办理期限"))
    if not 1 <= working_days <= MAX_EXTENSION_DAYS:
        raise DeadlineError(_("延长的工作日数应在 1 至 %(max)d 之间", max=MAX_EXTENSION_DAYS))
    reason = reason.strip()
    if not reason:
        raise DeadlineError(_("写明延长期限的理由"))
    record.extension_days = (record.extension_days or 0) + working_days
    record.extension_reason = reason
    refresh(record)
    new = state(record)
    note = _("办结期限延长 %(days)d 个工作日，至 %(due)s；理由：%(reason)s",
             days=working_days, due=new.due_on.isoformat(), reason=reason)
    event = TicketEvent(status=record.status, kind="system", public=public, actor=actor,
                        note=note, at=utcnow())
    record.events.append(event)
    audit.record("extend_deadline", type(record).__tablename__, record.ticket,
                 {"days": working_days, "total": record.extension_days, "reason": reason,
                  "due": new.due_on.isoformat(), "public": public}, actor=actor)
    return event


# --- SQL helpers for the queues (narrowing and sorting only; ``state`` decides) ----------


def running_statuses(model) -> set[str]:
    """Statuses in which a ticket of ``model`` has a running (or paused) clock: only these
    can be overdue or due soon, so the queues read no other rows to find them."""
    if model is Demand:
        return set(_RUNNING[ACKNOWLEDGEMENT])
    return _RUNNING[ACCEPTANCE] | _RUNNING[CONCLUSION]


def due_column(model):
    """SQL: the stored due date of the deadline a ticket is under while it runs, NULL once
    met: the queues' sort key (``refresh`` keeps the columns in step with ``state``)."""
    if model is Demand:
        return case((model.status.in_(sorted(_RUNNING[ACKNOWLEDGEMENT])), model.due_at),
                    else_=None)
    awaiting = and_(model.accepted_at.is_(None),
                    model.status.in_(sorted(_RUNNING[ACCEPTANCE])))
    return case((awaiting, model.accept_due_at),
                (model.status.in_(sorted(_RUNNING[CONCLUSION])), model.due_at), else_=None)


def matches(current: DeadlineState, flag: str) -> bool:
    """Whether a state answers a queue's deadline filter, "overdue" or "due_soon"."""
    return bool(getattr(current, flag)) if flag in ("overdue", "due_soon") else True
