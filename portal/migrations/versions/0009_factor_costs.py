"""factor costs per region (power, water, gas, heat, land, wages, logistics) with source and year; figure sources

Revision ID: 0009_factor_costs
Revises: 0008_content
Create Date: 2026-12-05 03:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009_factor_costs"
down_revision = "0008_content"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
