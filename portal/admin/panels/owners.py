"""The owner panel of the staff ticket page (首接负责制): the responsible unit and person,
"我来负责" and reassignment."""

from flask import g

from portal.admin.ticket_page import panel
from portal.cases import owners


@panel
def owner_panel(record, user) -> dict:
    from portal.admin.owners import ReassignForm, TakeForm

    may_reassign = owners.may_reassign(user, record)
    form = g.get("owner_form")
    if form is None and may_reassign:
        form = ReassignForm.for_ticket(record, formdata=None)
    return {"owner_unit": owners.unit_name(record),
            "owner_name": owners.display_name(record.assignee),
            "owner_is_me": record.assignee_id == user.id,
            "may_take": owners.may_take(user, record),
            "take_form": TakeForm(formdata=None),
            "may_reassign": may_reassign, "owner_form": form}
