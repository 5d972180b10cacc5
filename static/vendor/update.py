"""Refresh the vendored map libraries in static/vendor/ from the npm registry.

Government intranets have no internet, so every script, style sheet and image a page uses is
served from static/. This script is the only part of the project that talks to a registry: its
output (the files, their licences and VERSIONS.txt) is committed, and the running portal never
needs npm.

    .venv/bin/python static/vendor/update.py

It packs each pinned version with ``npm pack`` into a temporary directory, checks the tarball
against the registry's ``dist.integrity``, copies only the files the portal serves plus the
licence, deletes files a previous run left that are no longer served, and rewrites
VERSIONS.txt. Running it twice changes nothing. A package whose tarball ships no licence file
(leaflet-draw) has its upstream licence text kept here, written beside its files. To move a
pin, edit PACKAGES and the matching paths in ``portal/sites/offline.py`` (the tests check that
the two agree).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

VENDOR = Path(__file__).resolve().parent
VERSIONS = VENDOR / "VERSIONS.txt"

LEAFLET_DRAW_LICENSE = """\
Copyright 2012-2016 Jacob Toye and Leaflet

Permission is hereby granted, free of charge, to any person obtaining
a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to
the following conditions:

The above copyright notice and this permission notice shall be
included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


@dataclass(frozen=True)
class KeptLicense:
    """A licence text kept here because the package's npm tarball leaves it out.

    It is written as ``name`` beside the served files. The registry's licence field must
    still read ``spdx``: if a new version changes its licence, the update stops rather than
    ship the old text.
    """

    name: str
    spdx: str
    source: str  # where the text was copied from
    text: str


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    folder: str  # under static/vendor/
    serve: tuple[str, ...]  # patterns inside the tarball's package/ folder
    strip: str  # prefix removed from served paths, so CSS url(images/…) still resolves
    licenses: tuple[str, ...]  # copied to the folder's top under their own names
    kept_license: KeptLicense | None = None  # for a tarball that ships no licence file

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


PACKAGES = (
    Package(
        name="leaflet",
        version="1.9.4",
        folder="leaflet",
        serve=("dist/leaflet.js", "dist/leaflet.css", "dist/images/*"),
        strip="dist/",
        licenses=("LICENSE",),
    ),
    Package(
        name="leaflet.markercluster",
        version="1.5.3",
        folder="leaflet.markercluster",
        serve=(
            "dist/leaflet.markercluster.js",
            "dist/MarkerCluster.css",
            "dist/MarkerCluster.Default.css",
        ),
        strip="dist/",
        licenses=("MIT-LICENCE.txt",),
    ),
    Package(
        name="leaflet-draw",
        version="1.0.4",
        folder="leaflet-draw",
        serve=("dist/leaflet.draw.js", "dist/leaflet.draw.css", "dist/images/spritesheet*"),
        strip="dist/",
        licenses=(),
        kept_license=KeptLicense(
            name="MIT-LICENSE.md",
            spdx="MIT",
            source="https://github.com/Leaflet/Leaflet.draw/blob/v1.0.4/MIT-LICENSE.md",
            text=LEAFLET_DRAW_LICENSE,
        ),
    ),
)


class UpdateError(Exception):
    """A step failed; the message says which and what to do."""


@dataclass(frozen=True)
class Fetched:
    package: Package
    integrity: str
    license: str
    files: dict[str, bytes]  # path under the package folder -> content


def find_npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise UpdateError(
            "npm is not on PATH. Install Node.js and npm on a machine that can reach the npm "
            "registry, run this script there and commit static/vendor/; the portal itself "
            "never needs npm."
        )
    return npm


def run(args: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(  # noqa: S603  (fixed argument list, no shell)
            args, cwd=cwd, check=True, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as exc:
        raise UpdateError(
            f"`{' '.join(args)}` exited with {exc.returncode}:\n{exc.stderr.strip()}"
        ) from exc
    return done.stdout


def fetch(npm: str, package: Package, workdir: Path) -> Fetched:
    meta = json.loads(run([npm, "view", package.spec, "dist.integrity", "license", "--json"]))
    if not isinstance(meta, dict) or "dist.integrity" not in meta:
        raise UpdateError(f"npm view {package.spec}: no such version on the registry")
    integrity = meta["dist.integrity"]
    packed = json.loads(run([npm, "pack", package.spec, "--json", "--ignore-scripts"], workdir))
    tarball = workdir / packed[0]["filename"]
    check_integrity(tarball, integrity, package.spec)

    files: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        members = {
            m.name.removeprefix("package/"): m
            for m in tar.getmembers()
            if m.isfile() and m.name.startswith("package/")
        }
        for pattern in package.serve:
            matched = sorted(p for p in members if fnmatch.fnmatchcase(p, pattern))
            if not matched:
                raise UpdateError(f"{package.spec}: nothing in the tarball matches {pattern!r}")
            for path in matched:
                files[path.removeprefix(package.strip)] = read(tar, members[path])
        for name in package.licenses:
            if name not in members:
                raise UpdateError(f"{package.spec}: the tarball has no licence file {name!r}")
            files[name] = read(tar, members[name])
    license_ = str(meta.get("license", "UNKNOWN"))
    kept = package.kept_license
    if kept is not None:
        if license_ != kept.spdx:
            raise UpdateError(
                f"{package.spec}: the registry gives the licence {license_!r}, but update.py "
                f"keeps a {kept.spdx} text for it; replace it with the text from the new "
                "version's repository"
            )
        if kept.name in members:
            raise UpdateError(f"{package.spec}: the tarball now ships {kept.name}; list it "
                              "in licenses and drop kept_license")
        files[kept.name] = kept.text.encode("utf-8")
    return Fetched(package, integrity, license_, files)


def check_integrity(tarball: Path, integrity: str, spec: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise UpdateError(f"{spec}: expected a sha512 integrity, the registry gave {integrity!r}")
    actual = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if actual != expected:
        raise UpdateError(f"{spec}: the packed tarball does not match the registry's integrity")


def read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = tar.extractfile(member)
    if stream is None:
        raise UpdateError(f"cannot read {member.name} from the tarball")
    with stream:
        return stream.read()


def sync(folder: Path, files: dict[str, bytes]) -> int:
    """Make ``folder`` hold exactly ``files``; untouched files keep their mtime. Returns writes."""
    for old in sorted(folder.rglob("*"), reverse=True):
        rel = old.relative_to(folder).as_posix()
        if old.is_file() and rel not in files:
            old.unlink()
        elif old.is_dir() and not any(old.iterdir()):
            old.rmdir()
    written = 0
    for rel, data in sorted(files.items()):
        target = folder / rel
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written += 1
    return written


def versions_text(fetched: list[Fetched]) -> str:
    lines = [
        "# Written by static/vendor/update.py from the npm registry; do not edit by hand.",
        "# name\tversion\tfolder\tlicense\tintegrity (npm tarball)",
    ]
    for f in fetched:
        p = f.package
        lines.append(f"{p.name}\t{p.version}\tvendor/{p.folder}/\t{f.license}\t{f.integrity}")
    return "\n".join(lines) + "\n"


def main() -> int:
    try:
        npm = find_npm()
        with tempfile.TemporaryDirectory(prefix="vendor-") as tmp:
            # Fetch everything before touching static/vendor, so a failure leaves it as it was.
            fetched = [fetch(npm, package, Path(tmp)) for package in PACKAGES]
    except UpdateError as exc:
        print(f"update.py: {exc}", file=sys.stderr)
        return 1
    for f in fetched:
        written = sync(VENDOR / f.package.folder, f.files)
        print(
            f"{f.package.spec}: {len(f.files)} files in vendor/{f.package.folder}/, "
            f"{written} changed"
        )
    text = versions_text(fetched)
    if not VERSIONS.is_file() or VERSIONS.read_text(encoding="utf-8") != text:
        VERSIONS.write_text(text, encoding="utf-8")
        print("VERSIONS.txt rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
