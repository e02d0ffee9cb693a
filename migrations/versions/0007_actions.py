"""corrective actions, appeals, targets, report batches

Revision ID: 0007_actions
Revises: 0006_network
"""
import sqlalchemy as sa
from alembic import op


revision = '0007_actions'
down_revision = '0006_network'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('touchpoint_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('touchpoint_id', sa.String(length=64), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.ForeignKeyConstraint(['touchpoint_id'], ['touchpoint.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('touchpoint_id', 'region_id', 'store_id')
    )
    op.create_table('appeal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('overall_before', sa.Float(), nullable=True),
    sa.Column('overall_after', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['opened_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeal_response_id'), ['response_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeal_store_id'), ['store_id'], unique=False)

    op.create_table('corrective_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('touchpoint_id', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('trigger_key', sa.String(length=120), nullable=True),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('trigger_note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('root_cause', sa.String(length=32), nullable=False),
    sa.Column('whys', sa.Text(), nullable=False),
    sa.Column('plan', sa.Text(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['opened_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.ForeignKeyConstraint(['touchpoint_id'], ['touchpoint.id'], ),
    sa.ForeignKeyConstraint(['verified_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('trigger_key')
    )
    with op.batch_alter_table('corrective_action', schema=None) as batch_op:
        batch_op.create_index('ix_action_store_status', ['store_id', 'status', 'due_at'], unique=False)

    op.create_table('response_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('answers', sa.Text(), nullable=False),
    sa.Column('scores', sa.Text(), nullable=False),
    sa.Column('overall', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('response_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_revision_response_id'), ['response_id'], unique=False)

    op.create_table('action_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['corrective_action.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('action_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_event_action_id'), ['action_id'], unique=False)

    op.create_table('action_photo',
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['corrective_action.id'], ),
    sa.ForeignKeyConstraint(['sha256'], ['photo.sha256'], ),
    sa.PrimaryKeyConstraint('action_id', 'sha256')
    )
    op.create_table('appeal_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('value_before', sa.Text(), nullable=False),
    sa.Column('value_after', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeal.id'], ),
    sa.ForeignKeyConstraint(['sha256'], ['photo.sha256'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('appeal_id', 'item_id')
    )
    with op.batch_alter_table('appeal_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeal_item_appeal_id'), ['appeal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('appeal_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeal_item_appeal_id'))

    op.drop_table('appeal_item')
    op.drop_table('action_photo')
    with op.batch_alter_table('action_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_event_action_id'))

    op.drop_table('action_event')
    with op.batch_alter_table('response_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_revision_response_id'))

    op.drop_table('response_revision')
    with op.batch_alter_table('corrective_action', schema=None) as batch_op:
        batch_op.drop_index('ix_action_store_status')

    op.drop_table('corrective_action')
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeal_store_id'))
        batch_op.drop_index(batch_op.f('ix_appeal_response_id'))

    op.drop_table('appeal')
    op.drop_table('touchpoint_target')
    op.drop_table('report_batch')
