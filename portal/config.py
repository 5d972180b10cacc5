"""Configuration read from the environment when the app is created, never at import."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
LANGUAGES = ("zh", "en", "ja", "ko", "ru")


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_dir(environ=None) -> Path:
    """The node's own folder (PORTAL_INSTANCE_DIR): the generated secret key, the default
    SQLite database and embedded search index. Nothing in it is shared between nodes."""
    env = os.environ if environ is None else environ
    return Path(env.get("PORTAL_INSTANCE_DIR") or INSTANCE)


def from_env(environ=None) -> dict:
    """Build the settings dict from ``PORTAL_*`` variables (see README for the table)."""
    env = os.environ if environ is None else environ
    instance = instance_dir(env)
    database_url = env.get("PORTAL_DATABASE_URL") or f"sqlite:///{instance / 'portal.db'}"
    ratelimit = env.get("PORTAL_RATELIMIT", "20/hour")
    return {
        "SECRET_KEY": env.get("PORTAL_SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # embedded (an index folder per node) or postgres (one table in the portal's
        # PostgreSQL database, shared by every node); PORTAL_ELASTICSEARCH_URL overrides both.
        "SEARCH_ENGINE": env.get("PORTAL_SEARCH") or "embedded",
        "SEARCH_URL": env.get("PORTAL_ELASTICSEARCH_URL", ""),
        "SEARCH_ANALYZER": env.get("PORTAL_ELASTICSEARCH_ANALYZER", ""),
        "SEARCH_PREFIX": env.get("PORTAL_ELASTICSEARCH_PREFIX", "portal"),
        "SEARCH_INDEX_DIR": env.get("PORTAL_SEARCH_DIR") or str(instance / "search"),
        # Where per-client limits are counted (portal.ratelimit): Redis when set, else the
        # portal's own database; both are seen by every worker and node.
        "RATELIMIT_STORAGE_URI": env.get("PORTAL_REDIS_URL") or "database://",
        # The page cache (portal.pagecache): on unless PORTAL_PAGE_CACHE=off; in each
        # process's memory, or in Redis (shared by every worker and node) when set.
        "PAGE_CACHE": _flag(env.get("PORTAL_PAGE_CACHE"), default=True),
        "REDIS_URL": env.get("PORTAL_REDIS_URL", ""),
        "PORTAL_RATELIMIT": ratelimit,
        "LIMITS_ON": ratelimit.strip().lower() != "off",
        "MAIL_SERVER": env.get("PORTAL_MAIL_SERVER", ""),
        "MAIL_PORT": int(env.get("PORTAL_MAIL_PORT", "25")),
        "MAIL_USE_TLS": _flag(env.get("PORTAL_MAIL_USE_TLS")),
        "MAIL_USERNAME": env.get("PORTAL_MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("PORTAL_MAIL_PASSWORD", ""),
        "MAIL_SENDER": env.get("PORTAL_MAIL_SENDER", "noreply@localhost"),
        "MAP_TILES": env.get("PORTAL_MAP_TILES", "none"),
        "MAP_TILES_URL": env.get("PORTAL_MAP_TILES_URL", ""),
        "MAP_TILES_ATTRIBUTION": env.get("PORTAL_MAP_TILES_ATTRIBUTION", ""),
        "MAP_APPROVAL_NUMBER": env.get("PORTAL_MAP_APPROVAL_NUMBER", ""),
        "DATA_PACK": env.get("PORTAL_DATA_PACK", "datong"),
        # Province mode: hosts that are a city's own entry (portal.province), as
        # "datong=invest.datong.example,shuozhou=invest.shuozhou.example".
        "CITY_HOSTS": env.get("PORTAL_CITY_HOSTS", ""),
        "GLOSSARY_DIR": env.get("PORTAL_GLOSSARY_DIR", str(ROOT / "seed" / "glossary")),
        # Working-day deadlines (外商投资企业投诉工作办法 by default).
        "DEADLINE_COMPLAINT_ACCEPT_DAYS": int(
            env.get("PORTAL_DEADLINE_COMPLAINT_ACCEPT_DAYS", "7")),
        "DEADLINE_COMPLAINT_CONCLUDE_DAYS": int(
            env.get("PORTAL_DEADLINE_COMPLAINT_CONCLUDE_DAYS", "60")),
        "DEADLINE_DEMAND_ACK_DAYS": int(env.get("PORTAL_DEADLINE_DEMAND_ACK_DAYS", "1")),
        # Staff sessions: idle expiry, absolute lifetime, "remember me" (0 days, the default:
        # no such option; at most 7).
        "SESSION_IDLE_MINUTES": int(env.get("PORTAL_SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(env.get("PORTAL_SESSION_MAX_HOURS", "12")),
        "REMEMBER_DAYS": int(env.get("PORTAL_REMEMBER_DAYS", "0")),
        # Served over HTTPS (directly or behind a proxy that terminates TLS): Secure cookies
        # and HSTS. PORTAL_PROXY_COUNT trusted proxies in front set X-Forwarded-For/-Proto.
        "HTTPS": _flag(env.get("PORTAL_HTTPS")),
        "PROXY_COUNT": int(env.get("PORTAL_PROXY_COUNT", "0")),
        # Passwords and lockout (ASVS 5.0 V6; composition and rotation off unless required).
        "PASSWORD_MIN_LENGTH": int(env.get("PORTAL_PASSWORD_MIN_LENGTH", "12")),
        "PASSWORD_MIN_CLASSES": int(env.get("PORTAL_PASSWORD_MIN_CLASSES", "0")),
        "PASSWORD_MAX_AGE_DAYS": int(env.get("PORTAL_PASSWORD_MAX_AGE_DAYS", "0")),
        "LOCKOUT_ATTEMPTS": int(env.get("PORTAL_LOCKOUT_ATTEMPTS", "5")),
        "LOCKOUT_MINUTES": int(env.get("PORTAL_LOCKOUT_MINUTES", "15")),
        # Decoded pixels of all the images in one submission, counted from their headers.
        "MAX_REQUEST_PIXELS": int(env.get("PORTAL_MAX_REQUEST_PIXELS", "60000000")),
        # The exchange API (portal.exchange): requests per API key, "off" for none; the
        # partner deployments projects are sent to, as JSON {"name": {"url": …, "key": …}}.
        "EXCHANGE_RATELIMIT": env.get("PORTAL_EXCHANGE_RATELIMIT") or "600/hour",
        "EXCHANGE_PARTNERS": env.get("PORTAL_EXCHANGE_PARTNERS", ""),
    }


DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "BABEL_DEFAULT_LOCALE": "zh_Hans",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
    "LANGUAGES": LANGUAGES,
    "MAX_CONTENT_LENGTH": 60 * 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
    "JSON_SORT_KEYS": False,
    "RATELIMIT_ENABLED": True,  # the limiter is on; each app decides with LIMITS_ON
    # A storage that fails is counted around in memory (portal.ratelimit); any other limiter
    # error is logged and the request served.
    "RATELIMIT_SWALLOW_ERRORS": True,
    # Retry-After is set on 429 answers by portal.errors; X-RateLimit-* headers would cost
    # two more storage reads on every limited request.
    "RATELIMIT_HEADERS_ENABLED": False,
    "COMPRESS_ALGORITHM": ["gzip"],
    "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/plain", "application/json",
                           "application/geo+json", "application/atom+xml",
                           "application/xml", "application/javascript"],
    "COMPRESS_MIN_SIZE": 1000,
    # Streamed answers (CSV exports) are not compressed; static files come gzip-compressed
    # from portal.assets.
    "COMPRESS_STREAMS": False,
    "PAGE_CACHE_SECONDS": 300,  # a stored page lives at most this long
    "PAGE_CACHE_ENTRIES": 500,  # per process, without Redis
    "SEARCH_CATCH_UP": 30.0,  # seconds between retries of waiting index jobs; 0: off
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
}
