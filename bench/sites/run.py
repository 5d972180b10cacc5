"""Sites benchmark: what the sites page costs a visitor, and how fast the map's GeoJSON and the
matcher answer, through a real gunicorn server, on a fresh SQLite database holding the Datong
pack plus 10,000 synthetic sites (deterministic).

    .venv/bin/python bench/sites/run.py [--sites N] [--requests N] [--matches N]

The synthetic sites are half parcels (polygons of 4–8 vertices, 20–400 亩, ``drawn_area_mu``
from the polygon, a few with a stated area more than 5 % off it) and half carriers (points:
factories, offices, warehouses, incubators), with prices, power, floor load, ceiling height,
七通一平 subsets, 标准地 indicators on most industrial parcels and an availability mix in the
pack's ranges. Positions are random points inside the boundaries of boundaries.geojson: 16 %
of the sites spread evenly over the nine development zones, 6 % in the urban district
(平城区), the rest over the other districts and counties by area; every parcel lies inside its
region. Keys are bench-site-00001…; all are demo data.

Figures printed:
  a. the bytes a browser downloads on a first visit to /zh/sites/, tiles excepted: the page
     (gzip), every script, stylesheet, icon and image it names, the url(...) of those
     stylesheets, and the map's first data request (the city-wide view, cluster=1), as sent
     over the wire (headers and body as encoded) — target ≤ 300 KB;
  b. the naive alternative: the same map made by folium with all the sites inlined
     (GeoJson embed=True, carriers in a MarkerCluster), its HTML raw and gzipped, and how
     many times our whole first visit it weighs;
  c. p50/p95 of /api/v1/sites.geojson through gunicorn: the city-wide view with cluster=1
     (target p95 ≤ 50 ms), a zone-level view (each zone in turn; single features), and the
     city-wide view without clustering (every feature; for information);
  d. p50/p95 of POST /api/v1/sites/match with varied requirements (target p95 ≤ 100 ms)
     and the mean number of results.

A figure that misses its target is marked OVER (the exit status stays 0); a non-200 answer
exits 1 and prints the last lines of the server log. Traffic goes only to 127.0.0.1; the
server is stopped and the temp dir removed on any exit.
"""

import argparse
import gzip
import http.client
import json
import math
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 (the project root is on sys.path from here)
    GTHREAD_WORKERS,
    bench_app,
    free_port,
    percentile,
    print_log_tail,
    start_gunicorn,
    stop_server,
    tmp_db_env,
    wait_healthy,
)

SEED = 20260310
PACK = ROOT / "seed" / "datong"

PAGE_TARGET_KB = 300
GEOJSON_P95_TARGET_MS = 50
MATCH_P95_TARGET_MS = 100

ZONE_SHARE = 0.16  # of the synthetic sites, spread evenly over the zones
URBAN_SHARE = 0.06  # in 平城区, the urban district; the rest by area over the others
CARRIER_MIX = {"factory": 0.40, "office": 0.20, "warehouse": 0.20, "incubator": 0.20}

# --- synthetic sites ------------------------------------------------------------------------

PARKS = ("装备制造产业园", "新材料产业园", "医药产业园", "新能源产业园", "数字经济产业园",
         "现代物流园", "食品加工园", "综合保税物流中心", "科技创新园", "低空经济产业园")
PARCEL_LAND_USE = {"industrial": 60, "logistics": 14, "research": 9, "commercial": 8,
                   "agricultural": 6, "mixed": 3}
LAND_PRICE = {"industrial": (8, 22), "logistics": (8, 14), "research": (12, 26),
              "commercial": (30, 90), "mixed": (20, 50), "agricultural": (3, 8)}
TRANSFORMERS_KVA = (500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300, 8000,
                    10000, 16000, 31500, 40000, 50000)
PARCEL_READINESS = ("road", "water", "drainage", "power", "telecom", "gas", "heat", "levelled")
CARRIER_READINESS = PARCEL_READINESS[:-1]
BUILDINGS = {"factory": "标准厂房", "office": "商务楼宇", "warehouse": "物流仓库",
             "incubator": "众创空间"}
CONTACTS = ("投资促进局 王先生", "招商服务中心 李女士", "管委会招商部 张先生",
            "园区运营公司 赵女士")


def read_boundaries() -> tuple[dict, dict]:
    """Shapely boundaries by slug, and each region's kind and parent from regions.yaml."""
    import yaml
    from shapely.geometry import shape

    features = json.loads((PACK / "boundaries.geojson").read_text("utf-8"))["features"]
    shapes = {f["properties"]["slug"]: shape(f["geometry"]) for f in features}
    regions = {r["slug"]: r for r in yaml.safe_load((PACK / "regions.yaml").read_text("utf-8"))}
    return shapes, regions


def city_bbox(shapes: dict, regions: dict) -> tuple[float, float, float, float]:
    """The bounds of every district and county outline: what the map fits on first load."""
    bounds = [shapes[s].bounds for s in shapes if regions[s]["kind"] in ("district", "county")]
    return (min(b[0] for b in bounds), min(b[1] for b in bounds),
            max(b[2] for b in bounds), max(b[3] for b in bounds))


def zone_bbox(shape, margin: float = 0.05) -> tuple[float, float, float, float]:
    west, south, east, north = shape.bounds
    dx, dy = (east - west) * margin, (north - south) * margin
    return west - dx, south - dy, east + dx, north + dy


def bbox_param(bbox) -> str:
    """As the map's script writes it: toFixed(5), joined by commas."""
    return ",".join(f"{v:.5f}" for v in bbox)


def random_point(rng: random.Random, shape) -> tuple[float, float]:
    """Uniform inside ``shape`` (prepared), by rejection from its bounds."""
    import shapely

    west, south, east, north = shape.bounds
    for _ in range(10_000):
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if shapely.contains_xy(shape, lon, lat):
            return lon, lat
    raise RuntimeError("no point found inside a boundary")


def parcel_polygon(rng: random.Random, lon: float, lat: float, target_m2: float) -> dict:
    """A star-shaped (hence simple) polygon of 4–8 vertices of about ``target_m2``."""
    from shapely.geometry import Polygon

    from portal.sites.geometry import area_m2

    n = rng.randint(4, 8)
    step = 2 * math.pi / n
    start = rng.uniform(0, step)
    angles = [start + i * step + rng.uniform(-0.3, 0.3) * step for i in range(n)]
    radii = [rng.uniform(0.75, 1.25) for _ in range(n)]
    m_per_deg_lat = 110_540
    m_per_deg_lon = 111_320 * math.cos(math.radians(lat))
    unit = [(r * math.cos(a) / m_per_deg_lon, r * math.sin(a) / m_per_deg_lat)
            for r, a in zip(radii, angles, strict=True)]
    scale = math.sqrt(target_m2 / area_m2(Polygon([(lon + x, lat + y) for x, y in unit])))
    ring = [[round(lon + x * scale, 6), round(lat + y * scale, 6)] for x, y in unit]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def readiness(rng: random.Random, items: tuple[str, ...], full: float) -> list[str]:
    """All items with probability ``full``; otherwise road, water, power and some others."""
    if rng.random() < full:
        return list(items)
    keep = {"road", "water", "power"} | {i for i in items if rng.random() < 0.5}
    return [i for i in items if i in keep]


def parcel_values(rng: random.Random) -> dict:
    land_use = rng.choices(list(PARCEL_LAND_USE), weights=list(PARCEL_LAND_USE.values()))[0]
    low, high = LAND_PRICE[land_use]
    values = {
        "land_use": land_use,
        "land_price_wan_per_mu": round(rng.uniform(low, high), 1) if rng.random() < 0.9 else None,
        "readiness": readiness(rng, PARCEL_READINESS, 0.35),
        "power_kva": rng.choice(TRANSFORMERS_KVA) if rng.random() < 0.9 else None,
    }
    standard = {"industrial": 0.85, "research": 0.5, "logistics": 0.15}.get(land_use, 0)
    if rng.random() < standard:
        min_ratio = rng.choice((0.8, 1.0, 1.0, 1.2, 1.5))
        values.update({
            "min_investment_wan_per_mu": rng.randrange(200, 420, 10),
            "min_tax_wan_per_mu": rng.randrange(10, 32, 2),
            "min_plot_ratio": min_ratio,
            "max_plot_ratio": round(min_ratio + rng.choice((0.6, 0.8, 1.0)), 1),
            "min_building_coverage": rng.choice((0.3, 0.35, 0.4)),
            "max_energy_t_per_wan": rng.choice((0.3, 0.4, 0.5, 0.6)),
        })
    return values


def carrier_values(rng: random.Random, kind: str) -> dict:
    def maybe(p, value):
        return value if rng.random() < p else None

    if kind == "factory":
        return {"land_use": "industrial", "floor_area_m2": rng.randrange(2000, 12001, 100),
                "rent_yuan_m2_month": rng.randint(6, 15),
                "sale_price_yuan_m2": maybe(0.7, rng.randrange(2000, 4001, 100)),
                "power_kva": rng.choice((200, 315, 400, 500, 630, 800, 1000, 1250, 1600)),
                "floor_load_kn_m2": rng.choice((8, 10, 15, 20, 25, 30, 35, 40)),
                "ceiling_height_m": round(rng.uniform(4.5, 12), 1),
                "floors": rng.choice((1, 1, 1, 2, 3, 4)),
                "readiness": readiness(rng, CARRIER_READINESS, 0.7)}
    if kind == "office":
        return {"land_use": rng.choice(("commercial", "commercial", "mixed")),
                "floor_area_m2": rng.randrange(3000, 25001, 100),
                "rent_yuan_m2_month": rng.randint(15, 40),
                "sale_price_yuan_m2": maybe(0.6, rng.randrange(4500, 10001, 100)),
                "power_kva": maybe(0.2, rng.choice((400, 630, 800))),
                "floors": rng.randint(5, 28),
                "readiness": readiness(rng, CARRIER_READINESS[:-1] + ("heat",), 0.6)}
    if kind == "warehouse":
        return {"land_use": "logistics", "floor_area_m2": rng.randrange(5000, 20001, 500),
                "rent_yuan_m2_month": rng.randint(8, 16),
                "power_kva": rng.choice((200, 250, 315, 400, 500, 630, 800)),
                "floor_load_kn_m2": rng.choice((20, 25, 30, 35, 40)),
                "ceiling_height_m": round(rng.uniform(8, 12), 1), "floors": 1,
                "readiness": readiness(rng, CARRIER_READINESS, 0.6)}
    return {"land_use": rng.choice(("research", "research", "research", "mixed")),
            "floor_area_m2": rng.randrange(3000, 9001, 100),
            "rent_yuan_m2_month": rng.randint(8, 18),
            "power_kva": maybe(0.5, rng.choice((200, 500, 800))),
            "floor_load_kn_m2": maybe(0.5, rng.choice((5, 8, 10))),
            "ceiling_height_m": maybe(0.5, round(rng.uniform(4.2, 6), 1)),
            "floors": rng.randint(3, 6),
            "readiness": readiness(rng, CARRIER_READINESS[:-1], 0.7)}


def generate(count: int, shapes: dict, regions: dict, ids: dict, names: dict) -> list[dict]:
    """``count`` site rows, reproducibly; every column of the table is present in each."""
    import shapely
    from shapely.geometry import shape as to_shape

    from portal.models import Site
    from portal.sites.geometry import BOUNDARY_TOLERANCE_DEG, area_mu

    rng = random.Random(SEED)
    zones = sorted(s for s in shapes if regions[s]["kind"] == "zone")
    others = sorted(s for s in shapes if regions[s]["kind"] in ("district", "county")
                    and s != "pingcheng")
    weights = [shapes[s].area for s in others]
    zones_of = {s: [z for z in zones if regions[z]["parent"] == s] for s in shapes}
    covers = {}
    for slug, geom in shapes.items():
        buffered = geom.buffer(BOUNDARY_TOLERANCE_DEG)
        shapely.prepare(buffered)
        shapely.prepare(geom)
        covers[slug] = buffered
    columns = [c.name for c in Site.__table__.columns
               if c.name not in ("id", "created_at", "updated_at")]
    blank = dict.fromkeys(columns)
    first_day = date(2026, 6, 1)
    rows = []
    for i in range(1, count + 1):
        draw = rng.random()
        slug = (rng.choice(zones) if draw < ZONE_SHARE else "pingcheng"
                if draw < ZONE_SHARE + URBAN_SHARE else rng.choices(others, weights)[0])
        region = shapes[slug]
        kind = "parcel" if rng.random() < 0.5 else rng.choices(
            list(CARRIER_MIX), weights=list(CARRIER_MIX.values()))[0]
        for _attempt in range(100):
            lon, lat = random_point(rng, region)
            if kind != "parcel":
                geometry = {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}
                geom = to_shape(geometry)
                break
            target_mu = math.exp(rng.uniform(math.log(21), math.log(390)))
            geometry = parcel_polygon(rng, lon, lat, target_mu * 2000 / 3)
            geom = to_shape(geometry)
            if geom.is_valid and covers[slug].covers(geom):
                break
        else:
            raise RuntimeError(f"no parcel fits inside {slug}")
        point = geom.representative_point()
        # A site drawn wholly inside a zone of its county belongs to the zone.
        region_slug = next((z for z in zones_of[slug] if covers[z].covers(geom)), slug)
        place = names[region_slug]
        row = blank | {"key": f"bench-site-{i:05d}", "kind": kind, "region_id": ids[region_slug],
                       "geometry": geometry, "latitude": point.y, "longitude": point.x,
                       "is_demo": True, "translations": {}, "readiness": [],
                       "availability": rng.choices(("available", "reserved", "taken"),
                                                   weights=(70, 15, 15))[0],
                       "contact_name": "", "contact_phone": ""}
        park = rng.choice(PARKS)
        if kind == "parcel":
            drawn = area_mu(geom)
            off = rng.uniform(0.06, 0.15) if rng.random() < 0.05 else rng.uniform(0, 0.02)
            row |= parcel_values(rng) | {
                "name": f"{place}{park}{rng.choice('ABCDEFGH')}-{rng.randint(1, 60):02d}地块",
                "drawn_area_mu": drawn,
                "area_mu": float(round(drawn * (1 + rng.choice((-1, 1)) * off))),
            }
        else:
            row |= carrier_values(rng, kind) | {
                "name": f"{place}{park}{BUILDINGS[kind]}{rng.randint(1, 40)}号楼"}
        row["address"] = f"山西省大同市{place}{park}"
        row["description"] = (f"基准测试生成的{BUILDINGS.get(kind, '工业用地')}，"
                              f"位于{place}{park}，交通便利，配套完善。")
        if row["availability"] != "taken" and rng.random() < 0.6:
            row["available_from"] = first_day + timedelta(days=rng.randrange(540))
        if rng.random() < 0.3:
            row["contact_name"] = f"{place}{rng.choice(CONTACTS)}"
            row["contact_phone"] = f"0352-{rng.randint(5000000, 5999999)}"
        rows.append(row)
    return rows


def insert_sites(rows: list[dict]) -> None:
    from portal.extensions import db
    from portal.models import Site

    for start in range(0, len(rows), 1000):
        db.session.execute(Site.__table__.insert(), rows[start:start + 1000])
    db.session.commit()


def build_database(tmp: Path, count: int) -> dict:
    """The database; returns what the traffic needs (region slugs, industry slugs)."""
    from flask_migrate import upgrade

    from portal.extensions import db
    from portal.models import Industry, Region, Site
    from seed.loader import load_pack

    app = bench_app(tmp)
    with app.app_context():
        t0 = time.perf_counter()
        upgrade(directory=str(ROOT / "portal" / "migrations"))
        load_pack("datong")
        t1 = time.perf_counter()
        shapes, regions = read_boundaries()
        found = db.session.execute(db.select(Region.slug, Region.id, Region.name)).all()
        ids = {slug: id_ for slug, id_, _name in found}
        names = {slug: name for slug, _id, name in found}
        rows = generate(count, shapes, regions, ids, names)
        t2 = time.perf_counter()
        insert_sites(rows)
        t3 = time.perf_counter()
        total = db.session.scalar(db.select(db.func.count(Site.id)))
        industries = list(db.session.scalars(db.select(Industry.slug).order_by(Industry.slug)))
        db.session.remove()
        db.engine.dispose()
    parcels = [r for r in rows if r["kind"] == "parcel"]
    kinds = {k: sum(r["kind"] == k for r in rows) for k in ("parcel", *CARRIER_MIX)}
    standard = sum(r["min_investment_wan_per_mu"] is not None for r in parcels)
    industrial = [r for r in parcels if r["land_use"] == "industrial"]
    drawn = sorted(r["drawn_area_mu"] for r in parcels)
    mismatch = sum(abs(r["area_mu"] - r["drawn_area_mu"]) / r["drawn_area_mu"] > 0.05
                   for r in parcels)
    slugs = {id_: slug for slug, id_ in ids.items()}
    in_zones = sum(regions[slugs[r["region_id"]]]["kind"] == "zone" for r in rows)
    print(f"migrate + load pack {t1 - t0:.1f} s · generate {count} sites {t2 - t1:.1f} s · "
          f"insert {t3 - t2:.1f} s · {total} sites in the database")
    standard_industrial = sum(r["min_investment_wan_per_mu"] is not None for r in industrial)
    print("  " + ", ".join(f"{k} {n}" for k, n in kinds.items())
          + f" · {in_zones} in zones · parcels {drawn[0]:.0f}–{drawn[-1]:.0f} 亩 drawn, "
          f"标准地 {standard} ({standard_industrial}/{len(industrial)} industrial), "
          f"stated area >5 % off {mismatch}")
    return {"shapes": shapes, "regions": regions, "industries": industries}


# --- the client -----------------------------------------------------------------------------


class BadAnswer(Exception):
    """A non-200 answer: the benchmark stops and exits 1."""


class Answer:
    def __init__(self, response: http.client.HTTPResponse, raw: bytes, ms: float):
        self.status, self.ms, self.raw = response.status, ms, raw
        self.headers = response.getheaders()
        self.encoding = response.getheader("Content-Encoding", "")
        self.type = response.getheader("Content-Type", "").split(";")[0]
        status_line = f"HTTP/1.1 {response.status} {response.reason}\r\n"
        self.header_bytes = len((status_line + "".join(
            f"{k}: {v}\r\n" for k, v in self.headers) + "\r\n").encode("latin-1"))

    @property
    def wire(self) -> int:
        """Bytes downloaded: status line, headers and the body as encoded."""
        return self.header_bytes + len(self.raw)

    @property
    def body(self) -> bytes:
        return gzip.decompress(self.raw) if self.encoding == "gzip" else self.raw

    def json(self):
        return json.loads(self.body)


class Client:
    """One keep-alive connection to 127.0.0.1; sequential requests; headers as a browser's."""

    HEADERS = {"Accept-Encoding": "gzip", "Accept-Language": "zh-CN,zh;q=0.9",
               "User-Agent": "bench-sites"}

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> Answer:
        headers = self.HEADERS | (headers or {})
        for attempt in (1, 2):
            try:
                start = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                answer = Answer(response, raw, (time.perf_counter() - start) * 1000)
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # idle keep-alive timed out; the next request reconnects
                if attempt == 2:
                    raise
        if answer.status != 200:
            text = answer.body.decode(errors="replace")
            try:
                text = json.dumps(json.loads(text), ensure_ascii=False)
            except ValueError:
                pass
            raise BadAnswer(f"{method} {path} answered {answer.status}: {text[:300]}")
        return answer

    def get(self, path: str, headers: dict | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post_json(self, path: str, data) -> Answer:
        return self.request("POST", path, json.dumps(data).encode(),
                            {"Content-Type": "application/json", "Accept": "application/json"})

    def close(self) -> None:
        self.conn.close()


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "OVER"


def geojson_path(bbox, cluster: bool) -> str:
    """The request as the map's script builds it (URLSearchParams: bbox, then cluster)."""
    params = {"bbox": bbox_param(bbox)}
    if cluster:
        params["cluster"] = "1"
    return "/api/v1/sites.geojson?" + urlencode(params)


# --- a. the first visit ---------------------------------------------------------------------


class Assets(HTMLParser):
    """What a browser fetches while parsing the page: scripts, stylesheets, icons, images."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        rel = (attrs.get("rel") or "").lower().split()
        if tag == "script" and attrs.get("src"):
            self.found.append(("script", attrs["src"]))
        elif tag == "link" and attrs.get("href") and "stylesheet" in rel:
            self.found.append(("stylesheet", attrs["href"]))
        elif tag == "link" and attrs.get("href") and "icon" in rel:
            self.found.append(("icon", attrs["href"]))
        elif tag == "img" and attrs.get("src"):
            self.found.append(("image", attrs["src"]))


CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""")


def first_visit(port: int, city: tuple) -> tuple[int, dict]:
    """Fetch the page as a first visit would; returns total wire bytes and the map's data."""
    client = Client(port)
    base = f"http://127.0.0.1:{port}"
    fetched: list[tuple[str, str, Answer]] = []
    external: list[str] = []
    seen: set[str] = set()

    def fetch(what: str, url: str, headers: dict | None = None) -> Answer | None:
        absolute = urljoin(base + "/", url)
        parts = urlsplit(absolute)
        if parts.scheme in ("data", "blob") or url.startswith("#"):
            return None
        if (parts.hostname, parts.port) != ("127.0.0.1", port):
            external.append(absolute)  # never requested: traffic stays on 127.0.0.1
            return None
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in seen:
            return None
        seen.add(path)
        answer = client.get(path, headers)
        fetched.append((what, path, answer))
        return answer

    try:
        page = fetch("page", "/zh/sites/", {"Accept": "text/html"})
        parser = Assets()
        parser.feed(page.body.decode("utf-8"))
        for what, url in parser.found:
            answer = fetch(what, url)
            if answer is not None and what == "stylesheet":
                css_url = urljoin(base + "/", url)
                for ref in CSS_URL.findall(answer.body.decode("utf-8", errors="replace")):
                    fetch("css url()", urljoin(css_url, ref))
        data = fetch("map data", geojson_path(city, cluster=True),
                     {"Accept": "application/geo+json"})
    finally:
        client.close()

    total = sum(a.wire for _w, _p, a in fetched)
    proxied = sum(a.header_bytes + (len(gzip.compress(a.body)) if a.encoding != "gzip" and
                                    a.type.startswith(("text/", "application/javascript",
                                                       "image/svg"))
                                    else len(a.raw)) for _w, _p, a in fetched)
    print("\na. first visit to /zh/sites/ (tiles excepted), bytes downloaded:")
    print(f"   {'what':11} {'wire KB':>8} {'body KB':>8} {'enc':>5}  path")
    for what, path, a in fetched:
        shown = path if len(path) <= 90 else path[:87] + "…"
        print(f"   {what:11} {a.wire / 1024:8.1f} {len(a.body) / 1024:8.1f} "
              f"{a.encoding or '-':>5}  {shown}")
    print(f"   total {total / 1024:.1f} KB in {len(fetched)} requests "
          f"(target ≤ {PAGE_TARGET_KB} KB: {verdict(total / 1024, PAGE_TARGET_KB)}) · "
          f"{proxied / 1024:.1f} KB if a front proxy gzipped the static text files")
    if external:
        print(f"   {len(external)} references outside 127.0.0.1, not fetched: "
              + ", ".join(external[:5]))
    collection = data.json()
    features = collection["features"]
    clusters = [f for f in features if f["properties"].get("cluster")]
    print(f"   city-wide map data: {len(features)} features ({len(clusters)} clusters "
          f"standing for {sum(f['properties']['count'] for f in clusters)} sites, "
          f"{len(features) - len(clusters)} single sites), bbox {bbox_param(city)}")
    return total, collection


# --- b. the naive page ----------------------------------------------------------------------


def naive_page(port: int, city: tuple, ours: int) -> None:
    """folium with every site inlined: the page a straightforward folium app would send."""
    import folium
    import folium.plugins

    client = Client(port)
    try:
        every = client.get(geojson_path(city, cluster=False)).json()["features"]
    finally:
        client.close()
    shapes, regions = read_boundaries()
    outlines = [{"type": "Feature", "geometry": s.__geo_interface__, "properties": {"name": slug}}
                for slug, s in shapes.items() if regions[slug]["kind"] != "city"]
    t0 = time.perf_counter()
    west, south, east, north = city
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=9,
                   tiles=None, max_zoom=18)
    folium.GeoJson({"type": "FeatureCollection", "features": outlines}, name="区域边界",
                   embed=True).add_to(m)
    parcels = [f for f in every if f["geometry"]["type"] == "Polygon"]
    carriers = [f for f in every if f["geometry"]["type"] != "Polygon"]
    folium.GeoJson({"type": "FeatureCollection", "features": parcels}, name="土地", embed=True,
                   tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(m)
    cluster = folium.plugins.MarkerCluster(name="载体").add_to(m)
    folium.GeoJson({"type": "FeatureCollection", "features": carriers}, embed=True,
                   tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(cluster)
    html = m.get_root().render().encode("utf-8")
    t1 = time.perf_counter()
    packed = gzip.compress(html)
    print(f"\nb. naive folium page, {len(every)} sites inlined "
          f"({len(parcels)} polygons, {len(carriers)} points in a MarkerCluster), "
          f"rendered in {t1 - t0:.1f} s:")
    print(f"   HTML {len(html) / 1024:.0f} KB raw, {len(packed) / 1024:.0f} KB gzipped "
          f"(its scripts and styles not counted) · naive gzipped / our whole first visit = "
          f"{len(packed) / ours:.1f}×")


# --- c. the map's GeoJSON -------------------------------------------------------------------


def measure(client: Client, name: str, paths: list[str], requests: int,
            target: float | None, headers: dict | None = None) -> None:
    for path in paths:  # warm up
        client.get(path, headers)
    timings, counts, clustered, sizes = [], [], 0, []
    for i in range(requests):
        answer = client.get(paths[i % len(paths)], headers)
        timings.append(answer.ms)
        features = answer.json()["features"]
        counts.append(len(features))
        clustered += any(f["properties"].get("cluster") for f in features)
        sizes.append(len(answer.raw))
    p95 = percentile(timings, 0.95)
    line = (f"   {name:34} {statistics.median(timings):7.1f} {p95:7.1f} "
            f"{statistics.mean(timings):7.1f} {statistics.mean(counts):9.0f} "
            f"{statistics.mean(sizes) / 1024:8.1f}  {clustered}/{requests}")
    if target is not None:
        line += f"   p95 ≤ {target:g} ms: {verdict(p95, target)}"
    print(line)


def measure_geojson(port: int, city: tuple, shapes: dict, regions: dict, requests: int) -> None:
    zones = sorted(s for s in shapes if regions[s]["kind"] == "zone")
    accept = {"Accept": "application/geo+json"}
    client = Client(port)
    try:
        print("\nc. /api/v1/sites.geojson, one keep-alive connection, sequential:")
        print(f"   {'view':34} {'p50 ms':>7} {'p95 ms':>7} {'mean ms':>7} {'features':>9} "
              f"{'gz KB':>8}  clustered")
        measure(client, "city-wide, cluster=1 (the map)", [geojson_path(city, True)],
                requests, GEOJSON_P95_TARGET_MS, accept)
        measure(client, f"zone-level, cluster=1 ({len(zones)} zones)",
                [geojson_path(zone_bbox(shapes[z]), True) for z in zones], requests, None, accept)
        measure(client, "city-wide, no cluster (every site)", [geojson_path(city, False)],
                max(requests // 10, 5), None, accept)
    finally:
        client.close()


# --- d. the matcher -------------------------------------------------------------------------


def requirements(rng: random.Random, regions: dict, industries: list[str]) -> dict:
    """One investor's requirements, in the ranges the pack's sites offer."""
    zone_or_county = sorted(s for s, r in regions.items()
                            if r["kind"] in ("district", "county", "zone"))
    kind = rng.choices(("parcel", "factory", "office", "warehouse", "incubator", "mixed"),
                       weights=(40, 25, 8, 10, 7, 10))[0]
    req: dict = {"industry": rng.choice(industries) if rng.random() < 0.5 else None}
    if rng.random() < 0.5:
        req["regions"] = rng.sample(zone_or_county, rng.randint(1, 2))
    if rng.random() < 0.3:
        req["must_have"] = rng.sample(("road", "water", "power", "drainage", "telecom", "gas"),
                                      rng.randint(1, 3))
    if kind == "mixed":
        req["kinds"] = ["parcel", "factory"]
        req["power_kva"] = rng.choice((630, 1000, 2000))
        return req
    req["kinds"] = [kind]
    if kind == "parcel":
        low = rng.choice((20, 30, 50, 80, 100))
        req |= {"land_use": rng.choice(("industrial", "industrial", "industrial", "logistics",
                                        None)),
                "min_area": low, "max_area": low * rng.choice((2, 3, 4)),
                "max_land_price_wan_per_mu": rng.choice((10, 12, 15, 20, None)),
                "power_kva": rng.choice((1000, 2500, 5000, 10000, None))}
        if rng.random() < 0.7:  # a 标准地 project
            area = (low + req["max_area"]) / 2
            req |= {"investment_wan": round(area * rng.uniform(180, 450)),
                    "tax_wan": round(area * rng.uniform(8, 35)),
                    "floor_area_m2": round(area * 666.67 * rng.uniform(0.8, 2.2)),
                    "energy_t": rng.choice((1000, 3000, 8000)),
                    "output_wan": rng.choice((20000, 50000, 100000))}
    else:
        low = rng.choice((2000, 3000, 5000, 8000))
        req |= {"min_area": low, "max_area": low * rng.choice((2, 3)),
                "max_rent_yuan_m2_month": rng.choice((8, 10, 12, 15, 20, 30)),
                "floor_area_m2": low}
        if kind in ("factory", "warehouse"):
            req |= {"power_kva": rng.choice((400, 630, 1000, None)),
                    "floor_load_kn_m2": rng.choice((10, 20, 30, None)),
                    "ceiling_height_m": rng.choice((6, 8, 10, None))}
    return {k: v for k, v in req.items() if v is not None}


def measure_match(port: int, regions: dict, industries: list[str], requests: int) -> None:
    rng = random.Random(SEED + 1)
    bodies = [requirements(rng, regions, industries) for _ in range(requests)]
    client = Client(port)
    try:
        for body in bodies[:5]:  # warm up
            client.post_json("/api/v1/sites/match", body)
        timings, counts = [], []
        for body in bodies:
            answer = client.post_json("/api/v1/sites/match", body)
            timings.append(answer.ms)
            counts.append(len(answer.json()["items"]))
    finally:
        client.close()
    p95 = percentile(timings, 0.95)
    print(f"\nd. POST /api/v1/sites/match, {requests} varied requirements: "
          f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {max(timings):.1f} ms "
          f"(target p95 ≤ {MATCH_P95_TARGET_MS} ms: {verdict(p95, MATCH_P95_TARGET_MS)}) · "
          f"results mean {statistics.mean(counts):.1f} (limit 50; {counts.count(0)} with none, "
          f"{counts.count(50)} full)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="per GeoJSON view")
    parser.add_argument("--matches", type=int, default=100)
    args = parser.parse_args()
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so the cleanup below still runs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    ok = False
    with tempfile.TemporaryDirectory(prefix="bench-sites-") as name:
        tmp = Path(name)
        info = build_database(tmp, args.sites)
        city = city_bbox(info["shapes"], info["regions"])
        port = free_port()
        with open(tmp / "gunicorn.log", "w") as log:
            server = start_gunicorn(port, GTHREAD_WORKERS, tmp_db_env(tmp), log)
            try:
                health = wait_healthy(server, port)
                print(f"gunicorn -w 2 -k gthread --threads 4 on 127.0.0.1:{port} · "
                      f"healthz {health.get('status')}")
                ours, _data = first_visit(port, city)
                naive_page(port, city, ours)
                measure_geojson(port, city, info["shapes"], info["regions"], args.requests)
                measure_match(port, info["regions"], info["industries"], args.matches)
                ok = True
            except Exception as exc:
                print(f"error: {type(exc).__name__}: {exc}")
            finally:
                stop_server(server)
        if not ok:
            print_log_tail(tmp / "gunicorn.log")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
