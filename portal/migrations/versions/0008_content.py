"""content: publishing state, scheduled publication, comment periods and version history

Revision ID: 0008_content
Revises: 0007_cases
Create Date: 2026-12-05 00:40:00

Existing records were loaded from a data pack and are public: they start "published".
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_content"
down_revision = "0007_cases"
branch_labels = None
depends_on = None

TABLES = ("policy", "site", "opportunity")
STATES = "publication IN ('draft', 'review', 'published', 'archived')"
ACTIONS = ("create", "edit", "submit", "return", "publish", "archive", "reopen", "restore",
           "import", "expire", "close", "translate", "load")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("publication", sa.String(16), nullable=False,
                                       server_default="published"))
            batch.add_column(sa.Column("publish_at", sa.DateTime(timezone=True)))
            batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True)))
            batch.add_column(sa.Column("reviewed_by_id", sa.Integer()))
            batch.add_column(sa.Column("updated_by_id", sa.Integer()))
            batch.create_foreign_key(f"fk_{table}_reviewed_by_id_user", "user",
                                     ["reviewed_by_id"], ["id"], ondelete="SET NULL")
            batch.create_foreign_key(f"fk_{table}_updated_by_id_user", "user",
                                     ["updated_by_id"], ["id"], ondelete="SET NULL")
            batch.create_check_constraint(op.f(f"ck_{table}_publication_valid"), STATES)
            batch.create_index(f"ix_{table}_publication", ["publication"])
    with op.batch_alter_table("policy") as batch:
        batch.add_column(sa.Column("comment_until", sa.Date()))
    quoted = ", ".join(f"'{a}'" for a in ACTIONS)
    op.create_table(
        "content_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("publication", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"action IN ({quoted})",
                           name=op.f("ck_content_version_action_valid")),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], ondelete="SET NULL",
                                name=op.f("fk_content_version_author_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_version")),
        sa.UniqueConstraint("kind", "record_id", "number", name="one_number_per_version"),
    )
    op.create_index("ix_content_version_record", "content_version", ["kind", "record_id"])


def downgrade():
    op.drop_index("ix_content_version_record", table_name="content_version")
    op.drop_table("content_version")
    with op.batch_alter_table("policy") as batch:
        batch.drop_column("comment_until")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_publication")
            batch.drop_constraint(op.f(f"ck_{table}_publication_valid"), type_="check")
            batch.drop_constraint(f"fk_{table}_updated_by_id_user", type_="foreignkey")
            batch.drop_constraint(f"fk_{table}_reviewed_by_id_user", type_="foreignkey")
            for column in ("updated_by_id", "reviewed_by_id", "reviewed_at", "publish_at",
                           "publication"):
                batch.drop_column(column)
