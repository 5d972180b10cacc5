"""province: several cities in one deployment

Revision ID: 0017_province
Revises: 0016_exchange
Create Date: 2026-12-05 09:20:00

Province mode needs no change to the schema: cities are regions (kind "city") under the
province region, a city's bureau is a bureau account with the city as its region, and the
entries (path prefix, hosts) are configuration (``portal.province``). The revision stays so
the chain of migrations is the same on every deployment.
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0017_province"
down_revision = "0016_exchange"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
