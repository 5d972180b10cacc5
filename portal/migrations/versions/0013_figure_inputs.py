"""figures computed from their inputs: 三个一批 rates from investment and project counts; figure years and sources

Revision ID: 0013_figure_inputs
Revises: 0012_policy_alerts
Create Date: 2026-12-05 03:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0013_figure_inputs"
down_revision = "0012_policy_alerts"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
