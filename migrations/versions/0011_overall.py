"""the scorecards' overall scores summed per store and month, kept at write time; built here
for existing data

Revision ID: 0011_overall
Revises: 0010_calibration

The SQL below is a frozen copy of `app.summaries.recompute_query("summary_store_overall")` as
of this revision: counted responses (approved mystery shops; submitted or approved customer
surveys) with an overall score.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_overall"
down_revision = "0010_calibration"
branch_labels = None
depends_on = None

KEYS = ("kind", "stage", "month", "store_id", "region_id")
MEASURES = ("n", "total", "squares", "critical", "pairs", "pair_x", "pair_y", "pair_xy",
            "pair_xx", "pair_yy")
COUNTED = ("((kind = 'mystery_shop' AND status = 'approved') OR "
           "(kind <> 'mystery_shop' AND status IN ('submitted', 'approved')))")


def upgrade() -> None:
    op.create_table(
        "summary_store_overall",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        *(sa.Column(m, sa.Integer() if m in ("n", "critical", "pairs") else sa.Float(),
                    nullable=False) for m in MEASURES),
        sa.PrimaryKeyConstraint(*KEYS),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_sso_store", "summary_store_overall", ["store_id", "kind", "month"])
    bind = op.get_bind()
    month = ("CAST(date_trunc('month', day) AS DATE)" if bind.dialect.name == "postgresql"
             else "date(day, 'start of month')")
    bind.execute(sa.text(
        f"INSERT INTO summary_store_overall ({', '.join(KEYS)}, {', '.join(MEASURES)}) "
        f"SELECT kind, stage, {month} AS month, store_id, region_id, count(*), sum(overall), "
        f"sum(overall * overall), 0, 0, 0, 0, 0, 0, 0 FROM response "
        f"WHERE overall IS NOT NULL AND {COUNTED} "
        f"GROUP BY kind, stage, {month}, store_id, region_id"))
    bind.execute(sa.text("ANALYZE summary_store_overall"))


def downgrade() -> None:
    op.drop_index("ix_sso_store", table_name="summary_store_overall")
    op.drop_table("summary_store_overall")
