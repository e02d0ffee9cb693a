"""summary rows kept at write time (per store and month, per region and month, per region and
day), and each touchpoint score's outcome answer; both built here for existing data

Revision ID: 0005_summaries
Revises: 0003

The SQL below is a frozen copy of `app.summaries.recompute_query` as of this revision, so the
migration does not change when the app does.
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0005_summaries"
down_revision = "0003"
branch_labels = None
depends_on = None

MEASURES = ("n", "total", "squares", "critical", "pairs", "pair_x", "pair_y", "pair_xy",
            "pair_xx", "pair_yy")
TABLES = {
    "summary_store_month": ("kind", "stage", "month", "store_id", "region_id", "touchpoint_id"),
    "summary_region_month": ("kind", "stage", "month", "region_id", "touchpoint_id"),
    "summary_region_day": ("kind", "stage", "day", "region_id", "touchpoint_id"),
}
KEY_TYPES = {
    "kind": sa.String(length=32), "stage": sa.String(length=16), "month": sa.Date(),
    "day": sa.Date(), "store_id": sa.Integer(), "region_id": sa.Integer(),
    "touchpoint_id": sa.String(length=64),
}
MEASURE_SQL = (
    "count(*), sum(score), sum(score * score), "
    "sum(CASE WHEN critical_failed THEN 1 ELSE 0 END), count(outcome), "
    "coalesce(sum(CASE WHEN outcome IS NOT NULL THEN score ELSE 0.0 END), 0), "
    "coalesce(sum(outcome), 0), coalesce(sum(score * outcome), 0), "
    "coalesce(sum(CASE WHEN outcome IS NOT NULL THEN score * score ELSE 0.0 END), 0), "
    "coalesce(sum(outcome * outcome), 0)"
)


def _outcome_items(bind) -> list[tuple[int, str]]:
    """(version id, outcome item id) of customer surveys whose outcome item is numeric."""
    found = []
    rows = bind.execute(sa.text(
        "SELECT id, definition FROM instrument_version WHERE kind = 'customer_survey'"))
    for version_id, raw in rows:
        definition = json.loads(raw)
        outcome = definition.get("outcome")
        for section in definition.get("sections", []):
            for item in section.get("items", []):
                if item.get("id") == outcome and item.get("type") in ("scale", "nps", "number"):
                    found.append((version_id, outcome))
    return found


def upgrade() -> None:
    with op.batch_alter_table("touchpoint_score") as batch:
        batch.add_column(sa.Column("outcome", sa.Float(), nullable=True))
    bind = op.get_bind()
    for version_id, item_id in _outcome_items(bind):
        bind.execute(sa.text(
            "UPDATE touchpoint_score SET outcome = ("
            " SELECT CAST(a.value AS FLOAT) FROM answer a"
            " WHERE a.response_id = touchpoint_score.response_id AND a.item_id = :item"
            " AND a.value NOT LIKE '\"%' AND a.value <> 'null')"
            " WHERE response_id IN (SELECT id FROM response WHERE instrument_version_id = :v)"
        ), {"item": item_id, "v": version_id})

    for name, keys in TABLES.items():
        op.create_table(
            name,
            *(sa.Column(k, KEY_TYPES[k], nullable=False) for k in keys),
            *(sa.Column(m, sa.Integer() if m in ("n", "critical", "pairs") else sa.Float(),
                        nullable=False) for m in MEASURES),
            sa.PrimaryKeyConstraint(*keys),
            sqlite_with_rowid=False,  # SQLite: rows clustered by key, ranges read in order
        )
    op.create_index("ix_ssm_store", "summary_store_month", ["store_id", "kind", "stage", "month"])
    op.create_index("ix_ssm_region", "summary_store_month",
                    ["region_id", "kind", "stage", "month"])

    month = ("CAST(date_trunc('month', day) AS date)" if bind.dialect.name == "postgresql"
             else "date(day, 'start of month')")
    for name, keys in TABLES.items():
        select_keys = ", ".join(month if k == "month" else k for k in keys)
        bind.execute(sa.text(
            f"INSERT INTO {name} ({', '.join(keys)}, {', '.join(MEASURES)}) "
            f"SELECT {select_keys}, {MEASURE_SQL} FROM touchpoint_score WHERE counted "
            f"GROUP BY {select_keys}"
        ))


def downgrade() -> None:
    op.drop_index("ix_ssm_region", table_name="summary_store_month")
    op.drop_index("ix_ssm_store", table_name="summary_store_month")
    for name in reversed(list(TABLES)):
        op.drop_table(name)
    with op.batch_alter_table("touchpoint_score") as batch:
        batch.drop_column("outcome")
