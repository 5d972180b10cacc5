"""Small builders for records a test needs, with sensible defaults."""

from datetime import date

from portal.extensions import db
from portal.models import Department, Policy, Region, Site, User


def region(slug="test-city", kind="city", **kw) -> Region:
    row = Region(slug=slug, kind=kind, name=kw.pop("name", "测试市"),
                 latitude=kw.pop("latitude", 40.0), longitude=kw.pop("longitude", 113.3), **kw)
    db.session.add(row)
    db.session.flush()
    return row


def policy(key="p-1", **kw) -> Policy:
    values = {"title": "测试政策", "issuer": "测试市人民政府", "level": "municipal",
              "published": date(2026, 1, 5), "status": "in_force", "body": "第一条 正文。"}
    values.update(kw)
    row = Policy(key=key, **values)
    db.session.add(row)
    db.session.flush()
    return row


def parcel(key="s-1", region_row=None, **kw) -> Site:
    region_row = region_row or region()
    values = {"kind": "parcel", "name": "测试地块", "land_use": "industrial", "area_mu": 50.0,
              "geometry": {"type": "Polygon", "coordinates": [[[113.3, 40.0], [113.31, 40.0],
                                                               [113.31, 40.01], [113.3, 40.0]]]},
              "latitude": 40.003, "longitude": 113.306}
    values.update(kw)
    row = Site(key=key, region=region_row, **values)
    db.session.add(row)
    db.session.flush()
    return row


def staff(email="staff@example.gov.cn", password="correct horse", role="admin", **kw) -> User:
    row = User(email=email, role=role, **kw)
    row.set_password(password)
    db.session.add(row)
    db.session.flush()
    return row


def department(slug="zrzy", name="测试市自然资源局", **kw) -> Department:
    row = Department(slug=slug, name=name, **kw)
    db.session.add(row)
    db.session.flush()
    return row
