"""Opportunity lists: filters, full-text search through the engine (with the glossary and a
database fallback), counts, deadline countdowns and one item.

Filters are SQL over the database on either engine; a text query asks the search engine for
the ranked ids of every matching opportunity and the filters then narrow those ids, so the
list, the counts and the API agree however the search is made. Status is read from the
dates as well as the stored status, so an item past its deadline leaves the open list at
midnight even before the content clock's tick has closed it.
"""

import re
from dataclasses import dataclass, field, fields
from datetime import date, timedelta

from flask import abort, current_app
from flask_babel import format_date
from flask_babel import gettext as _

from portal.database import like_pattern
from portal.extensions import db
from portal.glossary.services import expand
from portal.i18n import china_today, current_lang, format_number
from portal.labels import LABELS
from portal.models import OPPORTUNITY_KINDS, Industry, Opportunity, Region
from portal.pagecache import do_not_store
from portal.pagination import PER_PAGE, Page
from portal.sites.services import region_ids
from search import Query, SearchUnavailable, engine
from search.glossary import Expansion, Match
from search.text import MAX_QUERY, snippet

# status=open (the default list): open and not past the deadline; closing: of those, the
# ones whose deadline is within CLOSING_DAYS; closed: 往期, closed or past the deadline.
STATUSES = ("open", "closing", "closed", "all")
CLOSING_DAYS = 7
WITHIN = ("7", "30", "90")  # deadline within N days
MAX_AMOUNT = 100_000_000  # 万元: a trillion yuan; anything above is a typo
MAX_HITS = 1000  # the most search hits one query takes from the engine
MAX_VALUE = 120
API_PER_PAGE = 100
FILTER_NAMES = ("kind", "industry", "region", "min_amount", "max_amount", "within",
                "deadline_by", "status")


@dataclass
class OpportunityFilters:
    """What a visitor asked for. A value that cannot be a filter is left out of the query
    and gets a message in ``errors`` (field → message); what was typed stays in ``typed``
    so the form shows it for correction."""

    q: str = ""
    kind: str = ""
    industry: str = ""
    region: str = ""
    min_amount: float | None = None
    max_amount: float | None = None
    within: str = ""
    deadline_by: date | None = None
    status: str = "open"
    default_status: str = "open"
    errors: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args, default_status: str = "open") -> "OpportunityFilters":
        def value(name: str) -> str:
            raw = args.get(name, "")
            return raw.strip()[:MAX_VALUE] if isinstance(raw, str) else ""

        out = cls(q=" ".join(args.get("q", "").split())[:MAX_QUERY],
                  status=default_status, default_status=default_status)

        def refuse(name: str, message: str) -> None:
            out.errors[name] = message
            out.typed[name] = value(name)[:40]

        kind = value("kind")
        if kind in OPPORTUNITY_KINDS:
            out.kind = kind
        elif kind:
            refuse("kind", _("从列表中选择机会类型"))
        for name, model, message in (
                ("industry", Industry, _("从列表中选择产业，或选择“全部”")),
                ("region", Region, _("从列表中选择区域，或选择“全部”"))):
            slug = value(name)
            if slug and db.session.scalar(db.select(model.id).filter_by(slug=slug)) is None:
                refuse(name, message)
            elif slug:
                setattr(out, name, slug)
        for name in ("min_amount", "max_amount"):
            text = value(name)
            if not text:
                continue
            try:
                number = float(text.replace(",", "").replace("，", ""))
            except ValueError:
                number = -1.0
            if not 0 <= number <= MAX_AMOUNT:  # NaN fails both comparisons
                refuse(name, _("输入 0 至 %(max)s 之间的金额，单位万元，如 500；不限可留空",
                               max=format_number(MAX_AMOUNT)))
            else:
                setattr(out, name, number)
        if out.min_amount is not None and out.max_amount is not None \
                and out.max_amount < out.min_amount:
            refuse("max_amount", _("输入不小于最低金额的最高金额"))
            out.max_amount = None
        within = value("within")
        if within in WITHIN:
            out.within = within
        elif within:
            refuse("within", _("从列表中选择截止时间范围"))
        by = value("deadline_by")
        if by:
            day = _read_date(by)
            if day is None:
                refuse("deadline_by", _("输入日期，如 2026-12-31"))
            else:
                out.deadline_by = day
        status = value("status")
        if status in STATUSES:
            out.status = status
        elif status:
            refuse("status", _("从列表中选择状态"))
        return out

    def as_args(self, **changes) -> dict:
        """Query-string arguments for a link: these filters with ``changes`` applied (a
        value of None or "" removes one); the default status is left out."""
        values = {f.name: getattr(self, f.name) for f in fields(self)
                  if f.name not in ("errors", "typed", "default_status")} | changes
        if values.get("status") == self.default_status:
            values.pop("status")
        if isinstance(values.get("deadline_by"), date):
            values["deadline_by"] = values["deadline_by"].isoformat()
        for name in ("min_amount", "max_amount"):
            if isinstance(values.get(name), float):
                values[name] = _plain(values[name])
        return {k: v for k, v in values.items() if v not in (None, "")}

    @property
    def active(self) -> bool:
        return bool(self.as_args()) or bool(self.errors)

    def number_text(self, name: str) -> str:
        """What the amount field shows: the typed text when refused, else the number."""
        if name in self.typed:
            return self.typed[name]
        number = getattr(self, name)
        return "" if number is None else str(_plain(number))


def _plain(number: float):
    return int(number) if float(number).is_integer() else number


def _read_date(text: str) -> date | None:
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


@dataclass
class Results:
    page: Page
    counts: dict[str, int]  # kind → items matching every other filter ("" → all kinds)
    status_counts: dict[str, int]  # status → items matching every other filter
    snippets: dict[int, str] = field(default_factory=dict)
    degraded: bool = False
    expanded: list[Match] = field(default_factory=list)


# --- SQL ----------------------------------------------------------------------------------


def status_clause(status: str, today: date):
    """SQL for a status as visitors see it on ``today``."""
    not_past = db.or_(Opportunity.deadline.is_(None), Opportunity.deadline >= today)
    if status == "open":
        return db.and_(Opportunity.status == "open", not_past)
    if status == "closing":
        return db.and_(Opportunity.status == "open",
                       Opportunity.deadline.between(today, today + timedelta(days=CLOSING_DAYS)))
    if status == "closed":
        return db.or_(Opportunity.status == "closed", Opportunity.deadline < today)
    return db.true()


def filtered(filters: OpportunityFilters, today: date, stmt=None, without: str = ""):
    """``stmt`` (default: every opportunity) narrowed by the filters; ``without`` names one
    filter to leave out (for the counts beside its choices)."""
    stmt = db.select(Opportunity) if stmt is None else stmt
    if filters.kind and without != "kind":
        stmt = stmt.where(Opportunity.kind == filters.kind)
    if filters.industry:
        stmt = stmt.where(Opportunity.industry.has(Industry.slug == filters.industry))
    if filters.region:
        stmt = stmt.where(Opportunity.region_id.in_(region_ids(filters.region) or [-1]))
    if filters.min_amount is not None:
        stmt = stmt.where(Opportunity.amount_wan >= filters.min_amount)
    if filters.max_amount is not None:
        stmt = stmt.where(Opportunity.amount_wan <= filters.max_amount)
    if filters.within:
        stmt = stmt.where(Opportunity.deadline.between(
            today, today + timedelta(days=int(filters.within))))
    if filters.deadline_by is not None:
        stmt = stmt.where(Opportunity.deadline <= filters.deadline_by)
    if without != "status":
        stmt = stmt.where(status_clause(filters.status, today))
    return stmt


def _text_clause(expansion: Expansion):
    """The database fallback's reading of a query: every group, any of its terms, in the
    title, summary or body."""
    columns = (Opportunity.title, Opportunity.summary, Opportunity.body)
    return db.and_(db.true(), *(
        db.or_(*(column.ilike(like_pattern(term), escape="\\")
                 for term in group for column in columns))
        for group in expansion.groups))


def _ordered():
    return (Opportunity.published.desc(), Opportunity.id.desc())


# --- the list -----------------------------------------------------------------------------


def search(filters: OpportunityFilters, page: int, per_page: int = PER_PAGE) -> Results:
    """One page of the list, the counts per kind and per status, snippets for a query."""
    today = china_today()
    expansion = expand(filters.q) if filters.q else Expansion([], [])
    ranked: list[int] | None = None
    snippets: dict[int, str] = {}
    degraded = False
    restrict = None
    if filters.q:
        try:
            hits = engine().search(Query("opportunity", filters.q, offset=0, limit=MAX_HITS,
                                         groups=expansion.groups))
        except SearchUnavailable as exc:
            current_app.logger.warning("search unavailable, answering from the database: %s",
                                       exc)
            degraded = True
            do_not_store()  # the notice goes when the engine is back
            restrict = _text_clause(expansion)
        else:
            ranked, snippets = hits.ids, hits.snippets
            restrict = Opportunity.id.in_(ranked or [-1])

    def narrowed(stmt=None, without: str = ""):
        stmt = filtered(filters, today, stmt, without)
        return stmt if restrict is None else stmt.where(restrict)

    if ranked is not None:  # the engine's order
        ids = set(db.session.scalars(narrowed(db.select(Opportunity.id))))
        ordered = [i for i in ranked if i in ids]
        chosen = ordered[(page - 1) * per_page: page * per_page]
        rows = {o.id: o for o in db.session.scalars(
            db.select(Opportunity).where(Opportunity.id.in_(chosen or [-1])))}
        items, total = [rows[i] for i in chosen if i in rows], len(ordered)
    else:
        result = db.paginate(narrowed().order_by(*_ordered()), page=page, per_page=per_page,
                             error_out=False)
        items, total = list(result.items), result.total or 0
    terms = expansion.flat
    if terms:
        snippets = {o.id: _snippet(o, terms, snippets.get(o.id, "")) for o in items}
    kind_rows = db.session.execute(
        narrowed(db.select(Opportunity.kind, db.func.count(Opportunity.id)), without="kind")
        .group_by(Opportunity.kind)).all()
    counts = {k: 0 for k in OPPORTUNITY_KINDS} | dict(kind_rows)
    counts[""] = sum(counts[k] for k in OPPORTUNITY_KINDS)
    base = narrowed(db.select(Opportunity.id), without="status").subquery()
    status_counts = {
        status: db.session.scalar(db.select(db.func.count()).select_from(Opportunity)
                                  .where(Opportunity.id.in_(db.select(base.c.id)),
                                         status_clause(status, today))) or 0
        for status in STATUSES}
    return Results(Page(items, page, per_page, total), counts, status_counts, snippets,
                   degraded, expansion.matches)


def _snippet(item: Opportunity, terms: list[str], found: str) -> str:
    """The passage to show under a hit: in the visitor's language when its translated
    summary holds a term, else the engine's (or, without it, one cut from the Chinese)."""
    if current_lang() != "zh":
        translated = item.tr("summary")
        if translated and translated != item.summary and any(
                t in translated.lower() for t in terms):
            return snippet(translated, terms)
    if found:
        return found
    return snippet("\n".join(filter(None, [item.summary, item.body])), terms)


# --- one item -----------------------------------------------------------------------------


@dataclass
class Countdown:
    state: str  # "days", "today" or "closed"; "" when there is no deadline
    days: int = 0


def countdown(item: Opportunity, today: date | None = None) -> Countdown:
    """How long is left to answer, by the content clock's date in China."""
    today = today or china_today()
    if item.status == "closed" or (item.deadline is not None and item.deadline < today):
        return Countdown("closed")
    if item.deadline is None:
        return Countdown("")
    days = (item.deadline - today).days
    return Countdown("today") if days == 0 else Countdown("days", days)


def get_opportunity(item_id: int) -> Opportunity:
    """Closed items stay readable here: only unpublished ones are not found."""
    item = db.session.scalar(db.select(Opportunity).filter_by(id=item_id))
    if item is None:
        abort(404)
    return item


def kind_counts() -> dict[str, int]:
    """Open items per kind (what the home page and the tabs without filters show)."""
    rows = db.session.execute(
        db.select(Opportunity.kind, db.func.count())
        .where(status_clause("open", china_today())).group_by(Opportunity.kind))
    return dict(rows.all())


def filter_regions() -> list[Region]:
    return db.session.scalars(
        db.select(Region).where(Region.kind.in_(("district", "county", "zone")))
        .order_by(Region.sort_order, Region.id)).all()


def filter_industries() -> list[Industry]:
    return db.session.scalars(db.select(Industry).order_by(Industry.sort_order,
                                                           Industry.id)).all()


def chosen_filters(filters: OpportunityFilters, regions, industries, status_labels: dict,
                   within_labels: dict) -> list[tuple[str, dict]]:
    """The applied filters as (text, arguments of the list without it): GOV.UK's "selected
    filters", each a link that removes one."""
    names = {"region": {r.slug: r.tr("name") for r in regions},
             "industry": {i.slug: i.tr("name") for i in industries}}
    out = []
    if filters.q:
        out.append((_("关键词：%(q)s", q=filters.q), filters.as_args(q="")))
    if filters.kind:
        out.append((str(LABELS["opportunity_kind"][filters.kind]), filters.as_args(kind="")))
    for name in ("industry", "region"):
        slug = getattr(filters, name)
        if slug:
            out.append((names[name].get(slug, slug), filters.as_args(**{name: ""})))
    if filters.min_amount is not None:
        out.append((_("不低于 %(n)s 万元", n=format_number(filters.min_amount)),
                    filters.as_args(min_amount=None)))
    if filters.max_amount is not None:
        out.append((_("不高于 %(n)s 万元", n=format_number(filters.max_amount)),
                    filters.as_args(max_amount=None)))
    if filters.within:
        out.append((str(within_labels[filters.within]), filters.as_args(within="")))
    if filters.deadline_by is not None:
        out.append((_("%(date)s 前截止", date=format_date(filters.deadline_by)),
                    filters.as_args(deadline_by=None)))
    if filters.status != filters.default_status:
        out.append((str(status_labels[filters.status]),
                    filters.as_args(status=filters.default_status)))
    return out
