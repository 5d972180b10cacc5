"""Durability benchmark: a submission the portal acknowledged must never disappear.

    .venv/bin/python bench/durability/run.py [--db sqlite|postgresql|both]
        [--submissions 400] [--clients 40] [--crash-threads 8] [--kills 3] [--kill-after 2]

For each database (a fresh SQLite file in a temp dir, or a fresh PostgreSQL database on
127.0.0.1:5432 created for the run and dropped after), migrated with
``flask --app wsgi db upgrade`` and nothing else loaded, through
``gunicorn -w 2 --timeout 60`` (sync workers):

  1. load: ``--submissions`` JSON demands (POST /api/v1/demands, each a distinct valid body
     with its own Idempotency-Key) from ``--clients`` concurrent threads, one http.client
     connection per thread. Printed: acknowledged submissions per second (201 answers, wall
     clock), latency p50/p95, every non-201 answer by status (and requests that got no
     answer). Then every acknowledged ticket is tracked (GET /api/v1/track/<ticket> with its
     X-Access-Code → 200, same ticket) and looked up directly in the database (sqlite3 /
     psycopg). Target: ≥ 100 acknowledged/s on SQLite with none lost.
  2. crash: ``--kills`` times, a stream of submissions from ``--crash-threads`` threads;
     after ``--kill-after`` seconds the whole gunicorn process group (master and workers)
     gets SIGKILL. Requests in flight fail and count as not acknowledged. Every ticket
     acknowledged (201 received) before the kill must be in the database (checked directly
     while no server runs) and trackable after gunicorn is restarted on the same database;
     the check is cumulative (the load phase's tickets and every earlier round's too). The
     failed in-flight requests are then sent again with the same Idempotency-Key, as a client
     would: a 200 "replayed" answer means that request had been committed before the kill.

A 500 (e.g. SQLite "database is locked") is not an acknowledgement, so it is not a loss, but
it is reported with the server's log lines; the benchmark never retries to hide one. The exit
status is 1 only when an acknowledged ticket is missing (or the run could not be set up).

SIGKILL of the processes tests the order "commit, then acknowledge"; it cannot test a power
cut (data still in the OS page cache survives a process kill), which is what SQLite's
``synchronous=FULL`` and PostgreSQL's ``fsync`` cover.

Traffic goes only to 127.0.0.1. Servers are killed, the PostgreSQL database dropped and the
temp dir removed on any exit.
"""

import argparse
import http.client
import itertools
import json
import os
import re
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 (the project root is on sys.path from here)
    free_port,
    percentile,
    portal_env,
    start_gunicorn,
    stop_server,
    wait_healthy,
)

VENV_BIN = ROOT / ".venv" / "bin"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
THROUGHPUT_TARGET = 100  # acknowledged submissions per second, SQLite
# A throwaway key, the same across restarts: access codes are hashed with it.
SECRET_KEY = "bench-durability"  # noqa: S105
MAX_PER_CRASH_THREAD = 5_000  # bounds each crash-test thread should the kill never come
TRACK_THREADS = 8

# As tests/test_intake.py's DEMAND, with "consent" as the JSON API takes it; each
# submission changes the company, credit code, phone, e-mail and figures.
DEMAND = {
    "investor_type": "domestic", "company_name": "大同示例新能源有限公司",
    "contact_name": "王工", "contact_phone": "13812345678", "contact_email": "wang@example.com",
    "amount_wan": "20000", "currency": "CNY", "timeline": "6m", "land_mu": "80",
    "message": "建设储能电池组装线。", "consent": True,
}


def valid_credit_code(n: int) -> str:
    """A distinct well-formed 统一社会信用代码 for submission ``n`` (as the tests' helper)."""
    from portal.intake.validators import credit_code_check_char, credit_code_valid

    body = f"91140200MA{n:07d}"
    code = body + credit_code_check_char(body)
    assert credit_code_valid(code)
    return code


def payload(n: int) -> dict:
    return DEMAND | {
        "company_name": f"大同耐久测试{n:05d}号新能源有限公司",
        "credit_code": valid_credit_code(n),
        "contact_phone": f"138{n:08d}",
        "contact_email": f"durability{n}@example.com",
        "amount_wan": str(1000 + n % 50_000),
        "land_mu": str(10 + n % 190),
        "message": f"耐久性基准测试第 {n} 份投资需求：建设储能电池组装线。",
    }


# --- databases -----------------------------------------------------------------------------


class Database:
    """A fresh database for one run: its URL, direct row access, and its removal."""

    kind = ""
    url = ""

    def tickets(self) -> dict[str, str | None]:
        """Every demand row: ticket → idempotency key."""
        raise NotImplementedError

    def drop(self) -> None:
        pass


class SqliteDatabase(Database):
    kind = "sqlite"

    def __init__(self, tmp: Path):
        self.path = tmp / "durability.db"
        self.url = f"sqlite:///{self.path}"

    def tickets(self) -> dict[str, str | None]:
        conn = sqlite3.connect(self.path, timeout=15)
        try:
            return dict(conn.execute("SELECT ticket, idempotency_key FROM demand"))
        finally:
            conn.close()

    def describe(self) -> str:
        return f"SQLite file {self.path}"


class PostgresDatabase(Database):
    kind = "postgresql"

    def __init__(self):
        import psycopg

        self.name = f"bench_durability_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.created = True
        self.url = PG_URL.format(name=self.name)

    def tickets(self) -> dict[str, str | None]:
        import psycopg

        dsn = PG_ADMIN.replace("dbname=postgres", f"dbname={self.name}")
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            return dict(conn.execute("SELECT ticket, idempotency_key FROM demand").fetchall())

    def drop(self) -> None:
        import psycopg

        if not self.created:
            return
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.created = False

    def describe(self) -> str:
        return f"PostgreSQL database {self.name} on 127.0.0.1:5432"


def server_env(db: Database, tmp: Path) -> dict:
    return portal_env({"PORTAL_DATABASE_URL": db.url, "PORTAL_SEARCH_DIR": str(tmp / "search"),
                       "PORTAL_SECRET_KEY": SECRET_KEY, "PORTAL_RATELIMIT": "off"})


def migrate(env: dict) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError("flask db upgrade failed:\n" + (done.stdout + done.stderr)[-3000:])
    return time.perf_counter() - t0


# --- the server ----------------------------------------------------------------------------

LIVE: list["Server"] = []  # every server started and not yet known dead, for the cleanup


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, …
            found.append(int(stat.parent.name))
    return found


class Server:
    """gunicorn -w 2 (sync) in its own session, so that its whole group can be killed."""

    def __init__(self, env: dict, port: int, log_path: Path):
        self.port, self.log_path = port, log_path
        self.log = open(log_path, "w")
        self.proc = start_gunicorn(port, ["-w", "2", "--timeout", "60"], env, self.log,
                                   new_session=True)
        self.pgid = self.proc.pid  # a session leader leads its process group
        LIVE.append(self)

    def wait_healthy(self, timeout: float = 60) -> dict:
        return wait_healthy(self.proc, self.port, timeout, log_path=self.log_path)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the master and its live workers so far."""
        total = 0
        for pid in group_members(self.pgid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (after the name)
        return total / os.sysconf("SC_CLK_TCK")

    def workers(self) -> list[int]:
        return sorted(p for p in group_members(self.pgid) if p != self.pgid)

    def _wait_group_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not group_members(self.pgid):
                return True
            time.sleep(0.05)
        return False

    def crash(self) -> int:
        """SIGKILL to the master and every worker at once; returns how many were killed."""
        members = group_members(self.pgid)
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=15)
        if not self._wait_group_gone(10):
            raise RuntimeError(f"processes of group {self.pgid} survived SIGKILL: "
                               f"{group_members(self.pgid)}")
        self._forget()
        return len(members)

    def stop(self) -> None:
        """Graceful: SIGTERM to the master, which stops its workers; SIGKILL if it hangs."""
        stop_server(self.proc, timeout=30, kill=False)
        self.kill_group()

    def kill_group(self) -> None:
        if group_members(self.pgid) or self.proc.poll() is None:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            self._wait_group_gone(10)
        self._forget()

    def _forget(self) -> None:
        if not self.log.closed:
            self.log.close()
        if self in LIVE:
            LIVE.remove(self)


# --- the client ----------------------------------------------------------------------------


@dataclass
class Outcome:
    n: int
    key: str
    started: float
    ended: float = 0.0
    status: int | None = None  # None: no answer (connection refused, reset, closed, timeout)
    error: str = ""
    ticket: str = ""
    code: str | None = None
    body: str = ""
    closed: bool = False  # the server answered "Connection: close"

    @property
    def ms(self) -> float:
        return (self.ended - self.started) * 1000


def post_demand(conn: http.client.HTTPConnection, n: int, key: str) -> Outcome:
    """One submission, never retried: a failure is reported as it is."""
    body = json.dumps(payload(n), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "Accept-Language": "zh-CN", "Idempotency-Key": key,
               "User-Agent": "bench-durability"}
    outcome = Outcome(n, key, time.perf_counter())
    try:
        conn.request("POST", "/api/v1/demands", body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        outcome.ended = time.perf_counter()
        outcome.error = type(exc).__name__
        conn.close()
        return outcome
    outcome.ended = time.perf_counter()
    outcome.status = response.status
    outcome.closed = (response.getheader("Connection", "").lower() == "close")
    outcome.body = raw.decode("utf-8", errors="replace")
    if response.status in (200, 201):
        try:
            data = json.loads(raw)
            outcome.ticket, outcome.code = data["ticket"], data.get("access_code")
        except (ValueError, KeyError, TypeError):
            outcome.error = "unreadable body"
    return outcome


def acknowledged(outcomes: list[Outcome]) -> dict[str, str]:
    """ticket → access code for every 201 with a ticket and a code."""
    return {o.ticket: o.code for o in outcomes if o.status == 201 and o.ticket and o.code}


def track_all(port: int, tickets: dict[str, str]) -> dict[str, str]:
    """Track every ticket with its code; returns the tickets that failed, with why."""
    items = list(tickets.items())
    failed: dict[str, str] = {}
    lock = threading.Lock()
    cursor = itertools.count()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while True:
                with lock:
                    i = next(cursor)
                if i >= len(items):
                    return
                ticket, code = items[i]
                why = ""
                try:
                    conn.request("GET", f"/api/v1/track/{ticket}",
                                 headers={"X-Access-Code": code, "Accept": "application/json"})
                    response = conn.getresponse()
                    raw = response.read()
                    if response.status != 200:
                        why = f"{response.status} {raw[:120].decode(errors='replace')}"
                    elif json.loads(raw).get("ticket") != ticket:
                        why = f"200 with another ticket: {raw[:120].decode(errors='replace')}"
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    conn.close()
                    why = f"no answer: {type(exc).__name__}"
                if why:
                    with lock:
                        failed[ticket] = why
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(TRACK_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return failed


# --- the server's log ----------------------------------------------------------------------

LEVEL = re.compile(r"\b(ERROR|CRITICAL|WARNING)\b")


def log_findings(path: Path) -> tuple[list[list[str]], Counter]:
    """Error blocks (an ERROR/CRITICAL line and the traceback after it) and warning counts."""
    blocks: list[list[str]] = []
    warnings: Counter = Counter()
    current: list[str] | None = None
    for line in path.read_text(errors="replace").splitlines():
        level = LEVEL.search(line[:80])
        starts_entry = line.startswith("[")
        if level and level.group(1) in ("ERROR", "CRITICAL"):
            current = [line]
            blocks.append(current)
        elif level and level.group(1) == "WARNING":
            text = re.sub(r"^\[[^]]*\]\s*(\[\d+\]\s*)?", "", line)
            warnings[re.sub(r"\d+", "N", text)[:160]] += 1  # "N jobs wait": one message
            current = None
        elif starts_entry:
            current = None
        elif current is not None:
            current.append(line)
        elif "Traceback" in line or "database is locked" in line:
            current = [line]
            blocks.append(current)
    return blocks, warnings


def condensed(block: list[str]) -> list[str]:
    """A traceback cut to its first line, the project's own frames and the exception."""
    if len(block) <= 14:
        return block
    own = str(ROOT / "portal")
    kept = block[:2]
    for i, line in enumerate(block[2:-1], start=2):
        if line.strip().startswith("File ") and own in line:
            kept += [line, block[i + 1]]
    return kept + ["  …", block[-1]]


def report_log(label: str, paths: list[Path], shown: int = 2) -> int:
    """Print the errors of the server logs; returns how many error entries there were."""
    blocks, warnings = [], Counter()
    for path in paths:
        b, w = log_findings(path)
        blocks += [(path, block) for block in b]
        warnings.update(w)
    if blocks:
        kinds = Counter(block[-1].strip()[:200] for _p, block in blocks)
        print(f"   server log ({label}): {len(blocks)} error entries")
        for last, count in kinds.most_common(8):
            print(f"     {count:4d} × {last}")
        for path, block in blocks[:shown]:
            print(f"     --- {path.name}:")
            for line in condensed(block):
                print(f"       {line[:220]}")
    else:
        print(f"   server log ({label}): no errors")
    for text, count in warnings.most_common(3):
        print(f"     warning {count} ×: {text}")
    return len(blocks)


# --- 1. load --------------------------------------------------------------------------------


@dataclass
class Run:
    """What one database's run acknowledged, across the load and crash phases."""

    db: Database
    tmp: Path
    env: dict
    port: int
    key_prefix: str
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    acked: dict[str, str] = field(default_factory=dict)  # ticket → access code
    replayed: set[str] = field(default_factory=set)  # tickets known only from a replay
    logs: list[Path] = field(default_factory=list)
    servers_started: int = 0
    lost: dict[str, str] = field(default_factory=dict)
    errors_5xx: int = 0

    def next_number(self) -> int:
        return next(self.numbers)

    def key(self, n: int) -> str:
        return f"{self.key_prefix}-{n:06d}"

    def start_server(self) -> Server:
        self.servers_started += 1
        path = self.tmp / f"gunicorn-{self.db.kind}-{self.servers_started}.log"
        self.logs.append(path)
        server = Server(self.env, self.port, path)
        server.wait_healthy()
        return server


def load_phase(run: Run, submissions: int, clients: int) -> None:
    server = run.start_server()
    print(f"1. load: gunicorn -w 2 (sync) --timeout 60 on 127.0.0.1:{run.port}, master "
          f"{server.pgid}, workers {server.workers()}; {submissions} submissions from "
          f"{clients} threads")
    numbers = [run.next_number() for _ in range(submissions)]
    lock = threading.Lock()
    cursor = iter(numbers)
    results: list[Outcome] = []
    barrier = threading.Barrier(clients + 1)

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", run.port, timeout=90)
        mine = []
        try:
            barrier.wait(timeout=60)
            while True:
                with lock:
                    n = next(cursor, None)
                if n is None:
                    break
                mine.append(post_demand(conn, n, run.key(n)))
        finally:
            conn.close()
            with lock:
                results.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    cpu0 = server.cpu_seconds()
    barrier.wait(timeout=60)
    t0 = time.perf_counter()
    for t in threads:
        t.join(timeout=900)
    wall = time.perf_counter() - t0
    cpu = server.cpu_seconds() - cpu0
    if any(t.is_alive() for t in threads):
        print("   some client threads did not finish within 900 s")

    acks = acknowledged(results)
    run.acked |= acks
    answered = [o for o in results if o.status is not None]
    statuses = Counter(o.status for o in results if o.status not in (201, None))
    unanswered = Counter(o.error for o in results if o.status is None)
    closed = sum(o.closed for o in answered)
    rate = len(acks) / wall if wall else 0.0
    times = [o.ms for o in answered]
    target = ""
    if run.db.kind == "sqlite":
        target = (f" (target ≥ {THROUGHPUT_TARGET}/s: "
                  f"{'ok' if rate >= THROUGHPUT_TARGET else 'UNDER'})")
    print(f"   acknowledged (201) {len(acks)}/{len(results)} in {wall:.2f} s wall clock: "
          f"{rate:.1f} submissions/s{target}")
    if times:
        print(f"   latency p50 {statistics.median(times):.0f} ms, p95 "
              f"{percentile(times, 0.95):.0f} ms, max {max(times):.0f} ms (send to last byte, "
              f"{clients} clients queued on 2 sync workers) · {closed}/{len(answered)} answers "
              f"said Connection: close (sync workers do not keep connections alive)")
    load = os.getloadavg()
    print(f"   server CPU {cpu:.2f} s: {cpu * 1000 / max(len(results), 1):.1f} ms per submission "
          f"(gunicorn master and workers, user+sys) · load average {load[0]:.2f} "
          f"on {os.cpu_count()} CPUs, client threads on the same machine")
    if statuses or unanswered:
        parts = [f"{status}: {count}" for status, count in sorted(statuses.items())]
        parts += [f"no answer ({error}): {count}" for error, count in unanswered.items()]
        print("   non-201: " + ", ".join(parts))
        for status in sorted(statuses):
            sample = next(o.body for o in results if o.status == status)
            try:
                sample = json.dumps(json.loads(sample), ensure_ascii=False)
            except ValueError:
                pass
            print(f"     {status} e.g. {sample[:300]}")
    else:
        print("   non-201: none")
    run.errors_5xx += sum(count for status, count in statuses.items() if status >= 500)

    failed = track_all(run.port, acks)
    rows = run.db.tickets()
    missing_rows = sorted(set(acks) - set(rows))
    ours = {run.key(n) for n in numbers}
    unacked_rows = sum(1 for t, k in rows.items() if k in ours and t not in acks)
    print(f"   verify: {len(acks) - len(failed)}/{len(acks)} acknowledged tickets trackable "
          f"(GET /api/v1/track with their codes → 200, same ticket); {len(rows)} demand rows "
          f"in the database, {len(acks) - len(missing_rows)}/{len(acks)} acknowledged tickets "
          f"among them, {unacked_rows} rows never acknowledged")
    lost = {t: failed.get(t, "") + (" · not in the database" if t in missing_rows else "")
            for t in set(failed) | set(missing_rows)}
    run.lost |= lost
    print(f"   lost: {len(lost)}" + (" → " + ", ".join(f"{t} ({why.strip(' ·')})"
                                                     for t, why in sorted(lost.items())[:20])
                                     if lost else ""))
    server.stop()
    report_log("load", run.logs[-1:])


# --- 2. crash -------------------------------------------------------------------------------


def crash_round(run: Run, server: Server, round_no: int, threads: int,
                after: float) -> tuple[Server, list[Outcome], float]:
    """Submissions until the kill; returns the outcomes and the kill's moment."""
    stop = threading.Event()
    lock = threading.Lock()
    results: list[Outcome] = []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", run.port, timeout=90)
        mine = []
        try:
            for _ in range(MAX_PER_CRASH_THREAD):
                if stop.is_set():
                    break
                with lock:
                    n = run.next_number()
                outcome = post_demand(conn, n, run.key(n))
                mine.append(outcome)
                if outcome.status is None:  # the server is gone
                    break
        finally:
            conn.close()
            with lock:
                results.extend(mine)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    time.sleep(after)
    workers = server.workers()
    stop.set()  # no new requests; those already sent stay in flight
    killed_at = time.perf_counter()
    killed = server.crash()
    for t in pool:
        t.join(timeout=120)
    print(f"   round {round_no}: SIGKILL to process group {server.pgid} after {after:g} s "
          f"({killed} processes: master {server.pgid}, workers {workers})")
    return server, results, killed_at


def crash_phase(run: Run, kills: int, threads: int, after: float) -> None:
    print(f"2. crash: {kills} × (submissions from {threads} threads, SIGKILL to gunicorn's "
          f"whole process group after ~{after:g} s, restart on the same database, verify)")
    server = run.start_server()
    retried_total = Counter()
    for round_no in range(1, kills + 1):
        server, results, killed_at = crash_round(run, server, round_no, threads, after)
        acks = acknowledged(results)
        run.acked |= acks
        in_flight = [o for o in results if o.status is None and o.started <= killed_at]
        refused = [o for o in results if o.status is None and o.started > killed_at]
        others = Counter(o.status for o in results if o.status not in (201, None))
        run.errors_5xx += sum(c for s, c in others.items() if s >= 500)

        # With no server running: the acknowledged tickets, straight from the database.
        rows = run.db.tickets()
        missing_rows = set(run.acked) - set(rows)
        committed_unacked = [o for o in in_flight if o.key in set(rows.values())]

        server = run.start_server()
        failed = track_all(run.port, run.acked)
        round_failed = {t: w for t, w in failed.items() if t in acks}
        lost = {t: failed.get(t, "") + (" · not in the database" if t in missing_rows else "")
                for t in set(failed) | missing_rows}
        run.lost |= lost
        errors = Counter(o.error for o in in_flight)
        print(f"     acknowledged {len(acks)} · in-flight failed {len(in_flight)} ("
              + ", ".join(f"{e} {c}" for e, c in errors.most_common()) + ")"
              + (f" · refused after the kill {len(refused)}" if refused else "")
              + (" · other answers " + ", ".join(f"{s}: {c}" for s, c in sorted(others.items()))
                 if others else ""))
        print(f"     verified present: {len(acks) - len(round_failed)}/{len(acks)} of this "
              f"round (tracked after restart), cumulative {len(run.acked) - len(failed)}/"
              f"{len(run.acked)} tracked and {len(run.acked) - len(missing_rows)}/"
              f"{len(run.acked)} in the database before restart ({len(rows)} demand rows)")
        print(f"     in-flight requests that had been committed anyway: "
              f"{len(committed_unacked)}/{len(in_flight)}")
        print(f"     lost: {len(lost)}" + (" → " + ", ".join(
            f"{t} ({why.strip(' ·')})" for t, why in sorted(lost.items())[:20]) if lost else ""))

        # What a client does with a request that got no answer: send it again, same key.
        conn = http.client.HTTPConnection("127.0.0.1", run.port, timeout=60)
        retried = Counter()
        for o in in_flight:
            again = post_demand(conn, o.n, o.key)
            if again.status == 201 and again.ticket and again.code:
                run.acked[again.ticket] = again.code
                retried["201 new"] += 1
            elif again.status == 200 and again.ticket:
                run.replayed.add(again.ticket)
                retried["200 replayed" + (", no access code" if not again.code else "")] += 1
            else:
                retried[f"{again.status or again.error}"] += 1
        conn.close()
        retried_total.update(retried)
        if in_flight:
            print("     resent with the same Idempotency-Key: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(retried.items())))

    # Last: everything acknowledged is still there, then the rows counted directly.
    failed = track_all(run.port, run.acked)
    server.stop()
    rows = run.db.tickets()
    missing_rows = set(run.acked) - set(rows)
    missing_replays = run.replayed - set(rows)
    lost = {t: failed.get(t, "") + (" · not in the database" if t in missing_rows else "")
            for t in set(failed) | missing_rows}
    run.lost |= lost
    print(f"   final: {len(run.acked) - len(failed)}/{len(run.acked)} acknowledged tickets "
          f"trackable, {len(run.acked) - len(missing_rows)}/{len(run.acked)} in the database "
          f"({len(rows)} demand rows; replayed tickets present "
          f"{len(run.replayed) - len(missing_replays)}/{len(run.replayed)}) · lost: "
          f"{len(run.lost)}")
    report_log("crash rounds and restarts", run.logs[1:])


# --- main ------------------------------------------------------------------------------------


def bench(kind: str, args) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"bench-durability-{kind}-") as name:
        tmp = Path(name)
        db: Database | None = None
        run = None
        try:
            db = SqliteDatabase(tmp) if kind == "sqlite" else PostgresDatabase()
            env = server_env(db, tmp)
            seconds = migrate(env)
            print(f"\n== {kind}: {db.describe()}, migrated in {seconds:.1f} s")
            run = Run(db, tmp, env, free_port(), f"durability-{kind}-{secrets.token_hex(4)}")
            load_phase(run, args.submissions, args.clients)
            crash_phase(run, args.kills, args.crash_threads, args.kill_after)
            return run
        finally:
            for server in list(LIVE):
                server.kill_group()
            if db is not None:
                db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--submissions", type=int, default=400)
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--crash-threads", type=int, default=8)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--kill-after", type=float, default=2.0, help="seconds")
    args = parser.parse_args()
    if not (1 <= args.submissions <= 100_000 and 1 <= args.clients <= 500
            and 1 <= args.crash_threads <= 100 and 1 <= args.kills <= 20
            and 0.1 <= args.kill_after <= 60):
        parser.error("out of range")
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so the cleanup still runs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    summary = []
    ok = True
    try:
        for kind in kinds:
            try:
                run = bench(kind, args)
            except Exception as exc:  # one database failing to set up does not stop the other
                print(f"\n== {kind}: error: {type(exc).__name__}: {exc}")
                summary.append(f"{kind}: not measured ({type(exc).__name__})")
                ok = False
                continue
            summary.append(f"{kind}: {len(run.acked)} acknowledged, lost {len(run.lost)}, "
                           f"5xx answers {run.errors_5xx}")
            ok = ok and not run.lost
    finally:
        for server in list(LIVE):
            server.kill_group()
    print("\nsummary: " + " · ".join(summary))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
