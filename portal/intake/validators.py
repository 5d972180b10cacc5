"""Validators for the intake forms, and the plain functions behind them.

Each validator only checks: it leaves ``field.data`` as the user typed it, so a page shown
again with errors keeps the user's input. Services store the canonical form through the
plain functions (``normalise_credit_code``, ``normalise_phone``, ``parse_amount``).
Empty input passes every validator here; ``DataRequired`` or ``Optional`` decides presence.
"""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

# --- 统一社会信用代码 (GB 32100-2015) -------------------------------------------------------

CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_VALUE = {ch: i for i, ch in enumerate(CREDIT_CODE_CHARS)}
_SPACES = re.compile(r"\s+")


def _half_width(text: str) -> str:
    """Full-width digits, letters, ＋, （） and the ideographic space become ASCII."""
    return unicodedata.normalize("NFKC", text)


def normalise_credit_code(text: str | None) -> str:
    """Half-width, upper-case, without spaces; not checked."""
    return _SPACES.sub("", _half_width(text or "")).upper()


def credit_code_check_char(first17: str) -> str:
    """The 18th character for 17 characters of the code set (ValueError otherwise)."""
    if len(first17) != 17 or any(ch not in _CREDIT_VALUE for ch in first17):
        raise ValueError("17 characters of the credit code set expected")
    total = sum(_CREDIT_VALUE[ch] * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS,
                                                       strict=True))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def _credit_code_shape_ok(code: str) -> bool:
    return len(code) == 18 and all(ch in _CREDIT_VALUE for ch in code)


def credit_code_valid(code: str | None) -> bool:
    """True for a well-formed code with the right check character, after normalising.

    Checks the form only; whether the code is registered is for the 国家企业信用信息公示系统.
    """
    code = normalise_credit_code(code)
    return _credit_code_shape_ok(code) and credit_code_check_char(code[:17]) == code[17]


class CreditCode:
    """统一社会信用代码; a separate message when only the check character is wrong."""

    def __init__(self, message=None, check_message=None):
        self.message = message or _l("输入正确的统一社会信用代码，18位，由数字和大写字母组成")
        self.check_message = check_message or _l(
            "统一社会信用代码校验位不正确，请核对后重新输入")

    def __call__(self, form, field):
        if not field.data:
            return
        code = normalise_credit_code(field.data)
        if not _credit_code_shape_ok(code):
            raise ValidationError(self.message)
        if credit_code_check_char(code[:17]) != code[17]:
            raise ValidationError(self.check_message)


# --- Telephone numbers ----------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-.()]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
# A mainland landline without the +86 prefix: trunk 0, area code (010, 02X or a three-digit
# code after the 0), 7 or 8 digit subscriber number, an optional extension after -, 转, ext, x
# or #. A space alone does not start an extension: "0352 1234567 123" is ambiguous.
_EXTENSION = r"(?:\s*(?:-|转|分机|ext\.?|x|#)\s*(?P<ext>\d{1,6}))?"
_LANDLINE = re.compile(
    r"\(?0(?P<area>10|2\d|[3-9]\d{2})\)?[\s-]*(?P<head>\d{3,4})[\s-]?(?P<tail>\d{4})"
    + _EXTENSION, re.IGNORECASE)
# After +86 the trunk 0 is dropped, though "(0)" or a stray 0 is tolerated.
_LANDLINE_86 = re.compile(
    r"[\s-]*(?:\(0\)|0)?\(?(?P<area>10|2\d|[3-9]\d{2})\)?[\s-]*(?P<head>\d{3,4})[\s-]?"
    r"(?P<tail>\d{4})" + _EXTENSION, re.IGNORECASE)
_INTERNATIONAL = re.compile(r"[1-9][\d\s\-.()]*")
E164_MIN_DIGITS = 7  # with the country code; the shortest national plans have 4-5 digits
E164_MAX_DIGITS = 15


def _mainland(national: str, *, trunk: bool) -> str | None:
    """``national`` is what follows +86 (trunk=False) or the whole input (trunk=True)."""
    digits = _SEPARATORS.sub("", national)
    if _MOBILE.fullmatch(digits):
        return "+86" + digits
    match = (_LANDLINE if trunk else _LANDLINE_86).fullmatch(national.strip())
    if match is None:
        return None
    number = f"+86-{match['area']}-{match['head']}{match['tail']}"
    return f"{number}-{match['ext']}" if match["ext"] else number


def normalise_phone(text: str | None) -> str | None:
    """The canonical form of a phone number, or None when it is not one we can read.

    Mainland mobiles become ``+8613812345678``, mainland landlines ``+86-352-1234567`` (with
    ``-123`` for an extension), other countries ``+14155550100`` (E.164). A number outside
    the mainland needs its ``+`` or ``00`` prefix: without it, it cannot be told from a
    mainland one. The check is on shape, not on whether the number is allocated.
    """
    text = _half_width(text or "").strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        return _mainland(text, trunk=True)
    rest = text[1:].lstrip()
    if rest.startswith("86"):
        return _mainland(rest[2:], trunk=False)
    if not _INTERNATIONAL.fullmatch(rest):
        return None
    digits = _SEPARATORS.sub("", rest.replace("(0)", "", 1))
    if not E164_MIN_DIGITS <= len(digits) <= E164_MAX_DIGITS:
        return None
    return "+" + digits


class Phone:
    def __init__(self, message=None):
        self.message = message or _l(
            "输入手机号或座机号，如 13812345678、0352-1234567，境外号码请以 + 和国家代码开头")

    def __call__(self, form, field):
        if field.data and normalise_phone(field.data) is None:
            raise ValidationError(self.message)


# --- Free text ------------------------------------------------------------------------------

_ALLOWED_CONTROLS = frozenset("\n\r\t")  # browsers send a textarea's newlines as \r\n


def has_control_chars(text: str) -> bool:
    """NUL and other C0/C1 controls (newline, carriage return and tab allowed), lone surrogates.

    PostgreSQL refuses NUL in text; lone surrogates cannot be encoded as UTF-8.
    """
    return any(
        (unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS)
        or unicodedata.category(ch) == "Cs"
        for ch in text
    )


class NoControlChars:
    def __init__(self, message=None):
        self.message = message or _l("删除从其他软件复制粘贴时带入的不可见控制字符后重新提交")

    def __call__(self, form, field):
        if isinstance(field.data, str) and has_control_chars(field.data):
            raise ValidationError(self.message)


# --- Amounts in 万元 ------------------------------------------------------------------------

AMOUNT_MAX_WAN = Decimal(10) ** 9
_CENT = Decimal("0.01")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_GROUPED_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


class _AmountProblem(ValueError):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind  # "format", "negative", "decimals" or "max"


def _check_amount(value, maximum: Decimal) -> Decimal:
    if isinstance(value, bool):
        raise _AmountProblem("format")
    if isinstance(value, Decimal | int | float):
        try:
            amount = Decimal(str(value))  # str(): 0.1 stays 0.1, not the binary float
        except InvalidOperation:
            raise _AmountProblem("format") from None
        if not amount.is_finite():
            raise _AmountProblem("format")
    else:
        text = _SPACES.sub("", _half_width(str(value)))
        if _GROUPED_NUMBER.fullmatch(text):
            text = text.replace(",", "")
        if not _PLAIN_NUMBER.fullmatch(text):
            raise _AmountProblem("format")
        amount = Decimal(text)
    if amount < 0:
        raise _AmountProblem("negative")
    if amount == 0:
        amount = Decimal(0)  # not -0 or 0E-8
    if amount > maximum:  # before quantize: 1E100 has more digits than a context holds
        raise _AmountProblem("max")
    if amount != amount.quantize(_CENT):
        raise _AmountProblem("decimals")
    return amount


def parse_amount(value, maximum: Decimal = AMOUNT_MAX_WAN) -> Decimal | None:
    """An amount in 万元 from text (half- or full-width, ``1,500.5`` grouping) or a number.

    None for anything the ``Amount`` validator refuses, or for empty input.
    """
    if value is None or value == "":
        return None
    try:
        return _check_amount(value, maximum)
    except _AmountProblem:
        return None


class Amount:
    """A non-negative amount in 万元 with at most two decimals, no more than ``maximum``.

    Works on a StringField, a DecimalField or a FloatField.
    """

    def __init__(self, maximum: Decimal | int = AMOUNT_MAX_WAN, message=None,
                 negative_message=None, decimals_message=None, max_message=None):
        self.maximum = Decimal(maximum)
        self.messages = {
            "format": message or _l("输入金额数字，单位为万元，如 1500 或 1500.50"),
            "negative": negative_message or _l("输入不小于 0 的金额"),
            "decimals": decimals_message or _l("金额最多保留两位小数，如 1500.25"),
            "max": max_message or _l("输入不超过 %(max)s 万元的金额"),
        }

    def __call__(self, form, field):
        if field.data is None or field.data == "":
            return
        try:
            _check_amount(field.data, self.maximum)
        except _AmountProblem as problem:
            message = self.messages[problem.kind]
            if problem.kind == "max":
                message = message % {"max": f"{self.maximum:,f}"}
            raise ValidationError(message) from None
