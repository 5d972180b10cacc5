"""policy alerts: e-mail subscriptions with double opt-in

Revision ID: 0012_policy_alerts
Revises: 0011_opportunity_phases
Create Date: 2026-12-05 03:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0012_policy_alerts"
down_revision = "0011_opportunity_phases"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
