"""Policy alerts: subscribe with double opt-in, confirm, unsubscribe, and announce new
policies to the subscribers whose filters they match.

Links in mails carry a signed token (``itsdangerous``, keyed by SECRET_KEY) naming the
subscription and its ``nonce``. A confirmation link expires after ``CONFIRM_HOURS`` and works
once (confirming replaces the nonce). A manage/unsubscribe link does not expire: an alert may
be read months later, and leaving must always work without logging in.

Announcing: every flush that makes a policy live (published now, at its scheduled time by the
content clock, or by a data-pack load) adds a ``PolicyRelease`` in the same transaction
(``register``). Before that transaction commits, the releases are announced: for each active
subscription, the released policies its filters select (the search page's filters, read by
the database, since the index sees the policies only after commit) that it was never sent
become one digest mail, queued in the outbox with the release. Where no link can be built
(a command-line load without SERVER_NAME) the releases wait for the content tick or
``flask alerts send``.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context, has_request_context, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_sqlalchemy.session import Session as FlaskSession
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import event, func, inspect
from sqlalchemy.orm import Session

from portal.content.workflow import live, now
from portal.extensions import db
from portal.i18n import BABEL_LOCALES, normalise
from portal.mail import drain_mail_quietly, queue_mail
from portal.models import (
    ALERT_FILTERS,
    AlertDelivery,
    AlertSubscription,
    Industry,
    Policy,
    PolicyRelease,
    Region,
    Topic,
)
from portal.policies.services import PolicyFilters, matching, summary

CONFIRM_HOURS = 48
PENDING_DAYS = 7  # an unconfirmed subscription is forgotten after this
MAX_PENDING = 5  # unconfirmed subscriptions per address and day: no mail-bombing a stranger
DIGEST_SIZE = 50  # policies listed in one mail at most
CONFIRM_SALT = "policy-alerts-confirm"
MANAGE_SALT = "policy-alerts-manage"
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058


class LinkError(Exception):
    """A link that cannot be used; the message says why in the visitor's language."""


@dataclass
class Confirmed:
    subscription: AlertSubscription
    already: bool  # the link had been used before: nothing changed


# --- filters --------------------------------------------------------------------------------


def clean_filters(args) -> dict[str, str]:
    """The subscription-worthy filters of a query string or form, checked as the search page
    checks them (a value that cannot be right is dropped), and unknown slugs dropped too."""
    filters = PolicyFilters.from_args(args)
    out = {name: getattr(filters, name) for name in ALERT_FILTERS if getattr(filters, name)}
    for name, model in (("topic", Topic), ("industry", Industry), ("region", Region)):
        if name in out and db.session.scalar(
                db.select(model.id).filter_by(slug=out[name])) is None:
            del out[name]  # a subscription to a slug that does not exist would never match
    return out


def filters_of(subscription: AlertSubscription) -> PolicyFilters:
    return PolicyFilters.from_args(subscription.filters or {})


def language(code: str | None) -> str:
    return normalise(code) or "zh"


# --- tokens ---------------------------------------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def confirm_token(subscription: AlertSubscription) -> str:
    return _serializer(CONFIRM_SALT).dumps([subscription.id, subscription.nonce])


def manage_token(subscription: AlertSubscription) -> str:
    return _serializer(MANAGE_SALT).dumps([subscription.id, subscription.nonce])


def _read(token: str, salt: str, max_age: int | None = None) -> tuple[int, str]:
    try:
        value = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkError(_("确认链接已过期（有效期 %(hours)d 小时）。"
                          "请重新订阅，我们会发送新的确认邮件。", hours=CONFIRM_HOURS)) from exc
    except BadSignature as exc:
        raise LinkError(_("链接无效或不完整。请从邮件中完整复制链接后再打开。")) from exc
    if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], int)
            or not isinstance(value[1], str)):
        raise LinkError(_("链接无效或不完整。请从邮件中完整复制链接后再打开。"))
    return value[0], value[1]


def _subscription(subscription_id: int) -> AlertSubscription | None:
    return db.session.scalar(db.select(AlertSubscription).filter_by(id=subscription_id))


def check_confirm_token(token: str) -> Confirmed:
    """What a confirmation link would do, without doing it; LinkError when it cannot."""
    subscription_id, nonce = _read(token, CONFIRM_SALT, CONFIRM_HOURS * 3600)
    subscription = _subscription(subscription_id)
    if subscription is None:
        raise LinkError(_("这项订阅已不存在（可能已退订或超过 %(days)d 天未确认）。请重新订阅。",
                          days=PENDING_DAYS))
    if subscription.nonce != nonce:
        if subscription.state == "active":
            return Confirmed(subscription, already=True)
        raise LinkError(_("链接无效或不完整。请从邮件中完整复制链接后再打开。"))
    return Confirmed(subscription, already=subscription.state == "active")


def confirm(token: str) -> Confirmed:
    """Activate the subscription a confirmation link names; the caller commits."""
    result = check_confirm_token(token)
    if not result.already:
        subscription = result.subscription
        subscription.state = "active"
        subscription.confirmed_at = now()
        subscription.nonce = secrets.token_hex(16)
    return result


def by_manage_token(token: str) -> AlertSubscription | None:
    """The active subscription a manage/unsubscribe link names; None when it has ended
    (so a second click on "unsubscribe" says it is done); LinkError when the link is bad."""
    subscription_id, nonce = _read(token, MANAGE_SALT)
    subscription = _subscription(subscription_id)
    if subscription is None or subscription.nonce != nonce or subscription.state != "active":
        return None
    return subscription


def unsubscribe(subscription: AlertSubscription) -> None:
    """Forget the subscription and the address with it; the caller commits."""
    db.session.delete(subscription)


# --- subscribing ----------------------------------------------------------------------------


def subscribe(email: str, filters: dict[str, str], lang: str) -> None:
    """Queue the mail the address should get; the caller commits and answers the same
    whatever happened here, so the page never tells whether an address is subscribed.

    - already active with these filters: a reminder with the manage link;
    - waiting for confirmation with these filters: the confirmation again;
    - otherwise a new pending subscription and its confirmation, unless the address has
      had ``MAX_PENDING`` unconfirmed ones in a day (then nothing is sent).
    """
    email = email.strip()
    lang = language(lang)
    mine = db.session.scalars(db.select(AlertSubscription).where(
        func.lower(AlertSubscription.email) == email.lower())).all()
    same = next((s for s in mine if (s.filters or {}) == filters), None)
    if same is not None and same.state == "active":
        _queue_reminder(same, lang)
        return
    if same is not None:
        same.language = lang
        _queue_confirmation(same)
        return
    recent = now() - timedelta(days=1)
    if sum(1 for s in mine if s.state == "pending" and _aware(s.created_at) > recent) \
            >= MAX_PENDING:
        current_app.logger.info("alert subscription refused: too many unconfirmed ones")
        return
    subscription = AlertSubscription(email=email, language=lang, filters=filters,
                                     state="pending", nonce=secrets.token_hex(16),
                                     created_at=now())
    db.session.add(subscription)
    db.session.flush()
    _queue_confirmation(subscription)


def _links(subscription: AlertSubscription) -> dict[str, str]:
    lang = language(subscription.language)
    token = manage_token(subscription)
    return {
        "manage": url_for("alerts.manage", lang=lang, token=token, _external=True),
        "unsubscribe": url_for("alerts.unsubscribe", lang=lang, token=token, _external=True),
        "search": url_for("policies.index", lang=lang, _external=True,
                          **filters_of(subscription).as_args()),
    }


def _queue_confirmation(subscription: AlertSubscription) -> None:
    lang = language(subscription.language)
    link = url_for("alerts.confirm", lang=lang, token=confirm_token(subscription),
                   _external=True)
    with force_locale(BABEL_LOCALES[lang]):
        subject = _("请确认订阅新政策提醒")
        body = _("您好：\n\n有人（希望是您本人）用这个邮箱订阅了新政策提醒，"
                 "订阅条件：%(filters)s。\n\n"
                 "请在 %(hours)d 小时内打开下面的链接确认订阅，确认后订阅才会生效：\n%(link)s\n\n"
                 "如果不是您本人操作，请忽略本邮件，您不会收到任何提醒。\n",
                 filters=summary(filters_of(subscription)), hours=CONFIRM_HOURS, link=link)
    queue_mail(subscription.email, subject, body)


def _queue_reminder(subscription: AlertSubscription, lang: str) -> None:
    links = _links(subscription)
    with force_locale(BABEL_LOCALES[language(subscription.language)]):
        subject = _("您已订阅这些条件的新政策提醒")
        body = _("您好：\n\n这个邮箱已经订阅了以下条件的新政策提醒：%(filters)s。无需再次订阅。\n\n"
                 "查看或退订：%(manage)s\n",
                 filters=summary(filters_of(subscription)), manage=links["manage"])
    queue_mail(subscription.email, subject, body, headers=_list_headers(links))


def _list_headers(links: dict[str, str]) -> dict[str, str]:
    return {"List-Unsubscribe": f"<{links['unsubscribe']}>",
            "List-Unsubscribe-Post": ONE_CLICK}


def forget_unconfirmed(at: datetime | None = None) -> int:
    """Delete subscriptions never confirmed within ``PENDING_DAYS``: personal data kept for
    nothing. The caller commits."""
    cutoff = (at or now()) - timedelta(days=PENDING_DAYS)
    rows = db.session.scalars(db.select(AlertSubscription).where(
        AlertSubscription.state == "pending", AlertSubscription.created_at < cutoff)).all()
    for row in rows:
        db.session.delete(row)
    return len(rows)


# --- announcing new policies ----------------------------------------------------------------


def can_link() -> bool:
    """Mail links need the portal's address: a request's, or SERVER_NAME's."""
    return has_request_context() or bool(current_app.config.get("SERVER_NAME"))


def announce(session: Session | None = None) -> int:
    """Queue one digest per active subscription for the policies released since the last
    announcement that match its filters and it was never sent; returns the mails queued.
    The caller commits (the releases are marked announced in the same transaction)."""
    session = session or db.session
    releases = session.scalars(
        db.select(PolicyRelease).where(PolicyRelease.announced_at.is_(None))
        .order_by(PolicyRelease.id).with_for_update(skip_locked=True)).all()
    if not releases or not can_link():
        return 0
    at = now()
    released = sorted({r.policy_id for r in releases})
    matched: dict[str, list[Policy]] = {}  # subscriptions with the same filters share a query
    queued = 0
    for subscription in session.scalars(db.select(AlertSubscription).where(
            AlertSubscription.state == "active").order_by(AlertSubscription.id)):
        key = json.dumps(subscription.filters or {}, sort_keys=True)
        if key not in matched:
            matched[key] = _matching(session, filters_of(subscription), released, at)
        if not matched[key]:
            continue
        sent = set(session.scalars(db.select(AlertDelivery.policy_id).where(
            AlertDelivery.subscription_id == subscription.id,
            AlertDelivery.policy_id.in_([p.id for p in matched[key]]))))
        fresh = [p for p in matched[key] if p.id not in sent]
        if not fresh:
            continue
        _queue_digest(subscription, fresh[:DIGEST_SIZE])
        session.add_all(AlertDelivery(subscription_id=subscription.id, policy_id=p.id,
                                      sent_at=at) for p in fresh)
        subscription.last_sent_at = at
        queued += 1
    for release in releases:
        release.announced_at = at
    if queued:
        session.info["alerts_mail"] = True
    return queued


def run() -> dict[str, int]:
    """What the content tick and ``flask alerts send`` do; the caller commits."""
    return {"forgotten": forget_unconfirmed(), "mails": announce()}


def _matching(session: Session, filters: PolicyFilters, ids: list[int], at: datetime
              ) -> list[Policy]:
    stmt = matching(filters).where(Policy.id.in_(ids), live(Policy, at))
    if not filters.status:  # an expired policy is news only to those who asked for them
        stmt = stmt.where(Policy.status != "expired")
    return list(session.scalars(stmt.order_by(Policy.published.desc(), Policy.id.desc())))


def _digest_item(n: int, policy: Policy, lang: str) -> str:
    """Number, title, issuer · 文号 · date, link: no words of ours to translate."""
    facts = " · ".join(filter(None, [policy.issuer, policy.doc_number,
                                     policy.published.isoformat()]))
    url = url_for("policies.detail", lang=lang, policy_id=policy.id, _external=True)
    return f"{n}. {policy.tr('title', lang)}\n   {facts}\n   {url}"


def _queue_digest(subscription: AlertSubscription, policies: list[Policy]) -> None:
    lang = language(subscription.language)
    links = _links(subscription)
    with force_locale(BABEL_LOCALES[lang]):
        items = "\n\n".join(_digest_item(n, p, lang) for n, p in enumerate(policies, 1))
        subject = ngettext("新政策提醒：%(num)d 项新政策符合您的订阅条件",
                           "新政策提醒：%(num)d 项新政策符合您的订阅条件", len(policies))
        body = _("您好：\n\n以下新发布的政策符合您订阅的条件（%(filters)s）：\n\n%(items)s\n\n"
                 "在网站上查看全部符合条件的政策：%(search)s\n"
                 "查看或修改订阅条件：%(manage)s\n"
                 "退订（一键退订，无需登录）：%(unsubscribe)s\n",
                 filters=summary(filters_of(subscription)), items=items, **links)
    queue_mail(subscription.email, subject, body, headers=_list_headers(links))


# --- noticing policies that go live ---------------------------------------------------------


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they are UTC."""
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None \
        else moment


def _released(publication: str | None, publish_at: datetime | None) -> bool:
    """Published with no time still to wait for. A scheduled record is released when the
    content clock clears its ``publish_at``: that flush is its moment, whatever the clock
    said between."""
    return publication == "published" and publish_at is None


def _before(session: Session, policy: Policy) -> tuple[str | None, datetime | None]:
    """The policy's publication and publish_at as stored before this flush."""
    state = inspect(policy)
    values, unknown = {}, False
    for name in ("publication", "publish_at"):
        history = state.attrs[name].history
        if history.deleted:
            values[name] = history.deleted[0]
        elif history.unchanged:
            values[name] = history.unchanged[0]
        elif not history.added:
            values[name] = getattr(policy, name)
        else:  # set without being read first: ask the database
            unknown = True
    if unknown:
        with session.no_autoflush:
            row = session.execute(db.select(Policy.publication, Policy.publish_at)
                                  .where(Policy.id == policy.id)).one_or_none()
        return (row.publication, row.publish_at) if row else (None, None)
    return values["publication"], values["publish_at"]


def _record_releases(session: Session, flush_context, instances) -> None:
    if not has_app_context():
        return
    default = Policy.__table__.c.publication.default.arg  # applied only at the INSERT
    for policy in [*session.new, *session.dirty]:
        if not isinstance(policy, Policy):
            continue
        publication = default if policy.publication is None else policy.publication
        if not _released(publication, policy.publish_at):
            continue
        was = (None, None) if policy in session.new else _before(session, policy)
        if not _released(*was):
            session.add(PolicyRelease(policy=policy, at=now()))
            session.info["alerts_due"] = True


def _announce_before_commit(session: Session) -> None:
    if session.info.pop("alerts_due", False) and has_app_context():
        announce(session)


def _after_commit(session: Session) -> None:
    if session.info.pop("alerts_mail", False) and has_app_context():
        drain_mail_quietly()


def _after_rollback(session: Session) -> None:
    session.info.pop("alerts_due", None)
    session.info.pop("alerts_mail", None)


def register() -> None:
    """Listen on the sessions Flask-SQLAlchemy makes (once per process)."""
    if not event.contains(FlaskSession, "before_flush", _record_releases):
        event.listen(FlaskSession, "before_flush", _record_releases)
        event.listen(FlaskSession, "before_commit", _announce_before_commit)
        event.listen(FlaskSession, "after_commit", _after_commit)
        event.listen(FlaskSession, "after_soft_rollback", lambda s, t: _after_rollback(s))
