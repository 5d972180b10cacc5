"""What goes into the search index, and the outbox that keeps it in step with the database.

Every flush that creates, changes or deletes a policy, site or opportunity writes an
``OutboxJob`` in the same transaction, so an index update can never be lost with the record
saved. After commit the outbox is drained; when the engine is down or another process holds
its writer, the jobs stay and the next drain (or ``flask search drain``) catches up.
``flask search reindex`` rebuilds everything from the database.

Two kinds of engine, two ways to drain:

- A shared engine (postgres, elasticsearch) holds one index for every node. A job is
  applied once, by whichever worker claims it: the drain locks the jobs it takes with
  ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one writer at a time and renders no
  such clause), so two workers draining at once never take the same job, and marks them done.
- A local engine (embedded) keeps a folder per node, and every node applies every job to its
  own folder, whether another node marked the job done or not. The folder keeps a *mark*,
  committed with the index (``EmbeddedEngine.apply``): every job id up to ``low`` is
  applied (or will never exist), and ``seen`` lists the ranges of ids above it already
  applied, each with the time its first id was first read. Ids are not committed in their
  order on PostgreSQL (job 10 may commit after job 11), so a gap below a seen id is kept
  open until that id was read GAP_GRACE ago: a transaction open longer than that is not
  waited for (``flask search reindex`` settles anything older). Applying a job reloads its
  record's current state, so applying one again is harmless.

Before a local index answers a search, ``ensure_current`` compares the mark with one small
query (``count`` and ``max`` of the ids above ``low``): behind, it catches up; when it cannot
(the writer held by another worker of this node, the engine broken), the search raises
SearchUnavailable and the page answers from the database with its notice, not kept in
the page cache. A folder with no mark (a new node) is built from the database.
"""

import time
from datetime import timedelta

from flask import current_app, g, has_app_context
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from portal.content import public
from portal.content.workflow import live
from portal.extensions import db
from portal.models import Opportunity, OutboxJob, Policy, Region, Site, utcnow
from search import Document, SearchEngine, SearchUnavailable, engine
from search.base import before_search

INDEXED = {Policy: "policy", Site: "site", Opportunity: "opportunity"}
MODELS = {kind: model for model, kind in INDEXED.items()}
STALE_AFTER = timedelta(seconds=60)
CATCH_UP_EVERY = 30.0
BATCH = 1000
INDEX_KINDS = ("index", "unindex")
MARK_VERSION = 1
GAP_GRACE = 300.0  # seconds a gap below a seen job id stays open for a late commit
CATCH_UP_WAIT = 0.5  # seconds a search waits for another thread of its process writing


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
    if engine().local:
        with Session(db.engine) as own:
            result = engine().apply(lambda mark: _plan_rebuild(own), wait=None)
            _settle(own, result[2])
            own.commit()
        public.bump(session)
        session.commit()
        drain()  # jobs that committed while it ran
        return result[3]
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
    before_search(ensure_current)


def _changes(session: Session, jobs) -> tuple[list[Document], list[tuple[str, int]]]:
    """What index and unindex jobs (in id order) make of the index: the documents to
    write and the (kind, id) to remove, from the records' current state."""
    latest: dict[tuple[str, int], str] = {}
    for job in jobs:  # the last job for a record decides what it becomes
        latest[(job.payload["type"], int(job.payload["id"]))] = job.kind
    docs: list[Document] = []
    deletes: list[tuple[str, int]] = []
    for kind in LOADERS:
        wanted = [i for (k, i), op in latest.items() if k == kind and op == "index"]
        found = documents(session, kind, wanted) if wanted else []
        gone = {i for (k, i), op in latest.items() if k == kind and op == "unindex"}
        gone |= set(wanted) - {d.id for d in found}  # deleted since it was queued
        docs += sorted(found, key=lambda d: d.id)  # one lock order for concurrent writers
        deletes += [(kind, i) for i in sorted(gone)]
    return docs, deletes


def drain(limit: int = BATCH, applied_ids: list[int] | None = None) -> tuple[int, int]:
    """Apply pending index jobs; returns (applied, still pending). Never loses a job: on
    failure the jobs stay, with the attempt and the error recorded. ``applied_ids``, when
    given, receives the ids of the jobs this call applied (a shared engine's drain)."""
    if engine().local:
        return _drain_local(limit)
    with Session(db.engine) as session:
        jobs = session.scalars(
            select(OutboxJob).where(OutboxJob.done_at.is_(None),
                                    OutboxJob.kind.in_(INDEX_KINDS))
            .order_by(OutboxJob.id).limit(limit).with_for_update(skip_locked=True)).all()
        if not jobs:
            return 0, 0
        try:
            docs, deletes = _changes(session, jobs)
            engine().index(docs)
            for kind in LOADERS:
                engine().delete(kind, [i for k, i in deletes if k == kind])
        except SearchUnavailable as exc:
            return _jobs_wait(session, jobs, exc)
        now = utcnow()
        for job in jobs:
            job.done_at = now
        public.bump(session)  # pages showing search results change with the index
        session.commit()
        if applied_ids is not None:
            applied_ids += [job.id for job in jobs]
        return len(jobs), 0


# --- a local index: the folder's mark --------------------------------------------------


def _mark(low: int, seen: list[list]) -> dict:
    return {"v": MARK_VERSION, "low": low, "seen": seen}


def _seen_count(seen: list[list]) -> int:
    return sum(b - a + 1 for a, b, _t in seen)


def _add_seen(seen: list[list], ids: list[int], now: float) -> list[list]:
    """``seen`` with ``ids`` added, as sorted ranges of consecutive ids; a range keeps the
    time its first id was first read (what closing the gap before it depends on)."""
    points = [[i, i, now] for i in ids] + [list(r) for r in seen]
    points.sort()
    out: list[list] = []
    for a, b, t in points:
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b, t])
    return out


def _advance(low: int, seen: list[list], now: float) -> tuple[int, list[list]]:
    """Move ``low`` over the ranges that follow it directly, and over a gap whose next
    range was first read GAP_GRACE ago (the gap's ids were handed out before that)."""
    seen = [list(r) for r in seen]
    while seen and (seen[0][0] <= low + 1 or seen[0][2] <= now - GAP_GRACE):
        low = max(low, seen.pop(0)[1])
    return low, seen


def _plan_rebuild(session: Session):
    """Every live record, and a mark for the outbox as read before the records: jobs
    older than GAP_GRACE are settled, newer ones are remembered as seen (a late commit
    among them is still applied)."""
    now = time.time()
    low = session.scalar(select(func.max(OutboxJob.id)).where(
        OutboxJob.created_at < utcnow() - timedelta(seconds=GAP_GRACE))) or 0
    ids = list(session.scalars(select(OutboxJob.id).where(OutboxJob.id > low)
                               .order_by(OutboxJob.id)))
    low, seen = _advance(low, _add_seen([], ids, now), now)
    top = max([low] + ids)
    docs = [d for kind in LOADERS for d in documents(session, kind)]
    return docs, [], _mark(low, seen), True, ("rebuild", 0, (0, top), len(docs))


def _plan_step(session: Session, mark: dict | None, limit: int):
    """The next batch of jobs this folder has not applied, or None when it has them all."""
    if mark is None or mark.get("v") != MARK_VERSION:
        return _plan_rebuild(session)
    now = time.time()
    low, seen = mark["low"], mark["seen"]
    stmt = select(OutboxJob).where(OutboxJob.id > low)
    for a, b, _t in seen:
        stmt = stmt.where(~OutboxJob.id.between(a, b))
    jobs = session.scalars(stmt.order_by(OutboxJob.id).limit(limit)).all()
    new_low, new_seen = _advance(low, _add_seen(seen, [j.id for j in jobs], now), now)
    if not jobs and (new_low, new_seen) == (low, seen):
        return None
    index_jobs = [j for j in jobs if j.kind in INDEX_KINDS]
    docs, deletes = _changes(session, index_jobs)
    return docs, deletes, _mark(new_low, new_seen), False, \
        ("step", len(index_jobs), [j.id for j in index_jobs], len(jobs) == limit)


def _settle(session: Session, what) -> int:
    """Stamp the jobs a local catch-up applied as done (for the outbox's readers: other
    nodes go by their own mark). ``what``: a list of ids, or an (above, up to) range."""
    table = OutboxJob.__table__
    stmt = table.update().where(table.c.done_at.is_(None), table.c.kind.in_(INDEX_KINDS))
    if isinstance(what, tuple):
        stmt = stmt.where(table.c.id > what[0], table.c.id <= what[1])
    elif what:
        stmt = stmt.where(table.c.id.in_(what))
    else:
        return 0
    return session.execute(stmt.values(done_at=utcnow())).rowcount or 0


def catch_up_local(eng: SearchEngine, wait: float | None = None, limit: int = BATCH) -> int:
    """Bring this node's folder up to the outbox (built from the database when it has no
    mark); returns the number of index jobs it applied. Raises SearchUnavailable when the
    writer is held or the engine fails; the folder's mark then stays where it was."""
    applied = 0
    with Session(db.engine) as session:
        try:
            while True:
                result = eng.apply(lambda mark: _plan_step(session, mark, limit), wait=wait)
                session.rollback()  # the reads; the stamps go in a transaction of their own
                if result is None:
                    break
                if result[0] == "rebuild":
                    applied += _settle(session, result[2])
                    session.commit()
                    continue  # jobs that committed meanwhile
                applied += result[1]
                _settle(session, result[2])
                session.commit()
                if not result[3]:
                    break
        except SearchUnavailable as exc:
            eng.last_catch_up_error = str(exc)[:1000]
            raise
    eng.last_catch_up_error = None
    return applied


def lag(eng: SearchEngine, session=None) -> int | None:
    """How many outbox jobs this node's folder has not applied, with one small query;
    None when it has no mark (or the outbox no longer holds jobs it saw: another database)
    and must be built from the database."""
    mark = eng.mark()
    if mark is None or mark.get("v") != MARK_VERSION:
        return None
    session = session or db.session
    count, top = session.execute(select(func.count(OutboxJob.id), func.max(OutboxJob.id))
                                 .where(OutboxJob.id > mark["low"])).one()
    seen = mark["seen"]
    if count < _seen_count(seen) or (seen and (top or 0) < seen[-1][1]):
        return None
    return count - _seen_count(seen)


def ensure_current(eng: SearchEngine) -> None:
    """Before this app's local engine searches (once per request): catch up when behind;
    raises SearchUnavailable when it cannot, so the caller answers from the database."""
    if not eng.local or not has_app_context() or current_app.extensions.get("search") is not eng:
        return
    if g.get("search_current"):
        return
    if lag(eng) != 0:
        catch_up_local(eng, wait=CATCH_UP_WAIT)
    g.search_current = True


def _drain_local(limit: int) -> tuple[int, int]:
    eng = engine()
    try:
        with Session(db.engine) as session:  # also runs inside db.session's after_commit
            if lag(eng, session) == 0:  # one small query: no writer taken for nothing
                return 0, 0
        return catch_up_local(eng, wait=5.0, limit=limit), 0
    except SearchUnavailable as exc:
        with Session(db.engine) as session:
            mark = None
            try:
                mark = eng.mark()
            except SearchUnavailable:
                pass
            low = mark["low"] if mark and mark.get("v") == MARK_VERSION else 0
            jobs = session.scalars(select(OutboxJob).where(
                OutboxJob.done_at.is_(None), OutboxJob.kind.in_(INDEX_KINDS),
                OutboxJob.id > low).order_by(OutboxJob.id).limit(limit)).all()
            return _jobs_wait(session, jobs, exc)


def _jobs_wait(session: Session, jobs, exc: Exception) -> tuple[int, int]:
    """Record a failed attempt on ``jobs``, which stay to be applied later."""
    for job in jobs:
        job.attempts += 1
        job.last_error = str(exc)[:1000]
    session.commit()
    current_app.logger.warning("search index not updated, %d jobs wait: %s", len(jobs), exc)
    return 0, len(jobs)


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
            if engine().local or pending():
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
        OutboxJob.done_at.is_(None), OutboxJob.kind.in_(INDEX_KINDS))
    if older_than is not None:
        stmt = stmt.where(OutboxJob.created_at <= utcnow() - older_than)
    return db.session.scalar(stmt) or 0
