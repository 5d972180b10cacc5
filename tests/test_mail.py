"""Mail goes through the outbox: committed with the record, sent after commit over a real
SMTP conversation (aiosmtpd on 127.0.0.1), kept and retried while the server is down."""

import logging
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy.orm import Session

from portal import mail
from portal.extensions import db
from portal.mail import drain_mail, drain_mail_quietly, queue_mail
from portal.models import OutboxJob, User, utcnow
from tests import factories
from tests.ports import free_port

SENDER = "永不落幕的招商专区 <noreply@zhaoshang.example.cn>"


class Inbox:
    """An aiosmtpd handler that keeps what it accepts. It answers RCPT for the addresses in
    ``refuse``, and DATA for messages to those in ``reject``, with the reply given there."""

    def __init__(self):
        self.messages = []
        self.envelopes = []
        self.refuse: dict[str, str] = {}
        self.reject: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for address in envelope.rcpt_tos:
            if address in self.reject:
                return self.reject[address]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


class MailServer:
    """A local SMTP server on a port of its own; stopped, nothing listens there."""

    def __init__(self, port: int, **smtp_options):
        self.port = port
        self.inbox = Inbox()
        self.smtp_options = smtp_options
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     **self.smtp_options)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def _use(app, monkeypatch, server: MailServer, **config):
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": server.port, "MAIL_USE_TLS": False,
                "MAIL_USERNAME": "", "MAIL_PASSWORD": "", "MAIL_SENDER": SENDER, **config}
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture
def smtp(app, monkeypatch):
    """A running SMTP server the app is configured to send through."""
    server = MailServer(free_port())
    _use(app, monkeypatch, server)
    server.start()
    yield server
    server.stop()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _jobs() -> list[OutboxJob]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(OutboxJob).where(OutboxJob.kind == "mail")
                                   .order_by(OutboxJob.id)))


def _make_due(job: OutboxJob) -> None:
    job.available_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_a_committed_mail_is_sent_once(ctx, smtp):
    factories.staff()
    queue_mail("投资人 <investor@example.com>", "投资需求已收到：D20260105001",
               "您好，张先生：\n\n我们已收到您的投资需求，编号 D20260105001。\n",
               reply_to="zhaoshang@example.gov.cn")
    db.session.commit()

    assert drain_mail() == (1, 0)
    assert drain_mail() == (0, 0)

    [message] = smtp.inbox.messages
    assert smtp.inbox.envelopes == [("noreply@zhaoshang.example.cn", ["investor@example.com"])]
    assert message["Subject"] == "投资需求已收到：D20260105001"
    assert message["To"].addresses[0].display_name == "投资人"
    assert message["To"].addresses[0].addr_spec == "investor@example.com"
    assert message["From"].addresses[0].display_name == "永不落幕的招商专区"
    assert message["Reply-To"] == "zhaoshang@example.gov.cn"
    assert message["Message-ID"].endswith("@zhaoshang.example.cn>")
    assert message["Date"].datetime.tzinfo is not None
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    # MIME text travels with CRLF line ends (canonical form), whatever the caller wrote
    assert message.get_content().splitlines() == ["您好，张先生：", "",
                                                  "我们已收到您的投资需求，编号 D20260105001。"]
    [job] = _jobs()
    assert job.done_at is not None and job.attempts == 0 and job.last_error == ""


def test_headers_go_out_encoded(ctx, smtp):
    """Non-ASCII headers travel as RFC 2047 words, the body as base64: 7-bit clean."""
    queue_mail("investor@example.com", "投诉已收到", "您好")
    db.session.commit()
    drain_mail()
    [message] = smtp.inbox.messages
    raw = message.as_bytes()
    assert raw.isascii()
    assert b"=?utf-8?" in raw


def test_a_rolled_back_transaction_queues_nothing(ctx, smtp):
    factories.staff()
    queue_mail("investor@example.com", "投资需求已收到", "正文")
    db.session.rollback()

    assert _jobs() == []
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0
    assert drain_mail() == (0, 0)
    assert smtp.inbox.messages == []


def test_a_server_that_is_down_delays_the_mail_and_nothing_else(app, ctx, monkeypatch):
    server = MailServer(free_port())  # not started: nothing listens on the port
    _use(app, monkeypatch, server)
    staff_id = factories.staff().id
    queue_mail("investor@example.com", "投资需求已收到", "正文")
    db.session.commit()

    drain_mail_quietly()

    assert db.session.get(User, staff_id) is not None
    [job] = _jobs()
    assert job.done_at is None and job.attempts == 1
    assert "Connection refused" in job.last_error
    assert _aware(job.available_at) > utcnow()
    assert drain_mail() == (0, 0)  # not due yet: no second attempt
    assert _jobs()[0].attempts == 1

    server.start()
    try:
        _make_due(job)
        assert drain_mail() == (1, 0)
        assert drain_mail() == (0, 0)
    finally:
        server.stop()
    [message] = server.inbox.messages
    assert message["Subject"] == "投资需求已收到"
    [job] = _jobs()
    assert job.done_at is not None and job.attempts == 1


def test_retries_back_off(app, ctx, monkeypatch):
    server = MailServer(free_port())
    _use(app, monkeypatch, server)
    queue_mail("investor@example.com", "主题", "正文")
    db.session.commit()
    assert drain_mail() == (0, 1)
    [job] = _jobs()
    _make_due(job)
    before = utcnow()
    assert drain_mail() == (0, 1)
    [job] = _jobs()
    assert job.attempts == 2
    assert before + timedelta(minutes=4) < _aware(job.available_at) \
        <= utcnow() + timedelta(minutes=5)
    assert [mail.backoff(n).total_seconds() / 60 for n in range(1, 7)] == [1, 5, 15, 60, 60, 60]


def test_a_recipient_refused_for_good_is_not_retried(ctx, smtp):
    smtp.inbox.refuse["nobody@example.com"] = "550 5.1.1 <nobody@example.com>: no such user"
    for to in ("first@example.com", "nobody@example.com", "second@example.com"):
        queue_mail(to, "投资需求已收到", f"给 {to}")
    db.session.commit()

    assert drain_mail() == (2, 0)
    assert drain_mail() == (0, 0)

    assert [m["To"] for m in smtp.inbox.messages] == ["first@example.com",
                                                      "second@example.com"]
    first, refused, second = _jobs()
    assert first.done_at is not None and second.done_at is not None
    assert refused.done_at is not None and refused.attempts == 1
    assert "550" in refused.last_error and "no such user" in refused.last_error


def test_a_recipient_refused_for_now_waits(ctx, smtp):
    smtp.inbox.refuse["busy@example.com"] = "450 4.2.1 mailbox busy, try later"
    queue_mail("busy@example.com", "主题", "正文")
    queue_mail("other@example.com", "主题", "正文")
    db.session.commit()

    assert drain_mail() == (1, 1)

    busy, other = _jobs()
    assert other.done_at is not None
    assert busy.done_at is None and busy.attempts == 1 and "450" in busy.last_error
    assert _aware(busy.available_at) > utcnow()
    del smtp.inbox.refuse["busy@example.com"]
    _make_due(busy)
    assert drain_mail() == (1, 0)
    assert [m["To"] for m in smtp.inbox.messages] == ["other@example.com", "busy@example.com"]


def test_a_refused_message_waits_and_the_others_go_on(ctx, smtp):
    smtp.inbox.reject["spam@example.com"] = "554 5.6.0 message rejected"
    queue_mail("spam@example.com", "主题", "正文")
    queue_mail("other@example.com", "主题", "正文")
    db.session.commit()

    assert drain_mail() == (1, 1)

    rejected, other = _jobs()
    assert rejected.done_at is None and rejected.last_error.startswith("554")
    assert other.done_at is not None
    assert [m["To"] for m in smtp.inbox.messages] == ["other@example.com"]


def test_a_server_that_hangs_up_mid_batch_leaves_the_rest_waiting(ctx, smtp):
    smtp.inbox.refuse["first@example.com"] = "421 4.3.2 shutting down"
    queue_mail("first@example.com", "主题", "正文")
    queue_mail("second@example.com", "主题", "正文")
    db.session.commit()

    assert drain_mail() == (0, 2)

    first, second = _jobs()
    assert first.attempts == second.attempts == 1
    assert first.last_error.startswith("first@example.com: 421")
    assert "closed the connection" in second.last_error
    assert smtp.inbox.messages == []


def test_oldest_first_within_the_limit(ctx, smtp):
    for n in range(3):
        queue_mail(f"n{n}@example.com", f"第 {n} 封", "正文")
    db.session.commit()
    assert drain_mail(limit=2) == (2, 0)
    assert drain_mail(limit=2) == (1, 0)
    assert [m["To"] for m in smtp.inbox.messages] == [f"n{n}@example.com" for n in range(3)]


def test_starttls_the_server_does_not_offer_keeps_the_mail(app, ctx, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", True)
    queue_mail("investor@example.com", "主题", "正文")
    db.session.commit()
    assert drain_mail() == (0, 1)
    [job] = _jobs()
    assert job.done_at is None and "STARTTLS" in job.last_error
    assert smtp.inbox.messages == []


def test_a_job_another_worker_holds_is_skipped(ctx, smtp):
    """Two workers draining at once do not send the same mail (row locks: not on SQLite)."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no row locks")
    queue_mail("held@example.com", "主题", "正文")
    queue_mail("free@example.com", "主题", "正文")
    db.session.commit()
    with Session(db.engine) as other_worker:
        other_worker.scalars(db.select(OutboxJob).order_by(OutboxJob.id).limit(1)
                             .with_for_update()).one()
        assert drain_mail() == (1, 0)
        other_worker.rollback()
    assert drain_mail() == (1, 0)
    assert [m["To"] for m in smtp.inbox.messages] == ["free@example.com", "held@example.com"]


@pytest.fixture
def auth_smtp(app, monkeypatch):
    """A server that wants a login (plain-text AUTH allowed: this is 127.0.0.1)."""

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"portal", b"s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    server = MailServer(free_port(), authenticator=authenticate, auth_require_tls=False)
    _use(app, monkeypatch, server, MAIL_USERNAME="portal", MAIL_PASSWORD="wrong")
    server.start()
    yield server
    server.stop()


def test_login_when_a_username_is_set(app, ctx, auth_smtp, monkeypatch):
    queue_mail("investor@example.com", "主题", "正文")
    db.session.commit()
    assert drain_mail() == (0, 1)
    [job] = _jobs()
    assert job.attempts == 1 and job.last_error.startswith("535")

    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "s3cret")
    _make_due(job)
    assert drain_mail() == (1, 0)
    assert len(auth_smtp.inbox.messages) == 1


def test_without_a_mail_server_jobs_wait_and_it_is_said_once(app, ctx, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setattr(mail, "_unconfigured_warned", False)
    queue_mail("investor@example.com", "主题", "正文")
    db.session.commit()

    with caplog.at_level(logging.WARNING):
        assert drain_mail() == (0, 1)
        assert drain_mail() == (0, 1)
    assert [r.getMessage() for r in caplog.records].count(
        "MAIL_SERVER is not set (PORTAL_MAIL_SERVER): mail is not sent, 1 jobs wait in the "
        "outbox") == 1
    [job] = _jobs()
    assert job.done_at is None and job.attempts == 0


@pytest.mark.parametrize("to, subject", [
    ("investor@example.com", "主题\nBcc: everyone@example.com"),
    ("investor@example.com\r\nBcc: everyone@example.com", "主题"),
    ("not an address", "主题"),
])
def test_queue_mail_refuses_header_injection_and_non_addresses(ctx, to, subject):
    with pytest.raises(ValueError, match="mail"):
        queue_mail(to, subject, "正文")
    assert _jobs() == []


def test_a_payload_that_cannot_make_a_message_is_settled(ctx, smtp):
    """Written by hand past queue_mail's checks: it must not block the jobs behind it."""
    db.session.add(OutboxJob(kind="mail", payload={"to": "a@example.com"}))
    queue_mail("investor@example.com", "主题", "正文")
    db.session.commit()
    assert drain_mail() == (1, 0)
    broken, good = _jobs()
    assert broken.done_at is not None and "KeyError" in broken.last_error
    assert good.done_at is not None
