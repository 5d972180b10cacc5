"""Scale-out: requests/s of one app node against two on one PostgreSQL database and one Redis,
for the home page and the policy search page, as a ratio.

    .venv/bin/python bench/scale/run.py [--duration 8] [--database-url URL] [--redis URL]
                                        [--search embedded|postgres]

  1. a fresh PostgreSQL database (created on the server of --database-url, dropped at the end),
     migrated, the Datong pack loaded; each node gets its own search folder, built from the
     database (embedded engine) — or the shared postgres engine with --search postgres;
  2. per mode — warm (page cache on, shared in Redis) and cold (PORTAL_PAGE_CACHE=off, every
     request rendered) — and per page:
     - one node: gunicorn -w 2 -k gthread --threads 4 (``--worker-connections`` capped so that
       both workers serve: bench.common.balanced_workers), one ``wrk -t2 -c32`` run;
     - two nodes: two such gunicorn instances on their own ports and folders, and two wrk
       runs at the same time, ``-t1 -c16`` on each node (the same 32 connections in all, as a
       load balancer would spread them), their requests/s added.
  Printed: per page and mode the requests/s of one node and of two, p50 latency, and the ratio
  two / one. Both nodes, wrk, PostgreSQL and Redis share this machine's cores (the load average
  and core count are printed first): on two cores a second node cannot add CPU, so the ratio
  shows what it costs or gains, not what a second machine would add.

The Redis database of --redis (default 15) is emptied at the start and the end. Exit status 1
when a server could not start or a run answered errors.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote, unquote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 (the project root is on sys.path from here)
    balanced_workers,
    free_port,
    portal_env,
    print_log_tail,
    start_gunicorn,
    stop_server,
    wait_healthy,
)
from bench.pages.run import WRK, Run, get, padded, parse_wrk  # noqa: E402

PAGES = {"home": "/zh/", "search": "/zh/policies/?q=" + quote("土地")}
MODES = {"warm": "warm (page cache in Redis)", "cold": "cold (page cache off)"}
CONNECTIONS = 32
WARM_UP = 16


def wrk_args(port: int, path: str, duration: int, threads: int, connections: int) -> list[str]:
    return [WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
            "-H", "Accept-Encoding: gzip", f"http://127.0.0.1:{port}{path}"]


def wrk_at_once(ports: list[int], path: str, duration: int) -> list[Run]:
    """One wrk per port, started together; the connections split evenly between them."""
    share = CONNECTIONS // len(ports)
    threads = 2 if len(ports) == 1 else 1
    processes = [subprocess.Popen(wrk_args(port, path, duration, threads, share),  # noqa: S603
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for port in ports]
    runs = []
    for process in processes:
        out, err = process.communicate(timeout=duration + 60)
        if process.returncode:
            raise RuntimeError(f"wrk exited {process.returncode}: {err.strip()}")
        runs.append(parse_wrk(out))
    return runs


def warm_up(ports: list[int], path: str) -> None:
    """WARM_UP requests to each node, 8 at a time; each must answer 200."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = set(pool.map(lambda i: get(ports[i % len(ports)], path).status,
                                range(WARM_UP * len(ports))))
    if statuses != {200}:
        raise RuntimeError(f"{unquote(path)} answered {sorted(statuses)} during warm-up")


# --- database and servers -------------------------------------------------------------------


@contextmanager
def database(server_url: str):
    """A new database on the server of ``server_url``, dropped at the end."""
    import sqlalchemy as sa

    base = sa.engine.make_url(server_url)
    name = f"bench_scale_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def node_settings(url: str, redis_url: str, search: str, folder: Path) -> dict[str, str]:
    return {"PORTAL_DATABASE_URL": url, "PORTAL_REDIS_URL": redis_url,
            "PORTAL_SEARCH": search, "PORTAL_SEARCH_DIR": str(folder / "search"),
            "PORTAL_SECRET_KEY": "bench-scale", "PORTAL_RATELIMIT": "off"}


def build(url: str, search: str, folders: list[Path]) -> None:
    """Migrate, load the Datong pack, and build each node's index (one shared table with the
    postgres engine), timed."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from portal.indexing import reindex
    from seed.loader import load_pack

    started = time.perf_counter()
    for number, folder in enumerate(folders):
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEARCH_ENGINE": search,
                          "SEARCH_INDEX_DIR": str(folder / "search"), "SEARCH_URL": "",
                          "SECRET_KEY": "bench-scale", "LIMITS_ON": False})
        with app.app_context():
            if number == 0:
                upgrade(directory=str(ROOT / "portal" / "migrations"))
                load_pack("datong")
            documents = reindex()
            db.session.remove()
            db.engine.dispose()
        if search == "postgres":
            break  # one index for every node
    print(f"database built and indexed in {time.perf_counter() - started:.1f} s "
          f"({documents} documents, {search} engine)")


@contextmanager
def nodes(count: int, settings: list[dict[str, str]], tmp: Path, label: str):
    """``count`` gunicorn nodes, each with its own settings and log; yields their ports."""
    with ExitStack() as stack:
        ports = []
        for number in range(count):
            port = free_port()
            log_path = tmp / f"{label}-node{number + 1}.log"
            log = stack.enter_context(log_path.open("w"))
            # each node gets its share of wrk's connections, both workers always serving
            server = start_gunicorn(port, balanced_workers(CONNECTIONS // count),
                                    portal_env(settings[number]), log)
            stack.callback(stop_server, server)
            try:
                wait_healthy(server, port, log_path=log_path)
            except RuntimeError:
                print_log_tail(log_path)
                raise
            ports.append(port)
        yield ports


# --- the run ----------------------------------------------------------------------------------


def measure(tmp: Path, url: str, redis_url: str, search: str, duration: int
            ) -> dict[tuple[str, str], dict[int, list[Run]]]:
    folders = [tmp / "node1", tmp / "node2"]
    results: dict[tuple[str, str], dict[int, list[Run]]] = {}
    for mode in MODES:
        extra = {"PORTAL_PAGE_CACHE": "off"} if mode == "cold" else {}
        settings = [{**node_settings(url, redis_url, search, folder), **extra}
                    for folder in folders]
        for count in (1, 2):
            empty_redis(redis_url)
            with nodes(count, settings, tmp, f"{mode}-{count}") as ports:
                for name, path in PAGES.items():
                    warm_up(ports, path)
                    runs = wrk_at_once(ports, path, duration)
                    results.setdefault((mode, name), {})[count] = runs
                    total = sum(r.rps for r in runs)
                    print(f"  {MODES[mode]:28} {name:7} {count} node(s): {total:8,.0f} req/s")
    return results


def report(results: dict[tuple[str, str], dict[int, list[Run]]]) -> bool:
    print()
    print(f"{'page':26} {'mode':28} {'1 node req/s':>13} {'p50 ms':>7} "
          f"{'2 nodes req/s':>14} {'p50 ms':>7} {'2 / 1':>6}")
    ok = True
    for (mode, name), by_count in results.items():
        one, two = by_count[1], by_count[2]
        one_rps, two_rps = sum(r.rps for r in one), sum(r.rps for r in two)
        errors = [r.errors() for r in one + two if r.errors()]
        flag = "!" if errors else " "
        print(f"{padded(unquote(PAGES[name]), 26)} {MODES[mode]:28} {one_rps:13,.0f} "
              f"{one[0].p50_ms:7.1f} {two_rps:14,.0f} {max(r.p50_ms for r in two):7.1f} "
              f"{two_rps / one_rps:5.2f}{flag}")
        for message in errors:
            print(f"  ! {message}")
            ok = False
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server (any database on it) to create the "
                             "benchmark's database on")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15",
                        help="a Redis database the run may empty (default: database 15)")
    parser.add_argument("--search", choices=("embedded", "postgres"), default="embedded")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores · load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} · "
          f"nodes, wrk, PostgreSQL and Redis all share these cores")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name, \
            database(args.database_url) as url:
        tmp = Path(tmp_name)
        try:
            build(url, args.search, [tmp / "node1", tmp / "node2"])
            results = measure(tmp, url, args.redis, args.search, args.duration)
        except (RuntimeError, subprocess.SubprocessError) as exc:
            print(f"not measured: {exc}")
            sys.exit(1)
        finally:
            empty_redis(args.redis)
        ok = report(results)
        print(json.dumps({f"{mode}/{name}": round(sum(r.rps for r in c[2])
                                                  / sum(r.rps for r in c[1]), 2)
                          for (mode, name), c in results.items()}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
