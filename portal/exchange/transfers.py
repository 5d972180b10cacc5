"""Projects transferred between deployments (流转 across platforms, seed 000 (二十)).

Receiving: a partner's key with the push scope posts a project; it becomes a demand of this
deployment with the partner's reason on its internal timeline and, for a county or zone, a
proposed transfer (``portal.cases.transfers``) to that region, so the receiving staff accept
or return it in their 流转 queue as any other; for the city (or another region that holds no
tickets itself) the demand waits with it, in the bureau's queue. The receipt is idempotent on
(partner, external id): the same body again answers the first answer; another body 422.

The investor's contact travels with the project: the receiving region must reach the investor
to take the project on, and the investor consented to its use by the investment-promotion
service when filing (``consent_at`` is sent along). Both sides write the sharing into the
audit trail (``contact_shared``). The pulls (``changes``) never carry it.

Pushing: staff (or ``flask exchange push``) send one of this deployment's projects to a
partner named in ``PORTAL_EXCHANGE_PARTNERS``. The request is an outbox job written with the
timeline event and audit event, sent after commit; a partner that is down or refuses for now
gets it later (``drain``, also run after requests at most every ``EXCHANGE_RETRY`` seconds,
and by ``flask exchange drain``). Rows are picked ``FOR UPDATE SKIP LOCKED``, so two workers
never send one job at once; if a process dies between sending and recording, the job is sent
again with the same external id and the partner answers the first answer: sent once. The
partner's key is read from the settings when sending, never stored in the job or logged.
"""

import hashlib
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

import jsonschema
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from portal import audit
from portal.cases.routing import HOLDING_KINDS
from portal.extensions import db
from portal.intake import tickets
from portal.models import (
    ApiKey,
    Demand,
    ExchangeReceipt,
    Industry,
    OutboxJob,
    Project,
    Region,
    TicketEvent,
    Transfer,
    User,
    utcnow,
)

from . import keys
from .schemas import TRANSFER_SCHEMA

PATH = "/api/v1/exchange/transfers"
TIMEOUT = 10.0
BATCH = 20
BACKOFF = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60))  # then hourly
RETRY_EVERY = 30.0
# Answers after which sending again cannot help: the body itself is refused.
FINAL = {400, 413, 415, 422}


class ExchangeError(ValueError):
    """A transfer that cannot be received or sent as asked; the message is for the user."""

    def __init__(self, message: str, fields: dict | None = None, status: int = 422):
        super().__init__(message)
        self.fields, self.status = fields or {}, status


class Conflict(ExchangeError):
    """The external id was used by the same partner for another body."""


@dataclass
class Answer:
    body: dict
    replayed: bool = False


# --- receiving -----------------------------------------------------------------------


def validation_errors(body) -> dict[str, str]:
    """A message per field the documented schema refuses."""
    if not isinstance(body, dict):
        return {"": _("请求内容应为 JSON 对象。")}
    errors = {}
    validator = jsonschema.Draft7Validator(TRANSFER_SCHEMA)
    for error in validator.iter_errors(body):
        path = ".".join(str(p) for p in error.absolute_path)
        within = f"{path}." if path else ""
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            for name in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
                errors[within + str(name)] = _("没有这个字段")
            continue
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    errors[within + name] = _("必填")
            continue
        path = path or "body"
        errors.setdefault(path, _message(error))
    return errors


def _message(error) -> str:
    return {
        "type": _("类型不正确"), "maxLength": _("太长"), "minLength": _("不能为空"),
        "pattern": _("格式不正确或含有控制字符"), "enum": _("不是允许的取值"),
        "minimum": _("不能小于 %(n)s", n=error.validator_value),
        "maximum": _("不能大于 %(n)s", n=error.validator_value),
        "format": _("格式不正确"),
    }.get(error.validator, _("格式不正确"))


def fingerprint(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _replay(partner: str, external_id: str, signed: str) -> Answer | None:
    receipt = db.session.scalars(db.select(ExchangeReceipt).filter_by(
        partner=partner, external_id=external_id)).first()
    if receipt is None:
        return None
    if receipt.fingerprint != signed:
        raise Conflict(_("这个 external_id 已用于另一项不同内容的流转，本次请求未保存。"
                         "重试时请发送与首次完全相同的内容；新的流转请使用新的 external_id。"))
    return Answer(receipt.answer, replayed=True)


def _consent_time(text: str | None) -> datetime:
    if text:
        from .changes import parse_since

        try:
            return parse_since(text)
        except ValueError as exc:
            raise ExchangeError(_("时间格式不正确"), {"consent_at": _("格式不正确")}) from exc
    return utcnow()


def receive(key: ApiKey, body: dict) -> Answer:
    """Store a transfer from the key's partner (committed), or answer the first answer.
    Raises ExchangeError (422, or 403 for a region outside the key's), Conflict."""
    errors = validation_errors(body)
    if errors:
        raise ExchangeError(_("提交的内容有误，请修改后重试。"), errors)
    signed = fingerprint(body)
    replay = _replay(key.partner, body["external_id"], signed)
    if replay is not None:
        return replay
    region = db.session.scalars(db.select(Region).filter_by(slug=body["region"])).first()
    if region is None:
        raise ExchangeError(_("提交的内容有误，请修改后重试。"), {"region": _("没有这个区域")})
    allowed = keys.region_ids(key)
    if allowed is not None and region.id not in allowed:
        raise ExchangeError(_("这个 API 密钥不能向该区域流转项目。"), status=403)
    consent_at = _consent_time(body.get("consent_at"))
    industry = db.session.scalars(db.select(Industry).filter_by(
        slug=body.get("industry") or "")).first()
    contact = body.get("contact") or {}
    now = utcnow()
    holding = region.kind in HOLDING_KINDS
    demand = Demand(
        status="submitted", language="zh", consent_at=consent_at, submitted_at=now,
        materials_complete_at=now, company_name=body.get("company_name") or body["name"],
        industry=industry, amount_wan=body.get("amount_wan"),
        contact_name=contact.get("name", ""), contact_phone=contact.get("phone", ""),
        contact_email=contact.get("email", ""), message=_intake_message(key, body),
        region=None if holding else region, first_region=None if holding else region,
        access_code_hash=tickets.hash_code(tickets.new_access_code()), needs={},
        preferred_regions=[region.slug])
    demand.due_at = _due(now)
    transfer = None
    if holding:
        transfer = Transfer(from_region=None, to_region=region, status="proposed",
                            reason=_("合作平台 %(partner)s 流转：%(reason)s",
                                     partner=key.partner, reason=body["reason"]),
                            proposed_at=now)
    answer = _insert(key, body, signed, demand, transfer, region)
    if isinstance(answer, Answer):
        return answer
    db.session.commit()
    return Answer(answer)


def _insert(key: ApiKey, body: dict, signed: str, demand: Demand, transfer: Transfer | None,
            region: Region):
    """Add the demand, its transfer, timeline, audit event and receipt under a fresh ticket;
    the body of the answer, or the first Answer when another request stored the same one."""
    for attempt in range(3):
        demand.ticket = tickets.new_ticket("demand")
        db.session.add(demand)
        try:
            db.session.flush()
            break
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
    note = _("由合作平台 %(partner)s 流转而来（对方编号 %(external)s）：%(reason)s",
             partner=key.partner, external=body["external_id"], reason=body["reason"])
    demand.events.append(TicketEvent(status="submitted", public=False, note=note,
                                     kind="transfer", at=utcnow()))
    if transfer is not None:
        transfer.demand_id = demand.id
        db.session.add(transfer)
        db.session.flush()
    answer = {"ticket": demand.ticket, "region": region.slug,
              "transfer": "proposed" if transfer is not None else None,
              "received_at": utcnow().isoformat()}
    receipt = ExchangeReceipt(partner=key.partner, external_id=body["external_id"],
                              api_key=key, fingerprint=signed, demand_id=demand.id,
                              transfer_id=transfer.id if transfer is not None else None,
                              answer=answer, received_at=utcnow())
    db.session.add(receipt)
    _alert_staff(key, body, demand.ticket, region)
    audit.record("exchange_receive", "demand", demand.ticket,
                 {"partner": key.partner, "api_key": key.prefix,
                  "external_id": body["external_id"], "region": region.slug,
                  "contact_shared": bool(body.get("contact"))}, actor=None)
    try:
        db.session.flush()
    except IntegrityError:  # the same external id, stored meanwhile by another request
        db.session.rollback()
        replay = _replay(key.partner, body["external_id"], signed)
        if replay is None:
            raise
        return replay
    return answer


def _alert_staff(key: ApiKey, body: dict, ticket: str, region: Region) -> None:
    """Mail the staff of the receiving region (and the bureau), as for a new demand."""
    from portal.intake.services import _staff_alerts
    from portal.mail import queue_mail

    for to, subject, text in _staff_alerts(
            region, "demand", ticket, lambda: _("平台间流转：%(ticket)s", ticket=ticket),
            lambda: _("合作平台 %(partner)s 流转来项目“%(name)s”（%(ticket)s），"
                      "请在流转队列中接收或退回。", partner=key.partner, name=body["name"],
                      ticket=ticket)):
        queue_mail(to, subject, text)


def _intake_message(key: ApiKey, body: dict) -> str:
    from portal.cases.projects import STAGE_LABELS

    lines = [_("合作平台：%(partner)s", partner=key.partner),
             _("对方编号：%(external)s", external=body["external_id"]),
             _("项目：%(name)s", name=body["name"])]
    if body.get("stage"):
        lines.append(_("对方阶段：%(stage)s", stage=str(STAGE_LABELS[body["stage"]])))
    if body.get("industry"):
        lines.append(_("行业：%(industry)s", industry=body["industry"]))
    lines.append(_("流转理由：%(reason)s", reason=body["reason"]))
    return "\n".join(lines)


def _due(now: datetime) -> datetime:
    from portal.intake import deadlines
    from portal.intake.services import end_of_day

    today = deadlines.local_date(now)
    return end_of_day(deadlines.add_working_days(today, deadlines.deadline_days("demand")))


# --- pushing -------------------------------------------------------------------------


def partners() -> dict[str, dict]:
    """The partner deployments from the settings: name → {"url", "key"}."""
    raw = current_app.config.get("EXCHANGE_PARTNERS") or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except ValueError:
            current_app.logger.error("PORTAL_EXCHANGE_PARTNERS is not JSON; no partner is known")
            return {}
    return {str(name): value for name, value in raw.items()
            if isinstance(value, dict) and value.get("key")
            and str(value.get("url", "")).startswith(("http://", "https://"))}


def may_push(user: User, project: Project) -> bool:
    from portal.cases import transfers

    return (user.role in ("admin", "bureau", "region") and project.stage != "closed"
            and transfers.holds(user, project.demand))


def push(project: Project, partner: str, region_slug: str, reason: str, *,
         actor: User | None = None) -> OutboxJob:
    """Queue the project for the partner (added to the session; the caller commits, then
    calls ``drain_quietly``)."""
    if partner not in partners():
        raise ExchangeError(_("没有配置这个合作平台"), {"partner": _("没有配置这个合作平台")})
    reason, region_slug = (reason or "").strip(), (region_slug or "").strip()
    if not reason:
        raise ExchangeError(_("写明流转理由"), {"reason": _("写明流转理由")})
    if not region_slug:
        raise ExchangeError(_("填写对方平台的区域标识"), {"region": _("填写对方平台的区域标识")})
    if project.stage == "closed":
        raise ExchangeError(_("已结束的项目不能流转"))
    demand = project.demand
    body = {"external_id": f"{demand.ticket}.{secrets.token_hex(3)}", "name": project.name,
            "company_name": demand.company_name, "region": region_slug[:80],
            "reason": reason[:2000], "stage": project.stage,
            "consent_at": demand.consent_at.isoformat() if demand.consent_at else None,
            "industry": demand.industry.slug if demand.industry else None,
            "amount_wan": demand.amount_wan if demand.amount_wan is not None
            else project.signed_amount_wan,
            "contact": {k: v for k, v in (("name", demand.contact_name),
                                          ("phone", demand.contact_phone),
                                          ("email", demand.contact_email)) if v}}
    body = {k: v for k, v in body.items() if v not in (None, {}, "")}
    errors = validation_errors(body)
    if errors:
        raise ExchangeError(_("提交的内容有误，请修改后重试。"), errors)
    job = OutboxJob(kind="exchange",
                    payload={"partner": partner, "demand_id": demand.id, "body": body})
    db.session.add(job)
    demand.events.append(TicketEvent(
        status=demand.status, public=False, actor=actor, kind="transfer", at=utcnow(),
        note=_("已推送至合作平台 %(partner)s（区域 %(region)s）；理由：%(reason)s",
               partner=partner, region=region_slug, reason=reason)))
    audit.record("exchange_push", "demand", demand.ticket,
                 {"partner": partner, "external_id": body["external_id"],
                  "region": region_slug, "contact_shared": bool(body.get("contact"))},
                 actor=actor)
    return job


def drain(limit: int = BATCH, at: datetime | None = None) -> tuple[int, int]:
    """Send the exchange jobs that are due; returns (sent, still waiting). Raises only
    database errors."""
    known = partners()
    with Session(db.engine) as session:
        now = at or utcnow()
        jobs = list(session.scalars(
            select(OutboxJob).where(OutboxJob.kind == "exchange", OutboxJob.done_at.is_(None),
                                    OutboxJob.available_at <= now)
            .order_by(OutboxJob.id).limit(limit).with_for_update(skip_locked=True)))
        sent = waiting = 0
        for job in jobs:
            outcome = _send(job, known.get(job.payload.get("partner", "")), now)
            sent += outcome == "sent"
            waiting += outcome == "waiting"
        session.commit()
    return sent, waiting


def _send(job: OutboxJob, partner: dict | None, now: datetime) -> str:
    name = job.payload.get("partner", "")
    if partner is None:
        return _retry(job, f"partner {name!r} is not configured", now)
    url = partner["url"].rstrip("/") + PATH
    data = json.dumps(job.payload["body"], ensure_ascii=False).encode("utf-8")
    # partners() keeps http and https URLs only.
    request = urllib.request.Request(url, data=data, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json", "Accept": "application/json",
        "Authorization": f"Bearer {partner['key']}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            status, text = response.status, response.read(65536)
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read(65536)
    except (OSError, ValueError) as exc:  # refused, timed out, DNS, bad URL
        return _retry(job, f"{name} ({url}): {type(exc).__name__}: {exc}", now)
    if status in (200, 201):
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {}
        job.payload = job.payload | {"answer": answer}
        job.done_at, job.last_error = now, ""
        job.attempts += 1
        return "sent"
    detail = f"{name}: HTTP {status}: {text[:500].decode('utf-8', 'replace')}"
    if status in FINAL:
        job.attempts += 1
        job.done_at, job.last_error = now, detail[:1000]
        current_app.logger.warning("exchange job %s refused by %s for good: HTTP %s",
                                   job.id, name, status)
        return "refused"
    return _retry(job, detail, now)


def _retry(job: OutboxJob, error: str, now: datetime) -> str:
    job.attempts += 1
    job.last_error = error[:1000]
    job.available_at = now + BACKOFF[min(job.attempts, len(BACKOFF)) - 1]
    current_app.logger.warning("exchange job %s waits (attempt %d): %s", job.id, job.attempts,
                               error[:200])
    return "waiting"


def drain_quietly() -> None:
    try:
        drain()
    except SQLAlchemyError:
        current_app.logger.exception("could not drain the exchange outbox")


def catch_up(response):
    """After a request, at most every EXCHANGE_RETRY seconds per process (0: never; unset:
    as often as the search outbox catches up, SEARCH_CATCH_UP), send the exchange jobs whose
    retry time has come."""
    config = current_app.config
    every = config.get("EXCHANGE_RETRY", config.get("SEARCH_CATCH_UP", RETRY_EVERY))
    state = current_app.extensions.setdefault("exchange_catch_up", {"next": 0.0})
    clock = time.monotonic()
    if every and clock >= state["next"]:
        state["next"] = clock + every
        try:
            due = db.session.scalar(select(db.func.count(OutboxJob.id)).where(
                OutboxJob.kind == "exchange", OutboxJob.done_at.is_(None),
                OutboxJob.available_at <= utcnow()))
        except SQLAlchemyError:
            db.session.rollback()
            return response
        if due:
            drain_quietly()
    return response


def waiting_jobs() -> list[OutboxJob]:
    return list(db.session.scalars(db.select(OutboxJob).where(
        OutboxJob.kind == "exchange", OutboxJob.done_at.is_(None)).order_by(OutboxJob.id)))
