"""exchange: API keys for partner platforms and project transfers between deployments

Revision ID: 0016_exchange
Revises: 0015_search_entry
Create Date: 2026-12-05 09:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_exchange"
down_revision = "0015_search_entry"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('index', 'unindex', 'mail')"
NEW_KINDS = "kind IN ('index', 'unindex', 'mail', 'exchange')"


def upgrade():
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("partner", sa.String(length=80), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.String(length=80), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"],
                                name=op.f("fk_api_key_created_by_id_user"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"],
                                name=op.f("fk_api_key_region_id_region")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["user.id"],
                                name=op.f("fk_api_key_revoked_by_id_user"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_key_prefix")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_partner"), ["partner"], unique=False)

    op.create_table(
        "exchange_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(length=80), nullable=False),
        sa.Column("external_id", sa.String(length=120), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"],
                                name=op.f("fk_exchange_receipt_api_key_id_api_key"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["demand_id"], ["demand.id"],
                                name=op.f("fk_exchange_receipt_demand_id_demand")),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfer.id"],
                                name=op.f("fk_exchange_receipt_transfer_id_transfer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_receipt")),
        sa.UniqueConstraint("partner", "external_id", name="one_per_external_id"),
    )
    with op.batch_alter_table("exchange_receipt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_receipt_demand_id"), ["demand_id"],
                              unique=False)

    # Outbox jobs of kind "exchange": a project sent to a partner deployment.
    with op.batch_alter_table("outbox_job", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_job_kind_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_job_kind_valid"), NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM outbox_job WHERE kind = 'exchange'")
    with op.batch_alter_table("outbox_job", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_job_kind_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_job_kind_valid"), OLD_KINDS)
    with op.batch_alter_table("exchange_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_receipt_demand_id"))
    op.drop_table("exchange_receipt")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_partner"))
    op.drop_table("api_key")
