"""The Russian catalog chooses the right plural form: one (1, 21, 101…), few (2–4, 22–24…)
and many (0, 5–20, 25…, 111…), and its three forms really differ.

The catalog is compiled in memory from the committed .po file, so the test does not depend on
a stale or missing .mo.
"""

import functools
import io
import re
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

PO = Path(__file__).resolve().parent.parent / "translations" / "ru" / "LC_MESSAGES" / "messages.po"
COUNTS = (1, 2, 5, 11, 21, 22, 25, 101)
ONE, FEW, MANY = 0, 1, 2
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


def russian_form(n: int) -> int:
    """CLDR's rule for Russian integers, written out independently of the catalog header."""
    if n % 10 == 1 and n % 100 != 11:
        return ONE
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return FEW
    return MANY


@functools.cache
def _catalog():
    with PO.open("rb") as fh:
        return read_po(fh, locale="ru")


@functools.cache
def _translations() -> Translations:
    buffer = io.BytesIO()
    write_mo(buffer, _catalog())
    buffer.seek(0)
    return Translations(fp=buffer)


def _plurals():
    return [m for m in _catalog() if m.id and m.pluralizable]


def test_reference_rule_matches_the_textbook_cases():
    assert [russian_form(n) for n in COUNTS] == [ONE, FEW, MANY, MANY, ONE, FEW, MANY, ONE]


def test_plural_forms_header_agrees_with_russian_rule():
    assert _catalog().num_plurals == 3
    choose = _translations().plural  # parsed by gettext from the Plural-Forms header
    wrong = [n for n in range(0, 1001) if choose(n) != russian_form(n)]
    assert not wrong, wrong[:10]


def test_there_are_plural_messages_to_check():
    assert len(_plurals()) >= 10


@pytest.mark.parametrize("message", _plurals(), ids=lambda m: f"line{m.lineno}")
def test_plural_message_picks_the_russian_form(message):
    translations = _translations()
    singular, plural = message.id
    forms = message.string
    assert len(forms) == 3 and all(forms), forms
    # The agreeing word changes from form to form, so no two forms may be equal.
    assert len(set(forms)) == 3, forms
    wanted = set(PLACEHOLDER.findall(plural))
    for form in forms:
        assert set(PLACEHOLDER.findall(form)) == wanted, form
    for n in COUNTS:
        assert translations.ngettext(singular, plural, n) == forms[russian_form(n)], n


# The word that agrees with the number in each plural message: (one, few, many).
AGREEING = {
    "条待办需求": ("запрос", "запроса", "запросов"),
    "件待办投诉": ("жалоба", "жалобы", "жалоб"),
    "项政策": ("мера", "меры", "мер"),
    "处土地与载体": ("площадка", "площадки", "площадок"),
    "个开放中的机会": ("возможность", "возможности", "возможностей"),
    "在此设备上保持登录 %(num)d 天": ("день", "дня", "дней"),
    "共 %(num)d 项政策": ("мера", "меры", "мер"),
    "%(num)d 项政策符合您的情况": ("соответствует", "соответствуют", "соответствуют"),
    "%(num)d 项政策只有一项条件不符合。": ("подходит", "подходят", "подходят"),
    "个开发区": ("зона", "зоны", "зон"),
    "共 %(num)d 处": ("площадка", "площадки", "площадок"),
    "%(num)d 处土地或载体符合您的条件": ("площадка", "площадки", "площадок"),
}


def test_agreeing_words_cover_the_plural_messages():
    assert set(AGREEING) <= {m.id[0] for m in _plurals()}
    assert len(AGREEING) >= 12


@pytest.mark.parametrize("singular", sorted(AGREEING))
@pytest.mark.parametrize("n", COUNTS)
def test_plural_agreeing_word_matches_the_number(singular, n):
    message = _catalog().get(singular)
    found = _translations().ngettext(singular, message.id[1], n)
    words = re.findall(r"\w+", found)
    assert AGREEING[singular][russian_form(n)] in words, (n, found)


@pytest.mark.parametrize(("n", "text"), [
    (1, "Найдена 1 мера поддержки"),
    (2, "Найдено 2 меры поддержки"),
    (5, "Найдено 5 мер поддержки"),
    (11, "Найдено 11 мер поддержки"),
    (21, "Найдена 21 мера поддержки"),
    (22, "Найдено 22 меры поддержки"),
    (25, "Найдено 25 мер поддержки"),
    (101, "Найдена 101 мера поддержки"),
])
def test_plural_policy_count_reads_correctly(n, text):
    found = _translations().ngettext("共 %(num)d 项政策", "共 %(num)d 项政策", n)
    assert found % {"num": n} == text


@pytest.mark.parametrize(("n", "word"), [(1, "день"), (2, "дня"), (5, "дней"), (11, "дней"),
                                         (21, "день"), (22, "дня"), (25, "дней"),
                                         (101, "день")])
def test_plural_remember_me_days_agree(n, word):
    message = "在此设备上保持登录 %(num)d 天"
    found = _translations().ngettext(message, message, n)
    assert (found % {"num": n}).endswith(f" {n} {word}")
