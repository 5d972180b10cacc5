"""Mail through the outbox: queued with the record that needs it, sent after commit.

``queue_mail`` adds an ``OutboxJob`` to the current session and does not commit, so a
submission and its confirmation are saved together or not at all. ``drain_mail`` sends the
jobs that are due over one SMTP connection; a server that is down or refuses only delays the
mail, and the record that queued it stays saved.

What a failure does to a job:

- No connection, STARTTLS or login refused, connection lost: every job of the batch not yet
  sent waits (``attempts`` + 1, ``last_error``, ``available_at`` pushed by ``BACKOFF``).
- The server refuses the sender or the message, or a recipient for now (4xx): that job waits
  the same way, the others in the batch go on. A sender or message refused with 5xx is still
  retried: it is usually our configuration or the server's, which an operator can fix.
- The server refuses every recipient for good (5xx): the job is done, with the error kept in
  ``last_error``. An address that does not exist will not appear by retrying, and hourly
  retries for ever would only hammer the server; staff find these as done jobs with an error.
- A payload that cannot make a message (a header with a line break): done, error kept.

Delivery is at least once. A job is marked sent in the transaction that picked it, committed
after the batch; if the process dies in between, the mail goes out again, with the same
Message-ID so that mail clients can fold the copy. The picked rows are locked with
``FOR UPDATE SKIP LOCKED`` so that two workers do not send the same mail; SQLite has no row
locks and renders no such clause, so there two processes draining at the same moment may both
send a message.
"""

import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import OutboxJob, utcnow

BATCH = 100
TIMEOUT = 10.0  # seconds for the connection and each SMTP reply
BACKOFF = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60))  # then hourly
# 7bit: the body goes as base64 or quoted-printable, never raw UTF-8, which a server
# without 8BITMIME may mangle.
POLICY = SMTP_POLICY.clone(cte_type="7bit")
# Errors about one message after which smtplib has reset the transaction and the connection
# can carry the next message. Any other OSError (SMTPException is one) means the connection
# is unusable.
MESSAGE_ERRORS = (smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
                  smtplib.SMTPNotSupportedError)

# Set by ``_message`` itself: a caller's ``headers`` may not replace them.
RESERVED_HEADERS = frozenset({"from", "to", "cc", "bcc", "reply-to", "subject", "date",
                              "message-id", "content-type", "content-transfer-encoding",
                              "mime-version"})

_unconfigured_warned = False


def queue_mail(to: str, subject: str, body: str, *, reply_to: str | None = None,
               headers: dict[str, str] | None = None) -> OutboxJob:
    """Add a mail job to the current session; it is sent only if the caller commits.

    ``subject`` and ``body`` are final text, already translated by the caller. ``headers``
    adds others (``List-Unsubscribe``); names the message sets itself are refused.
    Raises ValueError for an address without ``@`` or a header with a line break, so the
    caller's transaction fails now rather than the mail later.
    """
    payload = {"to": str(to), "subject": str(subject), "body": str(body),
               "reply_to": None if reply_to is None else str(reply_to)}
    for name in ("to", "subject", "reply_to"):
        value = payload[name] or ""
        if "\n" in value or "\r" in value:
            raise ValueError(f"mail {name} must be a single line")
    if headers:
        payload["headers"] = _extra_headers(headers)
    for name in ("to", "reply_to"):
        if payload[name] is not None and "@" not in parseaddr(payload[name])[1]:
            raise ValueError(f"mail {name} is not an e-mail address: {payload[name]!r}")
    job = OutboxJob(kind="mail", payload=payload)
    db.session.add(job)
    return job


def _extra_headers(headers: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        name, value = str(name), str(value)
        if (not name or not all(33 <= ord(c) <= 126 and c != ":" for c in name)
                or name.lower() in RESERVED_HEADERS):
            raise ValueError(f"mail header name not allowed: {name!r}")
        if "\n" in value or "\r" in value:
            raise ValueError(f"mail header {name} must be a single line")
        out[name] = value
    return out


def drain_mail(limit: int = BATCH) -> tuple[int, int]:
    """Send the mail jobs that are due, oldest first; returns (sent, still waiting).

    "Still waiting" counts the jobs of this batch that failed and wait for a later drain;
    when MAIL_SERVER is empty, every due job. Jobs refused for good are in neither number.
    Raises only database errors.
    """
    config = current_app.config
    with Session(db.engine) as session:
        now = utcnow()
        due = (OutboxJob.kind == "mail", OutboxJob.done_at.is_(None),
               OutboxJob.available_at <= now)
        if not config.get("MAIL_SERVER"):
            waiting = session.scalar(select(func.count(OutboxJob.id)).where(*due)) or 0
            _warn_unconfigured(waiting)
            return 0, waiting
        jobs = list(session.scalars(
            select(OutboxJob).where(*due).order_by(OutboxJob.id).limit(limit)
            .with_for_update(skip_locked=True)))
        if not jobs:
            return 0, 0
        sent, waiting = _deliver(jobs, config, now)
        session.commit()
    return sent, waiting


def drain_mail_quietly() -> None:
    """Drain after a commit: never raises. SMTP failures are handled per job by
    ``drain_mail``; a database error is logged and the jobs wait for the next drain."""
    try:
        drain_mail()
    except SQLAlchemyError:
        current_app.logger.exception("could not drain the mail outbox")


# --- sending ---------------------------------------------------------------------------


def _deliver(jobs: list[OutboxJob], config, now: datetime) -> tuple[int, int]:
    sender = config.get("MAIL_SENDER") or "noreply@localhost"
    unsent = list(jobs)
    sent = waiting = 0
    try:
        with _connect(config) as smtp:
            while unsent:
                job = unsent[0]
                outcome = _send_one(smtp, job, sender, now)
                unsent.pop(0)
                if outcome == "sent":
                    sent += 1
                elif outcome == "waiting":
                    waiting += 1
                if unsent and smtp.sock is None:  # the server hung up after a refusal
                    raise smtplib.SMTPServerDisconnected("the server closed the connection")
    except OSError as exc:  # refused, timed out, TLS, login, SMTPException, lost connection
        for job in unsent:
            _retry(job, exc, now)
        waiting += len(unsent)
        if unsent:
            current_app.logger.warning("mail not sent, %d jobs wait: %s",
                                       len(unsent), _describe(exc))
    return sent, waiting


def _connect(config) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25),
                        timeout=TIMEOUT)
    try:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except OSError:
        smtp.close()
        raise
    return smtp


def _send_one(smtp: smtplib.SMTP, job: OutboxJob, sender: str, now: datetime) -> str:
    """Send one job over an open connection: "sent", "waiting" or "refused". Connection
    errors propagate, with the job not yet settled."""
    try:
        message = _message(job, sender, now)
    except (KeyError, TypeError, ValueError) as exc:  # a payload no retry can repair
        _give_up(job, exc, now)
        return "refused"
    try:
        smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        if all(code >= 500 for code, _msg in exc.recipients.values()):
            _give_up(job, exc, now)
            return "refused"
        _retry(job, exc, now)
        return "waiting"
    except MESSAGE_ERRORS as exc:
        _retry(job, exc, now)
        current_app.logger.warning("mail job %s refused by the server, it waits: %s",
                                   job.id, _describe(exc))
        return "waiting"
    job.done_at = now
    job.last_error = ""
    return "sent"


def _message(job: OutboxJob, sender: str, now: datetime) -> EmailMessage:
    payload = job.payload
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = payload["to"]
    if payload.get("reply_to"):
        message["Reply-To"] = payload["reply_to"]
    message["Subject"] = payload["subject"]
    message["Date"] = format_datetime(now)
    message["Message-ID"] = _message_id(job, sender)
    for name, value in (payload.get("headers") or {}).items():
        message[name] = value
    message.set_content(payload["body"])
    return message


def _message_id(job: OutboxJob, sender: str) -> str:
    """The same for every attempt at one job, unique across databases by the creation time."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    created = job.created_at.strftime("%Y%m%d%H%M%S%f") if job.created_at else "0"
    return f"<outbox.{job.id}.{created}@{domain}>"


# --- bookkeeping -----------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """How long a job waits after its ``attempts``-th failure: 1, 5, 15, 60 minutes, then
    hourly."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def _retry(job: OutboxJob, exc: BaseException, now: datetime) -> None:
    job.attempts = (job.attempts or 0) + 1
    job.last_error = _describe(exc)[:1000]
    job.available_at = now + backoff(job.attempts)


def _give_up(job: OutboxJob, exc: BaseException, now: datetime) -> None:
    job.attempts = (job.attempts or 0) + 1
    job.last_error = _describe(exc)[:1000]
    job.done_at = now
    current_app.logger.warning("mail job %s refused for good, not retried: %s",
                               job.id, job.last_error)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{address}: {code} {_text(reply)}"
                         for address, (code, reply) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _warn_unconfigured(waiting: int) -> None:
    global _unconfigured_warned  # once per process, not per app or request
    if not _unconfigured_warned:
        _unconfigured_warned = True
        current_app.logger.warning(
            "MAIL_SERVER is not set (PORTAL_MAIL_SERVER): mail is not sent, %d jobs wait "
            "in the outbox", waiting)
