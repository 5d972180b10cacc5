"""Site geometry: validation with shapely, areas in 亩, and the area check staff see.

Coordinates are WGS-84 (CGCS2000 differs by centimetres). Areas use a local equal-area
projection (sinusoidal about the polygon's centre), within a fraction of a percent of the
geodesic area for parcels a few kilometres across.
"""

import json
import math

import numpy as np
import shapely
from flask_babel import gettext as _
from shapely.geometry import Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

EARTH_RADIUS_M = 6_371_008.8
M2_PER_MU = 2000 / 3  # 1 亩 = 666.67 m²
AREA_TOLERANCE = 0.05  # stated area more than 5 % off the drawn one is flagged
BOUNDARY_TOLERANCE_DEG = 1e-4  # about 10 m


class GeometryError(ValueError):
    """A geometry staff must correct; the message says what is wrong, in their language."""


def parse(geometry: dict, kind: str) -> BaseGeometry:
    """The shapely geometry of a site, or GeometryError with the reason."""
    expected = "Polygon" if kind == "parcel" else "Point"
    if not isinstance(geometry, dict) or geometry.get("type") != expected:
        raise GeometryError(_("%(kind)s 的位置应为 %(type)s", kind=kind, type=expected))
    coords = geometry.get("coordinates")
    if expected == "Polygon":
        ring = coords[0] if isinstance(coords, list) and coords else None
        if not isinstance(ring, list) or len(ring) < 4:
            raise GeometryError(_("地块边界至少需要 3 个不同的点并首尾闭合，当前只有 %(n)d 个点",
                                  n=len(ring) if isinstance(ring, list) else 0))
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise GeometryError(_("坐标格式不正确：%(error)s", error=exc)) from exc
    if geom.is_empty:
        raise GeometryError(_("位置为空"))
    for x, y in _coordinates(geom):
        if not (-180 <= x <= 180 and -90 <= y <= 90):
            raise GeometryError(_("坐标 (%(x)s, %(y)s) 超出经纬度范围，请使用 WGS-84 经度、纬度",
                                  x=x, y=y))
    if isinstance(geom, Polygon):
        if not geom.exterior.is_ring or not geom.is_valid:
            reason = explain_validity(geom)
            if "Self-intersection" in reason:
                lon, lat = reason.split("[", 1)[-1].rstrip("]").split()[:2]
                raise GeometryError(_("地块边界在经度 %(lon)s、纬度 %(lat)s 附近自相交，"
                                      "请按顺时针或逆时针顺序描点，边线不要交叉",
                                      lon=lon, lat=lat))
            raise GeometryError(_("地块边界无效：%(reason)s", reason=reason))
        if area_m2(geom) < 1:
            raise GeometryError(_("地块面积为零，请检查坐标"))
    return geom


def _coordinates(geom: BaseGeometry):
    if isinstance(geom, Point):
        return [(geom.x, geom.y)]
    return list(geom.exterior.coords)


def check_within(geom: BaseGeometry, boundary: BaseGeometry | None, region_name: str) -> None:
    if boundary is not None and not boundary.buffer(BOUNDARY_TOLERANCE_DEG).covers(geom):
        raise GeometryError(_("位置不在所属区域“%(region)s”的范围内", region=region_name))


def area_m2(geom: BaseGeometry) -> float:
    lon0 = geom.centroid.x

    def sinusoidal(coords: np.ndarray) -> np.ndarray:
        lat = np.radians(coords[:, 1])
        x = np.radians(coords[:, 0] - lon0) * EARTH_RADIUS_M * np.cos(lat)
        return np.column_stack([x, lat * EARTH_RADIUS_M])

    return shapely.transform(geom, sinusoidal).area


def area_mu(geom: BaseGeometry) -> float:
    return area_m2(geom) / M2_PER_MU


# --- staff input: an uploaded file or the value drawn on the map ----------------------------

MAX_GEOJSON_BYTES = 2 * 1024 * 1024
MAX_VERTICES = 5000  # a surveyed parcel has tens to hundreds; more is an unsimplified export
# Coordinate systems whose numbers are longitude and latitude: WGS-84 and CGCS2000 (which
# differs by centimetres). Anything else (a Gauss-Krüger zone, Web Mercator) is in metres.
GEOGRAPHIC_CRS = ("CRS84", "EPSG::4326", "EPSG:4326", "EPSG::4490", "EPSG:4490")
_SINGLE = {"MultiPolygon": "Polygon", "MultiPoint": "Point"}


def geometry_from_upload(data: bytes, kind: str) -> dict:
    """The geometry dict in an uploaded .geojson/.json file, checked by ``parse`` as a data
    pack's is, so staff read the same message the loader gives for the same shape.

    The file may hold a Geometry, a Feature or a FeatureCollection with exactly one feature.
    A MultiPolygon or MultiPoint with a single part (what GIS tools often export) is taken
    as that part. Only ``type`` and ``coordinates`` are kept. Whether the site lies in its
    region is left to ``check_within``, which needs the region.
    """
    if len(data) > MAX_GEOJSON_BYTES:
        raise GeometryError(_("文件超过 %(mb)d MB，请在 GIS 软件中简化边界后再上传",
                              mb=MAX_GEOJSON_BYTES // 2**20))
    try:
        document = json.loads(data.decode("utf-8-sig"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise GeometryError(_not_geojson(in_file=True)) from exc
    return _from_geojson(document, kind, in_file=True)


def geometry_from_text(text: str | None, kind: str) -> dict:
    """The geometry dict in the GeoJSON text the map editor writes into the form (or staff
    paste when scripts are off); the same shapes and checks as ``geometry_from_upload``.
    Empty text is an error: every site has a position."""
    text = text or ""
    if len(text.encode("utf-8")) > MAX_GEOJSON_BYTES:
        raise GeometryError(_("位置数据超过 %(mb)d MB，请在 GIS 软件中简化边界后上传文件",
                              mb=MAX_GEOJSON_BYTES // 2**20))
    text = text.strip()
    if not text:
        raise GeometryError(_("请在地图上标出位置，或上传 GeoJSON 文件"))
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise GeometryError(_not_geojson(in_file=False)) from exc
    return _from_geojson(document, kind, in_file=False)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity, which Python would accept


def _not_geojson(*, in_file: bool) -> str:
    if in_file:
        return _("文件不是有效的 GeoJSON，请选择 GIS 软件导出的 .geojson 或 .json 文件")
    return _("位置不是有效的 GeoJSON，请在地图上重新标出，或上传 GeoJSON 文件")


def _from_geojson(document, kind: str, *, in_file: bool) -> dict:
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise GeometryError(_not_geojson(in_file=in_file))
    _check_crs(document)
    geometry = document
    if document["type"] == "FeatureCollection":
        features = document.get("features")
        count = len(features) if isinstance(features, list) else 0
        if count != 1:
            raise GeometryError(_("文件中应只有一个要素，当前有 %(n)d 个", n=count) if in_file
                                else _("GeoJSON 中应只有一个要素，当前有 %(n)d 个", n=count))
        geometry = features[0]
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        _check_crs(geometry)
        geometry = geometry.get("geometry")
        if not isinstance(geometry, dict):
            raise GeometryError(_("要素没有几何（geometry 为空），请在 GIS 软件中检查后重新导出"))
    if not isinstance(geometry, dict):
        raise GeometryError(_not_geojson(in_file=in_file))
    return _single_geometry(geometry, kind)


def _is_position(value) -> bool:
    return (isinstance(value, list) and len(value) in (2, 3)
            and all(isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n)
                    for n in value))


def _check_crs(member: dict) -> None:
    """GeoJSON of 2008 may name its coordinate system; one in metres is refused by name, so
    staff read "export as WGS-84" rather than "coordinates out of range"."""
    crs = member.get("crs")
    properties = crs.get("properties") if isinstance(crs, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    if isinstance(name, str) and not any(code in name.upper() for code in GEOGRAPHIC_CRS):
        raise GeometryError(_("文件使用的坐标系 %(crs)s 不是经纬度坐标，请在 GIS 软件中导出为 "
                              "WGS-84（EPSG:4326）后再上传", crs=name))


def _single_geometry(geometry: dict, kind: str) -> dict:
    expected = "Polygon" if kind == "parcel" else "Point"
    found = geometry.get("type")
    coords = geometry.get("coordinates")
    if _SINGLE.get(found) == expected and isinstance(coords, list):
        if len(coords) != 1:
            raise GeometryError(
                _("地块应为一块面（Polygon），当前的 MultiPolygon 有 %(n)d 块", n=len(coords))
                if expected == "Polygon" else
                _("载体位置应为一个点（Point），当前的 MultiPoint 有 %(n)d 个点", n=len(coords)))
        found, coords = expected, coords[0]
    if found != expected:
        found = found if isinstance(found, str) else "—"
        raise GeometryError(_("地块应为面（Polygon），当前为 %(type)s", type=found)
                            if expected == "Polygon" else
                            _("载体位置应为点（Point），当前为 %(type)s", type=found))
    if expected == "Polygon" and isinstance(coords, list):
        vertices = sum(len(ring) for ring in coords if isinstance(ring, list))
        if vertices > MAX_VERTICES:
            raise GeometryError(_("边界有 %(n)d 个点，超过上限 %(max)d 个，请在 GIS 软件中简化后"
                                  "再上传", n=vertices, max=MAX_VERTICES))
    # shapely also takes "113.3", true or a nested point, which the maps could not draw.
    positions = ([coords] if expected == "Point" else
                 [p for ring in coords for p in ring] if isinstance(coords, list)
                 and all(isinstance(ring, list) for ring in coords) else None)
    if positions is None or not all(_is_position(p) for p in positions):
        raise GeometryError(_("坐标格式不正确：每个点应为 [经度, 纬度] 两个数"))
    single = {"type": expected, "coordinates": coords}
    parse(single, kind)
    return single
