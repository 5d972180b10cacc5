"""import stash: uploads waiting for their confirmation kept in the database

Revision ID: 0018_import_stash
Revises: 0017_province
Create Date: 2026-12-05 09:50:00

The importer kept an upload between its report page and the confirmation in files under
``instance/imports``: a report made on one node could not be confirmed on another. The table
holds a SHA-256 of the token, never the token. Uploads still waiting in the folder at the
upgrade are not carried over (they expire within the hour anyway; staff upload again).
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_import_stash"
down_revision = "0017_province"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_stash",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('policy', 'site', 'opportunity')",
                           name=op.f("ck_import_stash_kind_valid")),
        sa.CheckConstraint("mode IN ('all', 'valid')", name=op.f("ck_import_stash_mode_valid")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"],
                                name=op.f("fk_import_stash_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_stash")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_import_stash_token_hash")),
    )
    with op.batch_alter_table("import_stash", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_stash_created_at"), ["created_at"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_import_stash_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("import_stash", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_stash_user_id"))
        batch_op.drop_index(batch_op.f("ix_import_stash_created_at"))
    op.drop_table("import_stash")
