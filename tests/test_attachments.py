"""Attachments: real files built in memory, refused or cleaned, stored and sent back."""

import hashlib
import io
import os
import warnings
import zipfile
from datetime import UTC, datetime

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from portal.extensions import db
from portal.intake import attachments
from portal.intake.attachments import AttachmentError, AttachmentsError, check, check_all
from portal.models import Attachment, Complaint, Demand

pytestmark = pytest.mark.usefixtures("ctx")  # messages go through flask-babel

MB = 1024 * 1024
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_ALLOWED = "“%s”不是允许的文件类型，请上传 PDF、JPEG、PNG、DOCX 或 XLSX 文件"
DAMAGED = "“%s”已损坏，无法打开，请检查文件后重新上传"
TOO_MANY_PIXELS = "“%s”的图片尺寸过大（超过 40 百万像素），请缩小后重新上传"
UNZIPPED_TOO_LARGE = "“%s”解压后内容过大，请删除其中不需要的内容后重新上传"


# --- builders -----------------------------------------------------------------------------

def pdf_file() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    content = b"BT /F1 12 Tf 20 100 Td (Hello) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def image_file(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def red_left_blue_right() -> Image.Image:
    image = Image.new("RGB", (40, 20), "red")
    image.paste((0, 0, 255), (20, 0, 40, 20))
    return image


def jpeg_with_gps() -> bytes:
    """40×20, red left and blue right, to be shown rotated 90° clockwise (orientation 6)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (40.0, 5.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (113.0, 18.0, 0.0),
    }
    return image_file(red_left_blue_right(), "JPEG", exif=exif, quality=95,
                      comment=b"owner 13800000000")


def png_file(image: Image.Image | None = None, **params) -> bytes:
    return image_file(image or Image.new("RGBA", (30, 10), (0, 128, 0, 200)), "PNG", **params)


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/%s" ContentType="%s"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="%s" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>投诉材料</w:t></w:r></w:p></w:body></w:document>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
MAIN_TYPES = {
    "docx": ("word/document.xml", DOCUMENT,
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", WORKBOOK,
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
}


def office_file(kind: str = "docx", *, main_type: str | None = None,
                extra: dict[str, bytes] | None = None,
                compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    part, body, declared = MAIN_TYPES[kind]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES % (part, main_type or declared))
        archive.writestr("_rels/.rels", RELS % part)
        archive.writestr(part, body)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def refused(name: str, data: bytes) -> str:
    with pytest.raises(AttachmentError) as caught:
        check(name, data)
    return str(caught.value)


def assert_checked(checked, filename: str, extension: str, content_type: str) -> None:
    assert (checked.filename, checked.extension, checked.content_type) == (
        filename, extension, content_type)
    assert checked.size == len(checked.data)
    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest()


# --- types decided by content ---------------------------------------------------------------

def test_pdf_is_stored_as_received():
    data = pdf_file()
    checked = check("营业执照.pdf", data)
    assert_checked(checked, "营业执照.pdf", "pdf", "application/pdf")
    assert checked.data == data


@pytest.mark.parametrize("kind, content_type", [("docx", DOCX_TYPE), ("xlsx", XLSX_TYPE)])
def test_office_files_are_stored_as_received(kind, content_type):
    data = office_file(kind)
    checked = check(f"材料.{kind}", data)
    assert_checked(checked, f"材料.{kind}", kind, content_type)
    assert checked.data == data


def test_extension_comes_from_the_content():
    assert check("合同.pdf", png_file()).filename == "合同.png"
    assert check("scan.png", jpeg_with_gps()).filename == "scan.jpg"
    assert check("表格.docx", office_file("xlsx")).filename == "表格.xlsx"
    assert check("说明", pdf_file()).filename == "说明.pdf"


@pytest.mark.parametrize("name, data", [
    ("报告.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
    ("照片.png", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(56) + b"This program cannot be run"),
    ("说明.pdf", b" %PDF-1.4 starts too late"),
    ("表格.xlsx", b"id,name\n1,x\n"),
])
def test_other_content_is_refused_whatever_its_name(name, data):
    assert refused(name, data) == NOT_ALLOWED % name


def test_empty_file_is_refused():
    assert refused("空白.pdf", b"") == "“空白.pdf”是空文件，请选择有内容的文件"


def test_files_over_ten_megabytes_are_refused():
    assert refused("大文件.pdf", b"%PDF-1.4\n" + bytes(11 * MB)) == \
        "“大文件.pdf”超过 10 MB，请压缩后重新上传"
    exactly = b"%PDF-1.4\n" + bytes(10 * MB - 9)
    assert check("刚好.pdf", exactly).size == 10 * MB


# --- images ---------------------------------------------------------------------------------

def test_jpeg_is_turned_upright_and_loses_gps_exif_and_comments():
    data = jpeg_with_gps()
    with Image.open(io.BytesIO(data)) as source:  # the test file really carries them
        assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] \
            == "N"
        assert source.getexif()[ExifTags.Base.Orientation] == 6

    checked = check("现场照片.jpg", data)

    assert_checked(checked, "现场照片.jpg", "jpg", "image/jpeg")
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.format == "JPEG"
        assert stored.size == (20, 40)  # rotated: the left (red) half is now on top
        top, bottom = stored.getpixel((10, 5)), stored.getpixel((10, 35))
        assert top[0] > 200 and top[2] < 60
        assert bottom[2] > 200 and bottom[0] < 60
        assert not stored.getexif()
        assert "exif" not in stored.info and "comment" not in stored.info
    for secret in (b"Exif", b"SecretCam", b"13800000000"):
        assert secret not in checked.data


def test_png_loses_trailing_bytes_and_text_chunks():
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "张三 13800000000")
    trailer = b"<html><script>alert(1)</script></html>PK\x03\x04"
    data = png_file(pnginfo=text) + trailer

    checked = check("截图.png", data)

    assert_checked(checked, "截图.png", "png", "image/png")
    assert checked.data.endswith(b"IEND\xaeB`\x82")
    assert b"<script>" not in checked.data and b"Author" not in checked.data
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.mode == "RGBA"
        assert stored.getpixel((5, 5)) == (0, 128, 0, 200)


def test_palette_png_keeps_its_transparency():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([255, 255, 255, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 4, 8))
    checked = check("印章.png", png_file(image, transparency=0))
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.info["transparency"] == 0
        assert stored.convert("RGBA").getpixel((6, 6))[3] == 0
        assert stored.convert("RGBA").getpixel((1, 1)) == (255, 0, 0, 255)


@pytest.mark.parametrize("size", [(10_000, 5_000), (10_000, 9_000)])
def test_images_over_forty_megapixels_are_refused(size):
    # Warned about by Pillow (50 MP) or refused by it outright (90 MP): both are refusals.
    data = png_file(Image.new("1", size))
    assert len(data) < MB
    assert refused("航拍.png", data) == TOO_MANY_PIXELS % "航拍.png"


def test_pixel_limit_holds_under_production_warning_filters():
    data = png_file(Image.new("1", (10_000, 5_000)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not this suite's "error"
        assert refused("航拍.png", data) == TOO_MANY_PIXELS % "航拍.png"
        assert Image.MAX_IMAGE_PIXELS == 40_000_000


def test_forty_megapixels_are_accepted():
    checked = check("总平面图.png", png_file(Image.new("1", (8_000, 5_000))))
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.size == (8_000, 5_000)


@pytest.mark.parametrize("name, data", [
    ("坏图.png", png_file()[:60]),
    ("坏图.jpg", b"\xff\xd8\xff\xe0" + b"not a jpeg at all" * 4),
    ("坏图.jpg", jpeg_with_gps()[:-200]),
])
def test_images_pillow_cannot_decode_are_damaged(name, data):
    assert refused(name, data) == DAMAGED % name


def test_images_that_grow_too_much_when_encoded_again_are_refused(monkeypatch):
    monkeypatch.setattr(attachments, "MAX_STORED_BYTES", MB)
    noise = Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3))
    assert refused("照片.png", png_file(noise)) == \
        "“照片.png”处理后超过 1 MB，请缩小图片尺寸后重新上传"


# --- Office archives ------------------------------------------------------------------------

def test_zip_bomb_is_refused_by_its_ratio():
    data = office_file(extra={"word/media/padding.bin": bytes(20 * MB)})
    assert len(data) < MB
    assert refused("标书.docx", data) == UNZIPPED_TOO_LARGE % "标书.docx"


def test_archive_that_unpacks_past_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(attachments, "MAX_UNZIPPED_BYTES", MB)
    data = office_file(extra={"word/media/photo.bin": os.urandom(2 * MB)},
                       compression=zipfile.ZIP_STORED)
    assert refused("标书.docx", data) == UNZIPPED_TOO_LARGE % "标书.docx"


def _encrypted(data: bytes) -> bytes:
    """The 'encrypted' flag set on every central directory entry (zipfile cannot encrypt)."""
    out = bytearray(data)
    start = out.find(b"PK\x01\x02")
    while start != -1:
        out[start + 8] |= 0x1
        start = out.find(b"PK\x01\x02", start + 4)
    return bytes(out)


def test_encrypted_members_are_refused():
    assert refused("机密.xlsx", _encrypted(office_file("xlsx"))) == \
        "“机密.xlsx”设有密码，请取消密码保护后重新上传"


def test_password_protected_or_old_office_files_are_refused():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    assert refused("旧表格.xls", data) == (
        "“旧表格.xls”是旧版 Office 文件或设有密码，请取消密码并另存为 DOCX 或 XLSX 后重新上传")


def test_macro_enabled_documents_are_refused():
    data = office_file(main_type="application/vnd.ms-word.document.macroEnabled.main+xml",
                       extra={"word/vbaProject.bin": b"\x00" * 64})
    assert refused("宏.docx", data) == \
        "“宏.docx”含有宏，请另存为不含宏的 DOCX 或 XLSX 文件后重新上传"


def test_zip_without_office_parts_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert refused("文件.docx", out.getvalue()) == NOT_ALLOWED % "文件.docx"
    # the parts are there but [Content_Types].xml names another document type
    wrong = office_file(main_type="application/vnd.openxmlformats-officedocument."
                                  "wordprocessingml.template.main+xml")
    assert refused("模板.docx", wrong) == NOT_ALLOWED % "模板.docx"


def test_damaged_archives_are_refused():
    whole = office_file(compression=zipfile.ZIP_STORED)
    assert refused("截断.docx", whole[: len(whole) // 2]) == DAMAGED % "截断.docx"
    text = "投诉材料".encode()
    corrupt = whole.replace(text, "投诉资料".encode())  # same length, wrong CRC
    assert corrupt != whole
    assert refused("篡改.docx", corrupt) == DAMAGED % "篡改.docx"


def test_absurd_members_are_refused():
    assert refused("a.docx", office_file(extra={"../../etc/cron.d/x": b"x"})) == \
        DAMAGED % "a.docx"
    assert refused("b.docx", office_file(
        extra={"word/media/x.bin": b"x"}, compression=zipfile.ZIP_BZIP2)) == DAMAGED % "b.docx"
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = office_file(extra={"word/document.xml": b"<other/>"})
    assert refused("c.docx", twice) == DAMAGED % "c.docx"


# --- names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("upload, stored", [
    ("C:\\Users\\张三\\Desktop\\合同.pdf", "合同.pdf"),
    ("../../etc/passwd", "passwd.pdf"),
    ("invoice\u202efdp.exe", "invoicefdp.pdf"),
    ("\u2066报告\u2069\u200f.pdf", "报告.pdf"),
    ("a\x00b\x07c\x1b[31m.pdf", "abc31m.pdf"),
    (".hidden.pdf", "hidden.pdf"),
    ("...", "附件.pdf"),
    ("", "附件.pdf"),
    ("😀.pdf", "附件.pdf"),
    ("  年度\u3000 报告\t(终稿)（二） .PDF", "年度 报告 (终稿)（二）.pdf"),
    ("Zürich v1.2 «final».pdf", "Zürich v1.2 final.pdf"),
    ("报告.final.version", "报告.final.version.pdf"),
    ("长" * 300 + ".pdf", "长" * 96 + ".pdf"),
])
def test_names_are_sanitised(upload, stored):
    checked = check(upload, pdf_file())
    assert checked.filename == stored
    assert len(checked.filename) <= 100


def test_long_names_keep_the_detected_extension():
    checked = check("材" * 99 + ".pdf", office_file("docx"))
    assert checked.filename == "材" * 95 + ".docx"


def test_messages_show_the_sanitised_name():
    assert refused("C:\\fakepath\\\u202e恶意\x00.exe", b"MZ\x90\x00") == NOT_ALLOWED % "恶意.exe"
    assert refused("../\u202e", b"") == "“附件”是空文件，请选择有内容的文件"


# --- several files --------------------------------------------------------------------------

def test_check_all_accepts_up_to_five_files():
    files = [("a.pdf", pdf_file()), ("b.png", png_file()), ("c.jpg", jpeg_with_gps()),
             ("d.docx", office_file("docx")), ("e.xlsx", office_file("xlsx"))]
    assert [c.filename for c in check_all(files)] == ["a.pdf", "b.png", "c.jpg", "d.docx",
                                                      "e.xlsx"]
    assert check_all([]) == []


def test_check_all_refuses_a_sixth_file():
    with pytest.raises(AttachmentsError) as caught:
        check_all([(f"{n}.pdf", pdf_file()) for n in range(6)])
    assert caught.value.messages == ["您选择了 6 个文件，最多可上传 5 个，请删减后重新上传"]


def test_check_all_lists_every_refusal():
    with pytest.raises(AttachmentsError) as caught:
        check_all([("好.pdf", pdf_file()), ("坏.pdf", b"<html></html>"), ("空.png", b"")])
    assert caught.value.messages == [NOT_ALLOWED % "坏.pdf",
                                     "“空.png”是空文件，请选择有内容的文件"]


REQUEST_PIXELS = ("所选图片合计约 %d 百万像素，一次提交最多 %d 百万像素，"
                  "请缩小图片尺寸或减少图片后重新上传")


def test_five_large_images_are_refused_together_before_any_is_decoded():
    """Issue 8: five 36-megapixel PNGs (each allowed alone) took 6 s and 240 MB to decode.
    Their headers add up to 180 megapixels, over the request's 60, so none is decoded."""
    data = png_file(Image.new("1", (6_000, 6_000)))
    assert len(data) < 200 * 1024
    with pytest.raises(AttachmentsError) as caught:
        check_all([(f"航拍{n}.png", data) for n in range(5)])
    assert caught.value.messages == [REQUEST_PIXELS % (180, 60)]
    # Cut after the header, the same files cannot be decoded at all: the answer is still the
    # pixel budget, not "damaged", so the budget was applied before any decoding.
    headers_only = data[:64]
    with pytest.raises(AttachmentsError) as caught:
        check_all([(f"航拍{n}.png", headers_only) for n in range(5)])
    assert caught.value.messages == [REQUEST_PIXELS % (180, 60)]


def test_the_request_pixel_budget_is_configurable_and_counts_jpeg_too(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_REQUEST_PIXELS", 100_000)
    png = png_file(Image.new("RGB", (200, 200)))  # 40,000 pixels
    jpeg = image_file(Image.new("RGB", (200, 200)), "JPEG")
    assert len(check_all([("a.png", png), ("b.jpg", jpeg), ("c.pdf", pdf_file())])) == 3
    with pytest.raises(AttachmentsError) as caught:
        check_all([("a.png", png), ("b.jpg", jpeg), ("c.png", png)])
    assert caught.value.messages == [REQUEST_PIXELS % (1, 0)]


def test_a_header_too_damaged_to_count_is_refused_as_damaged():
    assert attachments._declared_pixels(png_file()[:20]) == 0
    with pytest.raises(AttachmentsError) as caught:
        check_all([("坏图.png", png_file()[:60])])
    assert caught.value.messages == [DAMAGED % "坏图.png"]


def test_a_request_with_too_many_pixels_stores_nothing(app):
    data = png_file(Image.new("1", (6_000, 6_000)))
    from tests.test_intake import COMPLAINT

    form = dict(COMPLAINT)
    files = [(io.BytesIO(data), f"航拍{n}.png") for n in range(5)]
    response = app.test_client().post("/api/v1/complaints", data=form | {"attachments": files},
                                      content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["attachments"] == REQUEST_PIXELS % (180, 60)
    assert db.session.scalar(db.select(db.func.count()).select_from(Complaint)) == 0


# --- storing and sending --------------------------------------------------------------------

def _demand() -> Demand:
    row = Demand(ticket="D-1", access_code_hash="h", contact_name="张三", company_name="某公司",
                 consent_at=datetime.now(UTC))
    db.session.add(row)
    db.session.flush()
    return row


def _complaint() -> Complaint:
    row = Complaint(ticket="C-1", access_code_hash="h", contact_name="李四", category="policy",
                    respondent_name="某局", facts="事实", consent_at=datetime.now(UTC))
    db.session.add(row)
    db.session.flush()
    return row


def test_store_adds_rows_with_random_keys_and_leaves_the_commit_to_the_caller():
    demand, complaint = _demand(), _complaint()
    photo = check("现场.jpg", jpeg_with_gps())
    first = attachments.store(photo, demand=demand)
    second = attachments.store(check("合同.pdf", pdf_file()), complaint=complaint)
    assert first in db.session.new and second in db.session.new
    db.session.commit()

    assert (first.demand_id, first.complaint_id) == (demand.id, None)
    assert (second.demand_id, second.complaint_id) == (None, complaint.id)
    assert len(first.storage_key) == 32 and first.storage_key != second.storage_key
    db.session.expire_all()
    row = db.session.get(Attachment, first.id)
    assert (row.filename, row.content_type, row.size_bytes, row.sha256) == (
        "现场.jpg", "image/jpeg", photo.size, photo.sha256)
    assert hashlib.sha256(row.data).hexdigest() == row.sha256


def test_store_rolls_back_with_the_ticket():
    attachments.store(check("合同.pdf", pdf_file()), demand=_demand())
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 0


def test_store_needs_exactly_one_saved_owner():
    checked = check("合同.pdf", pdf_file())
    with pytest.raises(ValueError, match="exactly one"):
        attachments.store(checked)
    with pytest.raises(ValueError, match="exactly one"):
        attachments.store(checked, demand=_demand(), complaint=_complaint())
    with pytest.raises(ValueError, match="flush"):
        attachments.store(checked, demand=Demand(company_name="未保存"))


def test_send_is_a_download_the_browser_will_not_render():
    checked = check("C:\\合同 (签字版).png", png_file())
    row = attachments.store(checked, demand=_demand())
    db.session.commit()
    db.session.expire_all()

    response = attachments.send(db.session.get(Attachment, row.id))

    assert response.get_data() == checked.data
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Length"] == str(checked.size)
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"attachment.png\"; "
        "filename*=UTF-8''%E5%90%88%E5%90%8C%20%28%E7%AD%BE%E5%AD%97%E7%89%88%29.png")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.parametrize("filename, header", [
    ("Invoice 发票 (2).pdf",
     "attachment; filename=\"Invoice (2).pdf\"; "
     "filename*=UTF-8''Invoice%20%E5%8F%91%E7%A5%A8%20%282%29.pdf"),
    ("Zürich.docx", "attachment; filename=\"Zurich.docx\"; filename*=UTF-8''Z%C3%BCrich.docx"),
    ('a"b\\c.pdf', "attachment; filename=\"abc.pdf\"; filename*=UTF-8''a%22b%5Cc.pdf"),
])
def test_content_disposition_has_an_ascii_fallback(filename, header):
    assert attachments.content_disposition(filename) == header
