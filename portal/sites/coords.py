"""WGS-84 → GCJ-02, for tile providers that draw China in the GCJ-02 datum (AutoNavi/Gaode,
Tencent). Stored coordinates stay WGS-84 (CGCS2000-compatible; 天地图 uses them as they are).

The offset is the published GCJ-02 formula: a Krasovsky-ellipsoid shift plus trigonometric
noise terms, a few hundred metres in eastern China, none outside mainland China.
"""

import math

A = 6378245.0  # Krasovsky 1940 semi-major axis
EE = 0.00669342162296594323  # its first eccentricity squared


def outside_china(lon: float, lat: float) -> bool:
    return not (73.66 < lon < 135.05 and 3.86 < lat < 53.55)


def _shift_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    return ret


def _shift_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    return ret


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if outside_china(lon, lat):
        return lon, lat
    d_lat = _shift_lat(lon - 105.0, lat - 35.0)
    d_lon = _shift_lon(lon - 105.0, lat - 35.0)
    rad_lat = math.radians(lat)
    magic = 1 - EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((A * (1 - EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lon + d_lon, lat + d_lat


def geometry_to_gcj02(geometry: dict) -> dict:
    """A GeoJSON Point or Polygon with every position converted."""
    def convert(position):
        return list(wgs84_to_gcj02(position[0], position[1]))

    coords = geometry["coordinates"]
    if geometry["type"] == "Point":
        return {"type": "Point", "coordinates": convert(coords)}
    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [[convert(p) for p in ring] for ring in coords]}
    if geometry["type"] == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [
            [[convert(p) for p in ring] for ring in polygon] for polygon in coords]}
    raise ValueError(f"unsupported geometry {geometry['type']}")
