"""Malformed requests to the public endpoints: every one answers 4xx (never 5xx), the API
answers with its documented JSON error shape, and a rejected submission stores nothing.

A fixed corpus (bad JSON, wrong content types, deep nesting, huge values, NULs, invalid
UTF-8, lone surrogates, wrong types in every field, oversized bodies, odd headers and paths)
and property tests with Hypothesis over arbitrary JSON values and form fields.
"""

import io
import json
import logging
import re
import traceback
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

from portal.extensions import db
from portal.intake.forms import ComplaintForm, DemandForm, TrackForm
from portal.models import Complaint, Demand
from portal.policies.matcher import FIELD_LABELS as POLICY_FIELDS
from portal.sites.matcher import FIELD_LABELS as SITE_FIELDS
from tests.test_intake import COMPLAINT, DEMAND, valid_credit_code

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

SUBMIT_API = ("/api/v1/demands", "/api/v1/complaints")
MATCH_API = ("/api/v1/policies/match", "/api/v1/sites/match")
JSON_POSTS = SUBMIT_API + MATCH_API
SUBMIT_FORMS = ("/zh/demands/new", "/zh/complaints/new")
FORM_POSTS = SUBMIT_FORMS + ("/zh/track",)
POSTS = JSON_POSTS + FORM_POSTS
EXPECTED = {200, 201, 400, 404, 413, 415, 422}


def field_names(form_class) -> list[str]:
    return sorted(name for name in dir(form_class)
                  if not name.startswith("_") and isinstance(getattr(form_class, name),
                                                             UnboundField))


FIELDS = {
    "/api/v1/demands": field_names(DemandForm),
    "/api/v1/complaints": field_names(ComplaintForm),
    "/api/v1/policies/match": sorted(POLICY_FIELDS),
    "/api/v1/sites/match": sorted(SITE_FIELDS),
    "/zh/demands/new": field_names(DemandForm),
    "/zh/complaints/new": field_names(ComplaintForm),
    "/zh/track": field_names(TrackForm),
}


def valid_payload(url: str) -> dict:
    """A payload each endpoint accepts, for changing one field at a time."""
    if "demand" in url:
        return DEMAND | {"credit_code": valid_credit_code()}
    if "complaint" in url:
        return dict(COMPLAINT)
    if url == "/zh/track":
        return {"ticket": "D-0000000000", "access_code": "AAAA-BBBB-CCCC-DDDD"}
    if url == "/api/v1/policies/match":
        return {"investor_type": "domestic", "employees": 50, "investment_wan": 1000}
    return {"kinds": ["parcel"], "power_kva": 2000}


# --- checks -------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def where(exc: BaseException) -> str:
    """The project's innermost frame of an exception (path:line), the innermost frame of
    all when that is in a library, and the exception."""
    place, last = "?", "?"
    for frame, line in traceback.walk_tb(exc.__traceback__):
        name = frame.f_code.co_filename
        last = f"{Path(name).name}:{line}"
        if name.startswith(str(ROOT)) and "/.venv/" not in name and "/tests/" not in name:
            place = last = f"{Path(name).relative_to(ROOT)}:{line}"
    inner = "" if last == place else f" (in {last})"
    return f"{place}{inner} {type(exc).__name__}: {str(exc)[:100]}"


class _Recorder(logging.Handler):
    """Keeps the exceptions the app logs as unhandled, to name their cause on failure."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.causes: list[str] = []

    def emit(self, record):
        if record.exc_info and record.exc_info[1] is not None:
            self.causes.append(where(record.exc_info[1]))


RECORDER = _Recorder()


@pytest.fixture(autouse=True)
def _record_causes(request):
    names = [name for name in ("app", "site_app") if name in request.fixturenames]
    apps = [request.getfixturevalue(name) for name in names]
    for app in apps:
        app.logger.addHandler(RECORDER)
    yield
    for app in apps:
        app.logger.removeHandler(RECORDER)
    RECORDER.causes.clear()


class Crash:
    """An exception that escaped the app's error handlers: Flask re-raises it while
    testing; in production it is a bare 500."""

    status_code = 500

    def __init__(self, exc: BaseException):
        self.cause = "escaped: " + where(exc)

    def get_data(self) -> bytes:
        return self.cause.encode()

    def get_json(self, silent: bool = False):
        return None


def send(client, url: str, method: str = "POST", **kwargs):
    RECORDER.causes.clear()
    try:
        return client.open(url, method=method, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported as a 500 with its cause
        return Crash(exc)


def stored(app) -> tuple[int, int]:
    with app.app_context():
        try:
            return (db.session.scalar(db.select(db.func.count(Demand.id))),
                    db.session.scalar(db.select(db.func.count(Complaint.id))))
        finally:
            db.session.remove()


def describe(response) -> str:
    if isinstance(response, Crash):
        return f"500 {response.cause}"
    if response.status_code >= 500:
        return "500 cause: " + (RECORDER.causes[-1] if RECORDER.causes else "?")
    return f"{response.status_code} {response.get_data()[:200]!r}"


def problem(url: str, response, allowed=EXPECTED) -> str | None:
    """What is wrong with the answer, or None: no 5xx, and the API's error shape on 4xx."""
    status = response.status_code
    if status >= 500:
        return f"server error: {describe(response)}"
    if status not in allowed:
        return f"unexpected status: {describe(response)}"
    if url.startswith("/api/") and status >= 400:
        body = response.get_json(silent=True)
        error = body.get("error") if isinstance(body, dict) else None
        if not (isinstance(error, dict) and isinstance(error.get("code"), str)
                and error["code"] and isinstance(error.get("message"), str)
                and error["message"] and isinstance(error.get("fields", {}), dict)):
            return f"not the JSON error shape: {describe(response)}"
    return None


def check(url: str, response, allowed=EXPECTED) -> int:
    message = problem(url, response, allowed)
    assert message is None, f"{url}: {message}"
    return response.status_code


def check_rejected(app, url: str, before: tuple[int, int], response) -> str | None:
    """``problem`` and, for a rejected submission, that nothing was stored."""
    message = problem(url, response)
    if message:
        return message
    after = stored(app)
    accepted = (201,) if url.startswith("/api/") else (200, 201)
    if after != before and response.status_code not in accepted:
        return f"stored {after} (was {before}) yet answered {describe(response)}"
    return None


# --- the fixed corpus ---------------------------------------------------------------------

def _nested(depth: int, open_: str, inner: str, close: str) -> bytes:
    return (open_ * depth + inner + close * depth).encode()


def _all_fields(value) -> bytes:
    """``value`` (JSON text) in every field any endpoint knows."""
    names = sorted({name for names in FIELDS.values() for name in names})
    return ("{" + ", ".join(f'"{name}": {value}' for name in names) + "}").encode()


RAW = [
    ("invalid-json", b"{nope", JSON),
    ("truncated-json", b'{"company_name": "x"', JSON),
    ("trailing-comma", b'{"company_name": "x",}', JSON),
    ("single-quotes", b"{'company_name': 'x'}", JSON),
    ("comment", b'{"a": 1 /* no */}', JSON),
    ("array", b"[]", JSON),
    ("array-of-numbers", b"[1, 2, 3]", JSON),
    ("array-of-pairs", b'[["company_name", "x"], ["consent", "y"]]', JSON),
    ("array-of-triples", b'[["a", "b", "c"]]', JSON),
    ("string", b'"company_name"', JSON),
    ("empty-string", b'""', JSON),
    ("number", b"42", JSON),
    ("float", b"-0.0", JSON),
    ("null", b"null", JSON),
    ("true", b"true", JSON),
    ("false", b"false", JSON),
    ("empty-body-json", b"", JSON),
    ("whitespace-body", b" \r\n\t ", JSON),
    ("empty-body-no-type", b"", None),
    ("empty-body-form", b"", FORM),
    ("bom", b"\xef\xbb\xbf{}", JSON),
    ("utf-16", '{"company_name": "x"}'.encode("utf-16"), JSON),
    ("json-as-text-plain", json.dumps(DEMAND).encode(), "text/plain"),
    ("xml", b"<?xml version='1.0'?><demand><company_name>x</company_name></demand>",
     "application/xml"),
    ("json-without-content-type", json.dumps(DEMAND).encode(), None),
    ("octet-stream", b"\x00\x01\x02\xff", "application/octet-stream"),
    ("multipart-without-boundary", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n"
     b"b\r\n--x--\r\n", "multipart/form-data"),
    ("multipart-wrong-boundary", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n"
     b"b\r\n--x--\r\n", "multipart/form-data; boundary=zzz"),
    ("multipart-garbage", b"\xff\xfe garbage \x00", "multipart/form-data; boundary=x"),
    ("multipart-unterminated", b"--x\r\nContent-Disposition: form-data; name=\"company_name\""
     b"\r\n\r\nabc", "multipart/form-data; boundary=x"),
    ("content-type-junk", b"{}", "application/json; charset"),
    ("content-type-params", b"{}", "application/json; charset=\"; boundary=;;"),
    ("latin-1-invalid-bytes", b'{"company_name": "\xff\xfe\xe9", "facts": "\x81"}',
     "application/json; charset=latin-1"),
    ("invalid-utf8-json", b'{"company_name": "\xff\xfe\xc3\x28", "\xed\xa0\x80": 1}', JSON),
    ("invalid-utf8-form", b"company_name=%FF%FE&contact_name=\xff\xfe&%C3%28=1", FORM),
    ("cesu-surrogate-bytes", b'{"company_name": "\xed\xa0\x80"}', JSON),
    ("deep-arrays", _nested(10_000, "[", "", "]"), JSON),
    ("deep-objects", _nested(10_000, '{"a":', "1", "}"), JSON),
    ("deep-arrays-unclosed", b"[" * 10_000, JSON),
    ("deep-in-field", b'{"company_name": ' + _nested(10_000, "[", "", "]") + b"}", JSON),
    ("deep-form-key", b"a" + b"[a]" * 10_000 + b"=1", FORM),
    ("long-string", json.dumps({"company_name": "x" * 1_000_000}).encode(), JSON),
    ("long-key", json.dumps({"k" * 1_000_000: "x"}).encode(), JSON),
    ("long-strings-everywhere", _all_fields(json.dumps("长" * 100_000)), JSON),
    ("long-form-value", b"company_name=" + b"x" * 1_000_000, FORM),
    ("many-keys", json.dumps({f"k{i}": i for i in range(50_000)}).encode(), JSON),
    ("many-form-fields", b"&".join(b"f%d=1" % i for i in range(50_000)), FORM),
    ("overflow-float", _all_fields("1e309"), JSON),
    ("negative-overflow-float", _all_fields("-1e309"), JSON),
    ("negative-zero", _all_fields("-0"), JSON),
    ("negative-zero-float", _all_fields("-0.0"), JSON),
    ("tiny-float", _all_fields("1e-400"), JSON),
    ("huge-int", _all_fields("9" * 4000), JSON),
    ("too-long-int", _all_fields("9" * 5000), JSON),
    ("nan-literal", _all_fields("NaN"), JSON),
    ("infinity-literal", _all_fields("Infinity"), JSON),
    ("minus-infinity-literal", _all_fields("-Infinity"), JSON),
    ("bare-nan", b"NaN", JSON),
    ("bare-infinity", b"Infinity", JSON),
    ("nul-escaped", _all_fields('"a\\u0000b"'), JSON),
    ("nul-raw", b'{"company_name": "a\x00b"}', JSON),
    ("nul-form", b"company_name=a%00b&contact_name=%00&consent=%00", FORM),
    ("lone-surrogate", _all_fields('"\\ud800"'), JSON),
    ("lone-low-surrogate", _all_fields('"x\\udfffy"'), JSON),
    ("surrogate-key", b'{"\\ud800": "x"}', JSON),
    ("bad-escape", b'{"company_name": "\\x41"}', JSON),
    ("bad-unicode-escape", b'{"company_name": "\\u12"}', JSON),
    ("duplicate-keys", b'{"company_name": "a", "company_name": ["b"], "consent": "y",'
     b' "consent": {}}', JSON),
    ("unknown-field", b'{"no_such_field": 1}', JSON),
    ("empty-object", b"{}", JSON),
    ("lists-everywhere", _all_fields("[]"), JSON),
    ("list-of-lists-everywhere", _all_fields('[["a"], [1]]'), JSON),
    ("objects-everywhere", _all_fields('{"a": "b"}'), JSON),
    ("true-everywhere", _all_fields("true"), JSON),
    ("false-everywhere", _all_fields("false"), JSON),
    ("numbers-everywhere", _all_fields("1.5"), JSON),
    ("negative-everywhere", _all_fields("-1"), JSON),
    ("strings-everywhere", _all_fields('"x"'), JSON),
    ("nulls-everywhere", _all_fields("null"), JSON),
]


@pytest.mark.parametrize("url", POSTS)
@pytest.mark.parametrize("body, content_type",
                         [pytest.param(body, ctype, id=name) for name, body, ctype in RAW])
def test_malformed_body(client, app, url, body, content_type):
    before = stored(app)
    headers = {"Content-Type": content_type} if content_type else {}
    response = send(client, url, data=body, headers=headers)
    check(url, response)
    assert stored(app) == before, describe(response)
    if url in SUBMIT_API:
        assert response.status_code >= 400, describe(response)


ODD_VALUES = [
    None, True, False, 0, -1, 1.5, -0.0, 1e308, -1e308, 10 ** 400, "", " ", "\x00", "a\x00b",
    "\ud800", "\udfff\ud800", "\u202e\ufeff", "x" * 100_000, [], ["a", "b"], [1, {}],
    [None], {}, {"a": "b"}, [[["deep"]]],
]


def _post_json(client, url, payload):
    return send(client, url, data=json.dumps(payload), content_type=JSON)


@pytest.mark.parametrize("url", JSON_POSTS + SUBMIT_FORMS + ("/zh/track",))
def test_every_field_with_every_type(client, app, url):
    """A valid payload with one field of an unexpected type (and unknown fields), as JSON;
    the HTML forms read JSON bodies too (Flask-WTF)."""
    names = FIELDS[url] + ["no_such_field", ""]
    failures = []
    for name in names:
        for value in ODD_VALUES:
            before = stored(app)
            response = _post_json(client, url, valid_payload(url) | {name: value})
            message = check_rejected(app, url, before, response)
            if message:
                failures.append(f"{name}={value!r:.40}: {message}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("url", FORM_POSTS + SUBMIT_API)
def test_every_form_field_with_odd_values(client, app, url):
    """Form posts (urlencoded and multipart) with odd text, repeated and missing fields."""
    odd = ["", "\x00", "a\x00b", "x" * 1_000_000, "\u202e", "１２３", "9" * 40, "1e400",
           "NaN", "Infinity", "-0", "-1", "0x10", ["a", "b"], ["", ""], ["y"] * 100]
    # The test client spools a multipart body over 500 KB to a file it never closes.
    small = {"x" * 1_000_000: "x" * 400_000}
    names = FIELDS[url] + ["no_such_field"]
    failures = []
    for multipart in (False, True):
        for name in names:
            for value in odd:
                before = stored(app)
                if multipart and isinstance(value, str):
                    value = small.get(value, value)
                data = valid_payload(url) | {name: value}
                data = {k: (v if isinstance(v, list) else str(v)) for k, v in data.items()}
                ctype = "multipart/form-data" if multipart else FORM
                response = send(client, url, data=data, content_type=ctype)
                message = check_rejected(app, url, before, response)
                if message:
                    failures.append(f"{name}={value!r:.40} multipart={multipart}: {message}")
    assert not failures, "\n".join(failures)


@cache
def oversized(limit: int) -> bytes:
    return b"{" + b" " * limit + b"}"


@pytest.mark.parametrize("url", POSTS)
@pytest.mark.parametrize("content_type", [JSON, FORM, "multipart/form-data; boundary=x",
                                          "text/plain"])
def test_body_over_max_content_length(client, app, url, content_type):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit
    before = stored(app)
    response = send(client, url, data=oversized(limit), content_type=content_type)
    check(url, response)
    assert stored(app) == before
    if url in SUBMIT_API:  # the submission API takes JSON and multipart
        accepted = (JSON, "multipart/form-data; boundary=x")
    elif url in JSON_POSTS:
        accepted = (JSON,)
    else:
        accepted = (FORM, "multipart/form-data; boundary=x")
    if content_type in accepted:
        assert response.status_code == 413, describe(response)
    elif url.startswith("/api/"):
        assert response.status_code in (413, 415), describe(response)


def test_body_over_a_lowered_limit_without_content_length(client, app, monkeypatch):
    """Without a Content-Length (a chunked body) the limit still holds while reading.

    Werkzeug 3.1 cuts such a body at the limit rather than answering 413 (``get_data``
    stops at it), so a truncated body is also acceptable if rejected as invalid."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    for url in POSTS:
        before = stored(app)
        if url.startswith("/api/"):
            ctype, body = JSON, json.dumps(valid_payload(url) | {"message": "x" * 4096})
        else:
            ctype, body = FORM, "company_name=" + "x" * 4096
        response = send(client, url, input_stream=io.BytesIO(body.encode()),
                        content_type=ctype, environ_overrides={
                            "CONTENT_LENGTH": "", "wsgi.input_terminated": True})
        check(url, response)
        assert stored(app) == before
        assert response.status_code in (400, 413) or url.startswith("/zh/"), (
            url, describe(response))


# --- headers, paths and query strings ------------------------------------------------------

TRACK = "/api/v1/track/D-0000000000"


@pytest.mark.parametrize("code", [
    "é\xff", "访问码", "\x00", "a\x00b", "x" * 10_000, "", " ", "\t", "Ω" * 500,
], ids=["latin-1", "cjk", "nul", "embedded-nul", "10kb", "empty", "space", "tab", "omega"])
def test_track_with_odd_access_codes(site_client, code):
    response = send(site_client, TRACK, "GET", headers={"X-Access-Code": code})
    assert check(TRACK, response) == 404


def test_track_with_raw_header_bytes(site_client):
    """Header bytes that are not UTF-8 reach the app as latin-1 text."""
    response = send(site_client, TRACK, "GET", environ_overrides={
        "HTTP_X_ACCESS_CODE": b"\xff\xfe\xed\xa0\x80".decode("latin-1")})
    assert check(TRACK, response) == 404


@pytest.mark.parametrize("url", POSTS)
@pytest.mark.parametrize("key", ["k" * 10_240, "\x00", "é\xff" * 2000, ""],
                         ids=["10kb", "nul", "latin-1", "empty"])
def test_odd_idempotency_keys(client, app, url, key):
    payload = valid_payload(url)
    if url.startswith("/api/"):
        response = _post_json_with(client, url, payload, {"Idempotency-Key": key})
    else:
        response = send(client, url, data=payload, headers={"Idempotency-Key": key})
    check(url, response)


def _post_json_with(client, url, payload, headers):
    return send(client, url, data=json.dumps(payload), content_type=JSON, headers=headers)


@pytest.mark.parametrize("url", SUBMIT_FORMS)
@pytest.mark.parametrize("key", ["k" * 10_240, "\x00", "a\x00b", "é" * 80, "\u202e"],
                         ids=["10kb", "nul", "embedded-nul", "80-accented", "bidi"])
def test_odd_hidden_idempotency_key(client, app, url, key):
    before = stored(app)
    response = send(client, url, data=valid_payload(url) | {"idempotency_key": key})
    message = check_rejected(app, url, before, response)
    assert message is None, message


@pytest.mark.parametrize("url", SUBMIT_FORMS + ("/zh/track",))
def test_surrogates_reach_the_forms_through_json(client, app, url):
    """A JSON body to a page is read as form data, where escapes give lone surrogates."""
    failures = []
    for name in FIELDS[url] + ["idempotency_key", "website"]:
        before = stored(app)
        response = _post_json(client, url, valid_payload(url) | {name: "\ud800"})
        message = check_rejected(app, url, before, response)
        if message:
            failures.append(f"{name}: {message}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", [
    "/api/v1/track/" + "A" * 10_000,
    "/api/v1/track/" + "D-" + "0" * 10_000,
    "/api/v1/track/%00",
    "/api/v1/track/D-%00%00%00",
    "/api/v1/track/%FF%FE",
    "/api/v1/track/%ED%A0%80",
    "/api/v1/track/%C0%AF",
    "/api/v1/track/%2e%2e%2f%2e%2e%2f",
    "/api/v1/track/a%2Fb",
    "/api/v1/track/%E2%80%AE",
    "/api/v1/track/%25",
    "/api/v1/track/" + "%00" * 2000,
    "/api/v1/track/%F0%9F%98%80" * 500,
    "/api/v1/%00",
    "/api/v1/demands%00",
    "/api/v1/" + "x" * 10_000,
    "/zh/track%00",
    "/zh/%FF",
    "/%FF/track",
], ids=lambda p: p[:40])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_path_junk(site_client, path, method):
    response = send(site_client, path, method, headers={"X-Access-Code": "x"})
    status = check(path, response, EXPECTED | {405})
    assert status >= 400 or path.startswith("/zh/track"), describe(response)


QUERY_VALUES = ["%00", "a%00b", "%FF%FE", "%ED%A0%80", "nan", "inf", "-inf", "1e309", "-0",
                "9" * 400, "x" * 10_000, "", "%20", "-1", "1,2,3", "nan,nan,nan,nan",
                "-180,-90,180,90", "inf,-inf,inf,-inf", "1e309,0,1e309,0", "%E2%80%AE"]
QUERY_NAMES = ["q", "page", "lang", "sort", "level", "status", "issuer", "topic", "industry",
               "region", "year", "kind", "land_use", "availability", "area_unit", "readiness",
               "standard_land", "min_area", "max_area", "max_land_price", "max_rent",
               "min_power", "min_floor_load", "min_ceiling", "investment_intensity",
               "tax_per_mu", "energy", "bbox", "cluster", "crs", "%FF", "%00"]


@pytest.mark.parametrize("url", [TRACK, "/api/v1/policies", "/api/v1/sites.geojson"]
                         + list(POSTS))
def test_query_string_junk(site_client, url):
    failures = []
    for name in QUERY_NAMES:
        for value in QUERY_VALUES:
            query = f"{name}={value}"
            if url == "/api/v1/sites.geojson" and name == "bbox":
                query += "&cluster=1"
            response = send(site_client, f"{url}?{query}", "POST" if url in POSTS else "GET",
                            data=b"{}", content_type=JSON)
            message = problem(url, response)
            if message:
                failures.append(f"?{query[:60]}: {message}")
    # Raw bytes that are not UTF-8 and not percent-encoded.
    for raw in (b"q=\xff\xfe", b"lang=\xed\xa0\x80", b"\xff=1", b"bbox=\x00&cluster=1"):
        response = send(site_client, url, "POST" if url in POSTS else "GET",
                        data=b"{}", content_type=JSON,
                        environ_overrides={"QUERY_STRING": raw.decode("latin-1")})
        message = problem(url, response)
        if message:
            failures.append(f"raw {raw!r}: {message}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("url", [TRACK, "/api/v1/policies", "/api/v1/sites.geojson"]
                         + list(POSTS))
@pytest.mark.parametrize("headers", [
    {"Accept-Language": "\xff\xfe;q=abc, *;q=nan"},
    {"Accept-Language": "zh;q=" + "9" * 1000},
    {"Accept-Language": "x" * 10_000},
    {"Cookie": "lang=\xff; session=%00%FF"},
    {"Cookie": "session=" + "A" * 10_000},
    {"Accept": "\x00/\x00"},
    {"Content-Length": "-1"},
    {"Content-Length": "abc"},
    {"Transfer-Encoding": "chunked"},
], ids=["accept-language-junk", "accept-language-q", "accept-language-10kb", "cookie-junk",
        "cookie-10kb", "accept-nul", "content-length-negative", "content-length-junk",
        "chunked"])
def test_odd_headers(site_client, url, headers):
    method = "POST" if url in POSTS else "GET"
    response = send(site_client, url, method, data=b"{}", content_type=JSON,
                    headers=headers)
    check(url, response)


# --- property tests -----------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec=None), max_size=40)  # lone surrogates too
SCALARS = (st.none() | st.booleans() | st.integers()
           | st.floats(allow_nan=False, allow_infinity=False) | TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=20)
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def json_bodies(url: str):
    """Any JSON value; objects with the endpoint's own field names; a valid payload with
    some fields replaced by anything."""
    keys = st.sampled_from(FIELDS[url]) | TEXT
    return st.one_of(
        JSON_VALUES,
        st.dictionaries(keys, JSON_VALUES, max_size=8),
        st.dictionaries(st.sampled_from(FIELDS[url]), JSON_VALUES, max_size=4).map(
            lambda changes: valid_payload(url) | changes),
    )


def _property_check(client, app, url, payload):
    before = stored(app)
    response = send(client, url, data=json.dumps(payload), content_type=JSON)
    message = check_rejected(app, url, before, response)
    assert message is None, f"{payload!r:.500}: {message}"


@PROPERTY
@given(payload=json_bodies("/api/v1/demands"))
def test_demands_api_never_fails(client, app, payload):
    _property_check(client, app, "/api/v1/demands", payload)


@PROPERTY
@given(payload=json_bodies("/api/v1/complaints"))
def test_complaints_api_never_fails(client, app, payload):
    _property_check(client, app, "/api/v1/complaints", payload)


@PROPERTY
@given(payload=json_bodies("/api/v1/policies/match"))
def test_policy_match_never_fails(client, app, payload):
    _property_check(client, app, "/api/v1/policies/match", payload)


@PROPERTY
@given(payload=json_bodies("/api/v1/sites/match"))
def test_site_match_never_fails(client, app, payload):
    _property_check(client, app, "/api/v1/sites/match", payload)


@PROPERTY
@given(payload=json_bodies("/api/v1/policies/match"))
def test_policy_match_on_real_data_never_fails(site_client, payload):
    check("/api/v1/policies/match", send(
        site_client, "/api/v1/policies/match", data=json.dumps(payload), content_type=JSON))


@PROPERTY
@given(payload=json_bodies("/api/v1/sites/match"))
def test_site_match_on_real_data_never_fails(site_client, payload):
    check("/api/v1/sites/match", send(
        site_client, "/api/v1/sites/match", data=json.dumps(payload), content_type=JSON))


FORM_TEXT = st.text(max_size=40)  # what a browser can encode: no lone surrogates
FORM_VALUES = FORM_TEXT | st.lists(FORM_TEXT, max_size=3)


def form_bodies(url: str):
    keys = st.sampled_from(FIELDS[url]) | st.text(min_size=1, max_size=20)
    return st.one_of(
        st.dictionaries(keys, FORM_VALUES, max_size=10),
        st.dictionaries(st.sampled_from(FIELDS[url]), FORM_VALUES, max_size=4).map(
            lambda changes: {k: str(v) for k, v in valid_payload(url).items()} | changes),
    )


def _form_check(client, app, url, data):
    before = stored(app)
    response = send(client, url, data=data, content_type=FORM)
    message = check_rejected(app, url, before, response)
    assert message is None, f"{data!r:.500}: {message}"


@PROPERTY
@given(data=form_bodies("/zh/demands/new"))
def test_demand_form_never_fails(client, app, data):
    _form_check(client, app, "/zh/demands/new", data)


@PROPERTY
@given(data=form_bodies("/zh/complaints/new"))
def test_complaint_form_never_fails(client, app, data):
    _form_check(client, app, "/zh/complaints/new", data)


@PROPERTY
@given(data=form_bodies("/zh/track"))
def test_track_form_never_fails(client, app, data):
    _form_check(client, app, "/zh/track", data)


# --- ids, numbers and filters out of range (issue 8) --------------------------------------

OUT_OF_RANGE_IDS = ["0", str(2**31), str(2**31 + 1), str(2**63), str(2**64), "9" * 30,
                    "9" * 5000, "-1", "-" + str(2**63), "00", "١٢٣", "1.5", "1e3"]


def id_rules(app):
    from werkzeug.routing.converters import NumberConverter

    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(c, NumberConverter) for c in rule._converters.values())]


def test_every_numbered_route_uses_the_id_converter(site_app):
    from werkzeug.routing.converters import NumberConverter

    from portal.converters import IdConverter

    rules = id_rules(site_app)
    assert {rule.endpoint for rule in rules} >= {
        "policies.detail", "sites.detail", "opportunities.detail", "api.policy", "api.site"}
    for rule in site_app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            numeric = isinstance(converter, NumberConverter)
            assert not numeric or type(converter) is IdConverter, (rule.rule, name)


def test_ids_out_of_range_answer_404_on_every_numbered_route(site_app, site_client):
    """PostgreSQL INTEGER holds 1..2^31-1; anything else names nothing, so no route matches
    (2^63 used to reach the driver and overflow: a 500)."""
    failures = []
    for rule in id_rules(site_app):
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
        for value in OUT_OF_RANGE_IDS:
            path = rule.rule.replace("<lang:lang>", "zh")
            path = re.sub(r"<id:\w+>|<int:\w+>", value, path)
            path = re.sub(r"<[^>]+>", "x", path)
            response = send(site_client, path, method)
            if problem(path, response) or response.status_code != 404:
                failures.append(f"{method} {path[:80]}: {describe(response)[:120]}")
    assert not failures, "\n".join(failures)


def test_the_largest_id_is_an_ordinary_unknown_id(site_client):
    for path in ("/zh/policies/%d", "/api/v1/sites/%d", "/zh/opportunities/%d"):
        assert check(path, send(site_client, path % (2**31 - 1), "GET")) == 404


def test_format_number_prints_any_number(app):
    from decimal import Decimal

    from portal.i18n import format_number

    with app.test_request_context("/zh/"):
        assert format_number(1e26) == "100,000,000,000,000,000,000,000,000"
        assert format_number(10**30) == "1," + ",".join(["000"] * 10)
        assert len(format_number(1.7e308)) > 300
        assert format_number(Decimal("1e100000")) == "1E100000"
        assert format_number(float("inf")) == "∞"
        assert format_number(1200.5) == "1,200.5"
        assert format_number(None) == "—"


HUGE = [1e26, 1e300, 10**17 * 1.0]
HUGE_TEXT = ["1e26", "1e309", "9" * 30, "100000000000000000000"]


def _number_fields():
    from portal.policies.matcher import MAXIMA as POLICY_MAXIMA
    from portal.sites.matcher import MAXIMA as SITE_MAXIMA

    return [("/api/v1/policies/match", "/zh/policies/match", name, limit)
            for name, limit in POLICY_MAXIMA.items()] + [
        ("/api/v1/sites/match", "/zh/sites/match", name, limit)
        for name, limit in SITE_MAXIMA.items()]


@pytest.mark.parametrize("api, page, name, limit", _number_fields(),
                         ids=lambda v: v if isinstance(v, str) and "/" not in v else None)
def test_matcher_numbers_out_of_range_answer_422_beside_the_field(site_client, api, page, name,
                                                                  limit):
    """On the real data, where every number is printed in the reasons (1e26 and above
    once overflowed Babel's rounding: a 500)."""
    assert check(api, send(site_client, api, data=json.dumps({name: limit}),
                           content_type=JSON)) == 200
    for value in HUGE:
        response = send(site_client, api, data=json.dumps({name: value}), content_type=JSON)
        assert check(api, response) == 422, describe(response)
        message = response.get_json()["error"]["fields"][name]
        assert "不能超过" in message and "请核对数字和单位" in message
    for text in HUGE_TEXT:
        response = send(site_client, f"{page}?{name}={text}", "GET")
        assert check(page, response) == 422, describe(response)
        html = response.get_data(as_text=True)
        assert "<title>错误：" in html
        beside = re.search(rf'<p class="error-message" id="{name}-error">([^<]+)</p>', html)
        assert beside, text
        if text.isdigit():  # 1e26 is not a whole number of employees: another message
            assert "不能超过" in beside.group(1)
        assert f'value="{text}"' in html  # what was typed stays, to be corrected
    english = send(site_client, f"/en{page[3:]}?{name}=1e26", "GET").get_data(as_text=True)
    assert "<title>Error: " in english or "<title>错误：" in english


def test_output_too_small_for_the_energy_ratio(site_client):
    body = {"energy_t": 1_000_000_000, "output_wan": 1e-300}
    response = send(site_client, "/api/v1/sites/match", data=json.dumps(body), content_type=JSON)
    assert check("/api/v1/sites/match", response) == 422
    assert "0.01" in response.get_json()["error"]["fields"]["output_wan"]
    html = send(site_client, "/zh/sites/match?energy_t=1000000000&output_wan=0.000001", "GET")
    assert html.status_code == 422 and 'id="output_wan-error"' in html.get_data(as_text=True)


SITE_FILTER_NUMBERS = ["min_area", "max_area", "max_land_price", "max_rent", "min_power",
                       "min_floor_load", "min_ceiling", "investment_intensity", "tax_per_mu",
                       "energy"]
BAD_FILTER_VALUES = ["1e26", "1e309", "nan", "inf", "-1", "9" * 400, "abc", "0x10"]


@pytest.mark.parametrize("name", SITE_FILTER_NUMBERS)
def test_site_list_filters_out_of_range(site_client, name):
    """The list and the map refuse a number that cannot be a filter the same way: the page
    answers 422 with the message beside the field (the rest of the filters still apply),
    the GeoJSON API a JSON error naming the parameter."""
    for value in BAD_FILTER_VALUES:
        page = send(site_client, f"/zh/sites/?kind=parcel&{name}={value}", "GET")
        html = page.get_data(as_text=True)
        assert check("/zh/sites/", page) == 422, (value, describe(page))
        assert "<title>错误：" in html
        assert re.search(rf'<p id="{name}-error" class="error-message">输入 0 至 [\d,]+ 之间的数字',
                         html), value
        assert f'value="{value[:40]}"' in html
        assert "共 " in html and "处" in html  # the list is still shown
        partial = send(site_client, f"/zh/sites/?{name}={value}&partial=list", "GET")
        assert check("/zh/sites/", partial) == 422
        api = send(site_client, f"/api/v1/sites.geojson?{name}={value}", "GET")
        assert check("/api/v1/sites.geojson", api) in (400, 422), (value, describe(api))
        assert name in api.get_json()["error"]["fields"]
    assert check("/zh/sites/", send(site_client, f"/zh/sites/?{name}=0", "GET")) == 200
    assert check("/api/v1/sites.geojson",
                 send(site_client, f"/api/v1/sites.geojson?{name}=0", "GET")) == 200
