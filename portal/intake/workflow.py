"""The one place a demand's or complaint's status changes.

``transition`` checks the move against the flow in the model, stamps the time and the
milestones (``accepted_at``, ``closed_at``), keeps the deadline clock (paused while
supplements are awaited; the due dates from ``portal.cases.deadlines``), and writes the
timeline event and the audit event in the caller's transaction.
"""

from flask_babel import gettext as _

from portal.extensions import db
from portal.models import (
    COMPLAINT_FLOW,
    DEMAND_FLOW,
    AuditEvent,
    Complaint,
    Demand,
    TicketEvent,
    utcnow,
)


class WorkflowError(ValueError):
    """A move the flow does not allow; the message is for the staff member."""


def flow(record) -> dict[str, set[str]]:
    return DEMAND_FLOW if isinstance(record, Demand) else COMPLAINT_FLOW


def kind_of(record) -> str:
    return "demand" if isinstance(record, Demand) else "complaint"


def allowed(record) -> list[str]:
    order = list(flow(record))
    return sorted(flow(record)[record.status], key=order.index)


def transition(record: Demand | Complaint, to_status: str, *, actor=None, note: str = "",
               public: bool = True, ip: str = "") -> TicketEvent:
    from portal.cases import deadlines as case_deadlines
    from portal.intake import deadlines
    from portal.labels import LABELS

    if to_status not in flow(record).get(record.status, set()):
        labels = LABELS[f"{kind_of(record)}_status"]
        raise WorkflowError(_("不能从“%(old)s”转为“%(new)s”",
                              old=labels.get(record.status, record.status),
                              new=labels.get(to_status, to_status)))
    now = utcnow()
    previous = record.status
    if to_status == "supplement":
        record.paused_since = now
    elif previous == "supplement" and record.paused_since is not None:
        paused = deadlines.working_days_paused(deadlines.local_date(record.paused_since),
                                               deadlines.local_date(now))
        record.paused_working_days = (record.paused_working_days or 0) + paused
        record.paused_since = None
        if to_status == "submitted":  # the missing materials arrived: the clock starts now
            record.materials_complete_at = record.materials_complete_at or now
    record.status = to_status
    record.updated_at = now
    case_deadlines.on_transition(record, to_status, now)  # accepted_at, closed_at, due dates
    # Service performance (portal.cases.stats): the first status change by staff is a
    # contact; so is the first public reply (portal.cases.replies).
    if actor is not None and record.first_contact_at is None:
        record.first_contact_at = now
    event = TicketEvent(status=to_status, note=note, public=public, actor=actor, at=now)
    record.events.append(event)
    if isinstance(record, Demand):  # 一项目一档案: opened on acceptance, stage kept in step
        from portal.cases import projects

        projects.follow(record, to_status, now, note)
    db.session.add(AuditEvent(actor=actor, action=f"status:{previous}->{to_status}",
                              entity_type=kind_of(record), entity_id=record.ticket,
                              detail={"note": note, "public": public}, ip=ip, at=now))
    return event
