"""Bulk import of policies, sites and opportunities from a spreadsheet or a GeoJSON file.

Three steps, none of them a view:

- ``read`` turns an uploaded file (CSV in UTF-8 with or without a byte-order mark, or GB18030
  as Excel on Chinese Windows saves it; XLSX, first sheet; GeoJSON FeatureCollection of
  sites) into ``Row``s: one record in the pack's format per line of the sheet, with what could
  not be read in it (an unreadable number or date is a problem of that row and column). The
  header row holds machine names, one column per record field; translations are columns like
  ``title_en``; a site's position is ``longitude`` and ``latitude`` (a point) or ``geometry``
  (GeoJSON text). A line whose first cell starts with ``#`` is a comment (the template's
  second line explains each column in Chinese).
- ``check`` asks the same rules as the pack loader and the forms (``seed.rules``) about every
  row, and adds what only a file can get wrong: a key twice in the file, a key that already
  names a record the user may not change, a region outside the user's scope. Nothing is
  written; the report lists (row as the sheet shows it, column, message).
- ``apply`` writes through ``workflow.save`` in the caller's transaction: a new key becomes a
  draft, an existing key updates that record when the user may edit it (reviewers: any
  record; region staff: their region's drafts), with the columns the file has; columns it
  lacks keep their stored values. Mode "all" writes nothing when any row has a problem; mode
  "valid" writes the rows without one. The whole import is one audit event
  (``content_import``); each record keeps a version with action "import".

``template`` gives the file a clerk fills in, and ``stash``/``claim`` keep an upload in the
database between the report and the confirmation, so the confirmation carries only a token
and may reach another node than the report.
"""

import copy
import csv
import hashlib
import io
import json
import math
import re
import secrets
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.audit import record as audit
from portal.exports import FORMULA_STARTS, csv_text, xlsx_value
from portal.extensions import db
from portal.i18n import LANGUAGE_NAMES
from portal.labels import LABELS
from portal.models import ImportStash, utcnow
from portal.scoping import scoped
from portal.sites import geometry as site_geometry
from seed import rules, schema
from seed.rules import Problem

from . import workflow
from .schedule import CHINA

EXTENSIONS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".geojson": "geojson",
              ".json": "geojson"}
MODES = ("all", "valid")
MAX_BYTES = 10 * 2**20
MAX_ROWS = 20_000
MAX_COLUMNS = 300
MAX_UNPACKED = 20 * MAX_BYTES
STASH_SECONDS = 3600
LANGS = schema._LANGS
LIST_SEPARATORS = re.compile(r"[;；、]")
COMMENT = "#"
SITE_KINDS = tuple(schema._SITE_PROPERTIES["properties"]["kind"]["enum"])
# The fields a translation column may fill, per kind (what the pages show translated).
TRANSLATED = {
    "policy": ("title", "summary", "body", "interpretation", "procedure", "source_note"),
    "site": ("name", "address", "description"),
    "opportunity": ("title", "summary", "body", "publisher"),
}
SKIPPED = ("translations", "geometry", "body_file")  # not a column of their own
TRANSLATION_META = ("_source", "_date")

# The words of the back-office forms, so a clerk reads the same name in the form and the sheet.
FIELD_LABELS = {
    "key": _l("标识"), "title": _l("标题"), "doc_number": _l("文号"), "issuer": _l("发布机关"),
    "level": _l("层级"), "region": _l("所属区域"), "published": _l("发布日期"),
    "effective_from": _l("施行日期"), "effective_to": _l("有效期至"), "status": _l("状态"),
    "comment_until": _l("意见征集截止日期"), "topics": _l("主题"), "industries": _l("产业"),
    "summary": _l("摘要"), "body": _l("正文"), "interpretation": _l("政策解读"),
    "procedure": _l("办理流程"), "benefit_mode": _l("兑现方式"),
    "eligibility": _l("适用条件（JSON）"), "attachments": _l("附件（JSON）"),
    "phases": _l("揭榜挂帅阶段（JSON）"),
    "source_url": _l("来源链接"), "source_note": _l("来源说明"), "is_demo": _l("演示数据"),
    "kind": _l("类型"), "name": _l("名称"), "address": _l("地址"), "description": _l("简介"),
    "land_use": _l("用途"), "area_mu": _l("面积（亩）"),
    "floor_area_m2": _l("建筑面积（平方米）"), "land_price_wan_per_mu": _l("土地价格（万元/亩）"),
    "rent_yuan_m2_month": _l("租金（元/平方米·月）"), "sale_price_yuan_m2": _l("售价（元/平方米）"),
    "readiness": _l("七通一平"), "power_kva": _l("供电容量（千伏安）"),
    "floor_load_kn_m2": _l("楼面荷载（千牛/平方米）"), "ceiling_height_m": _l("层高（米）"),
    "floors": _l("层数"), "min_investment_wan_per_mu": _l("投资强度不低于（万元/亩）"),
    "min_tax_wan_per_mu": _l("亩均税收不低于（万元/亩）"), "min_plot_ratio": _l("容积率下限"),
    "max_plot_ratio": _l("容积率上限"), "min_building_coverage": _l("建筑系数不低于"),
    "max_energy_t_per_wan": _l("单位能耗不高于（吨标煤/万元）"), "availability": _l("供应状态"),
    "available_from": _l("可供应日期"), "contact_name": _l("联系人"),
    "contact_phone": _l("联系电话"), "industry": _l("产业"), "amount_wan": _l("金额（万元）"),
    "publisher": _l("发布单位"), "deadline": _l("截止日期"), "longitude": _l("经度"),
    "latitude": _l("纬度"), "geometry": _l("位置（GeoJSON）"), "_source": _l("译文来源"),
    "_date": _l("译文日期"),
}
KIND_LABELS = {("policy", "region"): _l("适用区域"), ("policy", "status"): _l("效力状态")}
# Codes a column accepts, shown and also accepted as their Chinese labels.
CHOICE_LABELS = {
    ("policy", "level"): LABELS["policy_level"],
    ("policy", "status"): LABELS["policy_status"],
    ("policy", "benefit_mode"): LABELS["benefit_mode"],
    ("site", "kind"): LABELS["site_kind"],
    ("site", "land_use"): LABELS["land_use"],
    ("site", "availability"): LABELS["availability"],
    ("site", "readiness"): LABELS["readiness"],
    ("opportunity", "kind"): LABELS["opportunity_kind"],
    ("opportunity", "status"): {"open": _l("征集中"), "closed": _l("已结束")},
}
SOURCE_LABELS = {"human": _l("人工审校"), "machine": _l("机器翻译")}
TRUE = ("是", "true", "yes", "y", "1", "对", "√")
FALSE = ("否", "false", "no", "n", "0", "不是", "×")
_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                        r"(?:[ T]00:00(?::00)?)?$")
_STASH_NAME = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


class FileRefused(Exception):
    """The file as a whole cannot be read; the message says what to do, in the user's
    language."""


class Refused(Exception):
    """Mode "all": a row failed while writing (the database changed since the check); the
    caller rolls back. Carries the report."""

    def __init__(self, report: "Report"):
        super().__init__(report)
        self.report = report


# --- columns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    kind: str  # policy, site or opportunity
    name: str  # the header
    field: str  # the record field; "translations.<lang>.<field>" for a translation
    type: str  # text, number, integer, date, bool, enum, list, json, coordinate, geometry
    choices: tuple = ()
    required: str = ""  # "" or what says when it is required

    def label(self) -> str:
        if self.field.startswith("translations."):
            _t, lang, name = self.field.split(".", 2)
            return _("%(field)s（%(language)s）", field=_field_label(self.kind, name),
                     language=LANGUAGE_NAMES[lang])
        return _field_label(self.kind, self.field)


def _field_label(kind: str, name: str) -> str:
    return str(KIND_LABELS.get((kind, name)) or FIELD_LABELS.get(name, name))


def _type(spec: dict) -> tuple[str, tuple]:
    if "enum" in spec:
        return "enum", tuple(spec["enum"])
    kind = spec.get("type")
    if kind == "array":
        items = spec.get("items", {})
        if items.get("type") == "object":
            return "json", ()
        return "list", tuple(items.get("enum", ()))
    if kind in ("number", "integer"):
        return kind, ()
    if kind == "boolean":
        return "bool", ()
    if spec.get("pattern") == schema._DATE["pattern"]:
        return "date", ()
    return "text", ()


def _required(kind: str, name: str) -> str:
    if name in rules.ITEM_SCHEMAS[kind].get("required", ()) or (kind, name) == ("policy", "body"):
        return _("必填")
    if (kind, name) == ("site", "area_mu"):
        return _("土地必填")
    if (kind, name) == ("site", "floor_area_m2"):
        return _("载体必填")
    return ""


def columns(kind: str) -> list[Column]:
    """The template's columns for ``kind``, in order: the record's fields as the schema lists
    them, a site's position, then each language's translations and who made them."""
    found = []
    for name, spec in rules.ITEM_SCHEMAS[kind]["properties"].items():
        if name in SKIPPED:
            continue
        kind_of, choices = _type(spec)
        found.append(Column(kind, name, name, kind_of, choices, _required(kind, name)))
    if kind == "site":
        found += [Column(kind, "longitude", "longitude", "coordinate"),
                  Column(kind, "latitude", "latitude", "coordinate"),
                  Column(kind, "geometry", "geometry", "geometry")]
    for lang in LANGS:
        found += [Column(kind, f"{name}_{lang}", f"translations.{lang}.{name}", "text")
                  for name in TRANSLATED[kind]]
        found += [Column(kind, f"_source_{lang}", f"translations.{lang}._source", "enum",
                         tuple(schema._SOURCES)),
                  Column(kind, f"_date_{lang}", f"translations.{lang}._date", "date")]
    return found


def column_name(kind: str, field_name: str | None) -> str:
    """The column a problem's field is in, as the header names it."""
    if not field_name:
        return ""
    if field_name.startswith("translations."):
        parts = field_name.split(".")
        if len(parts) >= 3:
            return f"{parts[2]}_{parts[1]}"
    return field_name.split(".")[0]


def choice_labels(kind: str, column: Column) -> dict:
    if column.field.endswith("._source"):
        return SOURCE_LABELS
    return CHOICE_LABELS.get((kind, column.field), {})


# --- reading -----------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the file: its number as the sheet shows it (the header is row 1; 0 is the
    file as a whole), the record read from it (None for the header or the file), the fields
    the file gives (an update keeps the others) and what could not be read."""

    number: int
    record: dict | None
    covers: frozenset = frozenset()
    problems: list[Problem] = field(default_factory=list)


def format_of(filename: str) -> str | None:
    return EXTENSIONS.get(Path(filename or "").suffix.lower())


def read(kind: str, filename: str, data: bytes) -> list[Row]:
    """The rows of an uploaded file; FileRefused when it cannot be read at all."""
    if kind not in rules.KINDS:
        raise FileRefused(_("未知的数据类型"))
    fmt = format_of(filename)
    if fmt is None:
        raise FileRefused(_("只能导入 .csv、.xlsx 或 .geojson 文件，请使用下载的模板"))
    if len(data) > MAX_BYTES:
        raise FileRefused(_("文件超过 %(mb)d MB，请拆分后分批导入", mb=MAX_BYTES // 2**20))
    if not data.strip():
        raise FileRefused(_("文件是空的，请选择填好的模板"))
    if fmt == "geojson":
        return _read_geojson(kind, data)
    table = _csv_table(data) if fmt == "csv" else _xlsx_table(data)
    return _read_table(kind, table)


def _csv_table(data: bytes):
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16, tabs
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileRefused(_("无法识别文件的字符编码，请在 Excel 中另存为“CSV UTF-8”后再导入"))
    first = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first.count)
    try:
        return [(number, values) for number, values in enumerate(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1)
            if not _empty(values)]
    except csv.Error as exc:
        raise FileRefused(_("CSV 文件无法解析（%(error)s），请在 Excel 中重新另存为 CSV",
                            error=exc)) from exc


def _not_xlsx() -> FileRefused:
    return FileRefused(_("文件不是有效的 Excel 工作簿（.xlsx），请用 Excel 或 WPS 另存为 "
                         ".xlsx 后再导入"))


def _xlsx_table(data: bytes):
    """The first sheet's rows that hold something, with their numbers; reading stops once
    there are more data rows than allowed."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _not_xlsx() from exc
    if unpacked > MAX_UNPACKED:  # a small file that unpacks to gigabytes
        raise FileRefused(_("文件内容过大，请拆分后分批导入"))
    table, counted = [], 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on styles it cannot read
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0]
                sheet.reset_dimensions()  # trust the cells, not the file's stated size
                for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                    if _empty(values):
                        continue
                    table.append((number, list(values[:MAX_COLUMNS])))
                    counted += not _is_comment(values)
                    if counted > MAX_ROWS + 1:  # the header and one row too many
                        break
            finally:
                book.close()
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError,
            IndexError, OSError) as exc:
        raise _not_xlsx() from exc
    return table


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _empty(values) -> bool:
    return all(_blank(v) for v in values)


def _is_comment(values) -> bool:
    return bool(values) and isinstance(values[0], str) and values[0].lstrip().startswith(COMMENT)


def _read_table(kind: str, table: list[tuple[int, list]]) -> list[Row]:
    """Rows from (row number, cells) pairs, the first of them the header."""
    if not table:
        raise FileRefused(_("文件是空的，请选择填好的模板"))
    by_name = {c.name: c for c in columns(kind)}
    header, problems, used = [], [], set()
    header_number, header_cells = table[0]
    for cell in header_cells:
        name = "" if cell is None else str(cell).strip().lstrip("\ufeff").lower()
        if not name:
            header.append(None)
        elif name not in by_name:
            header.append(None)
            problems.append(Problem(name, _(
                "无法识别的列 %(name)s：请改用模板中的列名，或删除这一列", name=name)))
        elif name in used:
            header.append(None)
            problems.append(Problem(name, _("列 %(name)s 出现了两次，请删除其中一列", name=name)))
        else:
            header.append(by_name[name])
            used.add(name)
    if "key" not in used:
        problems.append(Problem("key", _("表头缺少 key 列：第一行应是模板中的列名")))
    covers = frozenset(_covered(c) for c in header if c is not None)
    rows = [Row(header_number, None, problems=problems)]
    for number, values in table[1:]:
        if _is_comment(values):
            continue
        if len(rows) > MAX_ROWS:
            raise FileRefused(_("文件超过 %(n)d 行，请拆分后分批导入", n=MAX_ROWS))
        record, found = _record(kind, zip(header, values, strict=False))
        rows.append(Row(number, record, covers, found))
    if len(rows) == 1:
        raise FileRefused(_("文件里没有数据行，请在表头下方逐行填写"))
    return rows


def _covered(column: Column) -> str:
    return "geometry" if column.type in ("coordinate", "geometry") else column.field


def _record(kind: str, cells) -> tuple[dict, list[Problem]]:
    """One record from (column, cell) pairs; cells that cannot be read are problems."""
    record, found, position = {}, [], {}
    for column, value in cells:
        if column is None or _blank(value):
            continue
        try:
            parsed = _cell(kind, column, value)
        except ValueError as exc:
            found.append(Problem(column.field, str(exc)))
            continue
        if column.type in ("coordinate", "geometry"):
            position[column.name] = parsed
        elif column.field.startswith("translations."):
            _t, lang, name = column.field.split(".", 2)
            record.setdefault("translations", {}).setdefault(lang, {})[name] = parsed
        else:
            record[column.field] = parsed
    if kind == "site":
        geometry = _position(record.get("kind"), position, found)
        if geometry is not None:
            record["geometry"] = geometry
    return record, found


def _position(site_kind, position: dict, found: list[Problem]) -> dict | None:
    """A site's geometry from its ``geometry`` cell, else from longitude and latitude."""
    if "geometry" in position:
        return _geometry(site_kind, position["geometry"], found)
    lon, lat = position.get("longitude"), position.get("latitude")
    if lon is None and lat is None:
        return None
    if lon is None or lat is None:
        missing = "longitude" if lon is None else "latitude"
        found.append(Problem(missing, _("经度和纬度要一起填写；土地请填写 geometry 列的边界")))
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def _geometry(site_kind, text: str, found: list[Problem]) -> dict | None:
    """GeoJSON text (a geometry, a feature or a collection of one) read by the map editor's
    own reader, so the sheet and the form give the same message. Read only once the site's
    kind is known: a kind the rules refuse is the problem to fix first."""
    if site_kind not in SITE_KINDS:
        return None
    try:
        return site_geometry.geometry_from_text(text, site_kind)
    except site_geometry.GeometryError as exc:
        found.append(Problem("geometry", str(exc)))
        return None


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        value = value.isoformat()
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text.strip():
        text = text.strip()  # a single line: stray spaces around it are noise
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]  # the quote our own exports put before a formula-like text
    return text


def _cell(kind: str, column: Column, value):
    """A cell's value as the record holds it; ValueError says what to write instead."""
    reader = READERS[column.type]
    return reader(kind, column, value)


def _read_text(kind, column, value):
    return _text(value)


def _number(value, integer: bool = False):
    if isinstance(value, bool):
        raise ValueError(_("应填写数字，如 12.5"))
    if isinstance(value, int | float):
        number = value
    else:
        text = unicodedata.normalize("NFKC", _text(value))
        text = re.sub(r"[,\s]", "", text).replace("。", ".")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(_("“%(value)s”不是数字，请只填写数字，如 12.5",
                               value=_text(value)[:40])) from None
    if not math.isfinite(number):
        raise ValueError(_("“%(value)s”不是数字，请只填写数字，如 12.5", value=_text(value)[:40]))
    if integer:
        if not float(number).is_integer():
            raise ValueError(_("应填写整数，如 3"))
        return int(number)
    return number


def _read_number(kind, column, value):
    return _number(value, integer=column.type == "integer")


def _read_date(kind, column, value):
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 < value < 2958466:
        from openpyxl.utils.datetime import from_excel

        return from_excel(value).date().isoformat()  # an Excel serial day number
    text = unicodedata.normalize("NFKC", _text(value))
    match = _DATE_TEXT.match(text)
    try:
        if match is None:
            raise ValueError
        return date(*map(int, match.groups())).isoformat()
    except ValueError:
        raise ValueError(_("“%(value)s”不是有效日期，请按 YYYY-MM-DD 填写，如 2026-01-05",
                           value=text[:40])) from None


def _read_bool(kind, column, value):
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", _text(value)).lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(_("请填写“是”或“否”"))


def _choice(kind, column, text: str) -> str:
    """A code as it stands, or the code whose Chinese label the clerk wrote; anything else is
    left for the shared rules to name with the allowed values."""
    if text in column.choices:
        return text
    if text.lower() in column.choices:
        return text.lower()
    for code, label in choice_labels(kind, column).items():
        if text == str(label):
            return code
    return text


def _read_enum(kind, column, value):
    return _choice(kind, column, _text(value))


def _read_list(kind, column, value):
    if isinstance(value, list):
        return value
    items = [item.strip() for item in LIST_SEPARATORS.split(_text(value))]
    return [_choice(kind, column, item) if column.choices else item for item in items if item]


def _read_json(kind, column, value):
    if isinstance(value, list):
        return value
    try:
        parsed = json.loads(_text(value))
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, list):
        raise ValueError(_("应为 JSON 数组，如 [{\"title\": \"附件\", \"url\": \"https://…\"}]；"
                           "不需要可留空"))
    return parsed


def _read_geometry(kind, column, value):
    return _text(value)  # read with the site's kind, in _position


READERS = {
    "text": _read_text, "number": _read_number, "integer": _read_number,
    "coordinate": _read_number, "date": _read_date, "bool": _read_bool, "enum": _read_enum,
    "list": _read_list, "json": _read_json, "geometry": _read_geometry,
}


def _read_geojson(kind: str, data: bytes) -> list[Row]:
    if kind != "site":
        raise FileRefused(_("GeoJSON 文件只能导入土地和载体；政策和机会请用 CSV 或 Excel 模板"))
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FileRefused(_("文件不是有效的 GeoJSON，请选择 GIS 软件导出的 .geojson 或 .json "
                            "文件")) from exc
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(features, list):
        raise FileRefused(_("GeoJSON 文件应为要素集合（FeatureCollection），每个要素一块土地"
                            "或一处载体"))
    if not features:
        raise FileRefused(_("文件里没有要素，请在 GIS 软件中检查后重新导出"))
    if len(features) > MAX_ROWS:
        raise FileRefused(_("文件超过 %(n)d 行，请拆分后分批导入", n=MAX_ROWS))
    by_name = {c.name: c for c in columns(kind)}
    unknown: set[str] = set()
    rows = [Row(0, None)]
    for number, feature in enumerate(features, 1):
        if not isinstance(feature, dict):
            rows.append(Row(number, {}, problems=[Problem(None, _("不是 GeoJSON 要素"))]))
            continue
        properties = feature.get("properties") or {}
        cells, given_translations = [], None
        for name, value in properties.items() if isinstance(properties, dict) else ():
            if name == "translations":
                given_translations = value
            elif name in by_name and by_name[name].type not in ("coordinate", "geometry"):
                cells.append((by_name[name], value))
            else:
                unknown.add(str(name))
        record, found = _record(kind, cells)
        if given_translations is not None:
            record["translations"] = given_translations
        # One feature at a time through the reader the form uses, with the file's CRS.
        single = {"type": "Feature", "geometry": feature.get("geometry")}
        if document.get("crs") is not None:
            single["crs"] = document["crs"]
        geometry = _geometry(record.get("kind"), json.dumps(single), found)
        if geometry is not None:
            record["geometry"] = geometry
        covers = {_covered(c) for c, _v in cells} | {"geometry", "key"}
        if given_translations is not None:
            covers.add("translations")
        rows.append(Row(number, record, frozenset(covers), found))
    rows[0].problems = [Problem(name, _("无法识别的属性 %(name)s：请在 GIS 软件中删除该字段，或改用"
                                        "模板中的字段名", name=name)) for name in sorted(unknown)]
    return rows


# --- checking ----------------------------------------------------------------------------


@dataclass
class Checked:
    """A row after the checks: the record to save (an update merged with the stored one),
    the stored row it updates, and every problem."""

    number: int
    record: dict | None
    target: object = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Issue:
    row: int
    column: str
    message: str


@dataclass
class Report:
    kind: str
    rows: list[Checked]
    filename: str = ""
    written: int = 0

    @property
    def data(self) -> list[Checked]:
        return [c for c in self.rows if c.record is not None]

    @property
    def valid(self) -> list[Checked]:
        return [c for c in self.data if not c.problems]

    @property
    def refused(self) -> list[Checked]:
        return [c for c in self.data if c.problems]

    @property
    def blocked(self) -> bool:
        """The file itself has a problem (an unknown column): nothing is written."""
        return any(c.problems for c in self.rows if c.record is None)

    @property
    def updates(self) -> int:
        return sum(1 for c in self.valid if c.target is not None)

    @property
    def issues(self) -> list[Issue]:
        return [Issue(c.number, column_name(self.kind, p.field), p.message)
                for c in self.rows for p in c.problems]

    def writes(self, mode: str) -> int:
        """How many records ``apply`` in ``mode`` would write."""
        if self.blocked or (mode == "all" and self.refused):
            return 0
        return len(self.valid)


def check(user, kind: str, rows: list[Row]) -> Report:
    """Every row against the shared rules, the file and the user's scope; writes nothing."""
    known = rules.Known.from_database()
    names = _names(known)
    model = workflow.MODELS[kind]
    keys = sorted({r.record["key"] for r in rows
                   if r.record is not None and isinstance(r.record.get("key"), str)})
    stored, mine = {}, set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        stored.update({row.key: row for row in db.session.scalars(
            db.select(model).where(model.key.in_(chunk)))})
        mine.update(db.session.scalars(scoped(
            user, model, db.select(model.id).where(model.key.in_(chunk)))))
    first_row: dict[str, int] = {}
    checked = []
    for row in rows:
        if row.record is None:
            checked.append(Checked(row.number, None, problems=list(row.problems)))
            continue
        record = _resolve(kind, row.record, names)
        found = list(row.problems)
        key, target = record.get("key"), None
        if isinstance(key, str) and key in first_row:
            found.append(Problem("key", _("与第 %(row)d 行的标识重复，同一个标识只能出现一次",
                                          row=first_row[key])))
        elif isinstance(key, str):
            first_row[key] = row.number
            target = stored.get(key)
        if target is not None and (target.id not in mine or not workflow.can_edit(user, target)):
            # Taken by a record this user may not change: the key is the one thing to fix.
            found.append(Problem("key", _("这个标识已被其他记录使用，请换一个标识")
                                 if target.id not in mine
                                 else _("提交审核后或发布后，只有审核人员可以修改")))
            checked.append(Checked(row.number, record, None, _distinct(found)))
            continue
        stored_record = rules.to_record(kind, target) if target is not None else None
        if stored_record is not None:
            record = _merge(stored_record, record, row.covers)
        _stamp(record, stored_record, _given_meta(row.record))
        found += _rule_problems(user, kind, record, known, {p.field for p in found})
        checked.append(Checked(row.number, record, target, _distinct(found)))
    return Report(kind, checked)


def _rule_problems(user, kind, record, known, already: set) -> list[Problem]:
    """The shared rules' problems and the scope rule of ``workflow.save``, leaving out
    fields already reported (an unreadable number is not also "missing")."""
    found = [p for p in rules.check(kind, record, known) if p.field not in already]
    if not any(p.field == "region" for p in found) and "region" not in already:
        found += workflow._scope_problems(user, record, known)
    return found


def _distinct(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if (p.field, p.message) not in seen:
            seen.add((p.field, p.message))
            out.append(p)
    return out


def _names(known: rules.Known) -> dict[str, dict[str, str]]:
    """Chinese name → slug for regions, topics and industries, where the name is unique."""
    found = {}
    for pool_name in ("regions", "topics", "industries"):
        pool, by_name = getattr(known, pool_name), {}
        for slug, row in pool.items():
            name = getattr(row, "name", None)
            if name:
                by_name[name] = None if name in by_name else slug
        found[pool_name] = {n: s for n, s in by_name.items() if s is not None}
    return found


def _resolve(kind: str, record: dict, names: dict) -> dict:
    """A copy of ``record`` in which a region, topic or industry written as its Chinese name
    becomes its slug."""
    record = copy.deepcopy(record)
    singles = {"region": "regions", "industry": "industries"}
    for name, pool in singles.items():
        if isinstance(record.get(name), str):
            record[name] = names[pool].get(record[name], record[name])
    if kind == "policy":
        for name in ("topics", "industries"):
            if isinstance(record.get(name), list):
                record[name] = [names[name].get(v, v) if isinstance(v, str) else v
                                for v in record[name]]
    return record


def _merge(stored: dict, record: dict, covers: frozenset) -> dict:
    """The stored record with the fields the file gives replaced (an empty cell clears);
    the fields it has no column for stay as stored. Translation texts merge per language and
    field; who made them is settled by ``_stamp``."""
    merged = {k: v for k, v in stored.items() if k != "translations"}
    for name in covers:
        if "." in name or name == "translations":
            continue
        if name in record:
            merged[name] = record[name]
        else:
            merged.pop(name, None)
    if "translations" in covers:
        merged["translations"] = record.get("translations") or {}
        return merged
    blocks = {lang: dict(block) for lang, block in (stored.get("translations") or {}).items()}
    given = record.get("translations") or {}
    for name in covers:
        if not name.startswith("translations."):
            continue
        _t, lang, text_field = name.split(".", 2)
        if text_field in TRANSLATION_META:
            continue
        value = (given.get(lang) or {}).get(text_field)
        if value not in (None, ""):
            blocks.setdefault(lang, {})[text_field] = value
        else:
            (blocks.get(lang) or {}).pop(text_field, None)
    merged["translations"] = blocks
    return merged


def _texts(block) -> dict:
    return {k: v for k, v in (block or {}).items() if not str(k).startswith("_")}


def _given_meta(record: dict) -> dict:
    """What the file says about who made each language's translation, and when."""
    blocks = record.get("translations")
    if not isinstance(blocks, dict):
        return {}
    return {lang: {m: block[m] for m in TRANSLATION_META if block.get(m)}
            for lang, block in blocks.items() if isinstance(block, dict)}


def _stamp(record: dict, stored: dict | None, given: dict) -> None:
    """Who made each language's translation: what the file says; else, when its text
    changed, a person (the importing clerk) today; else what was stored. A language with
    no text left is dropped."""
    blocks = record.get("translations")
    if not isinstance(blocks, dict):
        return
    before = (stored or {}).get("translations") or {}
    today = workflow.now().astimezone(CHINA).date().isoformat()
    for lang in list(blocks):
        block, old, meta = blocks[lang], before.get(lang) or {}, given.get(lang) or {}
        if not isinstance(block, dict):
            continue
        if not _texts(block):
            del blocks[lang]
            continue
        changed = _texts(block) != _texts(old)
        stamps = {"_source": meta.get("_source") or ("human" if changed else old.get("_source")),
                  "_date": meta.get("_date") or (today if changed else old.get("_date"))}
        for name, value in stamps.items():
            if value:
                block[name] = value
            else:
                block.pop(name, None)
    if not blocks:
        del record["translations"]


# --- writing -----------------------------------------------------------------------------


def apply(user, kind: str, rows: list[Row], mode: str = "all", *, filename: str = "") -> Report:
    """Check the rows again (the database may have changed since the report) and write them
    through ``workflow.save`` in the caller's transaction, with one audit event for the
    whole import. Mode "all": nothing is written when any row has a problem. The caller
    commits; on Refused it rolls back."""
    if mode not in MODES:
        raise ValueError(mode)
    report = check(user, kind, rows)
    report.filename = filename
    if report.writes(mode):
        for item in report.valid:
            try:
                workflow.save(user, kind, item.record, row=item.target, action="import",
                              audited=False)
            except workflow.Invalid as exc:
                item.problems = list(exc.problems)
            except workflow.ContentError as exc:
                item.problems = [Problem(None, str(exc))]
            else:
                report.written += 1
            if item.problems and mode == "all":
                raise Refused(report)
    audit("content_import", kind, "", {
        "kind": kind, "file": (filename or "")[:120], "rows": len(report.data),
        "written": report.written, "refused": len(report.data) - report.written,
    }, actor=user)
    return report


# --- templates ---------------------------------------------------------------------------


def hint(kind: str, column: Column) -> str:
    """What to write in a column, in a sentence."""
    labels = choice_labels(kind, column)
    if column.type in ("enum", "list") and column.choices:
        allowed = "；".join(f"{code} {labels[code]}" if code in labels else code
                           for code in column.choices if code)
        if column.type == "list":
            return _("可填多个，用分号或顿号分隔：%(allowed)s", allowed=allowed)
        return _("填写其中之一：%(allowed)s", allowed=allowed)
    if column.field == "key":
        return _("字母、数字和 - _ .，同一类数据中唯一；已有的标识会更新那条记录")
    if column.field in ("region", "industry"):
        return _("填写标识或名称，见“可选值”表")
    if column.type == "list":
        return _("填写标识或名称，可填多个，用分号或顿号分隔，见“可选值”表")
    return {
        "date": _("YYYY-MM-DD，如 2026-01-05"),
        "number": _("只填数字，如 12.5"),
        "integer": _("只填整数，如 3"),
        "bool": _("填写“是”或“否”"),
        "json": _("JSON 数组，不需要可留空"),
        "coordinate": _("WGS-84 经纬度，用于厂房、楼宇等载体；土地请填 geometry 列"),
        "geometry": _("土地填边界的 GeoJSON（Polygon）；载体可改填经度、纬度"),
    }.get(column.type, "")


def _note(kind: str, column: Column) -> str:
    """The column's line in the template's second row: its name in Chinese, whether it is
    required, what to write."""
    parts = [column.label()]
    if column.required:
        parts.append(f"（{column.required}）")
    told = hint(kind, column)
    if told:
        parts += ["：", told]
    return "".join(parts)


def _cells(kind: str, record: dict, cols: list[Column]) -> list:
    """One record as template cells (what ``read`` reads back)."""
    geometry = record.get("geometry") if kind == "site" else None
    point = geometry.get("coordinates") if isinstance(geometry, dict) \
        and geometry.get("type") == "Point" else None
    out = []
    for column in cols:
        if column.field.startswith("translations."):
            _t, lang, name = column.field.split(".", 2)
            value = ((record.get("translations") or {}).get(lang) or {}).get(name)
        elif column.name == "longitude":
            value = point[0] if point else None
        elif column.name == "latitude":
            value = point[1] if point else None
        elif column.name == "geometry":
            value = json.dumps(geometry, ensure_ascii=False) if geometry and not point else None
        else:
            value = record.get(column.field)
        if isinstance(value, bool):
            value = "是" if value else "否"
        elif isinstance(value, list) and column.type == "list":
            value = ";".join(map(str, value))
        elif isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        out.append(value)
    return out


def template(kind: str, fmt: str, records=(), known: rules.Known | None = None) -> bytes:
    """The file a clerk fills in: machine names in the first row, what each column means in
    Chinese in the second (a comment row the importer skips), then ``records`` if given. The
    XLSX also explains each column and lists the allowed values on two more sheets."""
    cols = columns(kind)
    notes = [_note(kind, c) for c in cols]
    notes[0] = f"{COMMENT} {notes[0]}"
    body = [_cells(kind, record, cols) for record in records]
    if fmt == "csv":
        return csv_text([[c.name for c in cols], notes, *body]).encode("utf-8")
    if fmt != "xlsx":
        raise ValueError(fmt)
    return _template_xlsx(kind, cols, notes, body, known or rules.Known.from_database())


def _template_xlsx(kind, cols, notes, body, known) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = _("数据")

    def put(target, values, bold=False):
        target.append([xlsx_value(v) for v in values])
        for cell in target[target.max_row]:
            if cell.data_type != "n":
                cell.data_type = "s"  # never a formula or an error value
            if bold:
                cell.font = Font(bold=True)

    put(sheet, [c.name for c in cols], bold=True)
    put(sheet, notes)
    for values in body:
        put(sheet, values)
    sheet.freeze_panes = "B3"
    for index, column in enumerate(cols, 1):
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = 28 if column.type in ("text", "json", "geometry") else 16
        if column.type == "text":
            dimension.number_format = "@"  # Excel keeps 001 and 13800000000 as typed

    guide = book.create_sheet(_("说明"))
    put(guide, [_("列名"), _("含义"), _("是否必填"), _("填写说明")], bold=True)
    for column in cols:
        put(guide, [column.name, column.label(), column.required, hint(kind, column)])
    put(guide, [])
    put(guide, [_("第一行是列名，请勿修改；第二行是说明，导入时跳过；从第三行起每行一条记录。")])
    put(guide, [_("标识已存在时更新该记录（须有修改权限），文件中没有的列保持原值；"
                  "新标识建为草稿。")])
    for letter, width in zip("ABCD", (24, 28, 18, 80), strict=True):
        guide.column_dimensions[letter].width = width

    values = book.create_sheet(_("可选值"))
    put(values, [_("列名"), _("填写值"), _("含义")], bold=True)
    for column in cols:
        if column.choices and not column.field.startswith("translations."):
            labels = choice_labels(kind, column)
            for code in column.choices:
                if code:
                    put(values, [column.name, code, str(labels.get(code, ""))])
    pools = [("region", known.regions)]
    if kind == "policy":
        pools += [("topics", known.topics), ("industries", known.industries)]
    elif kind == "opportunity":
        pools.append(("industry", known.industries))
    for name, pool in pools:
        for slug, row in pool.items():
            put(values, [name, slug, getattr(row, "name", "")])
    for letter, width in zip("ABC", (18, 28, 40), strict=True):
        values.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the upload between the report and the confirmation -------------------------------------


@dataclass
class Stashed:
    kind: str
    filename: str
    mode: str
    data: bytes


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _fresh_since() -> datetime:
    """Uploads made before this have expired."""
    return utcnow() - timedelta(seconds=STASH_SECONDS)


def stash(user, kind: str, filename: str, mode: str, data: bytes) -> str:
    """Keep an upload for its confirmation and commit; the token names it and nothing else.

    In the database (``ImportStash``), so any node may take the confirmation; only the
    token's SHA-256 is stored. Expired uploads are removed first."""
    db.session.execute(db.delete(ImportStash).where(ImportStash.created_at < _fresh_since()))
    token = secrets.token_urlsafe(32)
    db.session.execute(db.insert(ImportStash).values(
        token_hash=_digest(token), user_id=user.id, kind=kind, filename=filename, mode=mode,
        data=data))
    db.session.commit()
    return token


def claim(user, token: str) -> Stashed | None:
    """Take the upload ``token`` names, if it is this user's and not expired: it is deleted
    in the caller's transaction, so of two confirmations of one upload (on any nodes) one
    gets it and the other None once the first commits."""
    if not isinstance(token, str) or not _STASH_NAME.match(token):
        return None
    row = db.session.execute(
        db.delete(ImportStash)
        .where(ImportStash.token_hash == _digest(token), ImportStash.user_id == user.id,
               ImportStash.created_at >= _fresh_since())
        .returning(ImportStash.kind, ImportStash.filename, ImportStash.mode,
                   ImportStash.data)).first()
    if row is None:
        return None
    return Stashed(row.kind, row.filename, row.mode, bytes(row.data))


def discard(token: str) -> None:
    """Forget the upload ``token`` names (in the caller's transaction)."""
    if isinstance(token, str) and _STASH_NAME.match(token):
        db.session.execute(db.delete(ImportStash).where(
            ImportStash.token_hash == _digest(token)))
