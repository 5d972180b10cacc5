"""The investment glossary's files: one YAML list of terms per category under
``seed/glossary/``, validated with the same schema machinery as a data pack."""

import re
from pathlib import Path

from flask_babel import gettext as _

from search.glossary import FOREIGN, Term

from . import schema
from .loader import PackError, _parse, _validate

GLOSSARY_DIR = Path(__file__).resolve().parent / "glossary"


def read_glossary(directory: Path | str = GLOSSARY_DIR) -> list[Term]:
    """Every term of every file, in file and record order; raises PackError on a bad record
    or a Chinese term defined twice."""
    directory = Path(directory)
    terms: list[Term] = []
    seen: dict[str, str] = {}
    keys: set[str] = set()
    for file in sorted(directory.glob("*.yaml")):
        records = _parse(file) or []
        _validate(file, records, schema.GLOSSARY)
        for index, record in enumerate(records):
            zh = record["zh"]
            if zh in seen:
                raise PackError(str(file), f"{zh} (#{index + 1})", "zh",
                                _("重复的术语（已在 %(file)s 中定义）", file=seen[zh]))
            seen[zh] = file.name
            forms = {lang: tuple(filter(None, [record.get(lang), *record.get(f"{lang}_also", [])]))
                     for lang in FOREIGN}
            terms.append(Term(
                zh=zh, forms={lang: f for lang, f in forms.items() if f},
                note=dict(record["note"]), category=file.stem,
                common=bool(record.get("common")), zh_also=tuple(record.get("zh_also", [])),
                key=_unique_key(record["en"], keys)))
    return terms


def _unique_key(english: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", english.lower()).strip("-") or "term"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    taken.add(key)
    return key
