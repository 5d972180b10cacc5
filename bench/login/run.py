"""Sign-in timing: does the answer's timing tell whether an account exists?

    .venv/bin/python bench/login/run.py [--rounds 40]

A fresh SQLite database in a temp dir, migrated, with staff accounts made directly; served by
``gunicorn -w 2 -k gthread --threads 4`` with CSRF on (as in production) and the per-client
sign-in limit off (``PORTAL_RATELIMIT=off``) so that only the per-account lockout acts.
Each round POSTs /admin/login once per case, in a shuffled order, from a fresh cookie jar:

  unknown   an e-mail with no account
  wrong     a known account, wrong password (rotating over accounts so none locks)
  locked    a locked account, right password
  inactive  a deactivated account, right password
  right     the right password (the success path, for information)

Printed: p50 and p95 per case in ms, and the ratio of each failure case's p50 to the unknown
case's p50. Before the fix the unknown case took 8–46 ms and a known account 260–370 ms.
Traffic goes only to 127.0.0.1; the server is stopped and the temp dir removed on exit.
"""

import argparse
import http.cookiejar
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    GTHREAD_WORKERS,
    free_port,
    percentile,
    portal_env,
    start_gunicorn,
    stop_server,
    wait_healthy,
)

PASSWORD = "copper kettle drum"  # noqa: S105  (a throw-away benchmark account)


def prepare(tmp: Path, accounts: int) -> dict[str, str]:
    env = portal_env({"PORTAL_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                      "PORTAL_SEARCH_DIR": f"{tmp}/search", "PORTAL_SECRET_KEY": "bench",
                      "PORTAL_RATELIMIT": "off"})
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade"],  # noqa: S603
                   cwd=ROOT, env=env, check=True, capture_output=True)
    script = f"""
from datetime import timedelta
from portal import create_app
from portal.extensions import db
from portal.models import User, utcnow
app = create_app()
with app.app_context():
    for i in range({accounts}):
        u = User(email=f"wrong{{i}}@example.gov.cn", role="bureau")
        u.set_password({PASSWORD!r})
        db.session.add(u)
    for email, kw in (("right@example.gov.cn", {{}}),
                      ("locked@example.gov.cn", {{"locked_until": utcnow() + timedelta(days=1)}}),
                      ("inactive@example.gov.cn", {{"active": False}})):
        u = User(email=email, role="bureau", **kw)
        u.set_password({PASSWORD!r})
        db.session.add(u)
    db.session.commit()
"""
    subprocess.run([str(ROOT / ".venv/bin/python"), "-c", script], cwd=ROOT, env=env,  # noqa: S603
                   check=True)
    return env


def attempt(port: int, email: str, password: str) -> float:
    """One sign-in from a fresh browser: GET the form for its CSRF token, then time the POST."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar),
                                         NoRedirect())
    base = f"http://127.0.0.1:{port}/admin/login"
    html = opener.open(base, timeout=10).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": email,
                                   "password": password}).encode()
    start = time.perf_counter()
    try:
        response = opener.open(urllib.request.Request(base, data=body), timeout=10)
        response.read()
    except urllib.error.HTTPError as exc:  # the 302 of a success, refused by NoRedirect
        if exc.code != 302:
            raise
    return (time.perf_counter() - start) * 1000


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = prepare(tmp, accounts=args.rounds // 4 + 2)
        port = free_port()
        log_path = tmp / "gunicorn.log"
        with log_path.open("w") as log:
            server = start_gunicorn(port, GTHREAD_WORKERS, env, log)
            try:
                wait_healthy(server, port, log_path=log_path)
                times: dict[str, list[float]] = {k: [] for k in
                                                 ("unknown", "wrong", "locked", "inactive",
                                                  "right")}
                for _ in range(3):  # warm both workers
                    attempt(port, "nobody@example.gov.cn", "x")
                for n in range(args.rounds):
                    cases = list(times)
                    random.shuffle(cases)
                    for case in cases:
                        email = {"unknown": f"nobody{n}@example.gov.cn",
                                 "wrong": f"wrong{n // 4}@example.gov.cn",
                                 "locked": "locked@example.gov.cn",
                                 "inactive": "inactive@example.gov.cn",
                                 "right": "right@example.gov.cn"}[case]
                        password = "not the password" if case == "wrong" else PASSWORD
                        times[case].append(attempt(port, email, password))
            finally:
                stop_server(server)
    base = statistics.median(times["unknown"])
    print(f"sign-in timing, {args.rounds} rounds, gunicorn -w 2 -k gthread --threads 4, SQLite")
    print(f"{'case':10} {'p50 ms':>8} {'p95 ms':>8} {'p50 / unknown':>14}")
    for case, values in times.items():
        p50 = statistics.median(values)
        print(f"{case:10} {p50:8.1f} {percentile(values, 0.95):8.1f} {p50 / base:14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
