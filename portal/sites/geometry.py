"""Site geometry: validation with shapely, areas in 亩, and the area check staff see.

Coordinates are WGS-84 (CGCS2000 differs by centimetres). Areas use a local equal-area
projection (sinusoidal about the polygon's centre), within a fraction of a percent of the
geodesic area for parcels a few kilometres across.
"""

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
