"""Mail about a ticket, each in its reader's language: the investor's (``record.language``)
for replies and the closing, the staff member's (``User.language``) for alerts. Mail links to
the page the reader acts on and never carries the access code: an inbox is not a safe place
for the key to a complaint."""

from collections.abc import Callable, Iterable

from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.i18n import BABEL_LOCALES, normalise
from portal.mail import queue_mail

Mail = tuple[str, str, str]  # to, subject, body


def language(code: str | None) -> str:
    """A URL language code for a stored one; anything unknown reads Chinese."""
    return normalise(code) or "zh"


def tracking_url(record) -> str:
    return url_for("tracking.track", lang=language(record.language), _external=True)


def ticket_url(kind: str, ticket: str) -> str:
    return url_for("admin.ticket", kind=kind, ticket=ticket, _external=True)


def staff_alerts(users: Iterable, kind: str, ticket: str, subject: Callable[[], str],
                 body: Callable[[], str]) -> list[Mail]:
    """One mail per staff member, written in that member's language: ``subject`` and
    ``body`` are called under each member's locale, and the link to the ticket is added."""
    mails = []
    for user in users:
        with force_locale(BABEL_LOCALES[language(user.language)]):
            text = _("%(body)s\n\n查看并办理：%(url)s\n", body=body(),
                     url=ticket_url(kind, ticket))
            mails.append((user.email, str(subject()), text))
    return mails


def to_investor(record, occasion: str, text: str = "") -> bool:
    """Queue the mail to the submitter about a public reply (``occasion`` "reply") or the
    closing ("closed"), with ``text`` the public answer; False when no e-mail was given."""
    from portal.intake.workflow import kind_of
    from portal.labels import LABELS

    if not record.contact_email:
        return False
    kind = kind_of(record)
    with force_locale(BABEL_LOCALES[language(record.language)]):
        status = str(LABELS[f"{kind}_status"][record.status])
        answer = _("\n答复内容：\n%(text)s\n", text=text) if text else ""
        if occasion == "closed":
            subject = _("已办结：%(ticket)s", ticket=record.ticket)
            body = _("您好，%(name)s：\n\n您提交的事项（编号 %(ticket)s）已办结。\n%(answer)s\n"
                     "请凭编号和访问码查看办理结果，并欢迎对办理情况进行评价：\n%(url)s\n\n"
                     "为保护您的信息，本邮件不含访问码。\n",
                     name=record.contact_name, ticket=record.ticket, answer=answer,
                     url=tracking_url(record))
        else:
            subject = _("您的事项有新的答复：%(ticket)s", ticket=record.ticket)
            body = _("您好，%(name)s：\n\n您提交的事项（编号 %(ticket)s）有新的答复，"
                     "当前状态：%(status)s。\n%(answer)s\n"
                     "请凭编号和访问码查看详情和附件：\n%(url)s\n\n"
                     "为保护您的信息，本邮件不含访问码。\n",
                     name=record.contact_name, ticket=record.ticket, status=status,
                     answer=answer, url=tracking_url(record))
    queue_mail(record.contact_email, subject, body)
    return True
