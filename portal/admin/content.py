"""Back office: the content editor for policies, sites and opportunities.

One set of views serves the three kinds; each kind's spec (``content_forms.SPECS``) names its
form, its fields and its URL part. Every query goes through ``portal.scoping.scoped`` (a
record outside the user's scope is a 404, never a row that still counts), every change goes
through ``portal.content.workflow`` (the shared rules, the version, the audit event), and the
view commits. Departments do not edit content: for them none of these pages exists.

Under /admin/content/<slug>, for slug in policies, sites, opportunities:

- ``/`` the list (filters, paging) and ``/export.csv``, ``/export.xlsx`` of the same rows;
- ``/new``; ``/<id>/edit`` with the workflow buttons (``/<id>/move``, POST);
- ``/<id>/translations/<language>`` one language's block, ``…/reviewed`` (POST) marks a
  machine translation checked;
- ``/<id>/history``, ``/<id>/diff?a=&b=``, ``/<id>/restore`` (POST).

And ``/admin/content/translations``: per kind and language, what is missing or unreviewed.
"""

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from portal import exports
from portal.content import versions, workflow
from portal.content.chain import node_choices
from portal.content.schedule import CHINA
from portal.converters import MAX_ID
from portal.extensions import db
from portal.fields import industry_choices
from portal.models import Region, Topic, User
from portal.pagination import page_arg, paginate
from portal.scoping import scoped
from portal.sites.maps import tiles
from portal.sites.services import region_ids
from seed import rules

from .audit import format_at
from .content_forms import (
    ACTION_LABELS,
    LANG_NAMES,
    LANGS,
    SPECS,
    STATE_LABELS,
    STATES,
    TRANSLATION_LABELS,
    ButtonForm,
    MoveForm,
    Spec,
    build_record,
    clean,
    form_data,
    overall,
    pad_rows,
    place_problems,
    publication_label,
    translation_form,
    translation_status,
    with_translation,
)

bp = Blueprint("content", __name__, url_prefix="/admin/content")


@bp.before_request
@login_required
def editors_only():
    if current_user.role not in workflow.EDITORS:
        abort(404)


@bp.context_processor
def editor_labels() -> dict:
    return {"specs": SPECS, "states": STATE_LABELS, "action_labels": ACTION_LABELS}


def _user() -> User:
    return current_user._get_current_object()


def _today():
    return workflow.now().astimezone(CHINA).date()


def _get(spec: Spec, record_id: int):
    """The record, if the user may see it; 404 otherwise."""
    stmt = scoped(current_user, spec.model, db.select(spec.model).filter_by(id=record_id))
    return db.session.scalars(stmt).first() or abort(404)


def _regions() -> list[Region]:
    """The regions the user files records under: all, or their region and its zones (a city
    bureau in a province deployment: its city's, through ``scoped``)."""
    stmt = db.select(Region).order_by(Region.sort_order, Region.id)
    if current_user.role == "region":
        ids = region_ids(current_user.region.slug) if current_user.region else []
        stmt = stmt.where(Region.id.in_(ids or [-1]))
    else:
        stmt = scoped(current_user, Region, stmt)
    return list(db.session.scalars(stmt))


# --- the list ------------------------------------------------------------------------------


@dataclass
class Filters:
    state: str = ""
    region: str = ""
    q: str = ""
    missing: str = ""  # a language some translatable field has no text in

    @classmethod
    def read(cls, args, regions: list[Region]) -> "Filters":
        """What the query string asks for; anything unknown is ignored, never an error."""
        state, region, missing = (args.get(k, "") for k in ("state", "region", "missing"))
        return cls(state=state if state in STATES else "",
                   region=region if region in {r.slug for r in regions} else "",
                   q=args.get("q", "").strip()[:100],
                   missing=missing if missing in LANGS else "")

    def args(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}


def _query(spec: Spec, filters: Filters):
    model = spec.model
    stmt = scoped(current_user, model, db.select(model))
    if filters.state:
        stmt = stmt.where(model.publication == filters.state)
    if filters.region:
        stmt = stmt.where(model.region_id.in_(region_ids(filters.region) or [-1]))
    if filters.q:
        title = getattr(model, spec.title_field)
        stmt = stmt.where(func.lower(title).contains(filters.q.lower(), autoescape=True))
    if filters.missing:
        columns = [model.id, model.translations] + [getattr(model, f) for f in spec.translatable]
        ids = [row.id for row in db.session.execute(stmt.with_only_columns(*columns))
               if "missing" in translation_status(spec, row, filters.missing).values()]
        stmt = stmt.where(model.id.in_(ids or [-1]))
    return stmt.options(selectinload(model.region)).order_by(model.updated_at.desc(),
                                                             model.id.desc())


def _people(rows) -> dict[int, User]:
    ids = {row.updated_by_id for row in rows if row.updated_by_id}
    return {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))} \
        if ids else {}


def _scheduled(row) -> bool:
    return row.publication == "published" and row.publish_at is not None \
        and not row.is_live(workflow.now())


def index(spec: Spec):
    regions = _regions()
    filters = Filters.read(request.args, regions)
    page = paginate(_query(spec, filters), page_arg())
    return render_template("admin/content/list.html", spec=spec, page=page, filters=filters,
                           regions=regions, people=_people(page.items), langs=LANG_NAMES,
                           scheduled=_scheduled)


def export(spec: Spec, fmt: str):
    """Exactly the list's rows (scope and filters), every page of them."""
    filters = Filters.read(request.args, _regions())
    rows = list(db.session.scalars(_query(spec, filters)))
    people = _people(rows)

    def who(row) -> str:
        person = people.get(row.updated_by_id)
        return (person.name or person.email) if person else ""

    header = [_("标识"), str(spec.labels[spec.title_field]), _("区域"), _("状态"),
              _("定时发布"), _("最后更新"), _("更新人")]
    table = [[row.key, getattr(row, spec.title_field),
              row.region.tr("name") if row.region else "", publication_label(row),
              format_at(row.publish_at) if _scheduled(row) else "",
              format_at(row.updated_at) if row.updated_at else "", who(row)] for row in rows]
    return exports.table_response(header, table, spec.slug, fmt, entity_type=spec.kind,
                                  detail={"filters": filters.args()})


# --- one record ------------------------------------------------------------------------------


def _defaults(spec: Spec) -> dict:
    """A new record's starting values."""
    today = _today().isoformat()
    record = {"region": current_user.region.slug} \
        if current_user.role == "region" and current_user.region else {}
    if spec.kind == "policy":
        record |= {"published": today, "status": "in_force"}
    elif spec.kind == "opportunity":
        record |= {"published": today, "status": "open"}
    else:
        record |= {"availability": "available"}
    return record


def _form(spec: Spec, row=None):
    if request.method == "POST":
        form = spec.form()
    else:
        record = rules.to_record(spec.kind, row) if row is not None else _defaults(spec)
        form = spec.form(data=form_data(spec, record))
    blank = [SelectChoice("", "—")]
    form.region.choices = blank + [SelectChoice(r.slug, r.tr("name")) for r in _regions()]
    if hasattr(form, "topics"):
        form.topics.choices = [SelectChoice(t.slug, t.tr("name")) for t in db.session.scalars(
            db.select(Topic).order_by(Topic.id))]
    if hasattr(form, "industries"):
        form.industries.choices = industry_choices()
    if hasattr(form, "industry"):
        form.industry.choices = blank + industry_choices()
    if hasattr(form, "chain_node"):
        form.chain_node.choices = blank + node_choices()
    if hasattr(form, "chain_nodes"):
        form.chain_nodes.choices = node_choices()
    return form


def _save(spec: Spec, form, row=None):
    """The posted form saved through the rules: (the saved row or None, what went wrong)."""
    form.validate()  # only the page's token and numbers that do not read as numbers
    built = build_record(spec, form, row, request.files.get("geometry_file"))
    csrf = getattr(form, "csrf_token", None)
    if csrf is not None and csrf.errors:
        return None, built
    if built.problems or any(f.errors for f in form):
        # Not saved; the rules still say everything else that is wrong, in one go.
        problems = rules.check(spec.kind, built.record, rules.Known.from_database())
        place_problems(spec, form, problems, built)
        return None, built
    try:
        saved = workflow.save(_user(), spec.kind, built.record, row=row)
    except workflow.Invalid as exc:
        db.session.rollback()
        place_problems(spec, form, exc.problems, built)
        return None, built
    except workflow.ContentError as exc:
        db.session.rollback()
        built.add(None, str(exc))
        return None, built
    db.session.commit()
    return saved, built


def new(spec: Spec):
    form = _form(spec)
    built = None
    if request.method == "POST":
        row, built = _save(spec, form)
        if row is not None:
            flash(_("草稿已保存。可以填写译文，或提交审核。"))
            return redirect(spec.url("edit", row.id))
    return _edit_page(spec, form, None, built)


def edit(spec: Spec, record_id: int):
    row = _get(spec, record_id)
    form = _form(spec, row)
    built = None
    if request.method == "POST":
        saved, built = _save(spec, form, row)
        if saved is not None:
            flash(_("已保存。"))
            return redirect(spec.url("edit", row.id))
    return _edit_page(spec, form, row, built)


def _edit_page(spec: Spec, form, row, built):
    pad_rows(form)
    problems = built.problems if built is not None else {}
    extra = [(m, "content-form") for m in problems.get(None, [])]
    for name, target in (("eligibility", "eligibility"), ("attachments", "attachments"),
                         ("phases", "phases"), ("geometry", "geometry_file")):
        extra += [(_("%(field)s：%(message)s", field=spec.label(name), message=m), target)
                  for m in problems.get(name, [])]
    context = {"spec": spec, "form": form, "row": row, "problems": problems, "extra": extra,
               "editable": row is None or workflow.can_edit(_user(), row)}
    if spec.kind == "site":
        region = db.session.scalars(db.select(Region).filter_by(
            slug=form.region.data or "")).first() if form.region.data else None
        base = tiles(current_app.config)
        context |= {"boundary": region.boundary if region is not None else None,
                    "tiles": asdict(base) if base else None}
    if row is not None:
        context |= _record_context(spec, row)
    return render_template("admin/content/edit.html", **context)


def _record_context(spec: Spec, row) -> dict:
    """What every page of one record shows: its state, the buttons, the language tabs."""
    user = _user()
    moves = []
    for action, (sources, _target, roles) in workflow.MOVES.items():
        if user.role in roles and row.publication in sources:
            moves.append(action)
    person = db.session.get(User, row.updated_by_id) if row.updated_by_id else None
    return {"moves": moves, "move_form": MoveForm(), "updated_by": person,
            "scheduled": _scheduled(row),
            "tabs": {lang: overall(translation_status(spec, row, lang)) for lang in LANGS},
            "langs": LANG_NAMES, "translation_labels": TRANSLATION_LABELS}


def _moved(action: str, row) -> str:
    if action == "publish" and _scheduled(row):
        return _("已定时发布，将于 %(time)s 上线。",
                 time=format_datetime(row.publish_at, "short"))
    return {"submit": _("已提交审核。"), "return": _("已退回修改。"), "publish": _("已发布。"),
            "archive": _("已归档，公众不再能看到。"),
            "reopen": _("已转为草稿，可以修改。")}.get(action, _("已保存。"))


def _moment(text: str | None) -> datetime | None:
    """A publication time typed as Beijing time (2026-12-01T09:00 or 2026-12-01 09:00)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise workflow.ContentError(_("按 2026-12-01 09:00 的格式填写定时发布时间")) from exc
    return moment.replace(tzinfo=CHINA) if moment.tzinfo is None else moment


def move(spec: Spec, record_id: int):
    row = _get(spec, record_id)
    form = MoveForm()
    if not form.validate_on_submit():
        flash(_("页面已过期，请刷新后重新提交"))
        return redirect(spec.url("edit", row.id))
    action = form.action.data or ""
    try:
        at = _moment(form.publish_at.data) if action == "publish" else None
        workflow.move(_user(), row, action, note=clean(form.note.data)[:2000],
                      publish_at=at)
    except workflow.ContentError as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(spec.url("edit", row.id))
    db.session.commit()
    flash(_moved(action, row))
    return redirect(spec.url("edit", row.id))


# --- translations ------------------------------------------------------------------------------


def translation(spec: Spec, record_id: int, language: str):
    row = _get(spec, record_id)
    form = translation_form(spec, row, language)
    general: list[str] = []
    if form.validate_on_submit():
        record = with_translation(spec, row, language, form.data, _today())
        if record.get("translations", {}) == (row.translations or {}):
            flash(_("译文没有变化。"))
            return redirect(spec.url("translation", row.id, language=language))
        general = _save_record(spec, row, record, "translate")
        if not general:
            flash(_("译文已保存，标记为人工审校。"))
            return redirect(spec.url("translation", row.id, language=language))
    elif request.method == "POST":
        general = [_("页面已过期，请刷新后重新提交")]
    return render_template("admin/content/translation.html", spec=spec, row=row, form=form,
                           language=language,
                           extra=[(message, "translation-form") for message in general],
                           status=translation_status(spec, row, language),
                           button=ButtonForm(), editable=workflow.can_edit(_user(), row),
                           **_record_context(spec, row))


def reviewed(spec: Spec, record_id: int, language: str):
    row = _get(spec, record_id)
    if ButtonForm().validate_on_submit():
        if "machine" not in translation_status(spec, row, language).values():
            flash(_("这种语言没有待审校的机器翻译。"))
        else:
            record = with_translation(spec, row, language, None, _today())
            for message in _save_record(spec, row, record, "translate") or \
                    [_("已标记为人工审校。")]:
                flash(message)
    return redirect(spec.url("translation", row.id, language=language))


def _save_record(spec: Spec, row, record: dict, action: str) -> list[str]:
    """Save ``record`` over ``row``; the messages of what stopped it (empty when saved)."""
    try:
        workflow.save(_user(), spec.kind, record, row=row, action=action)
    except workflow.Invalid as exc:
        db.session.rollback()
        return [_("%(field)s：%(message)s", field=spec.label(p.field), message=p.message)
                if p.field else p.message for p in exc.problems]
    except workflow.ContentError as exc:
        db.session.rollback()
        return [str(exc)]
    db.session.commit()
    return []


@dataclass
class Gap:
    spec: Spec
    row: object
    language: str
    status: str  # "missing" or "machine"
    missing: list[str]
    machine: list[str]


def _gaps(slugs, languages) -> list[Gap]:
    found = []
    for slug in slugs:
        spec = SPECS[slug]
        stmt = scoped(current_user, spec.model, db.select(spec.model)).options(
            selectinload(spec.model.region)).order_by(spec.model.id)
        for row in db.session.scalars(stmt):
            for lang in languages:
                status = translation_status(spec, row, lang)
                state = overall(status)
                if state in ("missing", "machine"):
                    found.append(Gap(spec, row, lang, state,
                                     [n for n, s in status.items() if s == "missing"],
                                     [n for n, s in status.items() if s == "machine"]))
    return found


def _gap_filters() -> tuple[list[str], list[str], dict]:
    kind, language = request.args.get("kind", ""), request.args.get("language", "")
    kind = kind if kind in SPECS else ""
    language = language if language in LANGS else ""
    chosen = {k: v for k, v in (("kind", kind), ("language", language)) if v}
    return [kind] if kind else list(SPECS), [language] if language else list(LANGS), chosen


@bp.get("/translations")
def translations():
    slugs, languages, chosen = _gap_filters()
    everything = _gaps(list(SPECS), list(LANGS))
    counts = {(slug, lang): {"missing": 0, "machine": 0} for slug in SPECS for lang in LANGS}
    for gap in everything:
        counts[(gap.spec.slug, gap.language)][gap.status] += 1
    shown = [g for g in everything if g.spec.slug in slugs and g.language in languages]
    return render_template("admin/content/translations.html", gaps=shown, counts=counts,
                           specs=SPECS, langs=LANG_NAMES, chosen=chosen,
                           translation_labels=TRANSLATION_LABELS)


def _gaps_export(fmt: str):
    slugs, languages, chosen = _gap_filters()
    header = [_("类型"), _("语言"), _("标识"), _("标题"), _("区域"), _("译文状态"),
              _("缺译文的字段"), _("机器翻译的字段")]
    rows = [[str(g.spec.name), LANG_NAMES[g.language], g.row.key,
             getattr(g.row, g.spec.title_field),
             g.row.region.tr("name") if g.row.region else "",
             str(TRANSLATION_LABELS[g.status]),
             "、".join(g.spec.label(n) for n in g.missing),
             "、".join(g.spec.label(n) for n in g.machine)] for g in _gaps(slugs, languages)]
    return exports.table_response(header, rows, "translations", fmt,
                                  entity_type="content_translation",
                                  detail={"filters": chosen})


@bp.get("/translations/export.csv")
def translations_csv():
    return _gaps_export("csv")


@bp.get("/translations/export.xlsx")
def translations_xlsx():
    return _gaps_export("xlsx")


exports.register_list("content.translations", csv="content.translations_csv",
                      xlsx="content.translations_xlsx")


# --- history ---------------------------------------------------------------------------------


def history(spec: Spec, record_id: int):
    row = _get(spec, record_id)
    return render_template("admin/content/history.html", spec=spec, row=row,
                           items=versions.history(spec.kind, row.id), button=ButtonForm(),
                           editable=workflow.can_edit(_user(), row),
                           **_record_context(spec, row))


def _version_arg(name: str) -> int | None:
    """A version number from the query string; anything but a plausible number is a 404."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_ID:
        abort(404)
    return int(text)


def _shown(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def diff(spec: Spec, record_id: int):
    row = _get(spec, record_id)
    items = versions.history(spec.kind, row.id)
    by_number = {v.number: v for v in items}
    b = _version_arg("b") or (items[0].number if items else None)
    a = _version_arg("a") or next((v.number for v in items if b and v.number < b), None)
    if (a is not None and a not in by_number) or (b is not None and b not in by_number):
        abort(404)
    older, newer = (by_number.get(a), by_number.get(b))
    changes = versions.diff(older.data, newer.data) if older and newer else None
    return render_template("admin/content/diff.html", spec=spec, row=row, items=items,
                           older=older, newer=newer, changes=changes, shown=_shown,
                           **_record_context(spec, row))


def restore(spec: Spec, record_id: int):
    row = _get(spec, record_id)
    form = ButtonForm()
    if form.validate_on_submit():
        text = (form.number.data or "").strip()
        number = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else 0
        try:
            workflow.restore(_user(), spec.kind, row, number)
        except workflow.ContentError as exc:
            db.session.rollback()
            flash(str(exc))
        except workflow.Invalid as exc:
            db.session.rollback()
            for p in exc.problems:
                flash(_("%(field)s：%(message)s", field=spec.label(p.field), message=p.message)
                      if p.field else p.message)
        else:
            db.session.commit()
            flash(_("已恢复第 %(number)d 版，保存为新的版本。", number=number))
    return redirect(spec.url("history", row.id))


# --- routes: the same views for each kind ------------------------------------------------------

ROUTES = (  # path under /<slug>, endpoint suffix, view, methods
    ("/", "", index, ("GET",)),
    ("/export.csv", "csv", lambda spec: export(spec, "csv"), ("GET",)),
    ("/export.xlsx", "xlsx", lambda spec: export(spec, "xlsx"), ("GET",)),
    ("/new", "new", new, ("GET", "POST")),
    ("/<id>/edit", "edit", edit, ("GET", "POST")),
    ("/<id>/move", "move", move, ("POST",)),
    ("/<id>/translations/<any(en, ja, ko, ru):language>", "translation", translation,
     ("GET", "POST")),
    ("/<id>/translations/<any(en, ja, ko, ru):language>/reviewed", "reviewed", reviewed,
     ("POST",)),
    ("/<id>/history", "history", history, ("GET",)),
    ("/<id>/diff", "diff", diff, ("GET",)),
    ("/<id>/restore", "restore", restore, ("POST",)),
)


def _bind(view, spec: Spec):
    def bound(**args):
        if spec.id_arg in args:
            args["record_id"] = args.pop(spec.id_arg)
        return view(spec, **args)

    return bound


for _spec in SPECS.values():
    for _path, _suffix, _view, _methods in ROUTES:
        bp.add_url_rule(f"/{_spec.slug}{_path.replace('<id>', f'<int:{_spec.id_arg}>')}",
                        _spec.endpoint(_suffix).removeprefix("content."),
                        _bind(_view, _spec), methods=list(_methods))
    exports.register_list(_spec.endpoint(), csv=_spec.endpoint("csv"),
                          xlsx=_spec.endpoint("xlsx"))
