"""CSV exports: formula injection neutralised (OWASP), UTF-8 with BOM, safe downloads."""

import csv
import io

import pytest
from flask import Flask

from portal.exports import (
    BOM,
    content_disposition,
    csv_response,
    csv_text,
    neutralise,
    safe_filename,
    write_csv,
)

# The payloads from OWASP's "CSV Injection" page and its full-width variants.
PAYLOADS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1", "＝1",
            "＋1", "－1", "＠SUM(1)", "=cmd|' /C calc'!A0"]


def _cells(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM):], newline="")))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_payloads_are_quoted(payload):
    assert neutralise(payload) == "'" + payload
    [[cell]] = _cells(csv_text([[payload]]))
    assert cell == "'" + payload  # the reader gets the quote back: it is text, not a formula


def test_negative_numbers_are_neutralised_like_any_other_cell():
    """The export writes text, so -5 cannot be told from -5+cmd by its column: one rule."""
    assert neutralise(-5) == "'-5"
    assert neutralise(-0.5) == "'-0.5"
    assert neutralise("-5") == "'-5"


@pytest.mark.parametrize("value, text", [
    ("大同市", "大同市"), ("D-0123456789", "D-0123456789"), (5, "5"), (0, "0"),
    (None, ""), ("", ""), ("a=b", "a=b"), ("1+1", "1+1"), ("name@example.gov.cn",
                                                          "name@example.gov.cn"),
    (" =1", " =1"), ("'=1", "'=1"),
])
def test_ordinary_values_are_kept(value, text):
    assert neutralise(value) == text


def test_csv_is_utf8_with_bom_and_quotes_separators():
    text = csv_text([["ticket", "company"], ["D-1", '大同"煤业",有限公司'], ["D-2", "a\nb"]])
    assert text.startswith("\ufeffticket,company\r\n")
    assert _cells(text) == [["ticket", "company"], ["D-1", '大同"煤业",有限公司'],
                            ["D-2", "a\nb"]]


def test_write_csv_to_a_file(tmp_path):
    path = tmp_path / "out.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        write_csv([["a", "=1"]], out)
    assert path.read_bytes() == b"\xef\xbb\xbfa,'=1\r\n"


@pytest.mark.parametrize("name, safe", [
    ("demands.csv", "demands.csv"), ("audit-20261204-210305.csv", "audit-20261204-210305.csv"),
    ("../../etc/passwd", "etc_passwd.csv"), ('a"; b=c.csv', "a_b_c.csv"),
    ("x\r\nSet-Cookie: a=b", "x_Set-Cookie_a_b.csv"), ("", "export.csv"), ("...", "export.csv"),
    ("投诉.csv", "export.csv"), ("tickets", "tickets.csv"),
])
def test_safe_filename(name, safe):
    assert safe_filename(name) == safe


def test_non_ascii_name_goes_in_filename_star():
    header = content_disposition("审计日志.csv")
    assert header.startswith('attachment; filename="export.csv"; ')
    assert "filename*=UTF-8''%E5%AE%A1%E8%AE%A1%E6%97%A5%E5%BF%97.csv" in header
    assert "\n" not in content_disposition("a\r\nb")


def test_csv_response_is_an_uncached_attachment():
    app = Flask(__name__)
    with app.test_request_context():
        response = csv_response(iter([["kind", "value"], ["x", "@SUM(1)"]]), "tickets.csv")
        response.direct_passthrough = False  # read the streamed body here
        body = response.get_data(as_text=True)
    assert response.headers["Content-Disposition"] == 'attachment; filename="tickets.csv"'
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert body == "\ufeffkind,value\r\nx,'@SUM(1)\r\n"
