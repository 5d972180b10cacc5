"""industry-chain maps: companies on chain nodes, opportunities and sites linked to
the nodes they fill

Revision ID: 0010_chain_links
Revises: 0009_factor_costs
Create Date: 2026-12-05 03:00:00

Chain nodes get a key stable within their industry, so records can name them
("industry-slug/key") while staff edit the node's name. Existing rows keep working: companies
start as chain leaders on no node, nothing is linked yet.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_chain_links"
down_revision = "0009_factor_costs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("chain_node") as batch:
        batch.add_column(sa.Column("key", sa.String(80), nullable=True))
        batch.create_unique_constraint(op.f("uq_chain_node_industry_id"), ["industry_id", "key"])
    with op.batch_alter_table("chain_leader") as batch:
        batch.add_column(sa.Column("chain_node_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("role", sa.String(16), nullable=False,
                                   server_default="leader"))
        batch.create_foreign_key(op.f("fk_chain_leader_chain_node_id_chain_node"), "chain_node",
                                 ["chain_node_id"], ["id"], ondelete="SET NULL")
        batch.create_check_constraint(op.f("ck_chain_leader_role_valid"),
                                      "role IN ('leader', 'local')")
        batch.create_index("ix_chain_leader_chain_node_id", ["chain_node_id"])
    with op.batch_alter_table("opportunity") as batch:
        batch.add_column(sa.Column("chain_node_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_opportunity_chain_node_id_chain_node"), "chain_node",
                                 ["chain_node_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_opportunity_chain_node_id", ["chain_node_id"])
    op.create_table(
        "site_chain_node",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("chain_node_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE",
                                name="fk_site_chain_node_site_id_site"),
        sa.ForeignKeyConstraint(["chain_node_id"], ["chain_node.id"], ondelete="CASCADE",
                                name="fk_site_chain_node_chain_node_id_chain_node"),
        sa.PrimaryKeyConstraint("site_id", "chain_node_id", name="pk_site_chain_node"),
    )
    op.create_index("ix_site_chain_node_chain_node_id", "site_chain_node", ["chain_node_id"])


def downgrade():
    op.drop_index("ix_site_chain_node_chain_node_id", table_name="site_chain_node")
    op.drop_table("site_chain_node")
    with op.batch_alter_table("opportunity") as batch:
        batch.drop_index("ix_opportunity_chain_node_id")
        batch.drop_constraint(op.f("fk_opportunity_chain_node_id_chain_node"), type_="foreignkey")
        batch.drop_column("chain_node_id")
    with op.batch_alter_table("chain_leader") as batch:
        batch.drop_index("ix_chain_leader_chain_node_id")
        batch.drop_constraint(op.f("ck_chain_leader_role_valid"), type_="check")
        batch.drop_constraint(op.f("fk_chain_leader_chain_node_id_chain_node"), type_="foreignkey")
        batch.drop_column("role")
        batch.drop_column("chain_node_id")
    with op.batch_alter_table("chain_node") as batch:
        batch.drop_constraint(op.f("uq_chain_node_industry_id"), type_="unique")
        batch.drop_column("key")
