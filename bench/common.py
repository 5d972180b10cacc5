"""Plumbing shared by the benchmarks that run a real gunicorn server on 127.0.0.1: a free port,
the server's environment, its start, its health check and its stop, /proc readings, percentiles.

Imported as ``from bench.common import ...`` by bench/<name>/run.py, which put the project root
on ``sys.path`` first.
"""

import http.client
import json
import os
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def portal_env(overrides: dict[str, str]) -> dict[str, str]:
    """This process's environment without its PORTAL_* variables, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(overrides)
    return env


def tmp_db_env(tmp: Path) -> dict[str, str]:
    """The server's environment for a benchmark database built in ``tmp``: the SQLite file
    ``tmp/bench.db`` and the index in ``tmp/search`` (search and sites benchmarks)."""
    return portal_env({"PORTAL_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                       "PORTAL_SEARCH_DIR": f"{tmp}/search", "PORTAL_SECRET_KEY": "bench",
                       "PORTAL_RATELIMIT": "off"})


def bench_app(tmp: Path):
    """An app on the benchmark database in ``tmp`` (the same files as ``tmp_db_env``), for
    building it before the server starts."""
    from portal import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                       "SEARCH_INDEX_DIR": f"{tmp}/search", "SEARCH_URL": "",
                       "SECRET_KEY": "bench", "LIMITS_ON": False})


# gunicorn -w 2 -k gthread --threads 4: the search and sites benchmarks' server
GTHREAD_WORKERS = ["-w", "2", "-k", "gthread", "--threads", "4"]


def balanced_workers(connections: int) -> list[str]:
    """GTHREAD_WORKERS for a load of ``connections`` kept-alive connections opened at once
    (wrk): a gthread worker accepts whatever arrives while the other sleeps in its poll, so in
    about one run in three one worker took all of wrk's connections for the whole run and the
    other idled (one process, one GIL: ~2,200 req/s, hello-world and pages alike). Each worker
    takes at most its share plus one per thread (an exact share makes gunicorn close
    kept-alive connections: its max_keepalived is worker_connections - threads)."""
    workers = int(GTHREAD_WORKERS[GTHREAD_WORKERS.index("-w") + 1])
    threads = int(GTHREAD_WORKERS[GTHREAD_WORKERS.index("--threads") + 1])
    return [*GTHREAD_WORKERS, "--worker-connections", str(-(-connections // workers) + threads)]


def gunicorn_command(port: int, worker_args: list[str], app: str = "wsgi:app") -> list[str]:
    """gunicorn serving ``app`` (the portal unless told) on 127.0.0.1:``port`` with the
    caller's worker arguments."""
    return [str(GUNICORN), *worker_args,
            # no control socket: its default path is shared with every other gunicorn here
            "--no-control-socket", "--bind", f"127.0.0.1:{port}", app]


def start_gunicorn(port: int, worker_args: list[str], env: dict[str, str], log,
                   new_session: bool = False, app: str = "wsgi:app") -> subprocess.Popen:
    """Start gunicorn in the project root, its output to ``log``. With ``new_session`` it leads
    a session (and so a process group, whose id is its pid) that ``os.killpg`` can kill whole.
    ``app`` is a module:variable importable from the project root (the pages benchmark serves
    ``bench.pages.hello:app`` next to the portal)."""
    return subprocess.Popen(gunicorn_command(port, worker_args, app), cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session)


def wait_healthy(server: subprocess.Popen, port: int, timeout: float = 60,
                 log_path: Path | None = None) -> dict:
    """Poll GET /healthz until it answers 200; returns its JSON. Raises if gunicorn exits
    (quoting the end of ``log_path`` when given) or on no 200 within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            message = f"gunicorn exited with code {server.returncode}"
            if log_path is not None:
                message += "; log:\n" + log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(message)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                return json.loads(body)
        except OSError:
            pass
        finally:
            conn.close()  # also when it timed out: an open socket warns (and fails tests)
        time.sleep(0.2)
    raise RuntimeError(f"/healthz did not answer 200 within {timeout:.0f} s")


def stop_server(server: subprocess.Popen, timeout: float = 15, kill: bool = True) -> None:
    """SIGTERM to the gunicorn master, which stops its workers, and wait up to ``timeout`` s.
    If it hangs: SIGKILL to the master when ``kill``; otherwise the caller finishes the job
    (e.g. SIGKILL to the whole process group)."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if not kill:
                return
            server.kill()
            server.wait(timeout=15)


def print_log_tail(log_path: Path, lines: int = 30) -> None:
    """The end of a server's log, after a run that failed."""
    tail = log_path.read_text(errors="replace").splitlines()[-lines:]
    print("gunicorn log (last lines):", *tail, sep="\n  ")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:  # fields: state, ppid, …
            found.append(int(stat.parent.name))
    return sorted(found)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
