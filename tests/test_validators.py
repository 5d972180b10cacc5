"""Tests for portal.intake.validators: the plain functions and the validators in a form."""

from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, FloatField, Form, StringField, TextAreaField
from wtforms.validators import Optional

from portal.intake.validators import (
    AMOUNT_MAX_WAN,
    CREDIT_CODE_CHARS,
    Amount,
    CreditCode,
    NoControlChars,
    Phone,
    credit_code_check_char,
    credit_code_valid,
    has_control_chars,
    normalise_credit_code,
    normalise_phone,
    parse_amount,
)

# Published codes (国家企业信用信息公示系统, the companies' own disclosures).
REAL_CREDIT_CODES = {
    "中国石油天然气集团有限公司": "91110000100010433L",
    "华为技术有限公司": "914403001922038216",
    "腾讯科技（深圳）有限公司": "9144030071526726XG",
    "小米科技有限责任公司": "91110108551385082Q",
    "阿里巴巴（中国）有限公司": "91330100799655058B",
}
SHAPE_MESSAGE = "输入正确的统一社会信用代码，18位，由数字和大写字母组成"
CHECK_MESSAGE = "统一社会信用代码校验位不正确，请核对后重新输入"
PHONE_MESSAGE = ("输入手机号或座机号，如 13812345678、0352-1234567，"
                 "境外号码请以 + 和国家代码开头")


class IntakeForm(Form):
    credit_code = StringField(validators=[Optional(), CreditCode()])
    phone = StringField(validators=[Optional(), Phone()])
    message = TextAreaField(validators=[NoControlChars()])
    amount = StringField(validators=[Optional(), Amount()])


def errors(**data) -> dict[str, list[str]]:
    form = IntakeForm(MultiDict(data))
    form.validate()
    return {name: [str(message) for message in messages]
            for name, messages in form.errors.items()}


# --- 统一社会信用代码 ---------------------------------------------------------------------

@pytest.mark.parametrize("code", REAL_CREDIT_CODES.values())
def test_published_credit_codes_are_valid(code):
    assert credit_code_valid(code)
    assert credit_code_check_char(code[:17]) == code[17]
    assert errors(credit_code=code) == {}


def test_check_char_can_be_zero():
    # (31 - 0) % 31: a sum divisible by 31 gives check character 0, not an index error.
    assert credit_code_check_char("0" * 17) == "0"
    assert credit_code_valid("0" * 18)


@pytest.mark.parametrize(("typed", "normal"), [
    ("9144030071526726xg", "9144030071526726XG"),
    ("９１１１００００１０００１０４３３Ｌ", "91110000100010433L"),
    ("9111 0000 1000 1043 3L", "91110000100010433L"),
    ("\u30009144030071526726ｘｇ\t", "9144030071526726XG"),
])
def test_credit_code_input_is_normalised(typed, normal):
    assert normalise_credit_code(typed) == normal
    assert credit_code_valid(typed)
    assert errors(credit_code=typed) == {}


@pytest.mark.parametrize("code", [
    "91110000100010433",  # 17 characters
    "91110000100010433L0",  # 19
    "",
    "9111000010001043IL",  # I, O, Z, S and V are not in the code set
    "9111000010001043OL",
    "9111000010001043ZL",
    "9111000010001043SL",
    "9111000010001043VL",
    "91110000100010433I",  # nor as the check character
    "91110000-100010433L",
    "统一社会信用代码",
])
def test_malformed_credit_codes(code):
    assert not credit_code_valid(code)
    if code:
        assert errors(credit_code=code) == {"credit_code": [SHAPE_MESSAGE]}


@pytest.mark.parametrize("code", ["91110000100010433M", "914403001922038217",
                                  "9144030071526726X0", "9144030071526726xh"])
def test_wrong_check_character_has_its_own_message(code):
    assert not credit_code_valid(code)
    assert errors(credit_code=code) == {"credit_code": [CHECK_MESSAGE]}


@pytest.mark.parametrize("code", REAL_CREDIT_CODES.values())
def test_every_single_character_change_is_caught(code):
    for position in range(18):
        for char in CREDIT_CODE_CHARS:
            if char != code[position]:
                changed = code[:position] + char + code[position + 1:]
                assert not credit_code_valid(changed), changed


def test_swapping_neighbours_is_caught():
    code = REAL_CREDIT_CODES["华为技术有限公司"]
    swapped = code[:8] + code[9] + code[8] + code[10:]
    assert swapped != code and not credit_code_valid(swapped)


def test_check_char_wants_seventeen_code_characters():
    with pytest.raises(ValueError):
        credit_code_check_char("9111000010001043")
    with pytest.raises(ValueError):
        credit_code_check_char("9111000010001043I")


def test_credit_code_custom_messages():
    class Custom(Form):
        code = StringField(validators=[CreditCode(message="shape", check_message="check")])

    form = Custom(MultiDict({"code": "123"}))
    assert not form.validate() and form.errors == {"code": ["shape"]}
    form = Custom(MultiDict({"code": "91110000100010433M"}))
    assert not form.validate() and form.errors == {"code": ["check"]}


def test_validators_keep_the_users_input():
    form = IntakeForm(MultiDict({"credit_code": "9144030071526726xg",
                                 "phone": "+86 138 1234 5678"}))
    assert form.validate()
    assert form.credit_code.data == "9144030071526726xg"
    assert form.phone.data == "+86 138 1234 5678"


# --- Telephone numbers --------------------------------------------------------------------

ACCEPTED_PHONES = [
    ("13812345678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("138-1234-5678", "+8613812345678"),
    ("19912345678", "+8619912345678"),
    ("+86 138 1234 5678", "+8613812345678"),
    ("+86-138-1234-5678", "+8613812345678"),
    ("+8613812345678", "+8613812345678"),
    ("0086 138 1234 5678", "+8613812345678"),
    ("008613812345678", "+8613812345678"),
    ("１３８１２３４５６７８", "+8613812345678"),
    ("＋86 138 1234 5678", "+8613812345678"),
    ("0352-1234567", "+86-352-1234567"),
    ("(0352)1234567", "+86-352-1234567"),
    ("（0352）1234567", "+86-352-1234567"),
    ("0352 1234567", "+86-352-1234567"),
    ("03521234567", "+86-352-1234567"),
    ("0352-12345678", "+86-352-12345678"),
    ("010-12345678", "+86-10-12345678"),
    ("(010) 1234 5678", "+86-10-12345678"),
    ("021-6123-4567", "+86-21-61234567"),
    ("0352-1234567-123", "+86-352-1234567-123"),
    ("0352-1234567转123", "+86-352-1234567-123"),
    ("0352-1234567 ext. 8", "+86-352-1234567-8"),
    ("+86 352 1234567", "+86-352-1234567"),
    ("+86-352-1234567", "+86-352-1234567"),
    ("+86 (0)352 1234567", "+86-352-1234567"),
    ("+86-10-12345678-99", "+86-10-12345678-99"),
    ("0086-10-12345678", "+86-10-12345678"),
    ("+1 415 555 0100", "+14155550100"),
    ("+1 (415) 555-0100", "+14155550100"),
    ("001 415 555 0100", "+14155550100"),
    ("+49 30 123456", "+4930123456"),
    ("+852 2123 4567", "+85221234567"),
    ("+853 2812 3456", "+85328123456"),
    ("+44 (0)20 7946 0000", "+442079460000"),
]


@pytest.mark.parametrize(("typed", "canonical"), ACCEPTED_PHONES)
def test_accepted_phone_forms(typed, canonical):
    assert normalise_phone(typed) == canonical
    assert normalise_phone(canonical) == canonical  # the stored form reads back the same
    assert errors(phone=typed) == {}


@pytest.mark.parametrize("typed", [
    None,
    "",
    "   ",
    "1381234567",  # 10 digits: too short for a mobile
    "138123456789",  # 12 digits
    "+86 138 1234 56789",
    "12812345678",  # mobiles start 13-19
    "1381234abcd",
    "phone",
    "138 1234 5678 (mobile)",
    "0352-123456",  # 6-digit subscriber number
    "0352-123456789",
    "0352 1234567 123",  # an extension needs -, 转, ext, x or #
    "352-1234567",  # no trunk 0 and no +86
    "4930123456",  # international without +
    "85221234567",
    "+",
    "+86",
    "+0 123 4567",
    "+1 415",  # too short
    "+1234567890123456",  # 16 digits: longer than E.164 allows
    "+1 415 555 0100 ext 12",
    "+49 30 abc",
])
def test_rejected_phones(typed):
    assert normalise_phone(typed) is None
    if typed and typed.strip():
        assert errors(phone=typed) == {"phone": [PHONE_MESSAGE]}


# --- Control characters -------------------------------------------------------------------

@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "\x1b[31mred", "del\x7f",
                                  "next line\x85", "lone \ud800 surrogate", "\x0b", "\x0c"])
def test_control_characters_are_refused(text):
    assert has_control_chars(text)
    assert list(errors(message=text)) == ["message"]


@pytest.mark.parametrize("text", ["第一行\r\n第二行", "a\tb\nc", "", "大同市平城区",
                                  "👩\u200d💻 zero-width joiner is not a control"])
def test_ordinary_text_passes(text):
    assert not has_control_chars(text)
    assert errors(message=text) == {}


# --- Amounts ------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "value"), [
    ("0", Decimal("0")),
    ("-0", Decimal("0")),
    ("1500", Decimal("1500")),
    ("1500.5", Decimal("1500.5")),
    ("1500.50", Decimal("1500.50")),
    ("1,500.25", Decimal("1500.25")),
    ("１５００．２５", Decimal("1500.25")),
    (" 1500 ", Decimal("1500")),
    ("1000000000", AMOUNT_MAX_WAN),
    (Decimal("12.30"), Decimal("12.3")),
    (0.1, Decimal("0.1")),
    (7, Decimal(7)),
])
def test_amounts_accepted(typed, value):
    assert parse_amount(typed) == value
    if isinstance(typed, str):
        assert errors(amount=typed) == {}


@pytest.mark.parametrize(("typed", "message"), [
    ("-1", "输入不小于 0 的金额"),
    ("1.234", "金额最多保留两位小数，如 1500.25"),
    ("1000000000.01", "输入不超过 1,000,000,000 万元的金额"),
    ("abc", "输入金额数字，单位为万元，如 1500 或 1500.50"),
    ("1e5", "输入金额数字，单位为万元，如 1500 或 1500.50"),
    ("NaN", "输入金额数字，单位为万元，如 1500 或 1500.50"),
    ("1,50", "输入金额数字，单位为万元，如 1500 或 1500.50"),
    ("1.", "输入金额数字，单位为万元，如 1500 或 1500.50"),
])
def test_amounts_refused(typed, message):
    assert parse_amount(typed) is None
    assert errors(amount=typed) == {"amount": [message]}


def test_parse_amount_of_nothing():
    assert parse_amount(None) is None
    assert parse_amount("") is None
    assert parse_amount(True) is None
    assert parse_amount(float("inf")) is None


def test_amount_on_number_fields():
    class Numbers(Form):
        decimal = DecimalField(validators=[Optional(), Amount()])
        number = FloatField(validators=[Optional(), Amount(maximum=100)])

    assert Numbers(MultiDict({"decimal": "12.5", "number": "99.99"})).validate()
    form = Numbers(MultiDict({"decimal": "12.345", "number": "100.01"}))
    assert not form.validate()
    assert [str(m) for m in form.errors["decimal"]] == ["金额最多保留两位小数，如 1500.25"]
    assert [str(m) for m in form.errors["number"]] == ["输入不超过 100 万元的金额"]
