"""Geometry checks staff rely on: clear messages for bad shapes, areas in 亩."""

import pytest
from shapely.geometry import box

from portal.sites.geometry import GeometryError, area_mu, check_within, parse

SQUARE_100M = {"type": "Polygon", "coordinates": [[
    [113.3, 40.0], [113.3011742, 40.0], [113.3011742, 40.0008993], [113.3, 40.0008993],
    [113.3, 40.0]]]}


def test_area_of_a_hectare_is_15_mu(ctx):
    # about 100 m × 100 m at 40° N: 10,000 m² = 15 亩
    assert area_mu(parse(SQUARE_100M, "parcel")) == pytest.approx(15.0, rel=0.005)


@pytest.mark.parametrize("geometry, kind, message", [
    ({"type": "Polygon", "coordinates": [[[113.3, 40.0], [113.31, 40.0]]]}, "parcel",
     "至少需要 3 个不同的点"),
    ({"type": "Polygon", "coordinates": [[[113.3, 40.0], [113.31, 40.01], [113.31, 40.0],
                                          [113.3, 40.01], [113.3, 40.0]]]}, "parcel", "自相交"),
    ({"type": "Point", "coordinates": [113.3, 40.0]}, "parcel", "应为 Polygon"),
    ({"type": "Polygon", "coordinates": [[[40.0, 113.3], [40.1, 113.3], [40.1, 113.4],
                                          [40.0, 113.3]]]}, "parcel", "超出经纬度范围"),
    ({"type": "Polygon", "coordinates": [[[113.3, 40.0], [113.3, 40.0], [113.3, 40.0],
                                          [113.3, 40.0]]]}, "parcel", ""),
    ({"type": "Point", "coordinates": "here"}, "factory", "坐标格式不正确"),
])
def test_bad_geometry_says_what_to_fix(ctx, geometry, kind, message):
    with pytest.raises(GeometryError) as error:
        parse(geometry, kind)
    assert message in str(error.value)


def test_outside_the_region(ctx):
    geom = parse(SQUARE_100M, "parcel")
    check_within(geom, box(113.29, 39.99, 113.31, 40.01), "平城区")
    with pytest.raises(GeometryError) as error:
        check_within(geom, box(114, 41, 115, 42), "平城区")
    assert "不在所属区域“平城区”的范围内" in str(error.value)


def test_stated_area_mismatch_is_flagged(ctx):
    from tests import factories

    site = factories.parcel(area_mu=20.0, drawn_area_mu=15.0)
    assert site.area_mismatch == pytest.approx(1 / 3)
    assert factories.parcel(key="ok", area_mu=15.2, drawn_area_mu=15.0,
                            region_row=site.region).area_mismatch < 0.05
