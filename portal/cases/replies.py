"""Replies on a ticket: an internal note or a public reply at any time, with or without a
status change, and the response templates staff start from.

A status change still goes through ``portal.intake.workflow.transition`` (the one place a
status moves). Files go only with a public reply: they are the staff's, stored with the
reply's event (``Attachment.event_id``) and never listed with what the submitter sent. The
investor is mailed on every public reply and on the closing."""

from dataclasses import dataclass, field

from flask_babel import gettext as _

from portal import audit
from portal.cases import notices
from portal.extensions import db
from portal.intake import attachments, workflow
from portal.models import Attachment, ResponseTemplate, TicketEvent, utcnow


class ReplyError(ValueError):
    """A reply that cannot be saved; ``field`` names the form field the message is for."""

    def __init__(self, message: str, field: str = "text"):
        super().__init__(message)
        self.field = field


@dataclass
class Reply:
    text: str = ""
    public: bool = False
    status: str = ""  # "": the status stays
    files: list[attachments.Checked] = field(default_factory=list)


def respond(record, reply: Reply, *, actor, ip: str = "") -> list[TicketEvent]:
    """Add the reply to the ticket in the caller's transaction (not committed) and queue the
    investor's mail. Raises ReplyError, or WorkflowError for a status the flow forbids,
    before anything is changed.

    A status change with an internal note makes two events: the move itself stays public (the
    investor sees the status anyway), the note does not."""
    text = (reply.text or "").strip()
    if not text and not reply.status:
        raise ReplyError(_("写下答复或备注的内容，或选择新的状态"))
    if reply.files and not reply.public:
        raise ReplyError(_("附件只能随公开答复发给提交人；内部备注不能附文件"), "attachments")
    if reply.files and not text:
        raise ReplyError(_("随附件写几句答复，说明附件是什么"))
    kind = workflow.kind_of(record)
    events: list[TicketEvent] = []
    if reply.status:
        moved = workflow.transition(record, reply.status, actor=actor,
                                    note=text if reply.public else "", public=True, ip=ip)
        moved.kind = "reply" if reply.public and text else "status"
        events.append(moved)
    if text and not (reply.status and reply.public):
        event = TicketEvent(status=record.status, note=text, public=reply.public, actor=actor,
                            kind="reply" if reply.public else "note", at=utcnow())
        record.events.append(event)
        events.append(event)
    db.session.flush()
    answered = next((e for e in events if e.kind == "reply"), None)
    if answered is not None and record.first_contact_at is None:
        record.first_contact_at = answered.at  # the first answer the investor can read
    stored = []
    for checked in reply.files:
        row = attachments.store(checked, **{kind: record})
        row.event_id = answered.id
        stored.append({"filename": row.filename, "sha256": row.sha256})
    if text:
        audit.record("reply" if reply.public else "note", kind, record.ticket,
                     {"public": reply.public, "status": reply.status or None,
                      "chars": len(text), "files": stored}, actor=actor, ip=ip or None)
    if reply.status == "closed":
        notices.to_investor(record, "closed", text if reply.public else "")
    elif answered is not None:
        notices.to_investor(record, "reply", text)
    return events


def files_by_event(record) -> dict[int, list[Attachment]]:
    """The staff's files of each public reply, by event id (metadata only, no bytes)."""
    rows = db.session.scalars(db.select(Attachment).where(
        Attachment.event_id.in_([e.id for e in record.events if e.id is not None]))
        .order_by(Attachment.id)).all()
    files: dict[int, list[Attachment]] = {}
    for row in rows:
        files.setdefault(row.event_id, []).append(row)
    return files


def public_file(record, key: str) -> Attachment | None:
    """A file staff sent with a public reply on this ticket, for the investor who holds the
    ticket and its access code; None for anything else, the submitter's own files included."""
    public_ids = [e.id for e in record.events if e.public and e.kind == "reply"]
    if not key or not public_ids:
        return None
    return db.session.scalars(db.select(Attachment).where(
        Attachment.storage_key == key[:255], Attachment.event_id.in_(public_ids))).first()


# --- response templates ------------------------------------------------------------------


def templates_for(record) -> list[ResponseTemplate]:
    """Active templates for the ticket's kind and, for a complaint, its category."""
    kind = workflow.kind_of(record)
    categories = ["", getattr(record, "category", "") or ""]
    return db.session.scalars(db.select(ResponseTemplate).where(
        ResponseTemplate.active.is_(True), ResponseTemplate.kind == kind,
        ResponseTemplate.category.in_(categories))
        .order_by(ResponseTemplate.sort_order, ResponseTemplate.id)).all()


def all_templates() -> list[ResponseTemplate]:
    return db.session.scalars(db.select(ResponseTemplate).order_by(
        ResponseTemplate.active.desc(), ResponseTemplate.kind, ResponseTemplate.category,
        ResponseTemplate.sort_order, ResponseTemplate.id)).all()


def save_template(template: ResponseTemplate | None, values: dict, *, actor) -> ResponseTemplate:
    """Create (``template`` None) or change a template, audited; the caller commits.
    A demand template has no category."""
    if values.get("kind") != "complaint":
        values["category"] = ""
    created = template is None
    template = template or ResponseTemplate()
    changed = {k: v for k, v in values.items() if getattr(template, k, None) != v}
    for name, value in values.items():
        setattr(template, name, value)
    db.session.add(template)
    db.session.flush()
    audit.record("template_new" if created else "template_edit", "response_template",
                 str(template.id), {"fields": sorted(changed)}, actor=actor)
    return template


def deactivate_template(template: ResponseTemplate, *, actor) -> None:
    template.active = False
    audit.record("template_deactivate", "response_template", str(template.id), actor=actor)
