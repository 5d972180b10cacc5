"""Page benchmark: time to load the Datong pack and build the index, then server-side
latency of the main pages (through the WSGI app, no network), on a fresh SQLite database.

    .venv/bin/python bench/pages/run.py [--requests N]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PAGES = ("/zh/", "/en/", "/zh/environment/", "/zh/policies/", "/zh/policies/?q=土地",
         "/zh/policies/1", "/zh/sites/", "/zh/opportunities/", "/api/v1/policies?q=人才",
         "/healthz")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from portal import create_app
    from portal.indexing import reindex
    from seed.loader import load_pack

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                          "SEARCH_INDEX_DIR": f"{tmp}/search", "SECRET_KEY": "bench",
                          "LIMITS_ON": False})
        with app.app_context():
            t0 = time.perf_counter()
            upgrade(directory=str(ROOT / "portal" / "migrations"))
            t1 = time.perf_counter()
            counts = load_pack("datong")
            t2 = time.perf_counter()
            documents = reindex()
            t3 = time.perf_counter()
        print(f"migrate {t1 - t0:.2f} s · load pack {t2 - t1:.2f} s "
              f"({sum(counts.values())} rows) · index {t3 - t2:.2f} s ({documents} documents)")
        client = app.test_client()
        print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'KB':>6}")
        for page in PAGES:
            client.get(page)  # warm caches
            timings, size = [], 0
            for _ in range(args.requests):
                start = time.perf_counter()
                response = client.get(page)
                timings.append((time.perf_counter() - start) * 1000)
                size = len(response.data)
                assert response.status_code == 200, (page, response.status_code)
            print(f"{page:32} {statistics.median(timings):8.1f} "
                  f"{percentile(timings, 0.95):8.1f} {size / 1024:6.1f}")


if __name__ == "__main__":
    main()
