"""CSV exports that a spreadsheet opens as data, never as formulas.

Every staff export goes through here. A cell whose text begins with a character Excel,
LibreOffice or WPS reads as the start of a formula (``=``, ``+``, ``-``, ``@``, tab, carriage
return, and the full-width ``＝ ＋ － ＠`` that Excel and WPS treat the same) gets a leading
single quote, as OWASP's "CSV Injection" page advises: ``=HYPERLINK(...)`` in a company name
arrives as the text ``'=HYPERLINK(...)`` instead of a link that leaks the sheet.

The rule is applied to every cell alike, numbers included: the export writes text, and a
spreadsheet cannot tell a genuine ``-5`` from ``-5+cmd|...`` by column. A negative number
therefore reads ``'-5``; whoever needs it as a number strips the quote on purpose. That costs
little here (the staff exports hold tickets, dates and names, rarely negative numbers) and keeps
one rule an assessor can check.

Files are UTF-8 with a byte-order mark, so Excel on Chinese Windows shows 中文 instead of
mojibake, and are sent as ``attachment`` with an ASCII file name (and the original name in
``filename*`` when it has other characters).
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import quote

from flask import Response, stream_with_context

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


def xlsx_bytes(rows: Iterable[Sequence], title: str = "Sheet1") -> bytes:
    """An XLSX workbook of ``rows`` with the same rule as the CSV: a text cell that would start
    a formula gets a leading quote (openpyxl writes any string starting with ``=`` as a
    formula). Numbers and dates stay typed cells, which a spreadsheet never evaluates; control
    characters XML cannot hold are dropped."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    for row in rows:
        sheet.append([cell if isinstance(cell, int | float) and not isinstance(cell, bool)
                      else ILLEGAL_CHARACTERS_RE.sub("", neutralise(cell)) for cell in row])
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
