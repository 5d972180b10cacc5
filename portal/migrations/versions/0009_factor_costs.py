"""factor costs per region (power, water, gas, heat, land, wages, logistics) with source
and year

Revision ID: 0009_factor_costs
Revises: 0008_content
Create Date: 2026-12-05 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_factor_costs"
down_revision = "0008_content"
branch_labels = None
depends_on = None

CATEGORIES = ("land", "electricity", "green_power", "water", "gas", "heat", "wage", "logistics")


def upgrade():
    quoted = ", ".join(f"'{c}'" for c in CATEGORIES)
    op.create_table(
        "factor_cost",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("item", sa.String(120), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("source_url", sa.String(500), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.CheckConstraint(f"category IN ({quoted})", name=op.f("ck_factor_cost_category_valid")),
        sa.CheckConstraint("value IS NULL OR value >= 0",
                           name=op.f("ck_factor_cost_value_non_negative")),
        sa.CheckConstraint("low IS NULL OR low >= 0", name=op.f("ck_factor_cost_low_non_negative")),
        sa.CheckConstraint("high IS NULL OR high >= 0",
                           name=op.f("ck_factor_cost_high_non_negative")),
        sa.CheckConstraint("year BETWEEN 1990 AND 2100", name=op.f("ck_factor_cost_year_range")),
        sa.CheckConstraint("low IS NULL OR high IS NULL OR low <= high",
                           name=op.f("ck_factor_cost_range_order")),
        sa.CheckConstraint("source <> ''", name=op.f("ck_factor_cost_source_given")),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"],
                                name=op.f("fk_factor_cost_region_id_region")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factor_cost")),
        sa.UniqueConstraint("key", name=op.f("uq_factor_cost_key")),
    )
    with op.batch_alter_table("factor_cost") as batch:
        batch.create_index("ix_factor_cost_region_id", ["region_id"])


def downgrade():
    with op.batch_alter_table("factor_cost") as batch:
        batch.drop_index("ix_factor_cost_region_id")
    op.drop_table("factor_cost")
