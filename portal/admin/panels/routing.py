"""The ticket page's "routing" panel: who registered the ticket first (首谈首报 / 首接), who
holds it now, the transfers (流转) proposed, answered and decided, the agreed sharing of a
transferred project's statistics and tax, and the forms this staff member may use on them."""

from portal.admin.ticket_page import panel
from portal.cases import transfers
from portal.models import Complaint


@panel
def routing(record, user) -> dict:
    # Imported here: the blueprint module imports the panel registry's users.
    from portal.admin.transfers import (
        AcceptForm,
        DecideForm,
        ProposeForm,
        ReasonForm,
        ReferForm,
        WithdrawForm,
    )

    pending = transfers.pending(record)
    may_propose = transfers.may_propose(user, record)
    may_refer = (isinstance(record, Complaint) and record.status != "closed"
                 and transfers.holds(user, record))
    answer = transfers.may_answer(user, pending)
    return {
        "transfer_history": transfers.history(record),
        "transfer_pending": pending,
        "transfer_sharings": transfers.sharings(record),
        "transfer_propose_form": ProposeForm.for_ticket(record) if may_propose else None,
        "transfer_accept_form": AcceptForm(prefix="accept") if answer else None,
        "transfer_answer_form": ReasonForm(prefix="answer") if answer else None,
        "transfer_withdraw_form": WithdrawForm(prefix="withdraw")
        if transfers.may_withdraw(user, record, pending) else None,
        "transfer_decide_form": DecideForm(prefix="decide")
        if transfers.may_decide(user, pending) else None,
        "referral_form": ReferForm.for_ticket(record) if may_refer else None,
        "holds_ticket": transfers.holds(user, record),
    }
