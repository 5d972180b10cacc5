"""Static files under content-hashed names, cached for a year and sent gzip-compressed.

``url_for('static', filename='css/portal.css')`` gives ``/static/css/portal.3f2a9c1b7d.css``:
the first ten hex digits of the file's SHA-256 stand before its extension. A changed file gets
a new URL, so a browser or proxy may keep each one for a year without asking again
(``immutable``), and every worker and node names a file the same way. The plain name still
answers, with ``no-cache`` and an ETag, for what cannot carry a hash: the relative
``url(images/...)`` inside Leaflet's CSS, links from outside, and a page that names a hash which
is no longer current (it gets the current file, never as immutable).

Text files (CSS, scripts, SVG, JSON, plain text, source maps) go out gzip-compressed to clients
that accept gzip; images and fonts are compressed already and go as they are.

Limits: each file is read, hashed and compressed on first use and then kept in every worker's
memory (static/ holds about 450 KB), so large downloads do not belong in static/. A file whose
size or modification time changed is read again, so an edit shows under ``flask run`` too.
Only canonical names are served (``css//portal.css`` and ``css/./portal.css`` are 404), so the
memory held is bounded by the files that exist.
"""

import gzip
import hashlib
import mimetypes
import os
import posixpath
import re
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from flask import Flask, Response, abort, current_app, request
from werkzeug.security import safe_join

DIGEST_LENGTH = 10
FINGERPRINTED = re.compile(r"(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<suffix>\.[^./]*)?")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Sent compressed, with every text/* type; images and fonts are compressed already.
COMPRESSIBLE = {"application/javascript", "application/json", "application/geo+json",
                "application/manifest+json", "application/xml", "image/svg+xml"}
TYPES = {".map": "application/json"}  # source maps, which mimetypes does not know


class Asset:
    """One file under static/, as it was when read."""

    def __init__(self, path: Path):
        with path.open("rb") as file:
            stat = os.fstat(file.fileno())
            self.data = file.read()
        self.path = path
        self.stamp = _stamp(stat)
        self.digest = hashlib.sha256(self.data).hexdigest()[:DIGEST_LENGTH]
        self.modified = datetime.fromtimestamp(stat.st_mtime, UTC)
        self.mimetype = (TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
                         or "application/octet-stream")
        self.compressible = self.mimetype.startswith("text/") or self.mimetype in COMPRESSIBLE

    @cached_property
    def gzipped(self) -> bytes | None:
        """Made on the first request that accepts gzip; None when it would not be smaller
        (a tiny SVG) or the type is compressed already."""
        if not self.compressible:
            return None
        packed = gzip.compress(self.data, compresslevel=9, mtime=0)
        return packed if len(packed) < len(self.data) else None


class StaticFiles:
    """The manifest of one static folder: its files by name, read on first use."""

    def __init__(self, folder: str):
        self.folder = folder
        self._assets: dict[str, Asset] = {}

    @cached_property
    def root(self) -> Path:
        return Path(self.folder).resolve()

    def get(self, name: str) -> Asset | None:
        """The file ``name`` names, current with the disk; None for anything else."""
        if posixpath.normpath(name) != name:  # one entry per file: no a//b, a/./b, a/../b
            return None
        asset = self._assets.get(name)
        try:
            if asset is None or _stamp(os.stat(asset.path)) != asset.stamp:
                asset = self._read(name)
        except (OSError, ValueError):  # gone, unreadable, a name the OS refuses
            asset = None
        if asset is None:
            self._assets.pop(name, None)
        else:
            self._assets[name] = asset
        return asset

    def _read(self, name: str) -> Asset | None:
        joined = safe_join(str(self.root), name)
        if joined is None:  # absolute, or above the folder
            return None
        path = Path(joined).resolve()  # a symlink must not lead out of the folder
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return Asset(path)

    def fingerprinted(self, name: str) -> str:
        """``css/portal.css`` → ``css/portal.3f2a9c1b7d.css``; a name that is not a file here
        is left as it is (and answers 404)."""
        asset = self.get(name)
        if asset is None:
            return name
        stem, suffix = posixpath.splitext(name)
        return f"{stem}.{asset.digest}{suffix}"

    def find(self, name: str) -> tuple[Asset, bool] | None:
        """The file a requested name serves, and whether the name carries its current hash."""
        asset = self.get(name)
        if asset is not None:
            return asset, False
        match = FINGERPRINTED.fullmatch(name)
        if match is None:
            return None
        asset = self.get(match["stem"] + (match["suffix"] or ""))
        if asset is None:
            return None
        return asset, match["digest"] == asset.digest


def _stamp(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_mtime_ns, stat.st_size


def init_app(app: Flask) -> None:
    """Takes over Flask's static route (same URL rule and folder); nothing is read here."""
    app.extensions["assets"] = StaticFiles(app.static_folder)
    app.view_functions["static"] = send_static
    app.url_defaults(_fingerprint)


def _fingerprint(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values:
        values["filename"] = current_app.extensions["assets"].fingerprinted(values["filename"])


def send_static(filename: str) -> Response:
    found = current_app.extensions["assets"].find(filename)
    if found is None:
        abort(404)
    asset, current = found
    packed = asset.gzipped if request.accept_encodings["gzip"] else None
    response = current_app.response_class(packed or asset.data, mimetype=asset.mimetype)
    if packed:
        response.content_encoding = "gzip"
    if asset.compressible:
        response.vary.add("Accept-Encoding")
    # Each encoding is its own representation, so its own strong validator.
    response.set_etag(asset.digest + ("-gzip" if packed else ""))
    response.last_modified = asset.modified
    response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
    return response.make_conditional(request)
