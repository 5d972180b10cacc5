"""The content editor's forms: one spec per kind of record (policy, site, opportunity) names
its form, its URL part and its translatable fields, and one pair of functions turns a posted
form into a record in the data pack's format and a record back into form data.

Nothing here judges a record. The form fields carry no validators: what is wrong with a
record is decided by ``seed.rules`` (through ``portal.content.workflow.save``), so staff read
the message the pack loader and the importer give for the same value. The form only reports
what cannot become a record value at all: a number that does not read as one, a text longer
than its database column, a GeoJSON text or file that is not GeoJSON, a page that has expired
(CSRF). Control characters are dropped from typed text (no text column holds NUL).
"""

import json
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import date

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
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
from wtforms.fields.core import UnboundField
from wtforms.widgets import TextInput

from portal import fields
from portal.content import workflow
from portal.i18n import LANGUAGE_NAMES
from portal.labels import LABELS
from portal.policies.matcher import FIELD_LABELS as CRITERION_LABELS
from portal.policies.matcher import INTEGER_FIELDS, NUMBER_FIELDS
from portal.sites import geometry as site_geometry
from seed import rules

LANGS = ("en", "ja", "ko", "ru")
LANG_NAMES = {code: LANGUAGE_NAMES[code] for code in LANGS}
STATES = ("draft", "review", "published", "archived")
STATE_LABELS = {"draft": _l("草稿"), "review": _l("待审核"), "published": _l("已发布"),
                "archived": _l("已归档")}
ACTION_LABELS = {
    "create": _l("新建"), "edit": _l("修改"), "submit": _l("提交审核"), "return": _l("退回"),
    "publish": _l("发布"), "archive": _l("归档"), "reopen": _l("重新编辑"),
    "restore": _l("恢复版本"), "import": _l("导入"), "expire": _l("到期失效"),
    "close": _l("截止结束"), "translate": _l("修改译文"), "load": _l("数据包载入"),
}
TRANSLATION_LABELS = {"missing": _l("缺译文"), "machine": _l("机器翻译"),
                      "reviewed": _l("已审校")}
ROWS = ("eligibility", "attachments", "phases")  # repeatable rows, each its own table
BLANK_ROWS = 3  # empty rows offered below the filled ones (no script adds rows)
OP_LABELS = {"in": _l("属于"), "not_in": _l("不属于"), "gte": _l("不低于"), "lte": _l("不超过"),
             "eq": _l("等于")}
MAX_INTEGER = 2**31 - 1
# C0 controls but tab and line breaks, and DEL: no database text column holds NUL.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LIST_SEPARATORS = re.compile(r"[,，、;；\s]+")


# --- fields ----------------------------------------------------------------------------------


class DateText(StringField):
    """A date as the record holds it (ISO text); the rules judge it, as in a data pack."""

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("render_kw", {"type": "date", "autocomplete": "off"})
        kwargs.setdefault("description", _l("如 2026-03-02"))
        super().__init__(label, **kwargs)


class Number(fields.DecimalField):
    """A number typed as text (inputmode decimal); unreadable text is the one number error
    the form itself reports."""

    widget = TextInput()

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, places=None, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not math.isfinite(float(self.data)):
            self.data = None  # 1e400 reads as a Decimal but not as a float
            raise ValueError(_l("输入数字，如 100 或 12.5"))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return _plain(self.data)


class Whole(fields.IntegerField):
    widget = TextInput()

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "autocomplete": "off"})
        super().__init__(label, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and abs(self.data) > MAX_INTEGER:
            self.data = None  # the column is a 4-byte integer
            raise ValueError(_l("输入整数，如 50"))


class Choice(fields.SelectField):
    """A select whose value the rules judge (an unknown code gets the loader's message)."""

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(label, **kwargs)


class MultiCheckboxField(fields.MultiCheckboxField):
    """Checkboxes whose values the rules judge; named as the shared macro expects."""

    def pre_validate(self, form):
        return None


def clean(text: str | None) -> str:
    """Typed text as stored: control characters removed, surrounding blanks trimmed."""
    return _CONTROLS.sub("", text or "").strip()


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _choices(labels: dict, blank=None) -> list[SelectChoice]:
    out = [SelectChoice("", blank)] if blank is not None else []
    return out + [SelectChoice(code, label) for code, label in labels.items()]


class CriterionRow(Form):
    field = Choice(_l("条件项"), choices=_choices(CRITERION_LABELS, "—"))
    op = Choice(_l("比较"), choices=_choices(OP_LABELS, "—"))
    value = StringField(_l("取值"), description=_l("多个值用逗号分隔，如 new, expansion"))
    label = StringField(_l("说明"))


class AttachmentRow(Form):
    title = StringField(_l("附件名称"))
    url = StringField(_l("链接"), render_kw={"inputmode": "url", "autocomplete": "off"})


class PhaseRow(Form):
    """One 揭榜挂帅 phase: which, and from when to when (the rules check the order)."""

    phase = Choice(_l("阶段"), choices=_choices(LABELS["challenge_phase"], "—"))
    starts = DateText(_l("开始日期"))
    ends = DateText(_l("结束日期"))


# --- the three forms -------------------------------------------------------------------------

_PHONE = {"inputmode": "tel", "autocomplete": "off"}
_KEY_HINT = _l("留空则按日期自动生成；保存后不能修改")
_REGION_HINT = _l("县区和开发区工作人员只能选择本辖区")


class PolicyForm(FlaskForm):
    title = StringField(_l("标题"))
    key = StringField(_l("标识"), description=_KEY_HINT)
    doc_number = StringField(_l("文号"))
    issuer = StringField(_l("发布机关"))
    level = Choice(_l("层级"), choices=_choices(LABELS["policy_level"], "—"))
    region = Choice(_l("适用区域"), description=_REGION_HINT)
    published = DateText(_l("发布日期"))
    effective_from = DateText(_l("施行日期"))
    effective_to = DateText(_l("有效期至"))
    status = Choice(_l("效力状态"), choices=_choices(LABELS["policy_status"], "—"))
    comment_until = DateText(_l("意见征集截止日期"))
    topics = MultiCheckboxField(_l("主题"))
    industries = MultiCheckboxField(_l("产业"))
    summary = TextAreaField(_l("摘要"), render_kw={"rows": 3})
    body = TextAreaField(_l("正文"), render_kw={"rows": 14})
    interpretation = TextAreaField(_l("政策解读"), render_kw={"rows": 5})
    procedure = TextAreaField(_l("办理流程"), render_kw={"rows": 3})
    benefit_mode = Choice(_l("兑现方式"), choices=_choices(LABELS["benefit_mode"], "—"))
    eligibility = FieldList(FormField(CriterionRow), label=_l("适用条件"))
    attachments = FieldList(FormField(AttachmentRow), label=_l("附件"))
    source_url = StringField(_l("来源链接"), render_kw={"inputmode": "url", "autocomplete": "off"})
    source_note = TextAreaField(_l("来源说明"), render_kw={"rows": 2})
    is_demo = BooleanField(_l("演示数据"))


class SiteForm(FlaskForm):
    name = StringField(_l("名称"))
    key = StringField(_l("标识"), description=_KEY_HINT)
    kind = Choice(_l("类型"), choices=_choices(LABELS["site_kind"], "—"),
                  description=_l("土地在地图上画边界（面），载体标出位置（点）"))
    region = Choice(_l("所属区域"), description=_REGION_HINT)
    address = StringField(_l("地址"))
    description = TextAreaField(_l("简介"), render_kw={"rows": 5})
    land_use = Choice(_l("用途"), choices=_choices(LABELS["land_use"], "—"))
    area_mu = Number(_l("面积（亩）"), description=_l("土地必填"))
    floor_area_m2 = Number(_l("建筑面积（平方米）"), description=_l("载体必填"))
    land_price_wan_per_mu = Number(_l("土地价格（万元/亩）"))
    rent_yuan_m2_month = Number(_l("租金（元/平方米·月）"))
    sale_price_yuan_m2 = Number(_l("售价（元/平方米）"))
    readiness = MultiCheckboxField(_l("七通一平"), choices=_choices(LABELS["readiness"]))
    power_kva = Number(_l("供电容量（千伏安）"))
    floor_load_kn_m2 = Number(_l("楼面荷载（千牛/平方米）"))
    ceiling_height_m = Number(_l("层高（米）"))
    floors = Whole(_l("层数"))
    min_investment_wan_per_mu = Number(_l("投资强度不低于（万元/亩）"))
    min_tax_wan_per_mu = Number(_l("亩均税收不低于（万元/亩）"))
    min_plot_ratio = Number(_l("容积率下限"))
    max_plot_ratio = Number(_l("容积率上限"))
    min_building_coverage = Number(_l("建筑系数不低于"))
    max_energy_t_per_wan = Number(_l("单位能耗不高于（吨标煤/万元）"))
    availability = Choice(_l("供应状态"), choices=_choices(LABELS["availability"], "—"))
    available_from = DateText(_l("可供应日期"))
    contact_name = StringField(_l("联系人"))
    contact_phone = StringField(_l("联系电话"), render_kw=_PHONE)
    chain_nodes = MultiCheckboxField(_l("面向的产业链环节"),
                                     description=_l("这块土地或这处载体适合引进哪些环节的项目"))
    is_demo = BooleanField(_l("演示数据"))
    geometry = TextAreaField(_l("位置"))  # drawn by the geometry_field macro


class OpportunityForm(FlaskForm):
    title = StringField(_l("标题"))
    key = StringField(_l("标识"), description=_KEY_HINT)
    kind = Choice(_l("类型"), choices=_choices(LABELS["opportunity_kind"], "—"))
    region = Choice(_l("所属区域"), description=_REGION_HINT)
    industry = Choice(_l("产业"))
    chain_node = Choice(_l("产业链环节"),
                        description=_l("这一机会补的是哪个环节；须属于上面选的产业"))
    amount_wan = Number(_l("金额（万元）"))
    publisher = StringField(_l("发布单位"))
    contact_name = StringField(_l("联系人"))
    contact_phone = StringField(_l("联系电话"), render_kw=_PHONE)
    published = DateText(_l("发布日期"))
    deadline = DateText(_l("截止日期"))
    status = Choice(_l("状态"), choices=[SelectChoice("open", _l("征集中")),
                                         SelectChoice("closed", _l("已结束"))])
    summary = TextAreaField(_l("摘要"), render_kw={"rows": 3})
    body = TextAreaField(_l("正文"), render_kw={"rows": 10})
    is_demo = BooleanField(_l("演示数据"))
    phases = FieldList(FormField(PhaseRow), label=_l("揭榜挂帅阶段"))


class MoveForm(FlaskForm):
    """One workflow button; the note is required for a return, the time optional for a
    publication."""

    action = HiddenField()
    note = TextAreaField(_l("退回说明"), render_kw={"rows": 2})
    publish_at = StringField(_l("定时发布"), render_kw={"type": "datetime-local"},
                             description=_l("留空立即发布；如 2026-12-01 09:00（北京时间）"))


class ButtonForm(FlaskForm):
    """Only the CSRF token: restore a version, mark a translation reviewed."""

    number = HiddenField()


# --- the specs -------------------------------------------------------------------------------


def _labels(form_class) -> dict[str, object]:
    out = {}
    for name in dir(form_class):
        unbound = getattr(form_class, name)
        if isinstance(unbound, UnboundField):
            out[name] = unbound.kwargs.get("label") or (unbound.args[0] if unbound.args else name)
    return out


@dataclass(frozen=True)
class Spec:
    """One kind of record as the editor shows it."""

    slug: str  # the URL part and endpoint prefix: /admin/content/policies/
    kind: str  # the record kind in seed.rules and portal.content
    title_field: str
    name: object  # 政策
    new_title: object  # 新建政策
    form: type
    translatable: tuple[str, ...]
    long_text: tuple[str, ...] = ()  # translated in a textarea
    date_field: str | None = None  # the date a generated key starts with
    labels: dict = field(default_factory=dict)

    @property
    def model(self):
        return workflow.MODELS[self.kind]

    @property
    def id_arg(self) -> str:
        return f"{self.kind}_id"

    def endpoint(self, view: str = "") -> str:
        return f"content.{self.slug}{'_' + view if view else ''}"

    def url(self, view: str = "", record_id: int | None = None, **args) -> str:
        if record_id is not None:
            args[self.id_arg] = record_id
        return url_for(self.endpoint(view), **args)

    def label(self, name: str) -> str:
        """A record field's label; ``en.title`` reads as English · 标题."""
        lang, _dot, rest = name.partition(".")
        if rest and lang in LANG_NAMES:
            return f"{LANG_NAMES[lang]} · {self.label(rest)}"
        return str(self.labels.get(name, name))


def _spec(**kw) -> Spec:
    return Spec(labels=_labels(kw["form"]) | {"geometry": _l("位置"), "key": _l("标识")}, **kw)


SPECS = {spec.slug: spec for spec in (
    _spec(slug="policies", kind="policy", title_field="title", name=_l("政策"),
          new_title=_l("新建政策"), form=PolicyForm, date_field="published",
          translatable=("title", "summary", "interpretation", "procedure", "source_note"),
          long_text=("summary", "interpretation", "procedure", "source_note")),
    _spec(slug="sites", kind="site", title_field="name", name=_l("土地与载体"),
          new_title=_l("新建土地或载体"), form=SiteForm,
          translatable=("name", "address", "description"), long_text=("description",)),
    _spec(slug="opportunities", kind="opportunity", title_field="title", name=_l("机会"),
          new_title=_l("新建机会"), form=OpportunityForm, date_field="published",
          translatable=("title", "summary", "body", "publisher"),
          long_text=("summary", "body")),
)}


# --- form ↔ record ---------------------------------------------------------------------------


def form_data(spec: Spec, record: dict) -> dict:
    """What the form shows for a stored record."""
    data = dict(record)
    if "eligibility" in data:
        data["eligibility"] = [{**c, "value": _criterion_text(c.get("value"))}
                               for c in data["eligibility"]]
    if spec.kind == "site" and data.get("geometry"):
        data["geometry"] = json.dumps(data["geometry"], ensure_ascii=False)
    return data


def pad_rows(form) -> None:
    """A few empty rows after the filled ones, to add a criterion or an attachment."""
    for name in ROWS:
        rows = getattr(form, name, None)
        if rows is None:
            continue
        blank = sum(1 for entry in rows if not any((v or "").strip() for v in
                                                   entry.form.data.values()))
        for _i in range(max(0, BLANK_ROWS - blank)):
            rows.append_entry()


def _criterion_text(value) -> str:
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return _plain(value)


@dataclass
class Built:
    """A record read from the form, and the messages that belong to no single form field:
    ``eligibility`` and ``attachments`` (the row tables), ``geometry`` (the map) and None
    (the page as a whole). A field's own messages are on the field (``field.errors``)."""

    record: dict
    problems: dict[str | None, list[str]] = field(default_factory=dict)

    def add(self, name: str | None, message: str) -> None:
        self.problems.setdefault(name, []).append(message)


def build_record(spec: Spec, form, row=None, upload=None) -> Built:
    """The record the posted form describes. ``row`` is the stored record when editing (its
    key and translations are kept); ``upload`` a site's GeoJSON file, if one was sent."""
    required = set(rules.ITEM_SCHEMAS[spec.kind].get("required", ()))
    built = Built({})
    record = built.record
    for f in form:
        name = f.name
        if name in ("csrf_token", "key", "geometry") or name in ROWS:
            continue
        if f.errors:  # a number that does not read as one: its message is on the field
            continue
        value = _value(f)
        if value in (None, "", []) and not (value == "" and name in required
                                             and _is_text(f)):
            continue  # an empty optional field, or a missing choice: the rules name it
        limit = _length(spec, name)
        if isinstance(value, str) and limit and len(value) > limit:
            f.errors = [*f.errors, _("不能超过 %(max)d 个字符", max=limit)]
            continue
        record[name] = value
    for name in ROWS:
        if hasattr(form, name):
            rows = [_row(name, entry.form.data) for entry in getattr(form, name)]
            rows = [r for r in rows if r]
            if rows:
                record[name] = rows
    if spec.kind == "site":
        _read_geometry(form, record, built, upload)
    record["key"] = row.key if row is not None else _key(spec, form, record)
    translations = dict(row.translations or {}) if row is not None else {}
    if translations:
        record["translations"] = translations
    return built


def _length(spec: Spec, name: str) -> int | None:
    """The column's length limit: the rules set none, the database does."""
    column = spec.model.__table__.columns.get(name)
    return getattr(column.type, "length", None) if column is not None else None


def _is_text(f) -> bool:
    return isinstance(f, StringField) and not isinstance(f, DateText)


def _value(f):
    if isinstance(f, BooleanField):
        return bool(f.data)
    if isinstance(f, MultiCheckboxField):
        return list(f.data or [])
    if isinstance(f, Whole):
        return f.data
    if isinstance(f, Number):
        return float(f.data) if f.data is not None else None
    return clean(f.data)


def _row(name: str, data: dict) -> dict:
    row = {k: clean(v) for k, v in data.items()}
    row = {k: v for k, v in row.items() if v}
    if name == "eligibility" and "value" in row:
        row["value"] = _criterion_value(row.get("field", ""), row.get("op", ""), row["value"])
    return row


def _criterion_value(name: str, op: str, text: str):
    """A criterion's value as the matcher reads it: a list for in/not_in, a number for a
    numeric field."""
    parts = [p for p in _LIST_SEPARATORS.split(text) if p]
    if op in ("in", "not_in"):
        return [_number(name, p) for p in parts]
    return _number(name, text)


def _number(name: str, text: str):
    if name not in NUMBER_FIELDS:
        return text
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return text  # the matcher ignores what it cannot compare; the text stays visible
    if name in INTEGER_FIELDS or number.is_integer():
        return int(number)
    return number


def _read_geometry(form, record: dict, built: Built, upload) -> None:
    kind = record.get("kind") or "parcel"
    try:
        if upload is not None and upload.filename:
            record["geometry"] = site_geometry.geometry_from_upload(
                upload.read(site_geometry.MAX_GEOJSON_BYTES + 1), kind)
        else:
            record["geometry"] = site_geometry.geometry_from_text(clean(form.geometry.data),
                                                                  kind)
    except site_geometry.GeometryError as exc:
        built.add("geometry", str(exc))
    else:
        form.geometry.data = json.dumps(record["geometry"], ensure_ascii=False)


def _key(spec: Spec, form, record: dict) -> str:
    """The key staff typed, or one made of the record's date, any Latin letters or digits in
    its title, and a random tail (so two drafts of one day never collide)."""
    typed = clean(form.key.data)
    if typed:
        return typed
    day = record.get(spec.date_field) if spec.date_field else None
    if not (isinstance(day, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)):
        day = workflow.now().date().isoformat()
    words = re.sub(r"[^a-z0-9]+", "-", str(record.get(spec.title_field, "")).lower())
    return "-".join(filter(None, [day, words.strip("-")[:40], secrets.token_hex(3)]))


def place_problems(spec: Spec, form, problems, built: Built) -> None:
    """Attach each rule's Problem to its form field: ``eligibility.op`` to the criteria
    table, ``geometry`` to the map, a field the form does not have (``translations.en``) or
    none to the page. A field that already shows the form's own message (a number that does
    not read) gets no second one from the rules."""
    said = {f.name for f in form if f.errors} | set(built.problems)
    for problem in problems:
        name = (problem.field or "").split(".")[0] or None
        if name in said:
            continue
        target = getattr(form, name, None) if name else None
        if name in ROWS or name == "geometry":
            built.add(name, problem.message)
        elif target is not None and name != "csrf_token":
            target.errors = [*target.errors, problem.message]
        elif problem.field:
            built.add(None, _("%(field)s：%(message)s", field=spec.label(problem.field),
                              message=problem.message))
        else:
            built.add(None, problem.message)


# --- translations ----------------------------------------------------------------------------


def translation_status(spec: Spec, row, lang: str) -> dict[str, str]:
    """Field → "missing", "machine" or "reviewed" in ``lang``, for the fields that have
    Chinese text. A block that does not say who made it counts as not yet reviewed."""
    block = (row.translations or {}).get(lang) or {}
    reviewed = block.get("_source") == "human"
    out = {}
    for name in spec.translatable:
        if not (getattr(row, name, None) or "").strip():
            continue  # nothing to translate
        if not str(block.get(name) or "").strip():
            out[name] = "missing"
        else:
            out[name] = "reviewed" if reviewed else "machine"
    return out


def overall(status: dict[str, str]) -> str:
    for state in ("missing", "machine"):
        if state in status.values():
            return state
    return "reviewed" if status else ""


def translation_form(spec: Spec, row, lang: str):
    """The fields of ``lang``'s block, each a text box (a textarea for long text) whose hint
    gives its status and the Chinese it translates."""
    status = translation_status(spec, row, lang)
    attrs = {}
    for name in spec.translatable:
        hint = _("%(status)s · 中文原文：%(text)s",
                 status=TRANSLATION_LABELS[status[name]] if name in status else "—",
                 text=getattr(row, name, "") or "—")
        attrs[name] = (TextAreaField(spec.labels[name], render_kw={"rows": 5}, description=hint)
                       if name in spec.long_text else
                       StringField(spec.labels[name], description=hint))
    form_class = type(f"{spec.kind.title()}TranslationForm", (FlaskForm,), attrs)
    block = (row.translations or {}).get(lang) or {}
    return form_class(data={name: block.get(name, "") for name in spec.translatable})


def with_translation(spec: Spec, row, lang: str, texts: dict[str, str] | None,
                     today: date) -> dict:
    """The row's record with ``lang``'s block replaced by ``texts`` (None: the same text),
    marked as made or checked by a person today."""
    record = rules.to_record(spec.kind, row)
    translations = {k: dict(v) for k, v in (record.get("translations") or {}).items()}
    block = dict(translations.get(lang) or {})
    if texts is not None:
        for name in spec.translatable:
            text = clean(texts.get(name))
            if text:
                block[name] = text
            else:
                block.pop(name, None)
    if any(not k.startswith("_") for k in block):
        block.update({"_source": "human", "_date": today.isoformat()})
        translations[lang] = block
    else:
        translations.pop(lang, None)
    record["translations"] = translations
    if not translations:
        record.pop("translations")
    return record


def publication_label(row) -> str:
    return str(STATE_LABELS.get(row.publication, row.publication))
