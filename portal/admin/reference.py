"""Back office for the rest of the public records: regions and their figures, industries with
their chain maps and chain leaders, 三个一批 figures, factor costs (要素成本) and service links.

A saved change is public at once, and versioned and audited (``portal.content.reference``,
with the data pack's rules and messages). Every list, lookup and export goes through
``portal.scoping.scoped``: admins and the bureau edit everything; region staff their own
region's profile and the 三个一批 figures and factor costs filed under it; industries and
service links are the city's; department staff have none of it (404).
"""

import copy
import json
import math
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectChoice,
    StringField,
    TextAreaField,
)

from portal import exports
from portal.content import reference, versions
from portal.content.reference import LANGS, TRANSLATED
from portal.content.workflow import ContentError, Invalid
from portal.extensions import db
from portal.fields import SelectField
from portal.i18n import LANGUAGE_NAMES
from portal.intake.validators import NoControlChars
from portal.labels import FIGURE_LABELS, LABELS
from portal.models import (
    BATCHES,
    CHAIN_STAGES,
    FACTOR_CATEGORIES,
    SERVICE_CATEGORIES,
    Region,
    Track,
)
from portal.models.regions import ZONE_LEVELS
from portal.scoping import scoped
from portal.showcase.figures import COMPUTED, META_KEYS, META_LABELS
from portal.showcase.rates import RATE_KINDS

bp = Blueprint("reference", __name__, url_prefix="/admin/reference")

STAFF = ("admin", "bureau", "region")
BLANK_ROWS = 2  # empty rows under a list, to add to it without scripts
MAX_ROWS = 200
# Computed figures are not typed in; each group's year and source are (portal.showcase.figures).
FIGURE_KEYS = (*(k for k in FIGURE_LABELS if k not in COMPUTED), *META_KEYS, "figures_source")
TEXT_FIGURES = ("rank_group", "figures_source", *META_KEYS)
STATUS_LABELS = {"missing": _l("缺译文"), "machine": _l("机器翻译，未审校"),
                 "reviewed": _l("已审校")}
ACTION_LABELS = {"load": _l("数据包载入"), "create": _l("新建"), "edit": _l("修改"),
                 "restore": _l("恢复旧版本"), "archive": _l("删除")}
KIND_LABELS = {"region": _l("区域"), "industry": _l("产业"), "batch_figure": _l("三个一批数据"),
               "service": _l("服务链接"), "factor_cost": _l("要素成本")}


# --- forms -----------------------------------------------------------------------------------


def _tidy(value):
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


def _text(label, long: bool = False, **kw):
    field = TextAreaField if long else StringField
    return field(label, validators=[NoControlChars()], filters=[_tidy], **kw)


class ContactRow(Form):
    name = _text(_l("名称"))
    role = _text(_l("职责"))
    phone = _text(_l("电话"))
    email = _text(_l("电子邮箱"))
    address = _text(_l("地址"))
    remove = BooleanField(_l("删除此行"))


class NodeRow(Form):
    ref = HiddenField()  # which stored node this row was, to keep its translations
    stage = SelectField(_l("环节"), validate_choice=False, choices=[
        SelectChoice(s, LABELS["chain_stage"][s]) for s in CHAIN_STAGES])
    order = _text(_l("顺序"), description=_l("同一环节内按数字从小到大排列"))
    key = _text(_l("标识"), description=_l(
        "小写英文字母、数字和 -，如 core-parts；机会和载体以“产业标识/环节标识”引用它，"
        "保存后不要修改；留空则自动生成"))
    name = _text(_l("名称"))
    description = _text(_l("说明"), long=True)
    gap = BooleanField(_l("缺失环节（补链）"))
    gap_note = _text(_l("补链说明"), long=True)
    remove = BooleanField(_l("删除此行"))


class LeaderRow(Form):
    ref = HiddenField()
    name = _text(_l("企业名称"))
    role = SelectField(_l("类型"), validate_choice=False, choices=[
        SelectChoice("leader", _l("链主企业")), SelectChoice("local", _l("本地企业"))])
    node = SelectField(_l("所在环节"), validate_choice=False,
                       description=_l("新增的环节保存后才能选择"))
    region = SelectField(_l("所在区域"), validate_choice=False)
    description = _text(_l("说明"), long=True)
    is_demo = BooleanField(_l("演示数据"))
    remove = BooleanField(_l("删除此行"))


class RegionForm(FlaskForm):
    name = _text(_l("名称"))
    short_name = _text(_l("简称"))
    zone_level = SelectField(_l("开发区级别"), validate_choice=False, choices=[
        SelectChoice("", "—"), *(SelectChoice(z, LABELS["zone_level"][z]) for z in ZONE_LEVELS)])
    summary = _text(_l("简介"), long=True, description=_l("一两句话，显示在列表和地图上"))
    profile = _text(_l("概况"), long=True,
                    description=_l("每段一行；区域页显示概况，没有概况时显示简介"))
    contacts = FieldList(FormField(ContactRow), max_entries=MAX_ROWS)


for _key in FIGURE_KEYS:
    setattr(RegionForm, f"figure_{_key}", _text(
        FIGURE_LABELS.get(_key) or META_LABELS.get(_key, _l("数据来源")),
        description=None if _key in TEXT_FIGURES else _l("填数字，如 232 或 14.5；留空则不显示")))


class IndustryForm(FlaskForm):
    name = _text(_l("名称"))
    track = SelectField(_l("所属赛道"), validate_choice=False)
    is_key = BooleanField(_l("重点产业"))
    summary = _text(_l("简介"), long=True)
    profile = _text(_l("概况"), long=True)
    nodes = FieldList(FormField(NodeRow), max_entries=MAX_ROWS)
    leaders = FieldList(FormField(LeaderRow), max_entries=MAX_ROWS)


class BatchForm(FlaskForm):
    key = _text(_l("标识"),
                description=_l("英文字母、数字和 - _ .，如 datong-2024-signed；保存后不能修改"))
    area = _text(_l("地区"), description=_l("如：大同市、大同经开区"))
    region = SelectField(_l("所属区域"), validate_choice=False)
    period = _text(_l("时期"), description=_l("如：2024年一季度"))
    batch = SelectField(_l("批次"), validate_choice=False,
                        choices=[SelectChoice(b, LABELS["batch"][b]) for b in BATCHES])
    projects = _text(_l("项目数"), description=_l("整数"))
    investment_yi = _text(_l("总投资（亿元）"))
    completed_projects = _text(_l("已开工或已投产项目数"), description=_l("整数，可留空"))
    rate_kind = SelectField(_l("比率"), validate_choice=False, choices=[
        SelectChoice("", _l("公布值（来源未给出输入）")),
        *(SelectChoice(k, kind.label) for k, kind in RATE_KINDS.items())], description=_l(
        "按公布的定义由下面的输入计算；来源只公布比率而没有输入时选“公布值”"))
    rate_part = _text(_l("比率的分子"), description=_l(
        "签约开工率：已开工项目总投资（亿元）；开工项目投产率：已投产项目已完成投资（亿元）；"
        "战略性新兴产业投资占比：该类项目总投资（亿元）；前期手续办结率：已办结手续（件）"))
    rate_whole = _text(_l("比率的分母"), description=_l(
        "只有前期手续办结率需要：需办理手续（件）；其他比率的分母是上面的总投资"))
    rate_label = _text(_l("公布比率的名称"), description=_l("只用于公布值，如：开工率"))
    published_rate_percent = _text(_l("来源公布的比率（%）"), description=_l(
        "0 到 100 之间的数字；有输入时用来核对计算结果，没有输入时作为公布值显示"))
    note = _text(_l("说明"), long=True)
    source = _text(_l("来源"), description=_l("发布这些数据的文件或报道"))


class ServiceForm(FlaskForm):
    key = _text(_l("标识"), description=_l("英文字母、数字和 - _ .，如 talent；保存后不能修改"))
    category = SelectField(_l("类别"), validate_choice=False,
                           choices=[SelectChoice(c, LABELS["service_category"][c])
                                    for c in SERVICE_CATEGORIES])
    name = _text(_l("名称"))
    description = _text(_l("说明"), long=True, description=_l("这项服务用来办什么"))
    url = _text(_l("网址"), description=_l(
        "在线办理的地址，以 http:// 或 https:// 开头；服务热线可填 tel:12345；没有可留空"))
    department = _text(_l("提供部门"), description=_l("如：大同市行政审批服务管理局"))
    phone = _text(_l("咨询电话"), description=_l("如 0352-1234567 或 12345"))
    address = _text(_l("办理地点"), description=_l("窗口地址；只能线上办理的留空"))
    hours = _text(_l("办理时间"), description=_l("如：工作日 9:00—17:00"))
    policy = _text(_l("相关政策标识"),
                   description=_l("政策管理中显示的标识，如 demo-006；没有可留空"))
    portal_path = _text(_l("本专区页面"), description=_l(
        "本专区内办理这项服务的页面，以 / 开头、不含语言前缀，如 /complaints/new 或 "
        "/policies/?topic=talent"))
    portal_label = _text(_l("本专区页面链接文字"), description=_l("如：在本专区提交投诉"))
    operator_note = _text(_l("运维备注"), long=True, description=_l(
        "仅工作人员可见，如链接如何配置；不会显示在公开页面"))
    is_demo = BooleanField(_l("演示数据"))


class FactorForm(FlaskForm):
    key = _text(_l("标识"),
                description=_l("英文字母、数字和 - _ .，如 datong-electricity-1；保存后不能修改"))
    region = SelectField(_l("所属区域"), validate_choice=False)
    category = SelectField(_l("类别"), validate_choice=False, choices=[
        SelectChoice(c, LABELS["factor_category"][c]) for c in FACTOR_CATEGORIES])
    item = _text(_l("项目"),
                 description=_l("如：大工业用电（1-10千伏）、工业用地出让最低价（第十等）"))
    value = _text(_l("数值"), description=_l("填数字，如 0.58；有范围时填典型值"))
    low = _text(_l("下限"), description=_l("数值是一个范围时填写，否则留空"))
    high = _text(_l("上限"), description=_l("与下限一起填写"))
    unit = _text(_l("单位"), description=_l("如：元/千瓦时、元/立方米、万元/亩、元/月、%"))
    year = _text(_l("年份"), description=_l("数据适用的年份，四位数字，如 2024"))
    source = _text(_l("来源"),
                   description=_l("发布这项价格的文件名称和文号；虚构的数据写“演示数据”"))
    source_url = _text(_l("来源网址"), description=_l("可留空；以 http:// 或 https:// 开头"))
    note = _text(_l("说明"), long=True)
    is_demo = BooleanField(_l("演示数据"))


class ButtonForm(FlaskForm):
    """No fields but the CSRF token: delete, move, restore."""


def _add_translations(form_class, kind: str) -> None:
    """One field per language and translated field, named ``tr_<lang>_<field>``."""
    for lang in LANGS:
        for name in TRANSLATED[kind]:
            unbound = getattr(form_class, name)
            setattr(form_class, f"tr_{lang}_{name}",
                    _text(unbound.args[0], long=unbound.field_class is TextAreaField))


for _kind, _form in (("region", RegionForm), ("industry", IndustryForm),
                     ("batch_figure", BatchForm), ("service", ServiceForm),
                     ("factor_cost", FactorForm)):
    _add_translations(_form, _kind)


# --- guards and lookups ----------------------------------------------------------------------


@bp.before_request
@login_required
def staff_only():
    if current_user.role not in STAFF:
        abort(404)


def _city_only() -> None:
    """Industries and service links are the city's: the bureau's and admins' only."""
    if current_user.role not in reference.CITY_ROLES:
        abort(404)


def _scoped(kind: str, stmt):
    return scoped(current_user, reference.MODELS[kind], stmt)


def _one(kind: str, **where):
    model = reference.MODELS[kind]
    return db.session.scalars(_scoped(kind, db.select(model).filter_by(**where))).first() \
        or abort(404)


def _all(kind: str) -> list:
    model = reference.MODELS[kind]
    return db.session.scalars(_scoped(kind, db.select(model).order_by(
        model.sort_order, model.id))).all()


def _region_choices(blank: bool) -> list[SelectChoice]:
    regions = db.session.scalars(scoped(current_user, Region, db.select(Region).order_by(
        Region.sort_order, Region.id))).all()
    return ([SelectChoice("", "—")] if blank else []) + [
        SelectChoice(r.slug, r.name) for r in regions]


def _statuses(kind: str, row) -> dict[str, str]:
    return {lang: reference.translation_status(kind, row, lang) for lang in LANGS}


# --- between records and forms ---------------------------------------------------------------


def _number(text: str | None):
    """A number typed in a box: an int or a finite float; anything else stays the text it
    was, for the schema check to name; nothing is None."""
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    if "_" in text:
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _shown(value) -> str:
    return "" if value is None else str(value)


def _form_data(kind: str, record: dict, fields) -> dict:
    data = {name: _shown(record.get(name)) for name in fields}
    for lang in LANGS:
        block = (record.get("translations") or {}).get(lang) or {}
        data |= {f"tr_{lang}_{name}": block.get(name, "") for name in TRANSLATED[kind]}
    return data


def _region_data(record: dict) -> dict:
    data = _form_data("region", record, ("name", "short_name", "zone_level", "summary",
                                         "profile"))
    figures = record.get("figures") or {}
    data |= {f"figure_{key}": _shown(figures.get(key)) for key in FIGURE_KEYS}
    data["contacts"] = [dict(c) for c in record.get("contacts", [])] + [{}] * BLANK_ROWS
    return data


def _industry_data(record: dict) -> dict:
    data = _form_data("industry", record, ("name", "track", "summary", "profile"))
    data["is_key"] = record.get("is_key", False)
    data["nodes"] = [
        {"ref": f"{stage}:{j}", "stage": stage, "order": str(j + 1), "key": n.get("key", ""),
         "name": n["name"],
         "description": n.get("description", ""), "gap": n.get("gap", False),
         "gap_note": n.get("gap_note", "")}
        for stage in CHAIN_STAGES
        for j, n in enumerate((record.get("chain") or {}).get(stage, []))
    ] + [{"stage": "upstream"}] * BLANK_ROWS
    data["leaders"] = [
        {"ref": str(j), "name": leader["name"], "region": leader.get("region", ""),
         "role": leader.get("role", "leader"), "node": leader.get("node", ""),
         "description": leader.get("description", ""), "is_demo": leader.get("is_demo", False)}
        for j, leader in enumerate(record.get("leaders", []))
    ] + [{}] * BLANK_ROWS
    return data


def _batch_data(record: dict) -> dict:
    return _form_data("batch_figure", record, (
        "key", "area", "region", "period", "batch", "projects", "investment_yi",
        "completed_projects", "rate_kind", "rate_part", "rate_whole", "rate_label",
        "published_rate_percent", "note", "source"))


SERVICE_FIELDS = ("category", "name", "description", "url", "department", "phone", "address",
                  "hours", "policy", "portal_path", "portal_label", "operator_note")


def _service_data(record: dict) -> dict:
    data = _form_data("service", record, ("key", *SERVICE_FIELDS))
    data["is_demo"] = bool(record.get("is_demo"))
    return data


def _translations(form, kind: str, base: dict) -> dict:
    """The stored translations with the form's text in place; the rules stamp who made it."""
    out = copy.deepcopy(base.get("translations") or {})
    for lang in LANGS:
        block = dict(out.get(lang) or {})
        for name in TRANSLATED[kind]:
            value = form[f"tr_{lang}_{name}"].data or ""
            if value:
                block[name] = value
            else:
                block.pop(name, None)
        out[lang] = block
    return out


def _tidy_record(kind: str, record: dict) -> dict:
    """Leave out what is empty, as the pack does, except a required text (the schema says
    it must not be empty; a required code or number left out is named as missing)."""
    item_schema = reference.ITEM_SCHEMAS[kind]
    kept = {name for name in item_schema.get("required", ())
            if item_schema["properties"][name].get("minLength")}
    return {k: v for k, v in record.items()
            if v is not None and (k in kept or v not in ("", [], {}))}


def _common(form, kind: str, base: dict, fields) -> dict:
    record = copy.deepcopy(base)
    record |= {name: form[name].data or "" for name in fields}
    record["translations"] = _translations(form, kind, base)
    return record


def _region_record(form: RegionForm, base: dict, row) -> tuple[dict, dict, bool]:
    record = _common(form, "region", base, ("name", "short_name", "summary", "profile"))
    if row.kind == "zone":
        record["zone_level"] = form.zone_level.data or ""
    figures = dict(base.get("figures") or {})
    for key in FIGURE_KEYS:
        text = form[f"figure_{key}"].data or ""
        value = text if key in TEXT_FIGURES else _number(text)
        if value in (None, ""):
            figures.pop(key, None)
        else:
            figures[key] = value
    record["figures"] = figures
    placed = []
    for entry in form.contacts:
        f = entry.form
        item = {name: f[name].data or "" for name in ("name", "role", "phone", "email",
                                                       "address")}
        if f.remove.data or not any(item.values()):
            continue
        placed.append((entry, {k: v for k, v in item.items() if v or k == "name"}))
    record["contacts"] = [item for _entry, item in placed]
    return _tidy_record("region", record), {"contacts": placed}, True


def _industry_record(form: IndustryForm, base: dict, row) -> tuple[dict, dict, bool]:
    record = _common(form, "industry", base, ("name", "track", "summary", "profile"))
    record["is_key"] = bool(form.is_key.data)
    old_nodes = {f"{stage}:{j}": n for stage, nodes in (base.get("chain") or {}).items()
                 for j, n in enumerate(nodes)}
    old_leaders = {str(j): leader for j, leader in enumerate(base.get("leaders", []))}
    ok, staged = True, []
    for position, entry in enumerate(form.nodes):
        f = entry.form
        old = old_nodes.get(f.ref.data or "") or {}
        item = {"key": f.key.data or old.get("key", ""), "name": f.name.data or "",
                "description": f.description.data or "",
                "gap": bool(f.gap.data), "gap_note": f.gap_note.data or ""}
        if f.remove.data or not (item["name"] or item["description"] or item["gap_note"]):
            continue
        if item["key"] and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,79}", item["key"]):
            f.key.errors = [_("用小写英文字母、数字和 -，如 core-parts")]
            ok = False
            continue
        if f.stage.data not in CHAIN_STAGES:
            f.stage.errors = [_("从列表中选择环节")]
            ok = False
            continue
        order = _number(f.order.data)
        if order is not None and not isinstance(order, int):
            f.order.errors = [_("输入整数，如 3")]
            ok = False
            continue
        translations = (old_nodes.get(f.ref.data or "") or {}).get("translations")
        if translations:
            item["translations"] = copy.deepcopy(translations)
        item = {k: v for k, v in item.items() if v != "" or k == "name"}
        staged.append((CHAIN_STAGES.index(f.stage.data), math.inf if order is None else order,
                       position, f.stage.data, entry, item))
    staged.sort(key=lambda s: s[:3])
    chain = {}
    for *_order, stage, _entry, item in staged:
        chain.setdefault(stage, []).append(item)
    record["chain"] = chain
    leaders = []
    for entry in form.leaders:
        f = entry.form
        item = {"name": f.name.data or "", "region": f.region.data or "",
                "node": f.node.data or "",
                "role": f.role.data if f.role.data in ("leader", "local") else "",
                "description": f.description.data or "", "is_demo": bool(f.is_demo.data)}
        if item["role"] == "leader":
            item["role"] = ""  # the default, left out as the pack leaves it out
        if f.remove.data or not (item["name"] or item["description"]):
            continue
        translations = (old_leaders.get(f.ref.data or "") or {}).get("translations")
        if translations:
            item["translations"] = copy.deepcopy(translations)
        leaders.append((entry, {k: v for k, v in item.items() if v != "" or k == "name"}))
    record["leaders"] = [item for _entry, item in leaders]
    rows = {"chain": [(s[4], s[5]) for s in staged], "leaders": leaders}
    return _tidy_record("industry", record), rows, ok


def _batch_record(form: BatchForm, base: dict, row) -> tuple[dict, dict, bool]:
    record = _common(form, "batch_figure", base, ("area", "region", "period", "batch",
                                                  "rate_kind", "rate_label", "note", "source"))
    record["key"] = base["key"] if base else form.key.data or ""
    for name in ("projects", "investment_yi", "completed_projects", "rate_part", "rate_whole",
                 "published_rate_percent"):
        record[name] = _number(form[name].data)
    return _tidy_record("batch_figure", record), {}, True


def _service_record(form: ServiceForm, base: dict, row) -> tuple[dict, dict, bool]:
    record = _common(form, "service", base, SERVICE_FIELDS)
    record["key"] = base["key"] if base else form.key.data or ""
    record.pop("is_demo", None)  # the pack leaves it out unless it is true
    if form.is_demo.data:
        record["is_demo"] = True
    return _tidy_record("service", record), {}, True


def _factor_data(record: dict) -> dict:
    data = _form_data("factor_cost", record, (
        "key", "region", "category", "item", "value", "low", "high", "unit", "year", "source",
        "source_url", "note"))
    data["is_demo"] = bool(record.get("is_demo", False))
    return data


def _factor_record(form: FactorForm, base: dict, row) -> tuple[dict, dict, bool]:
    record = _common(form, "factor_cost", base, ("region", "category", "item", "unit",
                                                 "source", "source_url", "note"))
    record["key"] = base["key"] if base else form.key.data or ""
    for name in ("value", "low", "high", "year"):
        record[name] = _number(form[name].data)
    record["is_demo"] = bool(form.is_demo.data)
    return _tidy_record("factor_cost", record), {}, True


# The record's lists as the form names them.
GROUP_FIELDS = {"contacts": "contacts", "chain": "nodes", "leaders": "leaders"}


def _attach(kind: str, form, problems, rows: dict) -> list[tuple[str, str]]:
    """Each problem beside its field (a list's beside its row); what has no field of its
    own goes to the summary at the top."""
    extra, groups = [], {}
    for problem in problems:
        top, _dot, rest = (problem.field or "").partition(".")
        target = None
        if top == "figures" and rest in FIGURE_KEYS:
            target = form[f"figure_{rest}"]
        elif top in rows:
            if top not in groups:
                groups[top] = _place_rows(kind, top, rows[top])
            if groups[top]:
                continue
        elif top in form and top not in GROUP_FIELDS.values() and top != "csrf_token":
            target = form[top]
        if target is not None:
            target.errors = [*target.errors, problem.message]
        else:
            extra.append((str(problem), "record-form"))
    return extra


def _place_rows(kind: str, group: str, pairs) -> int:
    placed = 0
    for entry, item in pairs:
        for problem in reference.row_problems(kind, group, item):
            name = (problem.field or "name").split(".")[0]
            target = entry.form[name] if name in entry.form else entry.form.name
            target.errors = [*target.errors, problem.message]
            placed += 1
    return placed


# --- the edit flow, shared -------------------------------------------------------------------

FORMS = {"factor_cost": FactorForm,
         "region": RegionForm, "industry": IndustryForm, "batch_figure": BatchForm,
         "service": ServiceForm}
DATA = {"factor_cost": _factor_data,
        "region": _region_data, "industry": _industry_data, "batch_figure": _batch_data,
        "service": _service_data}
RECORDS = {"factor_cost": _factor_record, "region": _region_record, "industry": _industry_record,
           "batch_figure": _batch_record, "service": _service_record}
TEMPLATES = {"factor_cost": "factor_cost_edit",
             "region": "region_edit", "industry": "industry_edit",
             "batch_figure": "batch_figure_edit", "service": "service_edit"}
ENDPOINTS = {"factor_cost": "reference.factor_cost",
             "region": "reference.region", "industry": "reference.industry",
             "batch_figure": "reference.batch_figure", "service": "reference.service"}


def _choices(kind: str, form, row=None) -> None:
    if kind == "industry":
        form.track.choices = [SelectChoice("", "—")] + [
            SelectChoice(t.slug, t.name) for t in db.session.scalars(
                db.select(Track).order_by(Track.sort_order, Track.id))]
        regions = _region_choices(blank=True)
        nodes = [SelectChoice("", "—")] + [
            SelectChoice(n.key, f"{LABELS['chain_stage'][n.stage]} · {n.name}")
            for n in (row.chain_nodes if row is not None else []) if n.key]
        for entry in form.leaders:
            entry.form.region.choices = regions
            entry.form.node.choices = nodes
    elif kind == "batch_figure":
        form.region.choices = _region_choices(blank=current_user.role in reference.CITY_ROLES)
    elif kind == "factor_cost":
        form.region.choices = _region_choices(blank=False)


def _url(kind: str, row) -> str:
    key = {"slug": row.slug} if kind in ("region", "industry") else {"record_id": row.id}
    return url_for(ENDPOINTS[kind], **key)


def _edit(kind: str, row=None):
    """GET: the form with the record; POST: save it, or show every problem beside its
    field; a "more" button adds an empty row to a list and saves nothing."""
    base = reference.to_record(kind, row) if row is not None else {}
    form_class, status, extra = FORMS[kind], 200, []
    if request.method == "GET":
        form = form_class(data=DATA[kind](base))
    else:
        form = form_class()
        more = request.form.get("more", "")
        if more in ("contacts", "nodes", "leaders") and more in form:
            form[more].append_entry()
            _choices(kind, form, row)
            return _render(kind, row, form, [], 200)
        status = 422
        if form.validate_on_submit():
            record, rows, ok = RECORDS[kind](form, base, row)
            reviewed = [lang for lang in (request.form.get("reviewed", ""),) if lang in LANGS]
            if ok:
                try:
                    saved = reference.save(current_user, kind, record, row=row,
                                           reviewed=reviewed)
                except Invalid as exc:
                    extra = _attach(kind, form, exc.problems, rows)
                except ContentError:
                    abort(404)
                else:
                    db.session.commit()
                    flash(_("已保存，公开页面已更新。"))
                    return redirect(_url(kind, saved))
    _choices(kind, form, row)
    return _render(kind, row, form, extra, status)


def _render(kind: str, row, form, extra, status):
    return render_template(
        f"admin/reference/{TEMPLATES[kind]}.html", form=form, row=row, extra=extra,
        failed=status == 422, kind=kind, langs=LANGS, language_names=LANGUAGE_NAMES,
        translated=TRANSLATED[kind], statuses=_statuses(kind, row) if row is not None else {},
        status_labels=STATUS_LABELS, figure_keys=FIGURE_KEYS, buttons=ButtonForm(formdata=None),
    ), status


# --- regions ---------------------------------------------------------------------------------


@bp.get("/")
def index():
    return redirect(url_for("reference.regions"))


@bp.get("/regions")
def regions():
    rows = _all("region")
    return render_template("admin/reference/regions.html", rows=rows,
                           statuses={r.id: _statuses("region", r) for r in rows},
                           status_labels=STATUS_LABELS, langs=LANGS,
                           language_names=LANGUAGE_NAMES)


@bp.route("/regions/<slug>", methods=["GET", "POST"])
def region(slug: str):
    return _edit("region", _one("region", slug=slug[:80]))


# --- industries ------------------------------------------------------------------------------


@bp.get("/industries")
def industries():
    _city_only()
    rows = _all("industry")
    return render_template("admin/reference/industries.html", rows=rows,
                           statuses={r.id: _statuses("industry", r) for r in rows},
                           status_labels=STATUS_LABELS, langs=LANGS,
                           language_names=LANGUAGE_NAMES)


@bp.route("/industries/<slug>", methods=["GET", "POST"])
def industry(slug: str):
    _city_only()
    return _edit("industry", _one("industry", slug=slug[:80]))


# --- 三个一批 figures ------------------------------------------------------------------------


@bp.get("/batch-figures")
def batch_figures():
    return render_template("admin/reference/batch_figures.html", rows=_all("batch_figure"),
                           deleted=reference.deleted(current_user))


@bp.route("/batch-figures/new", methods=["GET", "POST"])
def batch_figure_new():
    return _edit("batch_figure")


@bp.route("/batch-figures/<int:record_id>", methods=["GET", "POST"])
def batch_figure(record_id: int):
    return _edit("batch_figure", _one("batch_figure", id=record_id))


@bp.post("/batch-figures/<int:record_id>/delete")
def batch_figure_delete(record_id: int):
    row = _one("batch_figure", id=record_id)
    if ButtonForm().validate_on_submit():
        try:
            reference.delete(current_user, "batch_figure", row)
        except ContentError:
            abort(404)
        db.session.commit()
        flash(_("已删除；删除前的内容保存在修改历史中。"))
    return redirect(url_for("reference.batch_figures"))


# --- 要素成本 (factor costs) -----------------------------------------------------------------


@bp.get("/factor-costs")
def factor_costs():
    return render_template("admin/reference/factor_costs.html", rows=_all("factor_cost"),
                           deleted=reference.deleted(current_user, "factor_cost"))


@bp.route("/factor-costs/new", methods=["GET", "POST"])
def factor_cost_new():
    return _edit("factor_cost")


@bp.route("/factor-costs/<int:record_id>", methods=["GET", "POST"])
def factor_cost(record_id: int):
    return _edit("factor_cost", _one("factor_cost", id=record_id))


@bp.post("/factor-costs/<int:record_id>/delete")
def factor_cost_delete(record_id: int):
    row = _one("factor_cost", id=record_id)
    if ButtonForm().validate_on_submit():
        try:
            reference.delete(current_user, "factor_cost", row)
        except ContentError:
            abort(404)
        db.session.commit()
        flash(_("已删除；删除前的内容保存在修改历史中。"))
    return redirect(url_for("reference.factor_costs"))


# --- service links ---------------------------------------------------------------------------


@bp.get("/services")
def services():
    _city_only()
    return render_template("admin/reference/services.html", rows=_all("service"),
                           buttons=ButtonForm(formdata=None))


@bp.route("/services/new", methods=["GET", "POST"])
def service_new():
    _city_only()
    return _edit("service")


@bp.route("/services/<int:record_id>", methods=["GET", "POST"])
def service(record_id: int):
    _city_only()
    return _edit("service", _one("service", id=record_id))


@bp.post("/services/<int:record_id>/<any(up, down):direction>")
def service_move(record_id: int, direction: str):
    _city_only()
    link = _one("service", id=record_id)
    if ButtonForm().validate_on_submit():
        reference.move(current_user, link, -1 if direction == "up" else 1)
        db.session.commit()
    return redirect(url_for("reference.services"))


# --- history ---------------------------------------------------------------------------------

KIND_PATH = "<any(region, industry, batch_figure, service, factor_cost):kind>"


def _history(kind: str, record_id: int) -> list:
    if not reference.history_visible(current_user, kind, record_id):
        abort(404)
    found = versions.history(kind, record_id)
    row = None if found else db.session.get(reference.MODELS[kind], record_id)
    if row is not None:  # as loaded from the pack, never edited: its state is the baseline
        reference.keep(kind, row, "load")
        db.session.commit()
        found = versions.history(kind, record_id)
    return found or abort(404)


def _title(data: dict) -> str:
    return data.get("name") or data.get("area") or data.get("item") or \
        data.get("key") or data.get("slug") or ""


@bp.get(f"/history/{KIND_PATH}/<int:record_id>")
def history(kind: str, record_id: int):
    found = _history(kind, record_id)
    row = db.session.get(reference.MODELS[kind], record_id)
    return render_template(
        "admin/reference/history.html", kind=kind, kind_label=KIND_LABELS[kind],
        record_id=record_id, versions=found, title=_title(found[0].data), row=row,
        edit_url=_url(kind, row) if row is not None else None,
        may_restore=row is not None and reference.may_edit(current_user, kind, row),
        action_labels=ACTION_LABELS, deleted=reference.DELETED, buttons=ButtonForm(formdata=None))


@bp.get(f"/history/{KIND_PATH}/<int:record_id>/diff")
def diff(kind: str, record_id: int):
    found = {v.number: v for v in _history(kind, record_id)}
    new = request.args.get("new", type=int, default=max(found))
    old = request.args.get("old", type=int, default=new - 1)
    if "old" not in request.args and old not in found:
        old = new  # a single version: compared with itself, nothing changed
    if old not in found or new not in found:
        abort(404)
    changes = versions.diff(found[old].data, found[new].data)
    return render_template(
        "admin/reference/diff.html", kind=kind, kind_label=KIND_LABELS[kind],
        record_id=record_id, old=found[old], new=found[new], changes=changes,
        title=_title(found[new].data), shown=_shown_value, action_labels=ACTION_LABELS,
        deleted=reference.DELETED)


def _shown_value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=1)
    return str(value)


@bp.post(f"/history/{KIND_PATH}/<int:record_id>/restore/<int:number>")
def restore(kind: str, record_id: int, number: int):
    _history(kind, record_id)
    row = db.session.get(reference.MODELS[kind], record_id) or abort(404)
    if ButtonForm().validate_on_submit():
        try:
            reference.restore(current_user, kind, row, number)
        except ContentError as exc:
            flash(str(exc))
        except Invalid as exc:
            flash(_("不能恢复这个版本：%(problems)s",
                    problems="；".join(str(p) for p in exc.problems)))
        else:
            db.session.commit()
            flash(_("已恢复第 %(number)d 版，公开页面已更新。", number=number))
    return redirect(url_for("reference.history", kind=kind, record_id=record_id))


# --- exports ---------------------------------------------------------------------------------


def _status_cells(kind: str, row) -> list[str]:
    return [str(STATUS_LABELS[s]) for s in _statuses(kind, row).values()]


def _table(kind: str) -> tuple[list, list]:
    langs = [LANGUAGE_NAMES[lang] for lang in LANGS]
    rows = _all(kind)
    if kind == "region":
        return [_("名称"), _("标识"), _("类型"), _("上级区域"), *langs], [
            [r.name, r.slug, str(LABELS["region_kind"][r.kind]),
             r.parent.name if r.parent else "", *_status_cells(kind, r)] for r in rows]
    if kind == "industry":
        return [_("名称"), _("标识"), _("所属赛道"), _("重点产业"), _("产业链环节"),
                _("缺失环节"), _("链主企业"), *langs], [
            [i.name, i.slug, i.track.name if i.track else "", _("是") if i.is_key else _("否"),
             len(i.chain_nodes), sum(1 for n in i.chain_nodes if n.is_gap), len(i.leaders),
             *_status_cells(kind, i)] for i in rows]
    if kind == "factor_cost":
        return [_("标识"), _("所属区域"), _("类别"), _("项目"), _("数值"), _("下限"), _("上限"),
                _("单位"), _("年份"), _("来源"), _("来源网址"), _("演示数据")], [
            [f.key, f.region.name if f.region else "", str(LABELS["factor_category"][f.category]),
             f.item, f.value, f.low, f.high, f.unit, f.year, f.source, f.source_url,
             _("是") if f.is_demo else _("否")] for f in rows]
    if kind == "batch_figure":
        return [_("标识"), _("地区"), _("时期"), _("批次"), _("项目数"), _("总投资（亿元）"),
                _("比率名称"), _("比率（%）"), _("所属区域"), _("来源")], [
            [b.key, b.area, b.period, str(LABELS["batch"][b.batch]), b.projects,
             b.investment_yi, b.rate_name, b.rate_percent, b.region.name if b.region else "",
             b.source] for b in rows]
    return [_("顺序"), _("标识"), _("类别"), _("名称"), _("网址"), _("提供部门"),
            _("咨询电话"), _("本专区页面"), _("运维备注")], [
        [n, s.key, str(LABELS["service_category"][s.category]), s.name, s.url, s.department,
         s.phone, s.portal_path, s.operator_note]
        for n, s in enumerate(rows, start=1)]


LIST_PAGES = {"factor_cost": "factor_costs",
              "region": "regions", "industry": "industries", "batch_figure": "batch_figures",
              "service": "services"}
LIST_PATHS = {"factor_cost": "factor-costs",
              "region": "regions", "industry": "industries", "batch_figure": "batch-figures",
              "service": "services"}


def _exporter(kind: str, fmt: str):
    def export():
        if kind in ("industry", "service"):
            _city_only()
        header, rows = _table(kind)
        return exports.table_response(header, rows, LIST_PATHS[kind], fmt, entity_type=kind)
    return export


for _kind, _page in LIST_PAGES.items():
    for _fmt in exports.FORMATS:
        bp.add_url_rule(f"/{LIST_PATHS[_kind]}.{_fmt}", f"{_page}_{_fmt}",
                        _exporter(_kind, _fmt))
    exports.register_list(f"reference.{_page}", csv=f"reference.{_page}_csv",
                          xlsx=f"reference.{_page}_xlsx")
