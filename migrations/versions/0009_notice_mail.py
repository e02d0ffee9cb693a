"""the notices already e-mailed to each user (a digest sends only new ones)

Revision ID: 0009_notice_mail
Revises: 0008_recent
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_notice_mail"
down_revision = "0008_recent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_mail",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("notice_mail")
