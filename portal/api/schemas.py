"""JSON Schemas of the API's inputs, read from the code that validates them.

One schema per input, never a second hand-kept copy (STYLE.md):

- the demand and complaint bodies are read from the WTForms forms the pages and the API
  validate with (``form_schema``: field types, choices, DataRequired, Length, NumberRange,
  Regexp, Email and the intake validators);
- the two matchers' bodies are read from the field tables ``profile_from_mapping`` and
  ``requirements_from_mapping`` walk (``profile_schema``, ``requirements_schema``);
- the query parameters are declared here once (``QUERY``) and ``check_query`` enforces the
  very same declarations before a view runs, so a filter value the document refuses is
  answered 400 with a message for that parameter instead of being silently dropped.

Choices that live in the database (industries, regions, topics) become enums of the
deployment's own slugs, so the document a deployment serves is its own. Call these
functions inside an app context.
"""

import math
import re

from flask_babel import gettext as _
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    Field,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from portal.converters import MAX_ID
from portal.extensions import db
from portal.intake import validators as intake
from portal.models import (
    AVAILABILITY,
    LAND_USES,
    POLICY_LEVELS,
    POLICY_STATUSES,
    READINESS_ITEMS,
    SITE_KINDS,
    Industry,
    Region,
    Topic,
)
from portal.pagination import MAX_PAGE

# Characters the intake validators refuse in free text (NoControlChars): C0 and C1 controls
# other than tab, newline and carriage return.
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
NO_CONTROLS = f"^[^{_CONTROLS}]*$"
# DataRequired also refuses text that is only white space: at least one other character.
NOT_BLANK = f"^[^{_CONTROLS}]*[^{_CONTROLS}\\s][^{_CONTROLS}]*$"


def slugs(model) -> list[str]:
    return list(db.session.scalars(db.select(model.slug).order_by(model.slug)))


# --- forms ------------------------------------------------------------------------------

def _validator_schema(validator) -> dict:
    """What one validator refuses, as JSON Schema keywords (empty: nothing to say)."""
    if isinstance(validator, Length):
        limits = {}
        if validator.min not in (None, -1) and validator.min > 0:
            limits["minLength"] = validator.min
        if validator.max not in (None, -1):
            limits["maxLength"] = validator.max
        return limits
    if isinstance(validator, NumberRange):
        limits = {}
        if validator.min is not None:
            limits["minimum"] = validator.min
        if validator.max is not None:
            limits["maximum"] = validator.max
        return limits
    if isinstance(validator, Regexp):
        return {"pattern": validator.regex.pattern}
    if isinstance(validator, Email):
        return {"format": "email"}
    if isinstance(validator, intake.Amount):
        return {"minimum": 0, "maximum": float(validator.maximum), "multipleOf": 0.01}
    if isinstance(validator, intake.NoControlChars):
        return {"pattern": NO_CONTROLS}
    return {}


def _field_type(field: Field, multipart: bool) -> dict:
    if isinstance(field, MultipleFileField):
        return {"type": "array", "items": {"type": "string", "format": "binary"}}
    if isinstance(field, SelectMultipleField):
        return {"type": "array",
                "items": {"type": "string", "enum": [c.value for c in field.iter_choices()]}}
    if isinstance(field, SelectField | RadioField):
        return {"type": "string", "enum": [c.value for c in field.iter_choices()]}
    if isinstance(field, BooleanField):
        return {"type": "boolean"}
    if isinstance(field, IntegerField):
        return {"type": "integer"}
    if isinstance(field, DecimalField | FloatField):
        return {"type": "number"}
    if isinstance(field, EmailField):
        return {"type": "string", "format": "email"}
    return {"type": "string"}


def field_schema(field: Field, *, multipart: bool = False) -> tuple[dict, bool]:
    """The field's schema and whether the field is required."""
    schema = _field_type(field, multipart)
    if field.description:
        schema["description"] = str(field.description)
    elif field.label and field.label.text:
        schema["description"] = str(field.label.text)
    required = False
    patterns = []
    for validator in field.validators:
        if isinstance(validator, DataRequired | InputRequired):
            required = True
            if isinstance(validator, DataRequired) and schema["type"] == "string":
                patterns.append(NOT_BLANK)
            elif isinstance(validator, DataRequired) and schema["type"] == "boolean":
                schema["enum"] = [True]
            continue
        if isinstance(validator, Optional):
            continue
        keywords = _validator_schema(validator)
        if "pattern" in keywords:
            patterns.append(keywords.pop("pattern"))
        if "format" in keywords and schema.get("format") == keywords["format"]:
            keywords.pop("format")
        schema |= keywords
    # NOT_BLANK already refuses what NO_CONTROLS refuses; JSON Schema holds one pattern.
    if NOT_BLANK in patterns and NO_CONTROLS in patterns:
        patterns.remove(NO_CONTROLS)
    if len(patterns) == 1:
        schema["pattern"] = patterns[0]
    elif patterns:
        schema["allOf"] = [{"pattern": p} for p in patterns]
    if not required and schema.get("format") == "email":
        # An optional e-mail address may be left empty.
        schema["anyOf"] = [{"maxLength": 0}, {"format": schema.pop("format")}]
    if not required and not multipart:
        # JSON null leaves an optional field out, as omitting it does.
        schema["nullable"] = True
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema, required


JSON_TYPES = {"string": (str,), "number": (int, float), "integer": (int,),
              "boolean": (bool,), "array": (list,)}


def json_type_errors(schema: dict, payload: dict) -> dict[str, str]:
    """A message per property of ``payload`` whose JSON type ``schema`` (a ``form_schema``)
    refuses. The forms read every value as text, so without this check ``true`` or ``5``
    would pass for a name and ``"y"`` for a yes-or-no answer."""
    errors = {}
    for name, value in payload.items():
        prop = schema["properties"].get(name)
        if prop is None or (value is None and prop.get("nullable")):
            continue
        kind = prop["type"]
        ok = isinstance(value, JSON_TYPES[kind]) and (kind == "boolean"
                                                      or not isinstance(value, bool))
        if ok and kind == "array":
            ok = all(isinstance(item, str) for item in value)
        if ok and kind == "integer":
            ok = not isinstance(value, float) or value.is_integer()
        if not ok:
            errors[name] = {
                "string": _("此项应为文字"), "number": _("此项应为数字"),
                "integer": _("此项应为整数"), "boolean": _("此项应为 true 或 false"),
                "array": _("此项应为文字列表"),
            }[kind]
    return errors


def form_schema(form, *, exclude=(), multipart: bool = False,
                extra: dict | None = None) -> dict:
    """A JSON Schema object for a form instance: one property per field (``exclude`` left
    out), ``additionalProperties: false`` since the API refuses unknown fields, and the
    fields whose validators demand a value listed as required. ``extra`` adds keywords to
    single properties, e.g. what a custom ``validate_<field>`` method checks."""
    properties, required = {}, []
    for field in form:
        if field.name in exclude:
            continue
        schema, needed = field_schema(field, multipart=multipart)
        schema |= (extra or {}).get(field.name, {})
        properties[field.name] = schema
        if needed:
            required.append(field.name)
    return {"type": "object", "additionalProperties": False, "required": required,
            "properties": properties}


# --- matchers ---------------------------------------------------------------------------

def _blank_or(schema: dict) -> dict:
    """The matchers read null (and "" for text) as "not answered"."""
    if "enum" in schema:
        return schema | {"enum": [*schema["enum"], "", None], "nullable": True}
    return schema | {"nullable": True}


def profile_schema() -> dict:
    from portal.policies import matcher

    slug_enums = {"industry": slugs(Industry), "region": slugs(Region)}
    properties = {}
    for name, label in matcher.FIELD_LABELS.items():
        if name in matcher.NUMBER_FIELDS:
            schema = {"type": "integer" if name in matcher.INTEGER_FIELDS else "number",
                      "minimum": 0, "maximum": matcher.MAXIMA[name]}
        elif name in matcher.CHOICES:
            schema = {"type": "string", "enum": list(matcher.CHOICES[name])}
        else:
            schema = {"type": "string", "enum": slug_enums[name]}
        properties[name] = _blank_or(schema) | {"description": str(label)}
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "description": "An enterprise describing itself; every field may be left out, "
                           "null or empty"}


def requirements_schema() -> dict:
    from portal.sites import matcher

    region_slugs = slugs(Region)
    properties = {}
    for name, label in matcher.FIELD_LABELS.items():
        if name in matcher.NUMBER_FIELDS:
            schema = {"type": "number", "minimum": 0, "maximum": matcher.MAXIMA[name]}
            if name == "output_wan":  # the energy ratio divides by it
                schema["minimum"] = matcher.MIN_OUTPUT_WAN
        elif name in matcher.LIST_CHOICES or name == "regions":
            choices = matcher.LIST_CHOICES.get(name) or region_slugs
            schema = {"type": "array", "items": {"type": "string", "enum": list(choices)}}
        elif name == "land_use":
            schema = {"type": "string", "enum": list(matcher.LAND_USES)}
        else:
            schema = {"type": "string", "enum": slugs(Industry)}
        properties[name] = _blank_or(schema) | {"description": str(label)}
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "description": "What a project needs of a site; every field may be left out, "
                           "null or empty"}


# --- query parameters -------------------------------------------------------------------

def _param(name: str, description: str, schema: dict | None = None, **more) -> dict:
    """A query parameter; empty (``kind=``, as an HTML form sends an unset filter) is the
    same as absent."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "allowEmptyValue": True, "schema": schema or {"type": "string"}, **more}


def _enum(*values) -> dict:
    return {"type": "string", "enum": list(values)}


LANG = _param("lang", "Language of translated fields, messages and links "
                      "(default: Accept-Language, then zh)", _enum("zh", "en", "ja", "ko", "ru"))


def policy_filters() -> list[dict]:
    return [
        _param("q", "Full-text query; Chinese substrings of any length match, every term "
                    "must occur, quotes group a phrase, other characters are literal"),
        _param("level", "Level of the issuer", _enum(*POLICY_LEVELS)),
        _param("status", "Validity", _enum(*POLICY_STATUSES)),
        _param("issuer", "Issuing body"),
        _param("topic", "Topic slug", _enum(*slugs(Topic))),
        _param("industry", "Industry slug (see /industries)", _enum(*slugs(Industry))),
        _param("region", "Region slug (see /regions)", _enum(*slugs(Region))),
        _param("year", "Year published, e.g. 2026", {"type": "string", "pattern": r"^\d{4}$"}),
        _param("sort", "relevance (the default) or date, newest first",
               _enum("relevance", "date")),
        _param("page", "Page number from 1 (20 a page)",
               {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
        LANG,
    ]


def site_filters() -> list[dict]:
    from portal.sites.services import AREA_UNITS, FILTER_MAXIMA

    def at_most(name: str) -> dict:
        return {"type": "number", "minimum": 0, "maximum": FILTER_MAXIMA[name]}

    number = "Sites that state no figure are left out"
    return [
        _param("bbox", "west,south,east,north in WGS-84 degrees",
               {"type": "string", "pattern": r"^[^,]+,[^,]+,[^,]+,[^,]+$"}),
        _param("kind", "Kind of site", _enum(*SITE_KINDS)),
        _param("region", "Region slug; takes in the regions below it",
               _enum(*slugs(Region))),
        _param("land_use", "Land use", _enum(*LAND_USES)),
        _param("availability", "Availability", _enum(*AVAILABILITY)),
        _param("min_area", "Minimum area in area_unit", at_most("min_area")),
        _param("max_area", "Maximum area in area_unit", at_most("max_area")),
        _param("area_unit", "mu (the default: parcels in 亩, carriers' floor area converted) "
                            "or m2", _enum(*AREA_UNITS)),
        _param("max_land_price", "Highest land price, 万元/亩. " + number,
               at_most("max_land_price")),
        _param("max_rent", "Highest rent, 元/m²/月. " + number, at_most("max_rent")),
        _param("readiness", "Readiness items the site must all have (七通一平); repeat the "
                            "parameter for several",
               {"type": "array", "items": _enum(*READINESS_ITEMS)},
               style="form", explode=True),
        _param("min_power", "Lowest power capacity, kVA. " + number, at_most("min_power")),
        _param("min_floor_load", "Lowest floor load, kN/m². " + number, at_most("min_floor_load")),
        _param("min_ceiling", "Lowest ceiling height, m. " + number, at_most("min_ceiling")),
        _param("standard_land", "1: only 标准地 parcels (with control indicators)",
               _enum("0", "1", "true", "false", "on", "off")),
        _param("investment_intensity", "The project's investment per 亩 (万元/亩): parcels "
                                       "whose minimum it meets", at_most("investment_intensity")),
        _param("tax_per_mu", "The project's tax per 亩 (万元/亩): parcels whose minimum it "
                             "meets", at_most("tax_per_mu")),
        _param("energy", "The project's energy use per output (吨标煤/万元): parcels whose "
                         "maximum it stays within", at_most("energy")),
        _param("cluster", "1: grid clusters when the view holds too many sites to draw",
               _enum("0", "1")),
        _param("crs", "gcj02: positions converted for GCJ-02 tile providers",
               _enum("wgs84", "gcj02")),
        LANG,
    ]


def opportunity_filters() -> list[dict]:
    from portal.models import OPPORTUNITY_KINDS
    from portal.opportunities.services import MAX_AMOUNT, STATUSES, WITHIN

    amount = {"type": "number", "minimum": 0, "maximum": MAX_AMOUNT}
    return [
        _param("q", "Full-text query in any of the five languages (glossary terms also "
                    "search their Chinese forms); every term must occur"),
        _param("kind", "Kind of opportunity", _enum(*OPPORTUNITY_KINDS)),
        _param("industry", "Industry slug (see /industries)", _enum(*slugs(Industry))),
        _param("region", "Region slug (see /regions); takes in the regions below it",
               _enum(*slugs(Region))),
        _param("min_amount", "Lowest amount, 万元; items without an amount are left out",
               amount),
        _param("max_amount", "Highest amount, 万元; not below min_amount", amount),
        _param("within", "Deadline within this many days from today (China time)",
               _enum(*WITHIN)),
        _param("deadline_by", "Deadline on or before this date",
               {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}),
        _param("status", "open (open and not past the deadline), closing (deadline within 7 "
                         "days), closed (往期: closed or past the deadline) or all; default all",
               _enum(*STATUSES)),
        _param("page", "Page number from 1 (100 a page)",
               {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
        LANG,
    ]


# Endpoints with filters; every other endpoint takes ``lang`` alone.
FILTERS = {"api.policies": policy_filters, "api.sites_geojson": site_filters,
           "api.opportunities": opportunity_filters}


def query_parameters(endpoint: str | None) -> list[dict]:
    """The endpoint's documented query parameters: what ``check_query`` enforces."""
    return FILTERS[endpoint]() if endpoint in FILTERS else [LANG]


def _value_error(schema: dict, raw: str) -> str | None:
    kind = schema.get("type")
    if "enum" in schema:
        if raw not in schema["enum"]:
            return _("须为以下之一：%(choices)s", choices=", ".join(schema["enum"]))
        return None
    if kind == "integer":
        if not re.fullmatch(r"[0-9]{1,9}", raw):
            return _("输入整数，如 %(example)s", example=schema.get("minimum", 1))
        value = int(raw)
    elif kind == "number":
        try:
            value = float(raw.strip().replace(",", ""))  # as SiteFilters reads it
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            return _("输入数字，如 100 或 12.5")
    else:
        if "pattern" in schema and not re.search(schema["pattern"], raw):
            return _("格式不正确")
        return None
    if "minimum" in schema and value < schema["minimum"]:
        return _("输入不小于 %(min)s 的数", min=schema["minimum"])
    if "maximum" in schema and value > schema["maximum"]:
        return _("输入不超过 %(max)s 的数", max=schema["maximum"])
    return None


def check_query(params: list[dict], args) -> dict[str, str]:
    """A message per query parameter whose value the document refuses. Parameters the
    document does not name are ignored, as HTTP clients and caches add their own."""
    errors = {}
    for param in params:
        name, schema = param["name"], param["schema"]
        values = [value for value in args.getlist(name) if value != ""]
        if not values:
            continue
        if schema.get("type") == "array":
            for raw in values:
                message = _value_error(schema["items"], raw)
                if message:
                    errors[name] = message
                    break
        else:
            message = _value_error(schema, values[0])
            if message:
                errors[name] = message
    return errors


def path_id(name: str) -> dict:
    """A record's number in a path; the ``id`` converter matches nothing outside 1…MAX_ID."""
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
