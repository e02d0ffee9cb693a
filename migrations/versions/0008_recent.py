"""the dashboard's default period (the last 90 days) summed per store, kept at write time;
built here for existing data

Revision ID: 0008_recent
Revises: 0004_sessions

The SQL below is a frozen copy of `app.recent.recompute_query` as of this revision.
"""
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0008_recent"
down_revision = "0004_sessions"
branch_labels = None
depends_on = None

DAYS = 90
KEYS = ("kind", "stage", "store_id", "region_id", "touchpoint_id")
MEASURES = ("n", "total", "squares", "critical", "pairs", "pair_x", "pair_y", "pair_xy",
            "pair_xx", "pair_yy")
MEASURE_SQL = (
    "count(*), sum(score), sum(score * score), "
    "sum(CASE WHEN critical_failed THEN 1 ELSE 0 END), count(outcome), "
    "coalesce(sum(CASE WHEN outcome IS NOT NULL THEN score ELSE 0.0 END), 0), "
    "coalesce(sum(outcome), 0), coalesce(sum(score * outcome), 0), "
    "coalesce(sum(CASE WHEN outcome IS NOT NULL THEN score * score ELSE 0.0 END), 0), "
    "coalesce(sum(outcome * outcome), 0)"
)


def upgrade() -> None:
    op.create_table(
        "summary_store_recent",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("touchpoint_id", sa.String(length=64), nullable=False),
        *(sa.Column(m, sa.Integer() if m in ("n", "critical", "pairs") else sa.Float(),
                    nullable=False) for m in MEASURES),
        sa.PrimaryKeyConstraint(*KEYS),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_ssr_region", "summary_store_recent", ["region_id", "kind", "stage"])
    op.create_table(
        "summary_recent_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    last = date.today()
    first = last - timedelta(days=DAYS - 1)
    bind = op.get_bind()
    bind.execute(sa.text(
        f"INSERT INTO summary_store_recent ({', '.join(KEYS)}, {', '.join(MEASURES)}) "
        f"SELECT {', '.join(KEYS)}, {MEASURE_SQL} FROM touchpoint_score "
        f"WHERE counted AND day >= :first AND day <= :last GROUP BY {', '.join(KEYS)}"
    ), {"first": first, "last": last})
    bind.execute(sa.text("INSERT INTO summary_recent_window (id, last_day, days) "
                         "VALUES (1, :last, :days)"), {"last": last, "days": DAYS})
    # statistics for the planner at once (on PostgreSQL a lookup of a few stores otherwise
    # scans the whole (kind, stage) range until autovacuum comes by)
    bind.execute(sa.text("ANALYZE summary_store_recent"))


def downgrade() -> None:
    op.drop_table("summary_recent_window")
    op.drop_index("ix_ssr_region", table_name="summary_store_recent")
    op.drop_table("summary_store_recent")
