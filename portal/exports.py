"""CSV and XLSX exports that a spreadsheet opens as data, never as formulas.

Every staff export goes through here: each staff list (``LISTS``) offers both formats through
``table_response``, which checks the format (anything else is a 404), writes the audit event
(an export is a read of personal data) and sends the file.

A cell whose text begins with a character Excel, LibreOffice or WPS reads as the start of a
formula (``=``, ``+``, ``-``, ``@``, tab, carriage return, and the full-width ``＝ ＋ － ＠``
that Excel and WPS treat the same) gets a leading single quote, as OWASP's "CSV Injection"
page advises: ``=HYPERLINK(...)`` in a company name arrives as the text ``'=HYPERLINK(...)``
instead of a link that leaks the sheet.

In the CSV the rule is applied to every cell alike, numbers included: the file is text, and a
spreadsheet cannot tell a genuine ``-5`` from ``-5+cmd|...`` by column. A negative number
therefore reads ``'-5``; whoever needs it as a number strips the quote on purpose. That costs
little here (the staff exports hold tickets, dates and names, rarely negative numbers) and keeps
one rule an assessor can check.

In the XLSX every text cell gets the same quote, and is written as a string cell, never as a
formula or an error value (openpyxl would otherwise read ``=...`` as a formula and ``#N/A`` as
an error). The control characters XML cannot hold are removed *before* the check: removed
after it, a control character followed by ``=1`` would arrive as the formula ``=1``. Finite
numbers (``int``, ``float``, ``Decimal``; not ``bool``) stay typed number cells, which is safe:
a spreadsheet never evaluates a number cell, so there -5 stays the number -5 and sums work.
Everything else, dates included, is written as its text, as in the CSV: a list's two files
read the same, and no time zone is guessed (openpyxl refuses aware datetimes; the lists give
times as text with their offset).

Files are UTF-8 with a byte-order mark, so Excel on Chinese Windows shows 中文 instead of
mojibake, and are sent as ``attachment`` with an ASCII file name (and the original name in
``filename*`` when it has other characters).
"""

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from urllib.parse import quote

from flask import Response, abort, stream_with_context

from portal import audit

BOM = "\ufeff"
# Characters that make a spreadsheet evaluate a cell (OWASP), and their full-width forms.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def neutralise(value) -> str:
    """The text of one cell, with a leading ``'`` when it would start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(rows: Iterable[Sequence]) -> Iterator[str]:
    """The file, piece by piece: the byte-order mark, then one line per row, every cell
    neutralised. A generator, so a large export never sits whole in memory."""
    yield BOM
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def write_csv(rows: Iterable[Sequence], out) -> None:
    """Write the rows to a text stream (a file opened with ``newline=""``)."""
    for piece in csv_lines(rows):
        out.write(piece)


def csv_text(rows: Iterable[Sequence]) -> str:
    return "".join(csv_lines(rows))


def safe_filename(name: str, default: str = "export.csv") -> str:
    """An ASCII name that no browser or header parser misreads: letters, digits, ``._-``,
    no leading dot, ending in ``.csv``."""
    cleaned = _UNSAFE_NAME.sub("_", name or "").strip("._")[:100]
    if not cleaned or cleaned.lower() == "csv":
        return default
    return cleaned if cleaned.lower().endswith(".csv") else cleaned + ".csv"


def content_disposition(name: str) -> str:
    ascii_name = safe_filename(name)
    header = f'attachment; filename="{ascii_name}"'
    if name and not name.isascii():
        header += "; filename*=UTF-8''" + quote(name.replace("/", "_").replace("\\", "_"))
    return header


def csv_response(rows: Iterable[Sequence], filename: str) -> Response:
    """A download of ``rows`` (the first one the header), streamed within the request's
    context so a generator may keep querying the database; never cached by the browser or a
    proxy, since exports hold personal data."""
    response = Response(stream_with_context(csv_lines(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_value(value):
    """What one XLSX cell holds: a finite number as a number, nothing as a blank, anything
    else as neutralised text with the characters XML cannot hold removed first (so removing
    them cannot expose a formula)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if ((isinstance(value, int) and not isinstance(value, bool))
            or (isinstance(value, float) and math.isfinite(value))
            or (isinstance(value, Decimal) and value.is_finite())):
        return value
    text = neutralise(ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value)))
    return text or None  # a blank cell, not an empty string


def xlsx_bytes(rows: Iterable[Sequence], title: str = "Sheet1") -> bytes:
    """An XLSX workbook of ``rows``, by the rule in the module's docstring: numbers typed,
    text in string cells, never a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])

    def cell(value):
        written = WriteOnlyCell(sheet, value=xlsx_value(value))
        if written.data_type != "n":
            written.data_type = "s"  # not "f" (formula) or "e" (an error such as #N/A)
        return written

    for row in rows:
        sheet.append([cell(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(rows: Iterable[Sequence], filename: str) -> Response:
    """A download of ``rows`` as XLSX, with the CSV download's headers."""
    response = Response(xlsx_bytes(rows), mimetype=XLSX)
    stem = safe_filename(filename.removesuffix(".xlsx")).removesuffix(".csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- the staff lists ----------------------------------------------------------------------

FORMATS = ("csv", "xlsx")

# Every staff list page and its downloads: the list's endpoint -> {format: export endpoint}.
# Each list registers here (``register_list``); tests/test_exports_lists.py walks the URL map
# and fails when a GET page under /admin is neither a registered list with both downloads
# nor declared there as something other than a list.
LISTS: dict[str, dict[str, str]] = {}


def register_list(page: str, **downloads: str) -> None:
    """Record that the list at endpoint ``page`` downloads as ``csv=`` and ``xlsx=``."""
    if set(downloads) != set(FORMATS):
        raise ValueError(f"{page}: give one export endpoint for each of {FORMATS}")
    LISTS[page] = downloads


def table_response(header: Sequence, rows: Iterable[Sequence], basename: str, fmt: str, *,
                   entity_type: str, detail: dict | None = None) -> Response:
    """One staff list as a download: ``fmt`` is "csv" or "xlsx" (anything else is a 404,
    before anything is recorded). The export is audited first, as ``export`` of
    ``entity_type`` with ``detail``, the format and, when ``rows`` is a list, its length; a
    generator (a long audit trail) streams into the CSV uncounted. ``rows`` must already be
    what the user may see, through the same scoped query and filters as the list page."""
    if fmt not in FORMATS:
        abort(404)
    detail = {**(detail or {}), "format": fmt}
    if isinstance(rows, Sequence):
        detail["rows"] = len(rows)
    audit.record_now("export", entity_type, "", detail)
    table = _with_header(header, rows)
    if fmt == "xlsx":
        return xlsx_response(table, f"{basename}.xlsx")
    return csv_response(table, f"{basename}.csv")


def _with_header(header: Sequence, rows: Iterable[Sequence]) -> Iterator[Sequence]:
    yield header
    yield from rows
