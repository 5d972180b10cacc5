"""Anonymous pages and public API reads served from a cache that is never stale.

A WSGI middleware in front of the Flask app. A request may be answered from the cache when it
is a GET or HEAD for a public path (``/<lang>/…``, ``/api/v1/…``, the sitemap) and carries no
session or "remember me" cookie. A hit costs one primary-key read (the public version) and a
cache lookup: no page query, search, template or Flask request runs.

The key holds everything a cacheable page may differ by: the public version token
(``portal.content.public``: replaced in the same transaction as any change to public content),
the day in China (countdowns, deadlines, "closes in N days"), the code and templates of this
release, scheme, host and script name (a city's entry, ``portal.province``), the display
mode cookie (适老化), for paths without a language prefix the visitor's language, and the
path and query string. Entries live
``PAGE_CACHE_SECONDS`` at most. When a scheduled publication falls due, or this process's
clock jobs (scheduled publishing, search catch-up) are due, requests go through to the app,
which runs them and so replaces the version.

What is stored is decided by the app, never guessed from the path: only the views named in
``CACHEABLE``, answering 200 to an anonymous GET, with no cookie set but the language one,
not ``no-store`` or ``private``, and not rendered in a degraded state (``do_not_store``: the
search engine was down). A page with a CSRF token sets the session cookie, so it is never
stored; staff pages, forms, tracking, confirmations and alert links are not in the list.

Inline scripts in a stored page are allowed by their SHA-256 hashes instead of the request's
nonce, so no nonce is ever served twice. Each entry keeps its body plain and gzipped, and a
weak ETag: a browser revalidating gets 304. The store is Flask-Caching's: the process's own
memory by default, Redis when ``PORTAL_REDIS_URL`` is set (shared by every worker and node; if
it fails, pages are rendered as if there were no cache, and it is tried again after a pause).
"""

import base64
import gzip
import hashlib
import logging
import queue
import re
import sqlite3
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import parse_cookie

from portal.extensions import cache
from portal.i18n import LANGUAGES, lang_cookie_header, normalise

log = logging.getLogger(__name__)

CACHEABLE = frozenset({
    "showcase.home", "showcase.environment", "showcase.industry", "showcase.region",
    "policies.index", "policies.detail", "policies.feed",
    "sites.index", "sites.detail",
    "opportunities.index", "opportunities.detail",
    "services_chain.index", "sitesearch.index", "glossary.index",
    "api.industries", "api.openapi", "api.opportunities", "api.policies", "api.policy",
    "api.region_factor_costs", "api.regions", "api.site", "api.sites_geojson",
    "meta.sitemap", "meta.robots",
})
PUBLIC_PATHS = tuple(f"/{code}/" for code in LANGUAGES) + ("/api/v1/", "/sitemap.xml",
                                                             "/robots.txt")
LANG_PATHS = tuple(f"/{code}/" for code in LANGUAGES)
STORABLE = "portal.page_cache.storable"
VERSION_QUERY = "SELECT token, due_at FROM public_version WHERE id = 1"
CHINA_OFFSET = 8 * 3600
MAX_BODY = 2 * 1024 * 1024
COMPRESS_MIN = 500
RETRY_STORE_AFTER = 10.0
# Headers a stored entry does not keep: they are made for each answer.
PER_ANSWER = {"content-length", "content-encoding", "set-cookie", "etag", "x-cache", "date"}
NOT_IN_304 = {"content-type", "content-length", "content-encoding", "content-disposition"}
GZIP_REFUSED = re.compile(r"gzip\s*;\s*q\s*=\s*0(\.0*)?\s*(,|$)")
NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")


@dataclass(frozen=True)
class Entry:
    headers: tuple[tuple[str, str], ...]
    body: bytes
    gzipped: bytes | None
    etag: str


def init_app(app: Flask) -> None:
    """Bind the store and put the middleware in front of the app (inside any proxy fix, so
    the key sees the scheme and host the visitor used)."""
    redis_url = app.config.get("REDIS_URL", "")
    if redis_url:
        settings = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url,
                    "CACHE_KEY_PREFIX": "portal:page:",
                    "CACHE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}}
    else:
        settings = {"CACHE_TYPE": "SimpleCache",
                    "CACHE_THRESHOLD": app.config.get("PAGE_CACHE_ENTRIES", 500)}
    settings["CACHE_DEFAULT_TIMEOUT"] = app.config.get("PAGE_CACHE_SECONDS", 300)
    cache.init_app(app, config=settings)
    app.after_request(_mark_storable)
    app.wsgi_app = PageCache(app, app.wsgi_app)


def do_not_store() -> None:
    """This answer must not be kept (for example: rendered while the search engine was
    down, from the database, with a notice that should go when the engine is back)."""
    g.no_page_cache = True


def clear(app: Flask) -> None:
    """Forget every stored page of this app (its configuration changed under it: tests)."""
    try:
        app.extensions["cache"][cache].clear()
    except STORE_ERRORS:
        log.warning("page cache could not be cleared", exc_info=True)


def health(app: Flask) -> dict:
    """What /healthz says of the cache: its store and whether it answers."""
    if not app.config.get("PAGE_CACHE", True):
        return {"store": "none", "state": "off"}
    store = "redis" if app.config.get("REDIS_URL") else "memory"
    try:
        app.extensions["cache"][cache].get("health-probe")
    except STORE_ERRORS:
        return {"store": store, "state": "unavailable"}
    return {"store": store, "state": "ok"}


def _mark_storable(response):
    if (request.method == "GET" and request.endpoint in CACHEABLE
            and response.status_code == 200 and not response.is_streamed
            and not g.get("no_page_cache")):
        request.environ[STORABLE] = True
    return response


class PageCache:
    """The WSGI middleware; one per app."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._engine = None
        self._idle: queue.SimpleQueue = queue.SimpleQueue()  # connections not in use
        self._build = ""
        self._store_down_until = 0.0
        weakref.finalize(self, _close_all, self._idle)  # with the app, or at exit

    # --- the request ------------------------------------------------------------------

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD") or not path.startswith(PUBLIC_PATHS) \
                or not self.app.config.get("PAGE_CACHE", True):
            return self.wsgi_app(environ, start_response)
        raw = environ.get("HTTP_COOKIE")
        cookies = parse_cookie(raw) if raw else {}
        config = self.app.config
        if config.get("SESSION_COOKIE_NAME", "session") in cookies or \
                config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies:
            return self.wsgi_app(environ, start_response)  # staff: never from the cache
        version = self._version()
        if version is None or self._jobs_due(version[1]):
            return self.wsgi_app(environ, _marked(start_response, "BYPASS"))
        key = self._key(environ, path, cookies, version[0])
        entry = self._get(key)
        if entry is not None:
            return self._answer(entry, environ, cookies, start_response, "HIT")
        if method == "HEAD":
            return self.wsgi_app(environ, start_response)
        return self._fill(key, environ, cookies, start_response)

    def _version(self) -> tuple[str, int | None] | None:
        """The public version token and the next due publication; None if unreadable.

        Read on connections of the cache's own, taken out of the app's pool and in
        autocommit, so a read is one statement and never holds a transaction open; a
        connection that fails is closed and another is made on the next request."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = None
        try:
            if conn is None:
                conn = self._connect()
            cursor = conn.cursor()
            try:
                cursor.execute(VERSION_QUERY)
                row = cursor.fetchone()
            finally:
                cursor.close()
        except (SQLAlchemyError, *DBAPI_ERRORS):
            if conn is not None:
                _close(conn)
            log.warning("public version unreadable; pages are rendered without the cache",
                        exc_info=True)
            return None
        self._idle.put(conn)
        return (row[0], row[1]) if row else None

    def _connect(self):
        if self._engine is None:
            from portal.extensions import db

            with self.app.app_context():
                self._engine = db.engine
        proxied = self._engine.raw_connection()
        proxied.detach()  # this thread's for good, outside the pool's count
        conn = proxied.dbapi_connection
        if self._engine.dialect.name == "sqlite":
            conn.isolation_level = None
        else:
            conn.autocommit = True
        return conn

    def _jobs_due(self, due_at: int | None) -> bool:
        """A publication whose time has come, or this process's clock jobs, send the
        request to the app: it publishes, catches up, and replaces the version."""
        from portal import indexing
        from portal.content import schedule

        if due_at is not None and self._now() >= due_at:
            return True
        return schedule.due(self.app) or indexing.due(self.app)

    def _now(self) -> float:
        clock = self.app.config.get("CONTENT_CLOCK")
        return clock().timestamp() if clock else time.time()

    def _key(self, environ, path: str, cookies, token: str) -> str:
        day = int((self._now() + CHINA_OFFSET) // 86400)
        mode = "elder" if cookies.get("display") == "elder" else "standard"
        lang = "" if path.startswith(LANG_PATHS) else _visitor_lang(environ, cookies)
        parts = (self._build_id(), token, str(day), environ.get("wsgi.url_scheme", ""),
                 environ.get("HTTP_HOST", ""), environ.get("SCRIPT_NAME", ""), mode, lang, path,
                 environ.get("QUERY_STRING", ""))
        digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"),
                                 digest_size=20)
        return digest.hexdigest()

    def _build_id(self) -> str:
        if not self._build:
            self._build = build_id(self.app)
        return self._build

    # --- the store --------------------------------------------------------------------

    def _backend(self):
        return self.app.extensions["cache"][cache]

    def _get(self, key: str) -> Entry | None:
        if time.monotonic() < self._store_down_until:
            return None
        try:
            return self._backend().get(key)
        except STORE_ERRORS:
            self._store_failed("read")
            return None

    def _set(self, key: str, entry: Entry) -> None:
        if time.monotonic() < self._store_down_until:
            return
        try:
            self._backend().set(key, entry)
        except STORE_ERRORS:
            self._store_failed("write")

    def _store_failed(self, what: str) -> None:
        self._store_down_until = time.monotonic() + RETRY_STORE_AFTER
        log.warning("page cache %s failed; pages are rendered without it for %.0f s",
                    what, RETRY_STORE_AFTER, exc_info=True)

    # --- a miss -----------------------------------------------------------------------

    def _fill(self, key, environ, cookies, start_response):
        """Run the app; keep its answer if the app marked it storable."""
        held: dict = {}

        def hold(status, headers, exc_info=None):
            if environ.get(STORABLE) and status.startswith("200") and _keepable(headers):
                held.update(status=status, headers=headers)
                return held.setdefault("chunks", []).append
            held["passed"] = True
            return start_response(status, headers, exc_info)

        body_iter = self.wsgi_app(environ, hold)
        if "status" not in held:
            return body_iter  # not storable: the app's answer goes out untouched
        try:
            body = b"".join([*held.get("chunks", []), *body_iter])
        finally:
            if hasattr(body_iter, "close"):
                body_iter.close()
        entry = make_entry(held["headers"], body, environ.get("PATH_INFO", ""))
        if entry is None:  # too large, or a script the CSP could not be rewritten for
            start_response(held["status"], held["headers"])
            return [body]
        self._set(key, entry)
        return self._answer(entry, environ, cookies, start_response, "MISS")

    # --- an answer --------------------------------------------------------------------

    def _answer(self, entry: Entry, environ, cookies, start_response, state: str):
        headers = list(entry.headers)
        headers += [("ETag", entry.etag), ("X-Cache", state)]
        cookie = lang_cookie_header(environ.get("PATH_INFO", ""), cookies.get("lang"),
                                    self.app.config.get("SESSION_COOKIE_SECURE", False))
        if cookie:
            headers.append(("Set-Cookie", cookie))
        if _etag_matches(environ.get("HTTP_IF_NONE_MATCH", ""), entry.etag):
            start_response("304 Not Modified",
                           [h for h in headers if h[0].lower() not in NOT_IN_304])
            return []
        body = entry.body
        if entry.gzipped is not None and _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
            body = entry.gzipped
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def _close(conn) -> None:
    try:
        conn.close()
    except DBAPI_ERRORS:
        pass  # a broken connection: nothing more to free


def _close_all(idle: queue.SimpleQueue) -> None:
    while True:
        try:
            _close(idle.get_nowait())
        except queue.Empty:
            return


def _marked(start_response, state: str):
    """``start_response`` adding the X-Cache header."""
    def marked(status, headers, exc_info=None):
        return start_response(status, [*headers, ("X-Cache", state)], exc_info)
    return marked


def make_entry(headers, body: bytes, path: str) -> Entry | None:
    """What is kept of an answer: its headers but those made per answer, the body plain and
    gzipped, inline scripts allowed by hash, and an ETag."""
    names = {name.lower(): value for name, value in headers}
    if names.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    if len(body) > MAX_BODY:
        return None
    kept = [(n, v) for n, v in headers if n.lower() not in PER_ANSWER]
    policy = names.get("content-security-policy", "")
    nonce = NONCE.search(policy)
    if nonce:
        body, policy = _hash_scripts(body, policy, nonce.group(1))
        if policy is None:
            return None
        kept = [(n, policy if n.lower() == "content-security-policy" else v) for n, v in kept]
    vary = [v.strip() for n, value in kept if n.lower() == "vary" for v in value.split(",")]
    wanted = ["Accept-Encoding"] + ([] if path.startswith(LANG_PATHS) else ["Accept-Language"])
    vary += [v for v in wanted if v.lower() not in {x.lower() for x in vary}]
    kept = [(n, v) for n, v in kept if n.lower() != "vary"] + [("Vary", ", ".join(vary))]
    if "cache-control" not in names:
        kept.append(("Cache-Control", "no-cache"))  # browsers ask again, and get 304
    gzipped = gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= COMPRESS_MIN else None
    etag = 'W/"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    return Entry(tuple(kept), body, gzipped, etag)


def _hash_scripts(body: bytes, policy: str, nonce: str) -> tuple[bytes, str | None]:
    """Replace the nonce of each inline script by its hash in the policy."""
    marker = f' nonce="{nonce}"'.encode()
    pattern = re.compile(rb"<script\b([^>]*?)" + re.escape(marker) + rb"([^>]*)>(.*?)</script>",
                         re.DOTALL)
    hashes: list[str] = []

    def strip(match: re.Match) -> bytes:
        digest = base64.b64encode(hashlib.sha256(match.group(3)).digest()).decode()
        if f"'sha256-{digest}'" not in hashes:
            hashes.append(f"'sha256-{digest}'")
        return b"<script" + match.group(1) + match.group(2) + b">" + match.group(3) + \
            b"</script>"

    body = pattern.sub(strip, body)
    if nonce.encode() in body:
        return body, None
    return body, policy.replace(f"'nonce-{nonce}'", " ".join(hashes))


def _keepable(headers) -> bool:
    """No cookie but the language one, and nothing a cache must not keep."""
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie" and not value.startswith("lang="):
            return False
        if lowered == "cache-control" and ("no-store" in value or "private" in value):
            return False
    return True


def _accepts_gzip(accept: str) -> bool:
    accept = accept.lower()
    return "gzip" in accept and not GZIP_REFUSED.search(accept)


def _etag_matches(header: str, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag[2:] if etag.startswith("W/") else etag
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def _visitor_lang(environ, cookies) -> str:
    """The language a page without a prefix may answer in (the API: ``?lang=`` is in the
    query string; otherwise Accept-Language), and the cookie, for pages that read it."""
    from werkzeug.datastructures import LanguageAccept
    from werkzeug.http import parse_accept_header

    accept = environ.get("HTTP_ACCEPT_LANGUAGE", "")
    best = parse_accept_header(accept, LanguageAccept).best_match(LANGUAGES) if accept else ""
    return f"{normalise(best) or ''}:{normalise(cookies.get('lang')) or ''}"


def build_id(app: Flask) -> str:
    """This release: the code, templates, translations and static files, by content, so two
    nodes of one release share entries in Redis and a new release never meets old pages."""
    from portal import __version__
    from portal.config import ROOT

    digest = hashlib.blake2b(__version__.encode(), digest_size=16)
    folders = [(ROOT / "portal", "*.py"), (ROOT / "search", "*.py"), (ROOT / "templates", "*"),
               (ROOT / "translations", "*.mo"), (ROOT / "static", "*")]
    for folder, pattern in folders:
        for file in sorted(Path(folder).rglob(pattern)):
            if file.is_file():
                digest.update(str(file.relative_to(ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def _store_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError]
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    else:
        errors.append(RedisError)
    return tuple(errors)


STORE_ERRORS = _store_errors()
DBAPI_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)
try:
    import psycopg
except ImportError:  # pragma: no cover - psycopg is a dependency
    pass
else:
    DBAPI_ERRORS += (psycopg.Error,)
