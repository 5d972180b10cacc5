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


def test_upgrade_keeps_existing_rows(databases, tmp_path):
    """A policy written under 0001 gets an empty attachment list from 0002."""
    app = make_app(databases.new("data"), tmp_path)
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="0001_initial")
        db.session.execute(sa.text(
            "INSERT INTO policy (key, title, doc_number, issuer, level, published, status, "
            "summary, body, interpretation, procedure, benefit_mode, eligibility, source_url, "
            "source_note, is_demo, translations, created_at, updated_at) VALUES ('old', '旧政策', "
            "'', '某局', 'municipal', '2020-01-01', 'in_force', '', '正文', '', '', '', '[]', '', "
            "'', false, '{}', '2020-01-01 00:00:00', '2020-01-01 00:00:00')"))
        db.session.commit()
        upgrade(directory=MIGRATIONS)
        from portal.models import Policy

        assert db.session.scalars(db.select(Policy)).one().attachments == []
        db.session.remove()
        db.engine.dispose()
