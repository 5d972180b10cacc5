"""industry-chain maps: companies on chain nodes, opportunities and sites linked to the nodes they fill

Revision ID: 0010_chain_links
Revises: 0009_factor_costs
Create Date: 2026-12-05 03:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0010_chain_links"
down_revision = "0009_factor_costs"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
