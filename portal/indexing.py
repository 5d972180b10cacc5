"""What goes into the search index, and the outbox that keeps it in step with the database.

Every flush that creates, changes or deletes a policy, site or opportunity writes an
``OutboxJob`` in the same transaction, so an index update can never be lost with the record
saved. After commit the outbox is drained; when the engine is down or another process holds
its writer, the jobs stay and the next drain (or ``flask search drain``) catches up.
``flask search reindex`` rebuilds everything from the database.
"""

import time
from datetime import timedelta

from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from portal.content import public
from portal.content.workflow import live
from portal.extensions import db
from portal.models import Opportunity, OutboxJob, Policy, Region, Site, utcnow
from search import Document, SearchUnavailable, engine

INDEXED = {Policy: "policy", Site: "site", Opportunity: "opportunity"}
MODELS = {kind: model for model, kind in INDEXED.items()}
STALE_AFTER = timedelta(seconds=60)
CATCH_UP_EVERY = 30.0
BATCH = 1000


def _region_slugs(region: Region | None) -> list[str]:
    """The region and everything above it, so filtering by a county finds its zones too."""
    if region is None:
        return []
    return [region.slug] + [a.slug for a in region.ancestors()]


def _translated(record, *fields: str) -> str:
    """The record's titles and summaries in every other language, one per line."""
    return "\n".join(block.get(name, "") for block in (record.translations or {}).values()
                     if isinstance(block, dict) for name in fields if block.get(name))


def policy_document(policy: Policy) -> Document:
    return Document("policy", policy.id, policy.title,
                    "\n".join(filter(None, [policy.doc_number, policy.summary, policy.body])),
                    fields={
                        "level": policy.level, "status": policy.status,
                        "issuer": policy.issuer, "year": str(policy.published.year),
                        "topic": [t.slug for t in policy.topics],
                        "industry": [i.slug for i in policy.industries],
                        "region": policy.region.slug if policy.region else "",
                    },
                    published=policy.published,
                    translations=_translated(policy, "title", "summary"))


def site_document(site: Site) -> Document:
    return Document("site", site.id, site.name,
                    "\n".join(filter(None, [site.address, site.description])),
                    fields={"type": site.kind, "land_use": site.land_use,
                            "status": site.availability, "region": _region_slugs(site.region)},
                    translations=_translated(site, "name", "description"))


def opportunity_document(item: Opportunity) -> Document:
    return Document("opportunity", item.id, item.title,
                    "\n".join(filter(None, [item.summary, item.body])),
                    fields={"type": item.kind, "status": item.status,
                            "region": _region_slugs(item.region),
                            "industry": item.industry.slug if item.industry else ""},
                    published=item.published,
                    translations=_translated(item, "title", "summary"))


BUILDERS = {"policy": policy_document, "site": site_document,
            "opportunity": opportunity_document}
# Only live records are indexed: a draft, a submission, an archived record or one published
# for later is not (drain removes it when it stops being live).
LOADERS = {
    "policy": lambda: select(Policy).where(live(Policy)).options(
        selectinload(Policy.topics), selectinload(Policy.industries),
        selectinload(Policy.region)),
    "site": lambda: select(Site).where(live(Site)).options(selectinload(Site.region)),
    "opportunity": lambda: select(Opportunity).where(live(Opportunity)).options(
        selectinload(Opportunity.region), selectinload(Opportunity.industry)),
}


def documents(session: Session, kind: str, ids: list[int] | None = None) -> list[Document]:
    stmt = LOADERS[kind]()
    if ids is not None:
        stmt = stmt.where(MODELS[kind].id.in_(ids))
    return [BUILDERS[kind](row) for row in session.scalars(stmt)]


def reindex() -> int:
    """Rebuild the index from the database.

    Jobs queued before the rebuild began are settled by it. Jobs queued while it ran may
    have gone into the index being replaced, so they are applied again afterwards.
    """
    session = db.session
    started = utcnow()
    docs = [d for kind in LOADERS for d in documents(session, kind)]
    engine().rebuild(docs)
    public.bump(session)
    jobs = OutboxJob.__table__
    is_index_job = jobs.c.kind.in_(("index", "unindex"))
    session.execute(jobs.update().where(jobs.c.done_at.is_(None), is_index_job,
                                        jobs.c.created_at < started).values(done_at=utcnow()))
    session.execute(jobs.update().where(is_index_job, jobs.c.created_at >= started)
                    .values(done_at=None))
    session.commit()
    drain()
    return len(docs)


# --- the outbox ------------------------------------------------------------------------


def _queue_changes(session: Session, flush_context) -> None:
    queued = session.info.setdefault("outbox_queued", set())
    changes = [(obj, "index") for obj in session.new] + \
              [(obj, "index") for obj in session.dirty if session.is_modified(obj)] + \
              [(obj, "unindex") for obj in session.deleted]
    for obj, op in changes:
        kind = INDEXED.get(type(obj))
        if kind is None or obj.id is None or (kind, obj.id, op) in queued:
            continue
        queued.add((kind, obj.id, op))
        session.add(OutboxJob(kind=op, payload={"type": kind, "id": obj.id}))
        session.info["outbox_pending"] = True


def _after_commit(session: Session) -> None:
    session.info.pop("outbox_queued", None)
    if session.info.pop("outbox_pending", False) and has_app_context():
        drain_quietly()


def _after_rollback(session: Session) -> None:
    session.info.pop("outbox_queued", None)
    session.info.pop("outbox_pending", None)


def register() -> None:
    """Listen on the sessions Flask-SQLAlchemy makes (once per process)."""
    if not event.contains(FlaskSession, "after_flush", _queue_changes):
        event.listen(FlaskSession, "after_flush", _queue_changes)
        event.listen(FlaskSession, "after_commit", _after_commit)
        event.listen(FlaskSession, "after_soft_rollback", lambda s, t: _after_rollback(s))


def drain(limit: int = BATCH) -> tuple[int, int]:
    """Apply pending index jobs; returns (applied, still pending). Never loses a job: on
    failure the jobs stay, with the attempt and the error recorded."""
    with Session(db.engine) as session:
        jobs = session.scalars(
            select(OutboxJob).where(OutboxJob.done_at.is_(None),
                                    OutboxJob.kind.in_(("index", "unindex")))
            .order_by(OutboxJob.id).limit(limit)).all()
        if not jobs:
            return 0, 0
        latest: dict[tuple[str, int], str] = {}
        for job in jobs:  # the last job for a record decides what it becomes
            latest[(job.payload["type"], int(job.payload["id"]))] = job.kind
        try:
            for kind in LOADERS:
                wanted = [i for (k, i), op in latest.items() if k == kind and op == "index"]
                docs = documents(session, kind, wanted) if wanted else []
                gone = {i for (k, i), op in latest.items() if k == kind and op == "unindex"}
                gone |= set(wanted) - {d.id for d in docs}  # deleted since it was queued
                engine().index(docs)
                engine().delete(kind, sorted(gone))
        except SearchUnavailable as exc:
            for job in jobs:
                job.attempts += 1
                job.last_error = str(exc)[:1000]
            session.commit()
            current_app.logger.warning("search index not updated, %d jobs wait: %s",
                                       len(jobs), exc)
            return 0, len(jobs)
        now = utcnow()
        for job in jobs:
            job.done_at = now
        public.bump(session)  # pages showing search results change with the index
        session.commit()
        return len(jobs), 0


def drain_quietly() -> None:
    """Drain after a commit; a failure is logged and the jobs wait, the request goes on."""
    try:
        drain()
    except SQLAlchemyError:
        current_app.logger.exception("could not drain the search outbox")


def due(app) -> bool:
    """Whether this process's next catch-up has come (see ``portal.content.schedule.due``)."""
    every = app.config.get("SEARCH_CATCH_UP", CATCH_UP_EVERY)
    state = app.extensions.get("search_catch_up")
    return bool(every) and (state is None or time.monotonic() >= state["next"])


def catch_up(response):
    """After a request, at most every SEARCH_CATCH_UP seconds per process (0: never), drain
    outbox jobs that an earlier drain could not apply (search engine down or locked, mail
    server down), so they do not wait for the next submission."""
    every = current_app.config.get("SEARCH_CATCH_UP", CATCH_UP_EVERY)
    now = time.monotonic()
    state = current_app.extensions.setdefault("search_catch_up", {"next": 0.0})
    if every and now >= state["next"]:
        state["next"] = now + every
        from portal.mail import drain_mail_quietly

        try:
            if pending():
                drain()
        except SQLAlchemyError:
            current_app.logger.exception("could not drain the search outbox")
        drain_mail_quietly()  # mail whose retry time has come
        forget_sealed_codes()
    return response


def forget_sealed_codes() -> None:
    """Sealed access codes are kept one day for idempotent replays, then cleared."""
    from portal.intake.tickets import REPLAY_WINDOW
    from portal.models import Complaint, Demand

    cutoff = utcnow() - REPLAY_WINDOW
    try:
        for model in (Demand, Complaint):
            db.session.execute(model.__table__.update().where(
                model.access_code_sealed != "", model.submitted_at < cutoff)
                .values(access_code_sealed=""))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("could not clear sealed access codes")


def pending(older_than: timedelta | None = None) -> int:
    stmt = select(db.func.count(OutboxJob.id)).where(
        OutboxJob.done_at.is_(None), OutboxJob.kind.in_(("index", "unindex")))
    if older_than is not None:
        stmt = stmt.where(OutboxJob.created_at <= utcnow() - older_than)
    return db.session.scalar(stmt) or 0
