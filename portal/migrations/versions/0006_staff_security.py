"""staff security: revocable sessions, lockout, departments, shared rate limits, bound
idempotency keys, append-only audit trail

Revision ID: 0006_staff_security
Revises: 0005_sealed_code
Create Date: 2026-12-04 21:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0006_staff_security'
down_revision = '0005_sealed_code'
branch_labels = None
depends_on = None

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""


def upgrade():
    op.create_table(
        'department',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slug', sa.String(length=80), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=True),
        sa.Column('sort_order', sa.Integer(), nullable=False),
        sa.Column('translations', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['region_id'], ['region.id'],
                                name=op.f('fk_department_region_id_region')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
        sa.UniqueConstraint('slug', name=op.f('uq_department_slug')),
    )
    op.create_table(
        'rate_limit_counter',
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counter')),
    )
    with op.batch_alter_table('rate_limit_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_counter_expires_at'), ['expires_at'],
                              unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True),
                                      nullable=True))
    users = sa.table('user', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id)
                     .values(session_token=secrets.token_urlsafe(32)))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_user_session_token'),
                                          ['session_token'])
        batch_op.create_foreign_key(batch_op.f('fk_user_department_id_department'),
                                    'department', ['department_id'], ['id'])
        batch_op.create_check_constraint(
            op.f('ck_user_department_role_scoped'), "role <> 'department' OR department_id IS NOT NULL")
        batch_op.create_check_constraint(op.f('ck_user_failed_logins_non_negative'), 'failed_logins >= 0')

    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('idempotency_fingerprint', sa.String(length=64),
                                      server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_complaint_department_id'), ['department_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_complaint_department_id_department'),
                                    'department', ['department_id'], ['id'])
    with op.batch_alter_table('demand', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_fingerprint', sa.String(length=64),
                                      server_default='', nullable=False))

    if conn.dialect.name == 'postgresql':
        op.execute(APPEND_ONLY)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    with op.batch_alter_table('demand', schema=None) as batch_op:
        batch_op.drop_column('idempotency_fingerprint')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_complaint_department_id_department'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_complaint_department_id'))
        batch_op.drop_column('idempotency_fingerprint')
        batch_op.drop_column('department_id')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_failed_logins_non_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_user_department_role_scoped'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_user_department_id_department'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_user_session_token'), type_='unique')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('session_token')
        batch_op.drop_column('department_id')
    with op.batch_alter_table('rate_limit_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_counter_expires_at'))
    op.drop_table('rate_limit_counter')
    op.drop_table('department')
