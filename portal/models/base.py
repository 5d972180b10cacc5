"""Mixins and helpers shared by every model."""

from datetime import UTC, date, datetime

from flask_babel import get_locale
from sqlalchemy import JSON, CheckConstraint, DateTime
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def one_of(column: str, values) -> str:
    """SQL for a check constraint that keeps ``column`` inside ``values``."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def check_in(column: str, values, name: str | None = None) -> CheckConstraint:
    return CheckConstraint(one_of(column, values), name=name or f"{column}_valid")


def non_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{c} IS NULL OR {c} >= 0", name=f"{c}_non_negative") for c in columns]


def current_language() -> str:
    """The URL language code (zh, en, …) of the request, or zh outside a request."""
    try:
        locale = get_locale()
    except RuntimeError:  # outside an app or request context
        return "zh"
    if locale is None or locale.language == "zh":
        return "zh"
    return locale.language


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class TranslatableMixin:
    """Content stored in Chinese in its own columns, other languages in ``translations``.

    ``translations`` maps a language code to the translated fields, e.g.
    ``{"en": {"name": "Datong"}}``. A field missing in a language falls back to Chinese.
    """

    translations: Mapped[dict] = mapped_column(JSON, default=dict)

    def tr(self, field: str, lang: str | None = None):
        lang = lang or current_language()
        if lang != "zh":
            value = (self.translations or {}).get(lang, {}).get(field)
            if value:
                return value
        return getattr(self, field)

    def is_translated(self, field: str, lang: str | None = None) -> bool:
        lang = lang or current_language()
        return lang == "zh" or bool((self.translations or {}).get(lang, {}).get(field))

    def translation_source(self, lang: str | None = None) -> tuple[str, date | None] | None:
        """``(source, date)`` of this record's ``lang`` translation: source is "human" or
        "machine"; None in Chinese or where nobody said."""
        lang = lang or current_language()
        block = (self.translations or {}).get(lang) if lang != "zh" else None
        if not block or not block.get("_source"):
            return None
        try:
            made = date.fromisoformat(block.get("_date", ""))
        except ValueError:
            made = None
        return block["_source"], made
