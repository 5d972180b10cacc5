"""A light map preview for the home page: region outlines from the database as one SVG, with
the development zones as points, linking to the full map (``/LANG/sites/``).

Why not Leaflet here: the home page must stay light (Lighthouse mobile ≥ 95); the outlines
of the city's districts and counties are a few hundred points, a couple of kilobytes of SVG,
and need no script or tiles. Coordinates are projected equirectangularly around the city's
mean latitude (cos φ scaling), which is faithful enough at city scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup

WIDTH = 360


@dataclass
class Preview:
    svg: Markup
    zones: list  # the zones drawn, in order, for the list beside the map


def _rings(geometry: dict | None) -> list[list[list[float]]]:
    if not geometry:
        return []
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry.get("type") == "MultiPolygon":
        return [polygon[0] for polygon in geometry["coordinates"]]
    return []


def preview(areas, zones, title: str, desc: str) -> Preview | None:
    """Outlines of ``areas`` (districts and counties) and points for ``zones``; None when no
    area has an outline."""
    shapes = [(area, _rings(area.boundary)) for area in areas]
    shapes = [(area, rings) for area, rings in shapes if rings]
    if not shapes:
        return None
    points = [p for _area, rings in shapes for ring in rings for p in ring]
    points += [[z.longitude, z.latitude] for z in zones]
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    scale_x = math.cos(math.radians((south + north) / 2))
    span_x, span_y = max((east - west) * scale_x, 1e-6), max(north - south, 1e-6)
    pad = 8
    scale = (WIDTH - 2 * pad) / span_x
    height = span_y * scale + 2 * pad

    def xy(lon: float, lat: float) -> str:
        return f"{pad + (lon - west) * scale_x * scale:.1f},{pad + (north - lat) * scale:.1f}"

    parts = []
    for area, rings in shapes:
        for ring in rings:
            parts.append(Markup('<polygon points="{}" class="map-area" fill="#eef3f7" '
                                'stroke="#57606a" stroke-width="1"><title>{}</title>'
                                '</polygon>').format(" ".join(xy(*p[:2]) for p in ring),
                                                     area.tr("name")))
    drawn = [z for z in zones if z.latitude is not None and z.longitude is not None]
    for number, zone in enumerate(drawn, start=1):
        x, y = xy(zone.longitude, zone.latitude).split(",")
        parts.append(Markup('<circle cx="{}" cy="{}" r="10" class="map-zone" fill="#a61b1b" '
                            'stroke="#fff" stroke-width="1.5"/>').format(x, y))
        parts.append(Markup('<text x="{}" y="{}" font-size="13" text-anchor="middle" '
                            'fill="#fff" class="map-zone-number">{}</text>').format(
            x, f"{float(y) + 4.5:.1f}", number))
    svg = Markup(
        '<svg class="map-preview-svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-labelledby="map-preview-title map-preview-desc" focusable="false" '
        'xmlns="http://www.w3.org/2000/svg"><title id="map-preview-title">{title}</title>'
        '<desc id="map-preview-desc">{desc}</desc>{body}</svg>').format(
        w=WIDTH, h=f"{height:.0f}", title=title, desc=desc, body=Markup("").join(parts))
    return Preview(svg, drawn)
