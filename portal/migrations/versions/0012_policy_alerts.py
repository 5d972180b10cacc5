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
    # --- service chain: how to use each service (H5) ---
    _service_link_upgrade()
    # --- policy alerts (H6) ---
    _alerts_upgrade()


def downgrade():
    # --- policy alerts (H6) ---
    _alerts_downgrade()
    # --- service chain (H5) ---
    _service_link_downgrade()


# --- service chain: who provides a service, how to use it, staff-only notes -------------------

SERVICE_LINK_TEXTS = (("department", 200), ("phone", 80), ("address", 300), ("hours", 200),
                      ("policy_key", 80), ("portal_path", 300), ("portal_label", 120))


def _service_link_upgrade():
    with op.batch_alter_table("service_link", schema=None) as batch_op:
        for name, length in SERVICE_LINK_TEXTS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False,
                                          server_default=""))
        batch_op.add_column(sa.Column("operator_note", sa.Text(), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("is_demo", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def _service_link_downgrade():
    with op.batch_alter_table("service_link", schema=None) as batch_op:
        for name in ("is_demo", "operator_note",
                     *(name for name, _length in reversed(SERVICE_LINK_TEXTS))):
            batch_op.drop_column(name)


# --- policy alerts: subscriptions, policies that went live, what was sent (H6) ---------------


def _alerts_upgrade():
    op.create_table(
        "alert_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'active')",
                           name=op.f("ck_alert_subscription_state_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_subscription")),
    )
    op.create_index(op.f("ix_alert_subscription_email"), "alert_subscription", ["email"])
    op.create_table(
        "policy_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["policy_id"], ["policy.id"], ondelete="CASCADE",
                                name=op.f("fk_policy_release_policy_id_policy")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_release")),
    )
    op.create_index(op.f("ix_policy_release_policy_id"), "policy_release", ["policy_id"])
    op.create_index(op.f("ix_policy_release_announced_at"), "policy_release",
                    ["announced_at"])
    op.create_table(
        "alert_delivery",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["alert_subscription.id"],
                                ondelete="CASCADE",
                                name=op.f("fk_alert_delivery_subscription_id_alert_subscription")),
        sa.ForeignKeyConstraint(["policy_id"], ["policy.id"], ondelete="CASCADE",
                                name=op.f("fk_alert_delivery_policy_id_policy")),
        sa.PrimaryKeyConstraint("subscription_id", "policy_id", name=op.f("pk_alert_delivery")),
    )


def _alerts_downgrade():
    op.drop_table("alert_delivery")
    op.drop_index(op.f("ix_policy_release_announced_at"), table_name="policy_release")
    op.drop_index(op.f("ix_policy_release_policy_id"), table_name="policy_release")
    op.drop_table("policy_release")
    op.drop_index(op.f("ix_alert_subscription_email"), table_name="alert_subscription")
    op.drop_table("alert_subscription")
