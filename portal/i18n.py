"""Language prefixes in URLs and the locale selector.

Every public page lives under ``/<lang>/``. The locale is chosen in this order: the URL's
prefix, the signed-in user's setting, the ``lang`` cookie, ``Accept-Language``, then ``zh``.
"""

import time
from functools import lru_cache

from flask import Flask, current_app, g, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.routing import BaseConverter

LANGUAGES = ("zh", "en", "ja", "ko", "ru")
# URL code → Babel locale (the catalog folder name) and BCP-47 tag for <html lang>.
BABEL_LOCALES = {"zh": "zh_Hans", "en": "en", "ja": "ja", "ko": "ko", "ru": "ru"}
HTML_LANG = {"zh": "zh-Hans", "en": "en", "ja": "ja", "ko": "ko", "ru": "ru"}
LANGUAGE_NAMES = {"zh": "中文", "en": "English", "ja": "日本語", "ko": "한국어", "ru": "Русский"}
COOKIE = "lang"
ONE_YEAR = 365 * 24 * 3600


class LangConverter(BaseConverter):
    regex = "|".join(LANGUAGES)


def init_app(app: Flask) -> None:
    from portal.extensions import babel

    app.url_map.converters["lang"] = LangConverter
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Shanghai")
    app.url_value_preprocessor(_pull_lang)
    app.url_defaults(_add_lang)
    app.context_processor(_request_globals)
    app.jinja_env.globals.update(_template_globals())
    app.add_template_filter(atom_date)
    app.after_request(_remember_lang)


def normalise(code: str | None) -> str | None:
    """Map anything a client sends (``zh-CN``, ``EN_us``, ``zh_Hans``) to a URL code or None."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-")[0].strip().lower()
    return primary if primary in LANGUAGES else None


def url_lang() -> str | None:
    """The language prefix of this request's path, even when no route matched (404 pages)."""
    lang = g.get("lang")
    if lang:
        return lang
    first = request.path.lstrip("/").split("/", 1)[0]
    return first if first in LANGUAGES else None


def preferred_lang() -> str:
    """Every source but the URL, in order; used where a page has no prefix."""
    if current_user and getattr(current_user, "is_authenticated", False):
        lang = normalise(getattr(current_user, "language", None))
        if lang:
            return lang
    lang = normalise(request.cookies.get(COOKIE))
    if lang:
        return lang
    best = request.accept_languages.best_match(
        list(LANGUAGES) + ["zh-CN", "zh-Hans", "zh-TW", "zh-Hant"]
    )
    return normalise(best) or "zh"


def current_lang() -> str:
    return url_lang() or preferred_lang()


def select_locale() -> str:
    if not request:
        return BABEL_LOCALES["zh"]
    return BABEL_LOCALES[current_lang()]


def _pull_lang(endpoint, values) -> None:
    if values and "lang" in values:
        g.lang = values.pop("lang")


def _add_lang(endpoint, values) -> None:
    if "lang" in values or not current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
        return
    values["lang"] = current_lang()


def switch_language_url(code: str, external: bool = False) -> str:
    """This page in another language; the home page where this page has no language."""
    endpoint, args = request.endpoint, dict(request.view_args or {})
    if not endpoint or not current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
        return url_for("showcase.home", lang=code, _external=external)
    try:
        args.update(request.args.to_dict())
    except UnicodeDecodeError:  # an undecodable query string is dropped, not echoed
        pass
    args["lang"] = code
    return url_for(endpoint, _external=external, **args)


def format_number(value) -> str:
    """Numbers the locale's way, without trailing zeros (12.5, 1,200). Babel rounds in the
    decimal context, whose default 28 digits fail on 1e26 and above; 400 hold any float."""
    if value is None:
        return "—"
    import decimal

    from flask_babel import format_scientific

    with decimal.localcontext(prec=400):
        try:
            return format_decimal(value, format="#,##0.##")
        except decimal.InvalidOperation:  # a Decimal beyond any float
            return format_scientific(value)


def china_today():
    """Today in China (Asia/Shanghai), by the publishing clock."""
    from datetime import timedelta, timezone

    from portal.content.workflow import now

    return now().astimezone(timezone(timedelta(hours=8))).date()


def list_separator() -> str:
    """Between the items of an inline list: 、 in Chinese and Japanese, a comma elsewhere."""
    return "、" if current_lang() in ("zh", "ja") else ", "


def format_percent(value) -> str:
    """A figure stored in percent (83.52) the locale's way: 83.52%, 83,52 %."""
    if value is None:
        return "—"
    from flask_babel import format_percent as babel_percent

    return babel_percent(value / 100, format="#,##0.##%")


def content(record, field: str, length: int | None = None) -> Markup:
    """A content field in the page's language; where it has no translation, the Chinese
    original in a ``lang="zh-Hans"`` span, marked as such in the page's language.
    ``length`` shortens the text to that many characters and an ellipsis."""
    lang = current_lang()
    value = record.tr(field, lang)
    if not value:
        return Markup("")
    if length is not None and len(value) > length:
        value = value[: length - 1].rstrip() + "…"
    if record.is_translated(field, lang):
        return escape(value)
    return Markup('<span lang="zh-Hans">{}</span> <span class="zh-original">{}</span>').format(
        value, _("（中文原文）"))


def content_paragraphs(record, field: str) -> list[Markup]:
    """``content`` split at line breaks, one entry per paragraph."""
    lang = current_lang()
    value = record.tr(field, lang) or ""
    paragraphs = [p.strip() for p in value.split("\n") if p.strip()]
    if record.is_translated(field, lang):
        return [escape(p) for p in paragraphs]
    return [Markup('<span lang="zh-Hans">{}</span>').format(p) for p in paragraphs[:-1]] + [
        Markup('<span lang="zh-Hans">{}</span> <span class="zh-original">{}</span>').format(
            p, _("（中文原文）")) for p in paragraphs[-1:]]


def atom_date(value) -> str:
    """RFC 3339 in UTC for Atom; naive values (SQLite drops the zone) are UTC already."""
    from datetime import UTC, datetime

    if value is None:
        value = datetime(2000, 1, 1, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def portal_region_name() -> str:
    """The deployment's region for the page header; empty when the database cannot say
    (error pages must render while the database is down)."""
    if "portal_region_name" not in g:
        from sqlalchemy.exc import SQLAlchemyError

        from portal.extensions import db
        from portal.showcase.services import root_region

        try:
            region = root_region()
            g.portal_region_name = region.tr("name") if region else ""
        except SQLAlchemyError:
            db.session.rollback()
            g.portal_region_name = ""
    return g.portal_region_name


def _request_globals() -> dict:
    lang = current_lang()
    return {"lang": lang, "html_lang": HTML_LANG[lang]}


def _template_globals() -> dict:
    """Globals that imported macros see too (context processors reach only the page)."""
    from portal.charts import bar_chart, column_chart
    from portal.labels import FIGURE_LABELS, LABELS

    return {
        "bar_chart": bar_chart,
        "column_chart": column_chart,
        "languages": LANGUAGE_NAMES,
        "labels": LABELS,
        "figure_labels": FIGURE_LABELS,
        "get_locale": get_locale,
        "switch_language_url": switch_language_url,
        "format_number": format_number,
        "format_percent": format_percent,
        "list_separator": list_separator,
        "today": china_today,
        "format_date": format_date,
        "format_datetime": format_datetime,
        "portal_region_name": portal_region_name,
        "content": content,
        "content_paragraphs": content_paragraphs,
        "has_endpoint": lambda name: name in current_app.view_functions,
    }


def _remember_lang(response):
    cookie = lang_cookie_header(request.path, request.cookies.get(COOKIE),
                                current_app.config.get("SESSION_COOKIE_SECURE", False))
    if cookie:
        response.headers.add("Set-Cookie", cookie)
    return response


def lang_cookie_header(path: str, current: str | None, secure: bool) -> str | None:
    """The ``Set-Cookie`` value that remembers the language of a prefixed page, or None when
    the visitor's cookie already says it (also used for pages served from the cache)."""
    first = path.lstrip("/").split("/", 1)[0]
    if first not in LANGUAGES or current == first:
        return None
    return _lang_cookie(first, secure, int(time.time() // 60))


@lru_cache(maxsize=32)
def _lang_cookie(lang: str, secure: bool, _minute: int) -> str:
    """Made once a minute per language (its Expires date moves with the clock)."""
    from werkzeug.http import dump_cookie

    return dump_cookie(COOKIE, lang, max_age=ONE_YEAR, samesite="Lax", secure=secure)
