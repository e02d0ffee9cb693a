"""server-side login sessions; atomic per-device repeat claims for store QR codes

Revision ID: 0004_sessions
Revises: 0007_actions
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_sessions"
down_revision = "0007_actions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])
    op.create_table(
        "survey_device_claim",
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("device", "store_id", "instrument_id"),
    )


def downgrade() -> None:
    op.drop_table("survey_device_claim")
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
