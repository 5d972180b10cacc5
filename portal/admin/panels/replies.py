"""The timeline, the reply form and the investor's rating on the staff ticket page."""

from flask import g, request

from portal.admin.ticket_page import panel
from portal.cases import replies


@panel
def reply_panel(record, user) -> dict:
    """The form the reply endpoint left with its messages, or a fresh one; ``?template=ID``
    fills the text from a response template, so picking one works without JavaScript."""
    from portal.admin.replies import ReplyForm

    templates = replies.templates_for(record)
    form = g.get("reply_form")
    chosen = request.args.get("template", type=int)
    if form is None:
        form = ReplyForm.for_ticket(record, formdata=None)
        picked = next((t for t in templates if t.id == chosen), None)
        if picked is not None:
            form.text.data = picked.tr("body")
            form.visibility.data = "public"
    return {"reply_form": form, "reply_templates": templates, "reply_template": chosen,
            "reply_files": replies.files_by_event(record)}
