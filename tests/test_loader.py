"""The data pack loader: good, bad and idempotent loads."""

import json
import shutil

import pytest
import yaml

from portal.extensions import db
from portal.models import Policy, Region, Site
from seed.loader import PACKS_DIR, PackError, counts, load_pack, read_pack
from seed.schema import FILES


@pytest.fixture(scope="module")
def datong_counts(site_app):
    with site_app.app_context():
        return counts()


def test_datong_pack_contents(datong_counts, site_app):
    assert datong_counts["region"] >= 1 + 1 + 10 + 7
    assert datong_counts["policy"] >= 45
    assert datong_counts["opportunity"] >= 20
    assert datong_counts["batch_figure"] >= 6
    with site_app.app_context():
        kinds = dict(db.session.execute(
            db.select(Site.kind, db.func.count()).group_by(Site.kind)).all())
        assert kinds["parcel"] >= 30
        assert sum(n for k, n in kinds.items() if k != "parcel") >= 30
        assert db.session.scalar(
            db.select(db.func.count(Region.id)).filter_by(kind="zone")) >= 7
        for name in ("平城区", "云冈区", "新荣区", "云州区", "阳高县", "天镇县", "广灵县",
                     "灵丘县", "浑源县", "左云县", "云冈经济技术开发区", "大同经济技术开发区"):
            assert db.session.scalars(db.select(Region).filter_by(name=name)).first(), name
        seeds = db.session.scalars(db.select(Policy).where(Policy.key.like("seed-%"))).all()
        assert len(seeds) == 5
        by_key = {p.key: p for p in seeds}
        assert by_key["seed-000"].doc_number == "同政发〔2026〕2号"
        assert by_key["seed-002"].status == "draft"
        assert by_key["seed-004"].doc_number == "云招商委办发〔2023〕6号"
        assert all(not p.is_demo for p in seeds)
        # Invented records are marked as such.
        assert db.session.scalar(
            db.select(db.func.count(Site.id)).filter_by(is_demo=False)) == 0


def test_seed_text_is_rejoined(site_app):
    with site_app.app_context():
        body = db.session.scalars(db.select(Policy).filter_by(key="seed-001")).one().body
        assert "充分发挥市场在资源配置中的决定性作用" in body


def test_load_twice_leaves_the_same_counts(ctx):
    first = load_pack("datong")
    second = load_pack("datong")
    assert first == second
    assert first["policy"] > 0


@pytest.fixture
def bad_pack(tmp_path):
    """A copy of the Datong pack to break one record at a time."""
    target = tmp_path / "pack"
    shutil.copytree(PACKS_DIR / "datong", target)
    return target


def _edit_yaml(path, change):
    records = yaml.safe_load(path.read_text("utf-8"))
    change(records)
    path.write_text(yaml.safe_dump(records, allow_unicode=True), "utf-8")


def _edit_geojson(path, change):
    data = json.loads(path.read_text("utf-8"))
    change(data["features"])
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")


def _first_parcel(features):
    return next(f for f in features if f["properties"]["kind"] == "parcel")


def _break_region(features):
    _first_parcel(features)["properties"]["region"] = "atlantis"


def _break_polygon(features):
    parcel = _first_parcel(features)
    ring = parcel["geometry"]["coordinates"][0]
    parcel["geometry"]["coordinates"] = [ring[:2]]


def _break_area(features):
    _first_parcel(features)["properties"]["area_mu"] = -12.5


def _break_title(records):
    del records[7]["title"]


BAD_RECORDS = {
    "unknown region slug": ("sites.geojson", _edit_geojson, _break_region, "region", "atlantis"),
    "polygon with two points": ("sites.geojson", _edit_geojson, _break_polygon, "geometry", ""),
    "negative area": ("sites.geojson", _edit_geojson, _break_area, "area_mu", "-12.5"),
    "missing title": ("policies.yaml", _edit_yaml, _break_title, "title", ""),
}


@pytest.mark.parametrize("case", BAD_RECORDS, ids=list(BAD_RECORDS))
def test_bad_record_names_file_record_field_and_changes_nothing(ctx, bad_pack, case):
    filename, edit, breaker, field, value = BAD_RECORDS[case]
    load_pack("datong")
    # A good edit in an earlier file must not survive a failure in a later one.
    _edit_yaml(bad_pack / "regions.yaml", lambda rs: rs[0].update(name="改过的名字"))
    edit(bad_pack / filename, breaker)
    before = counts()
    root_name = db.session.scalars(db.select(Region.name).order_by(Region.id)).first()
    with pytest.raises(PackError) as error:
        load_pack(str(bad_pack))
    message = str(error.value)
    assert filename in message
    assert error.value.record and error.value.record in message
    assert f"字段 {field}" in message
    assert value in message
    db.session.rollback()
    assert counts() == before
    assert db.session.scalars(db.select(Region.name).order_by(Region.id)).first() == root_name


def test_bad_record_into_an_empty_database_writes_nothing(ctx, bad_pack):
    _edit_geojson(bad_pack / "sites.geojson", _break_area)
    with pytest.raises(PackError):
        load_pack(str(bad_pack))
    assert all(n == 0 for n in counts().values())


def test_missing_title_message_names_the_record_key(ctx, bad_pack):
    records = yaml.safe_load((bad_pack / "policies.yaml").read_text("utf-8"))
    key = records[7]["key"]
    _edit_yaml(bad_pack / "policies.yaml", _break_title)
    with pytest.raises(PackError) as error:
        read_pack(str(bad_pack))
    assert error.value.record.startswith(key)
    assert error.value.field == "title"


def test_parcel_outside_its_zone_is_refused(ctx, bad_pack):
    def move_far(features):
        parcel = _first_parcel(features)
        parcel["geometry"]["coordinates"] = [[[x + 3, y] for x, y, *_ in ring]
                                             for ring in parcel["geometry"]["coordinates"]]
    _edit_geojson(bad_pack / "sites.geojson", move_far)
    with pytest.raises(PackError) as error:
        read_pack(str(bad_pack))
    assert error.value.field == "geometry"


def test_self_intersecting_polygon_is_refused(ctx, bad_pack):
    def bowtie(features):
        parcel = _first_parcel(features)
        (x0, y0), (x1, y1) = parcel["geometry"]["coordinates"][0][0][:2], \
            parcel["geometry"]["coordinates"][0][2][:2]
        parcel["geometry"]["coordinates"] = [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]
    _edit_geojson(bad_pack / "sites.geojson", bowtie)
    with pytest.raises(PackError) as error:
        read_pack(str(bad_pack))
    assert "自相交" in str(error.value) and "经度" in str(error.value)


def test_not_a_pack(ctx, tmp_path):
    with pytest.raises(PackError):
        read_pack(str(tmp_path))


def test_every_pack_file_has_a_schema():
    present = {p.name for p in (PACKS_DIR / "datong").iterdir() if p.is_file()}
    assert present - set(FILES) == set(), "files the loader would ignore"


def test_cli_seed_load_twice(runner, app):
    first = runner.invoke(args=["seed", "load", "datong"])
    second = runner.invoke(args=["seed", "load", "datong"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    table = [line for line in first.output.splitlines() if line.startswith("policy ")]
    assert table == [line for line in second.output.splitlines() if line.startswith("policy ")]


def test_cli_seed_load_reports_a_bad_pack(runner, app, bad_pack):
    _edit_geojson(bad_pack / "sites.geojson", _break_region)
    result = runner.invoke(args=["seed", "load", str(bad_pack)])
    assert result.exit_code != 0
    assert "sites.geojson" in result.output and "atlantis" in result.output
