"""Files investors attach to demands and complaints: checked, cleaned, stored, sent to staff.

The type is decided by the bytes, never by the name or the browser's content type. Images are
decoded and encoded again, which drops EXIF (GPS position, camera serial), comments and
anything appended after the image data; PDF, DOCX and XLSX are stored as received, so staff
open them only as downloads that the browser will not render (see ``send``).

Limits: a PDF is only recognised by its header, not parsed; an Office file's parts are read
(within the size limits below) to prove the archive is intact, but their XML is not
interpreted. The warning filter that turns Pillow's decompression-bomb warning into a
refusal is process-wide while it is set (``warnings.catch_warnings`` is not thread-safe
before Python 3.14); the explicit pixel count below refuses the same images either way.
"""

import hashlib
import io
import math
import re
import secrets
import unicodedata
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from urllib.parse import quote

from flask import Response, current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps

from portal.extensions import db
from portal.models import Attachment

MAX_FILES = 5
MAX_BYTES = 10 * 1024 * 1024
# A re-encoded image may grow (a low-quality JPEG saved at quality 90); this bounds the growth.
MAX_STORED_BYTES = 2 * MAX_BYTES
MAX_PIXELS = 40_000_000
# Decoding costs memory and time by the pixel, so a request's images share one budget (the
# app's MAX_REQUEST_PIXELS overrides it); it is counted from the headers before any decoding.
MAX_REQUEST_PIXELS = 60_000_000
MAX_NAME = 100
# Office files are ZIP archives: these bound what a staff member's Office would unpack.
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 100
MAX_MEMBERS = 2000

# Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; _reencode makes the warning
# an error too, so nothing over MAX_PIXELS is decoded.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

FALLBACK_STEM = "附件"
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# The part each Office type must hold, and the main content type its [Content_Types].xml
# declares (a macro-enabled .docm or .xlsm declares another one).
OFFICE_PARTS = {
    "docx": ("word/document.xml", b"wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", b"spreadsheetml.sheet.main+xml"),
}
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_PDF = b"%PDF-"
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc/.xls, and password-protected .docx/.xlsx
_NAME_PUNCTUATION = frozenset(" -_.()（）")
_SUFFIX = re.compile(r"(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,5}")
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()-]+")
_ALNUM = re.compile(r"[A-Za-z0-9]")


class AttachmentError(Exception):
    """One file refused; the message tells the user what to do."""


class AttachmentsError(Exception):
    """Files refused; ``messages`` holds one message per problem, for the form to list."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Checked:
    """A file ready to store: ``data`` is what will be stored, ``sha256`` is of ``data``."""

    filename: str
    content_type: str
    extension: str
    data: bytes = field(repr=False)
    size: int
    sha256: str


def check_all(files: list[tuple[str, bytes]]) -> list[Checked]:
    """Every (name, bytes) checked; all refusals are raised together as one AttachmentsError.

    Images whose headers add up to more than the request's pixel budget are refused before
    any of them is decoded."""
    if len(files) > MAX_FILES:
        raise AttachmentsError([_(
            "您选择了 %(count)d 个文件，最多可上传 %(max)d 个，请删减后重新上传",
            count=len(files), max=MAX_FILES)])
    budget = current_app.config.get("MAX_REQUEST_PIXELS", MAX_REQUEST_PIXELS)
    total = sum(_declared_pixels(data) for _name, data in files)
    if total > budget:
        raise AttachmentsError([_(
            "所选图片合计约 %(mp)d 百万像素，一次提交最多 %(max)d 百万像素，"
            "请缩小图片尺寸或减少图片后重新上传",
            mp=math.ceil(total / 1_000_000), max=budget // 1_000_000)])
    checked, errors = [], []
    for name, data in files:
        try:
            checked.append(check(name, data))
        except AttachmentError as exc:
            errors.append(str(exc))
    if errors:
        raise AttachmentsError(errors)
    return checked


def check(upload_name: str, data: bytes) -> Checked:
    shown = secure_filename(upload_name)
    if not data:
        raise AttachmentError(_("“%(name)s”是空文件，请选择有内容的文件", name=shown))
    if len(data) > MAX_BYTES:
        raise AttachmentError(_("“%(name)s”超过 %(mb)d MB，请压缩后重新上传",
                                name=shown, mb=MAX_BYTES // (1024 * 1024)))
    extension = _sniff(data, shown)
    if extension in ("jpg", "png"):
        data = _reencode(data, extension, shown)
    return Checked(
        filename=secure_filename(upload_name, extension),
        content_type=CONTENT_TYPES[extension],
        extension=extension,
        data=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _declared_pixels(data: bytes) -> int:
    """Width × height as a PNG or JPEG header states it (no pixel data is read); 0 for
    anything else, including a header too damaged to read, which ``check`` refuses."""
    formats = ["PNG"] if data.startswith(_PNG) else ["JPEG"] if data.startswith(_JPEG) else []
    if not formats:
        return 0
    try:
        with Image.open(io.BytesIO(data), formats=formats) as image:
            return image.width * image.height
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error,
            Image.DecompressionBombError):
        return 0


def secure_filename(upload_name: str, extension: str | None = None) -> str:
    """A name safe to show and to offer for download, at most MAX_NAME characters.

    Letters (any script), digits, spaces and ``-_.()（）`` are kept; a folder part, control
    and direction-changing characters, leading dots and other punctuation are dropped. With
    ``extension`` the name's own extension (up to five ASCII letters and digits) is replaced.
    """
    name = unicodedata.normalize("NFC", upload_name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if ch.isspace() else ch for ch in name if _name_char(ch))
    name = " ".join(name.split())
    stem, dot, suffix = name.rpartition(".")
    if dot and _SUFFIX.fullmatch(suffix):
        name = stem
        extension = extension or suffix.lower()
    name = name.strip(". ")
    if not extension:
        return name[:MAX_NAME].rstrip(". ") or FALLBACK_STEM
    stem = name[:MAX_NAME - len(extension) - 1].rstrip(". ") or FALLBACK_STEM
    return f"{stem}.{extension}"


def _name_char(ch: str) -> bool:
    # Letters, marks (which complete letters in many scripts) and digits; Cc and Cf (control
    # and bidi characters) fall out here.
    return ch.isspace() or ch in _NAME_PUNCTUATION or unicodedata.category(ch)[0] in "LMN"


def _sniff(data: bytes, shown: str) -> str:
    if data.startswith(_PDF):
        return "pdf"
    if data.startswith(_PNG):
        return "png"
    if data.startswith(_JPEG):
        return "jpg"
    if data.startswith(_ZIP):
        return _office_type(data, shown)
    if data.startswith(_OLE):
        raise AttachmentError(_(
            "“%(name)s”是旧版 Office 文件或设有密码，请取消密码并另存为 DOCX 或 XLSX 后重新上传",
            name=shown))
    raise _not_allowed(shown)


def _not_allowed(shown: str) -> AttachmentError:
    return AttachmentError(_(
        "“%(name)s”不是允许的文件类型，请上传 PDF、JPEG、PNG、DOCX 或 XLSX 文件", name=shown))


def _damaged(shown: str) -> AttachmentError:
    return AttachmentError(_("“%(name)s”已损坏，无法打开，请检查文件后重新上传", name=shown))


def _office_type(data: bytes, shown: str) -> str:
    """docx or xlsx, after the archive proves small enough to unpack and intact."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            _check_members(members, len(data), shown)
            names = {m.filename for m in members}
            kinds = [kind for kind, (part, _main) in OFFICE_PARTS.items() if part in names]
            if "[Content_Types].xml" not in names or len(kinds) != 1:
                raise _not_allowed(shown)
            for member in members:  # the CRC of each part is checked as it is read
                with archive.open(member) as part:
                    while part.read(1024 * 1024):
                        pass
            declared = archive.read("[Content_Types].xml")
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        raise _damaged(shown) from exc
    kind = kinds[0]
    if b"macroEnabled" in declared or any(n.endswith("vbaProject.bin") for n in names):
        raise AttachmentError(_(
            "“%(name)s”含有宏，请另存为不含宏的 DOCX 或 XLSX 文件后重新上传", name=shown))
    if OFFICE_PARTS[kind][1] not in declared:
        raise _not_allowed(shown)
    return kind


def _check_members(members: list[zipfile.ZipInfo], archive_size: int, shown: str) -> None:
    if len(members) > MAX_MEMBERS:
        raise _damaged(shown)
    names = [m.filename for m in members]
    if len(set(names)) != len(names):  # two parsers could pick different copies
        raise _damaged(shown)
    for member in members:
        if member.flag_bits & 0x1:
            raise AttachmentError(_(
                "“%(name)s”设有密码，请取消密码保护后重新上传", name=shown))
        parts = member.filename.split("/")
        if (member.filename.startswith("/") or "\\" in member.filename or ".." in parts
                or member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)):
            raise _damaged(shown)
    unzipped = sum(m.file_size for m in members)
    if unzipped > MAX_UNZIPPED_BYTES or unzipped > MAX_RATIO * archive_size:
        raise AttachmentError(_(
            "“%(name)s”解压后内容过大，请删除其中不需要的内容后重新上传", name=shown))


def _reencode(data: bytes, extension: str, shown: str) -> bytes:
    """The image drawn upright and saved again without metadata or trailing bytes."""
    formats = ["JPEG"] if extension == "jpg" else ["PNG"]
    too_large = AttachmentError(_(
        "“%(name)s”的图片尺寸过大（超过 %(mp)d 百万像素），请缩小后重新上传",
        name=shown, mp=MAX_PIXELS // 1_000_000))
    try:
        with warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning):
            with Image.open(io.BytesIO(data), formats=formats) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise too_large
                image.load()
                upright = ImageOps.exif_transpose(image)
        # Only what drawing needs: no EXIF, XMP, comments, text chunks or DPI.
        icc_profile = upright.info.get("icc_profile")
        upright.info = {k: v for k, v in upright.info.items() if k == "transparency"}
        params = {"icc_profile": icc_profile} if icc_profile else {}
        if extension == "jpg":
            params["quality"] = 90
        out = io.BytesIO()
        upright.save(out, formats[0], **params)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_large from exc
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as exc:
        raise _damaged(shown) from exc
    if out.tell() > MAX_STORED_BYTES:
        raise AttachmentError(_(
            "“%(name)s”处理后超过 %(mb)d MB，请缩小图片尺寸后重新上传",
            name=shown, mb=MAX_STORED_BYTES // (1024 * 1024)))
    return out.getvalue()


def store(checked: Checked, *, demand=None, complaint=None) -> Attachment:
    """An Attachment row added to the session for a demand or a complaint; not committed, so
    the caller commits the ticket and its files together. The owner must have its id (flushed).
    """
    if (demand is None) == (complaint is None):
        raise ValueError("store() takes exactly one of demand= or complaint=")
    owner = demand if demand is not None else complaint
    if owner.id is None:
        raise ValueError("store() needs a flushed demand or complaint: flush it first")
    row = Attachment(
        demand_id=demand.id if demand is not None else None,
        complaint_id=complaint.id if complaint is not None else None,
        filename=checked.filename,
        content_type=checked.content_type,
        size_bytes=checked.size,
        sha256=checked.sha256,
        storage_key=secrets.token_urlsafe(24),
        data=checked.data,
    )
    db.session.add(row)
    return row


def send(attachment: Attachment) -> Response:
    """The stored bytes as a download that no browser renders, sniffs or caches."""
    response = Response(attachment.data, content_type=attachment.content_type)
    response.headers["Content-Disposition"] = content_disposition(attachment.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII name for old clients and the UTF-8 name (RFC 5987/6266)."""
    stem, dot, extension = filename.rpartition(".")
    if not dot:
        stem, extension = filename, ""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    ascii_stem = " ".join(_ASCII_UNSAFE.sub("", ascii_stem).split()).strip(". ")
    if not _ALNUM.search(ascii_stem):
        ascii_stem = "attachment"
    ascii_ext = _ASCII_UNSAFE.sub("", extension)
    fallback = ascii_stem + (f".{ascii_ext}" if ascii_ext else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
