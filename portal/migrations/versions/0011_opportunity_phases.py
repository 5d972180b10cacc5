"""opportunity filters and 揭榜挂帅 phases

Revision ID: 0011_opportunity_phases
Revises: 0010_chain_links
Create Date: 2026-12-05 03:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011_opportunity_phases"
down_revision = "0010_chain_links"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
