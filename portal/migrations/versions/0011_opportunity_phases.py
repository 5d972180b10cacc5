"""opportunity filters and 揭榜挂帅 phases

Revision ID: 0011_opportunity_phases
Revises: 0010_chain_links
Create Date: 2026-12-05 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_opportunity_phases"
down_revision = "0010_chain_links"
branch_labels = None
depends_on = None


def upgrade():
    # A challenge's phases (发榜 → 揭榜申报 → 评审 → 公示 → 授榜) with their dates; every
    # existing opportunity starts with none.
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phases", sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))


def downgrade():
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_column("phases")
