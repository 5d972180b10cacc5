"""The deadline panel of the staff ticket page: which deadline runs, when it falls due,
pauses and extensions, all from ``portal.cases.deadlines.state``."""

from flask import g

from portal.admin.ticket_page import panel
from portal.cases import deadlines
from portal.intake.deadlines import local_date


@panel
def deadline_panel(record, user) -> dict:
    from portal.admin.deadlines import ExtensionForm

    current = deadlines.state(record)
    # A complaint past acceptance still shows when it was accepted and by which date it had
    # to be: the frozen acceptance deadline.
    accepted = None
    if current.kind == deadlines.CONCLUSION and record.accepted_at is not None:
        accepted = {"on": local_date(record.accepted_at),
                    "due_on": local_date(record.accept_due_at) if record.accept_due_at
                    else None}
    may_extend = deadlines.may_extend(user, record)
    form = g.get("extension_form")
    if form is None and may_extend:
        form = ExtensionForm(formdata=None)
    return {"deadline": current, "deadline_accepted": accepted,
            "may_extend": may_extend, "extension_form": form}
