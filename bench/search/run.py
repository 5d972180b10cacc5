"""Search benchmark: index build time, API latency through a real gunicorn server, and
server memory, on a fresh database holding the Datong pack plus 10,000 synthetic Chinese
policies (300–3,000 characters each, deterministic), for each engine in turn:

  * embedded: the tantivy index folder, on a SQLite database;
  * postgres: the ``search_entry`` table (PORTAL_SEARCH=postgres), on a temporary PostgreSQL
    database created on the server at 127.0.0.1:5432 (user postgres) and dropped afterwards.

    .venv/bin/python bench/search/run.py [--policies N] [--requests N] [--engines embedded,postgres]

The synthetic policies are recombined from the sentences of the pack's own policy texts
(the five source documents and the demo bodies), with 一、/（一）/1. headings, a few Latin
words and numbers, and random level, status, issuer, region, date, topics and industries.

Figures printed:
  * index build: ``portal.indexing.reindex()`` over the whole database (target ≤ 60 s);
  * latency of ``GET /api/v1/policies?q=…`` for two-character, four-character and
    multi-term queries (p50/p95/p99, mean total), one keep-alive connection, sequential
    requests, after a warm-up (target p95 ≤ 10 ms); the unfiltered list with facets and
    the HTML page /zh/policies/?q=土地. The page cache is off, so every request reaches
    the engine; the totals show whether the engines found the same documents;
  * RSS of the gunicorn master and workers after the traffic (target ≤ 300 MB per worker).

Traffic goes only to 127.0.0.1; the server is stopped and the temp dir removed on any exit.
"""

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 (the project root is on sys.path from here)
    GTHREAD_WORKERS,
    bench_app,
    children,
    free_port,
    percentile,
    portal_env,
    print_log_tail,
    rss_kb,
    start_gunicorn,
    stop_server,
    tmp_db_env,
    wait_healthy,
)

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
ENGINES = ("embedded", "postgres")
SEED = 20260202
PACK = ROOT / "seed" / "datong"

TWO_CHAR = ("土地", "人才", "税收", "金融", "项目", "标准", "园区", "企业", "招商", "补贴",
            "资金", "创新", "服务", "产业", "投资")
FOUR_CHAR = ("标准厂房", "招商引资", "营商环境", "产业链条", "要素保障", "科技创新",
             "项目建设", "土地出让", "链主企业", "融资担保", "数字经济", "首接负责")
MULTI_TERM = ("土地 出让", "人才 补贴 企业", "新能源 项目", "招商 引资 奖励", "数字经济 园区",
              "金融 信贷 支持", "标准地 拿地即开工", "外商投资 服务", "5G 项目", "税收 优惠 企业")

API_P95_TARGET_MS = 10
INDEX_TARGET_S = 60
WORKER_RSS_TARGET_MB = 300

# --- synthetic policies ---------------------------------------------------------------------

TITLE_PLACES = ("大同市", "大同市", "大同市", "山西省", "平城区", "云冈区", "新荣区", "云州区",
                "阳高县", "天镇县", "广灵县", "灵丘县", "浑源县", "左云县", "大同经开区")
TITLE_VERBS = ("促进", "支持", "加快", "推动", "进一步优化", "全面深化", "大力发展", "做好",
               "强化", "规范")
TITLE_OBJECTS = ("招商引资高质量发展", "新能源产业发展", "数字经济发展", "营商环境建设",
                 "标准地出让", "人才引进和培养", "中小企业融资", "产业链供应链招商",
                 "开发区建设", "科技创新平台建设", "外商投资服务", "要素保障",
                 "现代医药产业发展", "低空经济发展", "文旅消费提质升级", "黄花产业发展",
                 "重点项目建设", "企业上市培育", "场景招商", "先进装备制造业发展",
                 "氢能产业发展", "项目全生命周期服务", "工业用地供应", "税费优惠政策落实")
TITLE_ENDINGS = ("的若干措施", "的实施意见", "的若干政策", "的通知", "的实施细则",
                 "的办法（试行）", "的工作方案", "的十条措施")
ISSUERS = {
    "national": ("国务院办公厅", "国家发展改革委", "商务部", "财政部 税务总局", "科技部"),
    "provincial": ("山西省人民政府", "山西省人民政府办公厅", "山西省商务厅", "山西省财政厅",
                   "山西省投资促进局"),
    "municipal": ("大同市人民政府", "大同市人民政府办公室", "大同市商务局", "大同市财政局",
                  "大同市投资促进局", "大同市人力资源和社会保障局", "大同市规划和自然资源局"),
}
DOC_PREFIXES = ("同政发", "同政办发", "晋政发", "晋政办发", "同商发", "同财建")
# Clauses carrying Latin words and numbers ({n}: an integer, {p}: a percentage).
LATIN_CLAUSES = (
    "支持企业建设5G基站和AI算力中心，单个项目最高补助{n}万元。",
    "对首次通过ISO 9001质量管理体系认证的企业，一次性奖励{n}万元。",
    "企业R&D经费投入占营业收入比重超过{p}%的，按新增部分给予补助。",
    "对在主板、科创板完成IPO的企业，分阶段给予奖励{n}万元。",
    "鼓励企业开展ESG信息披露，对获评A级以上的企业给予{n}万元奖励。",
    "新建IDC数据中心PUE值应低于1.{p}，并优先保障用电指标。",
    "对新建标准厂房面积超过{n}平方米的项目，按每平方米{p}元给予建设补贴。",
    "支持医药企业通过GMP认证，对新取得药品注册证书的给予{n}万元奖励。",
    "光伏项目装机容量达到{n}MW以上的，优先纳入年度建设计划。",
    "对年营业收入首次突破{n}亿元的企业，给予经营团队一次性奖励。",
    "推动CBD商务楼宇招商，对入驻率超过{p}%的楼宇运营方给予奖励。",
    "引进B2B电子商务平台企业，年交易额达到{n}亿元的给予奖励。",
)
CN_NUMBERS = "一二三四五六七八九十"


def source_texts() -> list[str]:
    import yaml

    from seed.textclean import clean_text

    texts = [clean_text(path.read_text("utf-8")) for path in sorted(PACK.glob("policies/*.txt"))]
    records = yaml.safe_load((PACK / "policies.yaml").read_text("utf-8"))
    texts += [p["body"] for p in records if p.get("body")]
    return texts


def vocabulary() -> tuple[list[str], list[str]]:
    """Sentences and clauses (ending in 。；) and short heading phrases from the sources."""
    sentences, headings = [], []
    numbering = re.compile(rf"^(?:[{CN_NUMBERS}]+、|[（(][{CN_NUMBERS}]+[）)]|\d{{1,2}}[.．、])\s*")
    for text in source_texts():
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            bare = numbering.sub("", line)
            if bare != line and not re.search("[。；：]", bare) and 4 <= len(bare) <= 30:
                headings.append(bare)
                continue
            for part in re.split(r"(?<=[。；！？])", bare):
                if len(part) >= 8 and part[-1] in "。；！？":
                    sentences.append(part)
    return sentences, headings


def make_body(rng: random.Random, target: int, sentences, headings) -> str:
    """Recombine sentences under 一、/（一）/1. headings until ``target`` characters."""
    lines: list[str] = []
    size = 0
    section = 0
    while size < target:
        section += 1
        lines.append(f"{CN_NUMBERS[(section - 1) % 10]}、{rng.choice(headings)}")
        for sub in range(rng.randint(1, 4)):
            if size >= target:
                break
            lines.append(f"（{CN_NUMBERS[sub]}）{rng.choice(headings)}")
            numbered = rng.random() < 0.3
            for item in range(rng.randint(1, 3)):
                parts = []
                for _ in range(rng.randint(1, 4)):
                    if rng.random() < 0.12:
                        parts.append(rng.choice(LATIN_CLAUSES).format(
                            n=rng.randint(2, 5000), p=rng.randint(1, 95)))
                    else:
                        parts.append(rng.choice(sentences))
                paragraph = "".join(parts)
                lines.append(f"{item + 1}.{paragraph}" if numbered else paragraph)
                size = sum(len(line) + 1 for line in lines)
                if size >= target:
                    break
    body = "\n".join(lines)[:target - 1].rstrip("，、；：\n ")
    return body if body.endswith("。") else body + "。"


def generate(count: int, regions: dict[str, list[tuple[int, str]]], topics: list[str],
             industries: list[str]) -> list[dict]:
    """``count`` policy rows (plus their ``topics``/``industries`` slug lists), reproducibly."""
    rng = random.Random(SEED)
    sentences, headings = vocabulary()
    levels = ("national", "provincial", "municipal", "county", "zone")
    first_day, span = date(2015, 1, 1), (date(2026, 3, 1) - date(2015, 1, 1)).days
    rows = []
    for i in range(1, count + 1):
        level = rng.choices(levels, weights=(1, 3, 5, 3, 2))[0]
        if level == "county":
            region_id, place = rng.choice(regions["county"])
            issuer = place + rng.choice(("人民政府", "人民政府办公室", "商务局", "财政局"))
        elif level == "zone":
            region_id, place = rng.choice(regions["zone"])
            issuer = place + "管理委员会"
        else:
            region_id = {"national": None, "provincial": regions["province"][0][0],
                         "municipal": regions["city"][0][0]}[level]
            issuer = rng.choice(ISSUERS[level])
        status = rng.choices(("in_force", "expired", "draft"), weights=(7, 2, 1))[0]
        published = first_day + timedelta(days=rng.randrange(span))
        effective_to = published + timedelta(days=rng.randint(365, 5 * 365)) \
            if status == "expired" else None
        body = make_body(rng, rng.randint(300, 3000), sentences, headings)
        rows.append({
            "key": f"bench-{i:05d}",
            "title": f"{rng.choice(TITLE_PLACES)}关于{rng.choice(TITLE_VERBS)}"
                     f"{rng.choice(TITLE_OBJECTS)}{rng.choice(TITLE_ENDINGS)}",
            "doc_number": f"{rng.choice(DOC_PREFIXES)}〔{published.year}〕{rng.randint(1, 120)}号"
                          if rng.random() < 0.6 else "",
            "issuer": issuer, "level": level, "region_id": region_id,
            "published": published, "effective_from": published, "effective_to": effective_to,
            "status": status, "body": body,
            "summary": next((line for line in body.splitlines() if "。" in line), "")[:120],
            "interpretation": "", "procedure": "",
            "benefit_mode": rng.choice(("automatic", "instant", "application", "", "")),
            "eligibility": [], "source_url": "", "source_note": "基准测试生成的合成政策",
            "is_demo": True, "translations": {},
            "topics": rng.sample(topics, rng.randint(1, 4)),
            "industries": rng.sample(industries, rng.randint(0, 2)),
        })
    return rows


def insert_policies(rows: list[dict]) -> None:
    """Bulk insert through SQLAlchemy core: policy rows, then the association rows."""
    from portal.extensions import db
    from portal.models import Industry, Policy, Topic
    from portal.models.policies import policy_industry, policy_topic

    table = Policy.__table__
    columns = [c.name for c in table.columns if c.name not in ("id", "created_at", "updated_at")]
    for start in range(0, len(rows), 1000):
        db.session.execute(table.insert(), [{c: r[c] for c in columns if c in r}
                                            for r in rows[start:start + 1000]])
    ids = dict(db.session.execute(
        db.select(Policy.key, Policy.id).where(Policy.key.like("bench-%"))).all())
    topic_ids = dict(db.session.execute(db.select(Topic.slug, Topic.id)).all())
    industry_ids = dict(db.session.execute(db.select(Industry.slug, Industry.id)).all())
    db.session.execute(policy_topic.insert(), [
        {"policy_id": ids[r["key"]], "topic_id": topic_ids[s]} for r in rows for s in r["topics"]])
    links = [{"policy_id": ids[r["key"]], "industry_id": industry_ids[s]}
             for r in rows for s in r["industries"]]
    if links:
        db.session.execute(policy_industry.insert(), links)
    db.session.commit()


# --- where each engine runs ----------------------------------------------------------------


class Target:
    """One engine on its database: the embedded engine on a SQLite file in ``tmp``, the
    postgres engine on a temporary PostgreSQL database (dropped by ``drop``)."""

    def __init__(self, engine: str, tmp: Path):
        self.engine, self.tmp, self.pg_name = engine, tmp, ""
        if engine == "postgres":
            import psycopg

            self.pg_name = f"bench_search_{os.getpid()}_{secrets.token_hex(3)}"
            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')

    @property
    def url(self) -> str:
        return PG_URL.format(name=self.pg_name) if self.pg_name else ""

    def app(self):
        if not self.pg_name:
            return bench_app(self.tmp)
        from portal import create_app

        return create_app({"SQLALCHEMY_DATABASE_URI": self.url, "SEARCH_ENGINE": "postgres",
                           "SEARCH_URL": "", "SEARCH_INDEX_DIR": f"{self.tmp}/search",
                           "SECRET_KEY": "bench", "LIMITS_ON": False})

    def env(self) -> dict[str, str]:
        """The server's environment. The page cache is off: every request reaches the
        engine, which is what this benchmark compares."""
        if not self.pg_name:
            return {**tmp_db_env(self.tmp), "PORTAL_PAGE_CACHE": "off"}
        return portal_env({"PORTAL_DATABASE_URL": self.url, "PORTAL_SEARCH": "postgres",
                           "PORTAL_SEARCH_DIR": f"{self.tmp}/search", "PORTAL_PAGE_CACHE": "off",
                           "PORTAL_SECRET_KEY": "bench", "PORTAL_RATELIMIT": "off"})

    def describe(self) -> str:
        if self.pg_name:
            return f"postgres engine on PostgreSQL database {self.pg_name} (127.0.0.1:5432)"
        return "embedded engine (tantivy) on SQLite"

    def drop(self) -> None:
        if not self.pg_name:
            return
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        self.pg_name = ""


def build_database(target: Target, count: int) -> None:
    from flask_migrate import upgrade

    from portal.extensions import db
    from portal.indexing import reindex
    from portal.models import Industry, Region, Topic
    from seed.loader import load_pack

    app = target.app()
    with app.app_context():
        upgrade(directory=str(ROOT / "portal" / "migrations"))
        load_pack("datong")
        regions: dict[str, list[tuple[int, str]]] = {}
        for region in db.session.scalars(db.select(Region).order_by(Region.id)):
            group = "county" if region.kind == "district" else region.kind
            regions.setdefault(group, []).append((region.id, region.name))
        topics = list(db.session.scalars(db.select(Topic.slug).order_by(Topic.slug)))
        industries = list(db.session.scalars(db.select(Industry.slug).order_by(Industry.slug)))

        t0 = time.perf_counter()
        rows = generate(count, regions, topics, industries)
        t1 = time.perf_counter()
        insert_policies(rows)
        t2 = time.perf_counter()
        lengths = sorted(len(r["body"]) for r in rows)
        print(f"generate {count} policies {t1 - t0:.1f} s (body {lengths[0]}–{lengths[-1]} "
              f"chars, median {lengths[len(lengths) // 2]}, {sum(lengths) / 1e6:.1f} M chars) · "
              f"insert {t2 - t1:.1f} s")
        documents = reindex()
        t3 = time.perf_counter()
        verdict = "ok" if t3 - t2 <= INDEX_TARGET_S else "OVER"
        print(f"index build {documents} documents in {t3 - t2:.1f} s "
              f"(target ≤ {INDEX_TARGET_S} s: {verdict})")
        db.session.remove()
        db.engine.dispose()


# --- the client -----------------------------------------------------------------------------


class Client:
    """One keep-alive connection; sequential requests; reopened if the server closed it."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> tuple[int, bytes, float]:
        for attempt in (1, 2):
            try:
                start = time.perf_counter()
                self.conn.request("GET", path)
                response = self.conn.getresponse()
                body = response.read()
                return response.status, body, (time.perf_counter() - start) * 1000
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # idle keep-alive timed out; the next request reconnects
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def api_path(q: str) -> str:
    return f"/api/v1/policies?q={quote(q)}"


def measure(client: Client, name: str, paths: list[str], requests: int, is_api: bool,
            target_ms: float | None) -> bool:
    """Warm up once per path, then ``requests`` requests cycling through ``paths``."""
    timings, totals, degraded, per_path = [], [], 0, {}
    for path in paths:
        client.get(path)
    for i in range(requests):
        path = paths[i % len(paths)]
        status, body, ms = client.get(path)
        if status != 200:
            print(f"{name:28} ERROR {status} on {path}: {body[:300].decode(errors='replace')}")
            return False
        timings.append(ms)
        if is_api:
            data = json.loads(body)
            totals.append(data["total"])
            per_path[path] = data["total"]
            degraded += bool(data.get("degraded"))
    p95 = percentile(timings, 0.95)
    line = (f"{name:28} {statistics.median(timings):7.1f} {p95:7.1f} "
            f"{percentile(timings, 0.99):7.1f} {statistics.mean(timings):7.1f} ")
    line += f"{statistics.mean(totals):9.0f}" if totals else f"{'':9}"
    if target_ms is not None:
        line += f"   p95 ≤ {target_ms:g} ms: {'ok' if p95 <= target_ms else 'OVER'}"
    if len(per_path) > 1:
        path, fewest = min(per_path.items(), key=lambda item: item[1])
        line += f"   fewest: {unquote(path.partition('q=')[2])} ({fewest})"
    if degraded:
        line += f"   degraded (database fallback) in {degraded} answers"
    print(line)
    return True


def run_traffic(port: int, requests: int) -> bool:
    # Fresh connections first, so that every worker (not only the one our keep-alive
    # connection lands on) has loaded the index before memory is read.
    first = None
    for _ in range(12):
        warm = Client(port)
        status, _body, ms = warm.get(api_path("招商"))
        first = ms if first is None else first
        warm.close()
    print(f"first API query after start {first:.0f} ms")

    client = Client(port)
    ok = True
    try:
        print(f"{'query set':28} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'mean ms':>7} "
              f"{'results':>9}")
        for name, queries in (("API 2-char", TWO_CHAR), ("API 4-char", FOUR_CHAR),
                              ("API multi-term", MULTI_TERM)):
            ok &= measure(client, f"{name} ({len(queries)} q)", [api_path(q) for q in queries],
                          requests, True, API_P95_TARGET_MS)
        ok &= measure(client, "API q empty (list+facets)", ["/api/v1/policies"],
                      max(requests // 3, 1), True, API_P95_TARGET_MS)
        ok &= measure(client, "HTML /zh/policies/?q=土地", [f"/zh/policies/?q={quote('土地')}"],
                      max(requests // 3, 1), False, None)
    finally:
        client.close()
    return ok


def report_memory(master: int) -> None:
    workers = children(master)
    sizes = {pid: rss_kb(pid) / 1024 for pid in [master, *workers]}
    largest = max((sizes[p] for p in workers), default=0)
    verdict = "ok" if largest <= WORKER_RSS_TARGET_MB else "OVER"
    each = ", ".join(f"{sizes[p]:.0f}" for p in workers)
    print(f"RSS master + {len(workers)} workers {sum(sizes.values()):.0f} MB "
          f"(master {sizes[master]:.0f} MB, workers {each} MB) · largest worker "
          f"{largest:.0f} MB (target ≤ {WORKER_RSS_TARGET_MB} MB: {verdict})")


def run_engine(engine: str, args) -> bool:
    ok = False
    with tempfile.TemporaryDirectory(prefix="bench-search-") as name:
        tmp = Path(name)
        target = Target(engine, tmp)
        try:
            print(f"== {target.describe()}")
            build_database(target, args.policies)
            port = free_port()
            with open(tmp / "gunicorn.log", "w") as log:
                server = start_gunicorn(port, GTHREAD_WORKERS, target.env(), log)
                try:
                    health = wait_healthy(server, port)
                    print(f"gunicorn -w 2 -k gthread --threads 4 on 127.0.0.1:{port} · "
                          f"healthz {health.get('status')} (search {health.get('search')})")
                    ok = run_traffic(port, args.requests)
                    report_memory(server.pid)
                except Exception as exc:
                    print(f"error: {type(exc).__name__}: {exc}")
                finally:
                    stop_server(server)
            if not ok:
                print_log_tail(tmp / "gunicorn.log")
        finally:
            target.drop()
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--policies", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300, help="per query set")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated, run in this order (default: %(default)s)")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown or not engines:
        parser.error(f"--engines: choose among {', '.join(ENGINES)}")
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so the cleanup below still runs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    results = {engine: run_engine(engine, args) for engine in engines}
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
