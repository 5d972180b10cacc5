"""Page throughput: requests/s of the main pages through gunicorn, each as a share of a bare
Flask hello-world served by the same gunicorn settings in the same run (target: ≥ 50 % with a
warm page cache), and the same pages with the cache off, where every request is a miss.

    .venv/bin/python bench/pages/run.py [--duration 8] [--pages zh,en,...] [--redis URL]

On a fresh SQLite database in a temp dir:
  1. migrate, load the Datong pack, build the search index (timed: the first line printed);
  2. the hello-world (bench/pages/hello.py): one wrk run on / ;
  3. the portal, page cache on: one request to each page right after the start, timed (the
     cache is empty, as after a content change; the first pages also pay the workers' first
     renders), then per page a few concurrent warm-up requests, each checked for 200, and one
     wrk run;
  4. the portal restarted with PORTAL_PAGE_CACHE=off: one wrk run per page;
  5. with --redis URL: step 3's warm runs again with PORTAL_REDIS_URL=URL.
Servers: gunicorn -w 2 -k gthread --threads 4 --worker-connections 20 (see SERVER_ARGS: without
the cap, one worker can take all of wrk's connections). wrk -t2 -c32 -d<duration>s --latency with
``Accept-Encoding: gzip``, as a browser sends. A run in which wrk counts non-2xx/3xx answers or
socket errors is flagged, and in the warm mode its page FAILs: a page answering errors does
not count.

Printed: a table (size on the wire, first-request ms, then per mode requests/s, % of the
hello-world, p50 and p99 latency), then one PASS/FAIL line per page for the warm figure.
Exit status 1 when a server or a page answered errors or broke connections, or could not be
measured; not for a FAIL on the ratio alone, nor for wrk's 2-s timeouts alone (printed).
Traffic goes only to 127.0.0.1; every server is stopped and the temp dir removed on any exit.
"""

import argparse
import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 (the project root is on sys.path from here)
    balanced_workers,
    bench_app,
    free_port,
    start_gunicorn,
    stop_server,
    tmp_db_env,
    wait_healthy,
)

WRK = "/usr/bin/wrk"
WRK_CONNECTIONS = 32
WRK_ARGS = ["-t2", f"-c{WRK_CONNECTIONS}"]
SERVER_ARGS = balanced_workers(WRK_CONNECTIONS)  # both workers always serve (bench.common)
HEADERS = {"Accept-Encoding": "gzip"}
TARGET = 0.5  # each page's warm requests/s as a share of the hello-world's
WARM_UP = 16  # requests per page before its wrk run, 8 at a time so both workers see some

# name (for --pages) -> path; {id} is the first policy the API lists
PAGES = {
    "zh": "/zh/",
    "en": "/en/",
    "search": "/zh/policies/?q=" + quote("土地"),
    "sites": "/zh/sites/",
    "policy": "/zh/policies/{id}",
    "api": "/api/v1/policies?q=" + quote("土地"),
}
MODES = {"warm": "warm (cache on)", "cold": "cold (cache off)", "redis": "warm, Redis"}


@dataclass
class Answer:
    status: int
    wire_bytes: int  # the body as sent, gzip-compressed when the server chose to
    body: bytes  # decompressed
    ms: float


@dataclass
class Run:
    """One wrk run's figures."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)

    def errors(self) -> str:
        parts = [f"{self.non_2xx} non-2xx/3xx answers"] if self.non_2xx else []
        socket = [f"{kind} {count}" for kind, count in self.socket_errors.items() if count]
        if socket:
            parts.append("socket errors " + ", ".join(socket))
        return "; ".join(parts)

    def broken(self) -> bool:
        """Error answers or broken connections; not wrk's 2-s timeouts alone, which a cold
        page on a busy machine reaches without anything being wrong."""
        return bool(self.non_2xx) or any(count for kind, count in self.socket_errors.items()
                                         if kind != "timeout")


def get(port: int, path: str) -> Answer:
    """One request on a fresh connection, as a browser's first would be; timed to the last
    byte of the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        start = time.perf_counter()
        conn.request("GET", path, headers=HEADERS)
        response = conn.getresponse()
        raw = response.read()
        ms = (time.perf_counter() - start) * 1000
        gzipped = response.getheader("Content-Encoding") == "gzip"
        return Answer(response.status, len(raw), gzip.decompress(raw) if gzipped else raw, ms)
    finally:
        conn.close()


# --- wrk --------------------------------------------------------------------------------------

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS_MS[unit]


def parse_wrk(output: str) -> Run:
    """The figures of ``wrk --latency``'s report; raises when a line it always prints is
    missing (wrk could not connect, or its format changed)."""
    def line(pattern: str) -> re.Match | None:
        return re.search(pattern, output, re.MULTILINE)

    rps, p50, p99, total = (line(r"^Requests/sec:\s+([\d.]+)"), line(r"^\s+50%\s+(\S+)"),
                            line(r"^\s+99%\s+(\S+)"), line(r"^\s+(\d+) requests in "))
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    run = Run(float(rps[1]), _ms(p50[1]), _ms(p99[1]), int(total[1]))
    if non_2xx := line(r"^\s+Non-2xx or 3xx responses:\s+(\d+)"):
        run.non_2xx = int(non_2xx[1])
    if socket := line(r"^\s+Socket errors: (.+)$"):
        run.socket_errors = {kind: int(count)
                             for kind, count in re.findall(r"(\w+) (\d+)", socket[1])}
    return run


def wrk(port: int, path: str, duration: int) -> Run:
    command = [WRK, *WRK_ARGS, f"-d{duration}s", "--latency",
               *[arg for name, value in HEADERS.items() for arg in ("-H", f"{name}: {value}")],
               f"http://127.0.0.1:{port}{path}"]
    done = subprocess.run(command, capture_output=True, text=True, check=True,  # noqa: S603
                          timeout=duration + 60)
    return parse_wrk(done.stdout)


# --- servers ----------------------------------------------------------------------------------


def wait_hello(server: subprocess.Popen, port: int, log_path: Path, timeout: float = 30) -> None:
    """The hello-world has no /healthz (wait_healthy's probe): poll / until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {server.returncode}; log:\n"
                               + log_path.read_text(errors="replace")[-3000:])
        try:
            if get(port, "/").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the hello-world did not answer 200 within {timeout:.0f} s")


@contextmanager
def serving(tmp: Path, name: str, env: dict[str, str], app: str = "wsgi:app"):
    """A gunicorn server for the ``with`` block, its port yielded; stopped however the block
    ends (an exception, Ctrl-C, SIGTERM turned into SystemExit by main)."""
    port = free_port()
    log_path = tmp / f"{name}.log"
    with log_path.open("w") as log:
        server = start_gunicorn(port, SERVER_ARGS, env, log, app=app)
        try:
            if app == "wsgi:app":
                wait_healthy(server, port, log_path=log_path)
            else:
                wait_hello(server, port, log_path)
            yield port
        finally:
            stop_server(server)


# --- steps ------------------------------------------------------------------------------------


def build_database(tmp: Path) -> None:
    """Migrate, load the Datong pack and index it in this process, timed; the servers then
    open the same SQLite file and index directory (tmp_db_env)."""
    from flask_migrate import upgrade

    from portal.extensions import db
    from portal.indexing import reindex
    from seed.loader import load_pack

    app = bench_app(tmp)
    with app.app_context():
        t0 = time.perf_counter()
        upgrade(directory=str(ROOT / "portal" / "migrations"))
        t1 = time.perf_counter()
        counts = load_pack("datong")
        t2 = time.perf_counter()
        documents = reindex()
        t3 = time.perf_counter()
        db.session.remove()
        db.engine.dispose()
    print(f"migrate {t1 - t0:.2f} s · load pack {t2 - t1:.2f} s "
          f"({sum(counts.values())} rows) · index {t3 - t2:.2f} s ({documents} documents)")


def resolve_pages(port: int, names: list[str]) -> dict[str, str]:
    """The chosen pages' paths, with the first policy the API lists as the detail page."""
    paths = {name: PAGES[name] for name in names}
    if "policy" in paths:
        answer = get(port, "/api/v1/policies")
        if answer.status != 200:
            raise RuntimeError(f"/api/v1/policies answered {answer.status}")
        items = json.loads(answer.body)["items"]
        if not items:
            raise RuntimeError("/api/v1/policies lists no policy")
        paths["policy"] = paths["policy"].format(id=items[0]["id"])
    return paths


def warm_up(port: int, path: str) -> int:
    """WARM_UP requests, 8 at a time on fresh connections so that both workers (and their
    caches, if per process) get some; raises unless each answers 200. Returns the size on the
    wire."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: get(port, path), range(WARM_UP)))
    statuses = sorted({a.status for a in answers})
    if statuses != [200]:
        raise RuntimeError(f"{unquote(path)} answered {statuses} during warm-up")
    return answers[-1].wire_bytes


def measure_mode(port: int, paths: dict[str, str], duration: int, sizes: dict[str, int],
                 first_ms: dict[str, float] | None, failed: list[str]) -> dict[str, Run]:
    """With ``first_ms``: first each page once, timed, right after the start. Then per page a
    warm-up and one wrk run. A page that fails is noted in ``failed`` and the next one run."""
    if first_ms is not None:
        for name, path in paths.items():
            answer = get(port, path)
            if answer.status == 200:
                first_ms[name] = answer.ms
    runs = {}
    for name, path in paths.items():
        try:
            sizes[name] = warm_up(port, path)
            runs[name] = wrk(port, path, duration)
        except (RuntimeError, subprocess.SubprocessError) as exc:
            failed.append(f"{unquote(path)}: {exc}")
    return runs


# --- report -----------------------------------------------------------------------------------


def padded(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns: 土地 takes two columns a character."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - columns, 0)


def report(hello: Run, paths: dict[str, str], sizes: dict[str, int], first_ms: dict[str, float],
           results: dict[str, dict[str, Run]], failed: dict[str, list[str]]) -> bool:
    """Prints the table and the verdicts; True when no run answered errors."""
    print(f"hello-world {hello.rps:,.0f} req/s · p50 {hello.p50_ms:.1f} ms · "
          f"p99 {hello.p99_ms:.1f} ms" + (f" · ERRORS: {hello.errors()}" if hello.errors() else ""))
    modes = [mode for mode in MODES if mode in results or mode in failed]
    print()
    print(f"{'':30} {'':>6} {'':>7}" + "".join(f"   {MODES[m]:^33}" for m in modes))
    print(f"{'page':30} {'KB gz':>6} {'1st ms':>7}"
          + f"   {'req/s':>7} {'%hello':>7} {'p50 ms':>8} {'p99 ms':>8}" * len(modes))
    for name, path in paths.items():
        size = f"{sizes[name] / 1024:.1f}" if name in sizes else "—"
        first = f"{first_ms[name]:.0f}" if name in first_ms else "—"
        line = f"{padded(unquote(path), 30)} {size:>6} {first:>7}"
        for mode in modes:
            run = results.get(mode, {}).get(name)
            if run is None:
                line += f"   {'—':>7} {'':>7} {'':>8} {'':>8}"
            else:
                flag = "!" if run.errors() else " "
                line += (f"   {run.rps:7,.0f} {run.rps / hello.rps:6.0%}{flag} "
                         f"{run.p50_ms:8.1f} {run.p99_ms:8.1f}")
        print(line)
    ok = not hello.broken()
    for mode in modes:
        for message in failed.get(mode, []):
            print(f"! {MODES[mode]}: not measured: {message}")
            ok = False
        for name, run in results.get(mode, {}).items():
            if run.errors():
                print(f"! {MODES[mode]} {unquote(paths[name])}: {run.errors()} "
                      f"(of {run.requests} requests): does not count")
                ok = ok and not run.broken()
    print()
    for name, path in paths.items():
        run = results.get("warm", {}).get(name)
        if run is None:
            print(f"FAIL ≥{TARGET:.0%}  {unquote(path)}: not measured")
            continue
        share = run.rps / hello.rps
        passed = share >= TARGET and not run.errors() and not hello.errors()
        line = (f"{'PASS' if passed else 'FAIL'} ≥{TARGET:.0%}  {unquote(path)}: warm "
                f"{run.rps:,.0f} req/s = {share:.0%} of the hello-world")
        if run.errors():
            line += f" (answered errors: {run.errors()})"
        if redis := results.get("redis", {}).get(name):
            line += f" · Redis {redis.rps:,.0f} req/s = {redis.rps / hello.rps:.0%}"
        print(line)
    return ok


def log_tails(tmp: Path) -> None:
    for log_path in sorted(tmp.glob("*.log")):
        tail = log_path.read_text(errors="replace").splitlines()[-20:]
        if tail:
            print(f"{log_path.name} (last lines):", *tail, sep="\n  ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--pages", default=",".join(PAGES),
                        help=f"comma-separated, from: {', '.join(PAGES)} (default: all)")
    parser.add_argument("--redis", metavar="URL",
                        help="also run the warm mode with PORTAL_REDIS_URL=URL")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # in order with the servers' and alembic's logs
    names = [name.strip() for name in args.pages.split(",") if name.strip()]
    if unknown := [name for name in names if name not in PAGES]:
        parser.error(f"unknown page(s) {', '.join(unknown)}; choose from {', '.join(PAGES)}")
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so every server is still stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    ok = False
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as name:
        tmp = Path(name)
        try:
            build_database(tmp)
            # the hello-world and the pages share the machine with whatever else runs on it
            print(f"gunicorn {' '.join(SERVER_ARGS)} · wrk {' '.join(WRK_ARGS)} "
                  f"-d{args.duration}s --latency -H 'Accept-Encoding: gzip' · one run per page "
                  f"per mode · {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
            with serving(tmp, "hello", tmp_db_env(tmp), app="bench.pages.hello:app") as port:
                hello = wrk(port, "/", args.duration)
            env = tmp_db_env(tmp)
            modes = {"warm": env, "cold": env | {"PORTAL_PAGE_CACHE": "off"}}
            if args.redis:
                modes["redis"] = env | {"PORTAL_REDIS_URL": args.redis}
            paths: dict[str, str] = {}
            sizes: dict[str, int] = {}
            first_ms: dict[str, float] = {}
            results: dict[str, dict[str, Run]] = {}
            failed: dict[str, list[str]] = {}
            for mode, mode_env in modes.items():
                failed[mode] = []
                try:
                    with serving(tmp, mode, mode_env) as port:
                        paths = paths or resolve_pages(port, names)
                        results[mode] = measure_mode(port, paths, args.duration, sizes,
                                                     first_ms if mode == "warm" else None,
                                                     failed[mode])
                except (RuntimeError, OSError) as exc:
                    if not paths:  # the portal did not even start: nothing to compare
                        raise
                    failed[mode].append(f"{type(exc).__name__}: {exc}")
            ok = report(hello, paths, sizes, first_ms, results, failed)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"error: {type(exc).__name__}: {exc}")
        except KeyboardInterrupt:  # the servers are stopped by now (serving's finally)
            print("interrupted")
            sys.exit(130)
        if not ok:
            log_tails(tmp)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
