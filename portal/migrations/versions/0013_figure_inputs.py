"""figures computed from their inputs: 三个一批 rates from their inputs; figure years and sources

The typed ``rate_percent`` becomes ``published_rate_percent``: what the source printed, kept as
a quoted value until a rate kind and its inputs are given (``flask seed load`` gives them for
the Datong pack), after which pages show the computed rate. Region figures stay a JSON object;
their years and sources are keys in it, so no column changes for them.

Revision ID: 0013_figure_inputs
Revises: 0012_policy_alerts
Create Date: 2026-12-05 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_figure_inputs"
down_revision = "0012_policy_alerts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("batch_figure") as batch:
        batch.drop_constraint(op.f("ck_batch_figure_rate_range"), type_="check")
        batch.alter_column("rate_percent", new_column_name="published_rate_percent",
                           existing_type=sa.Float(), existing_nullable=True)
        batch.add_column(sa.Column("rate_kind", sa.String(length=40), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("rate_part", sa.Float(), nullable=True))
        batch.add_column(sa.Column("rate_whole", sa.Float(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_batch_figure_published_rate_range"),
            "published_rate_percent IS NULL OR published_rate_percent BETWEEN 0 AND 100")
        batch.create_check_constraint(op.f("ck_batch_figure_rate_part_non_negative"),
                                      "rate_part IS NULL OR rate_part >= 0")
        batch.create_check_constraint(op.f("ck_batch_figure_rate_whole_non_negative"),
                                      "rate_whole IS NULL OR rate_whole >= 0")


def downgrade():
    with op.batch_alter_table("batch_figure") as batch:
        batch.drop_constraint(op.f("ck_batch_figure_rate_whole_non_negative"), type_="check")
        batch.drop_constraint(op.f("ck_batch_figure_rate_part_non_negative"), type_="check")
        batch.drop_constraint(op.f("ck_batch_figure_published_rate_range"), type_="check")
        batch.drop_column("rate_whole")
        batch.drop_column("rate_part")
        batch.drop_column("rate_kind")
        batch.alter_column("published_rate_percent", new_column_name="rate_percent",
                           existing_type=sa.Float(), existing_nullable=True)
        batch.create_check_constraint(op.f("ck_batch_figure_rate_range"),
                                      "rate_percent IS NULL OR rate_percent BETWEEN 0 AND 100")
