"""Every catalog is complete: each message of the template translated, none fuzzy, and the
named placeholders of each translation the same as the source's."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
CATALOGS = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


def _read(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


def _strings(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def test_there_is_at_least_the_english_catalog():
    assert any(p.parts[-3] == "en" for p in CATALOGS)


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.parts[-3])
def test_catalog_is_complete_and_faithful(path):
    template = _read(TRANSLATIONS / "messages.pot")
    catalog = _read(path)
    problems = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id)
        if entry is None:
            problems.append(f"missing: {message.id!r}")
            continue
        strings = _strings(entry.string)
        if entry.fuzzy or not all(strings):
            problems.append(f"{'fuzzy' if entry.fuzzy else 'empty'}: {message.id!r}")
            continue
        wanted = set(PLACEHOLDER.findall("".join(_strings(message.id))))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"placeholders differ: {message.id!r} → {text!r}")
    assert not problems, "\n".join(problems[:40])


def test_template_is_current():
    """messages.pot holds every message the code and templates use: a new _() without
    `flask translate update` fails here."""
    from babel.messages.extract import extract_from_dir

    template = {m.id for m in _read(TRANSLATIONS / "messages.pot") if m.id}
    found = set()
    method_map = [("portal/**.py", "python"), ("search/**.py", "python"),
                  ("seed/**.py", "python"), ("templates/**.html", "jinja2")]
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords={"_": None, "_l": None, "gettext": None,
                                             "lazy_gettext": None, "ngettext": (1, 2),
                                             "N_": None}):
        found.add(message if isinstance(message, str) else message[0])
    missing = {m for m in found if m and m not in {t if isinstance(t, str) else t[0]
                                                   for t in template}}
    assert not missing, sorted(missing)[:20]
