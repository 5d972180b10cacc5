"""search_entry: the postgres search engine's documents (PORTAL_SEARCH=postgres)

Created on every database so that the schema matches the models; only PostgreSQL fills it
(search.postgres). JSON stands in for text[] on SQLite.

Revision ID: 0015_search_entry
Revises: 0014_public_version
Create Date: 2026-12-05 07:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_search_entry"
down_revision = "0014_public_version"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_entry",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title_folded", sa.Text(), nullable=False),
        sa.Column("translations_folded", sa.Text(), nullable=False),
        sa.Column("body_folded", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keywords", postgresql.ARRAY(sa.Text()).with_variant(sa.JSON(), "sqlite"),
                  nullable=False),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("grams",
                  postgresql.ARRAY(sa.Text(collation="C")).with_variant(sa.JSON(), "sqlite"),
                  nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name="pk_search_entry"),
    )
    op.create_index("ix_search_entry_grams", "search_entry", ["grams"],
                    postgresql_using="gin")


def downgrade():
    op.drop_index("ix_search_entry_grams", table_name="search_entry")
    op.drop_table("search_entry")
