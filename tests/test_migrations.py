"""Migrations build the schema the models describe, from empty, on this run's database."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from tests.conftest import ROOT, make_app

MIGRATIONS = str(ROOT / "portal" / "migrations")


def test_upgrade_from_empty_matches_models(databases, tmp_path):
    app = make_app(databases.new("migrate"), tmp_path)  # runs `upgrade` on an empty database
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == []
        db.engine.dispose()


def test_downgrade_to_base_and_up_again(databases, tmp_path):
    app = make_app(databases.new("updown"), tmp_path)
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="base")
        assert "policy" not in sa.inspect(db.engine).get_table_names()
        upgrade(directory=MIGRATIONS)
        assert "policy" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
