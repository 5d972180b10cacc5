"""What every request body and query string must be before a view sees it.

JSON is parsed strictly (depth, number size, no NaN, no lone surrogates or NUL, which no
database column can hold), a query string that is not UTF-8 or holds NUL is refused, and the
HTML pages accept only form bodies (Flask-WTF would otherwise read a JSON body into a form).
"""

import json

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32
MAX_INT_DIGITS = 18
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings, found without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError("number too large")
    return int(text)


def _constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _check_strings(value, depth: int = 0) -> None:
    if isinstance(value, str):
        if "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            raise ValueError("NUL or an unpaired surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, depth + 1)
            _check_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, depth + 1)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing what the portal cannot store with a ValueError (so
    ``get_json(silent=True)`` answers None and ``get_json()`` a 400)."""

    def loads(self, s, **kwargs):
        if isinstance(s, bytes | bytearray):
            s = s.decode("utf-8")  # UnicodeDecodeError is a ValueError
        if _depth(s) > MAX_DEPTH:
            raise ValueError("JSON nested too deeply")
        try:
            value = json.loads(s, parse_int=_int, parse_constant=_constant, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply") from exc
        _check_strings(value)
        return value


def init_app(app: Flask) -> None:
    """Before the blueprints: their rules look their converters up when added. ``int`` is
    the ``id`` converter too, since a number in this portal's paths always names a record:
    a route written with ``<int:…>`` cannot reach the database with 2^63 either."""
    from portal.converters import IdConverter

    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["int"] = IdConverter
    app.json = StrictJSONProvider(app)
    app.before_request(_check_request)


def _check_request() -> None:
    try:
        values = [v for _k, v in request.args.items(multi=True)]
    except UnicodeDecodeError:
        abort(400)
    if "\x00" in request.path or any("\x00" in v for v in values):
        abort(400)  # no database text column can hold NUL
    if request.method in ("POST", "PUT", "PATCH") \
            and request.blueprint not in ("api", "exchange", None) \
            and request.mimetype not in FORM_TYPES and request.content_length:
        abort(415)
