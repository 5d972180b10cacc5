"""public_version: the token every page-cache key holds, replaced with each public change

Revision ID: 0014_public_version
Revises: 0013_figure_inputs
Create Date: 2026-12-05 06:00:00
"""
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014_public_version"
down_revision = "0013_figure_inputs"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "public_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_version")),
    )
    op.bulk_insert(table, [{"id": 1, "token": secrets.token_hex(16),
                            "changed_at": datetime.now(UTC), "due_at": None}])


def downgrade():
    op.drop_table("public_version")
