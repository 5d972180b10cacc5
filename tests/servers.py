"""A real ``gunicorn -w 2 -k gthread --threads 4`` serving the portal for a test module, with an
access log the test reads (which worker answered, and how)."""

import os
import signal
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.common import portal_env, start_gunicorn, stop_server, wait_healthy
from tests.ports import free_port
from tests.test_ratelimit import REDIS, empty_redis_db

WORKERS = ["-w", "2", "-k", "gthread", "--threads", "4"]


def redis_url() -> str:
    """A Redis database nothing else uses; skips the test when no Redis answers."""
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            pass
    except OSError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    return f"redis://{REDIS[0]}:{REDIS[1]}/{empty_redis_db()}"


@contextmanager
def gunicorn(database_url: str, tmp: Path, settings: dict[str, str], log_format: str):
    """Serve the portal on a free port; yields (port, access log). The server is stopped
    after, its whole process group killed if it hangs."""
    port = free_port()
    access_log, log_path = tmp / "access.log", tmp / "gunicorn.log"
    env = portal_env({"PORTAL_DATABASE_URL": database_url,
                      "PORTAL_SEARCH_DIR": str(tmp / "search"), **settings})
    args = WORKERS + ["--access-logfile", str(access_log), "--access-logformat", log_format]
    with log_path.open("w") as log:
        process = start_gunicorn(port, args, env, log, new_session=True)
    try:
        wait_healthy(process, port, timeout=60, log_path=log_path)
        yield port, access_log
    finally:
        stop_server(process, kill=False)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
