"""Network administration: nested regions, store details, manager and shopper regions,
one-time passwords, monthly rounds, response history and positions, published instruments,
one report per assignment.

Revision ID: 0006_network
Revises: 0005_summaries
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_network"
down_revision = "0005_summaries"
branch_labels = None
depends_on = None


def _add(table: str, column: sa.Column, references: str | None = None) -> None:
    """Add a column, with its foreign key. SQLite takes the key inline in ADD COLUMN (Alembic
    would otherwise copy the whole table, which a referenced table with rows refuses)."""
    if references is None:
        op.add_column(table, column)
        return
    if op.get_bind().dialect.name == "sqlite":
        target, key = references.split(".")
        op.execute(f'ALTER TABLE "{table}" ADD COLUMN {column.name} INTEGER '
                   f'REFERENCES "{target}" ({key})')
        return
    op.add_column(table, column)
    target, key = references.split(".")
    op.create_foreign_key(f"{table}_{column.name}_fkey", table, target, [column.name], [key])


def _flag(name: str, default: bool) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.true() if default
                     else sa.false())


def upgrade() -> None:
    _add("region", sa.Column("parent_id", sa.Integer(), nullable=True), "region.id")
    op.create_index("ix_region_parent_id", "region", ["parent_id"])
    _add("region", _flag("active", True))

    _add("store", sa.Column("address", sa.String(length=300), nullable=False, server_default=""))
    _add("store", sa.Column("latitude", sa.Float(), nullable=True))
    _add("store", sa.Column("longitude", sa.Float(), nullable=True))
    _add("store", sa.Column("deactivated_on", sa.Date(), nullable=True))

    _add("user", sa.Column("email", sa.String(length=200), nullable=False, server_default=""))
    _add("user", _flag("must_change_password", False))
    _add("user", sa.Column("monthly_capacity", sa.Integer(), nullable=False, server_default="0"))

    for name in ("manager_region", "shopper_region"):
        op.create_table(
            name,
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("region_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["region_id"], ["region.id"]),
            sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
            sa.PrimaryKeyConstraint("user_id", "region_id"),
        )
    op.create_table(
        "shopper_conflict",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("user_id", "store_id"),
    )

    _add("instrument_version", sa.Column("status", sa.String(length=16), nullable=False,
                                         server_default="published"))
    _add("instrument_version", sa.Column("effective_on", sa.Date(), nullable=True))
    _add("instrument_version", sa.Column("approved_by", sa.Integer(), nullable=True), "user.id")
    _add("instrument_version", sa.Column("approved_at", sa.DateTime(timezone=True),
                                         nullable=True))

    op.create_table(
        "round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("instrument_version_id", sa.Integer(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("exclusion_months", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["instrument_version_id"], ["instrument_version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "round_quota",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.PrimaryKeyConstraint("round_id", "region_id"),
    )
    _add("assignment", sa.Column("round_id", sa.Integer(), nullable=True), "round.id")
    op.create_index("ix_assignment_round_id", "assignment", ["round_id"])
    _add("assignment", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))

    for moment in ("start", "submit"):
        for part in ("lat", "lon", "accuracy"):
            _add("response", sa.Column(f"{moment}_{part}", sa.Float(), nullable=True))
    # one report per assignment, held by the database
    op.drop_index("ix_response_assignment_id", table_name="response")
    op.create_index("ix_response_assignment_id", "response", ["assignment_id"], unique=True)

    op.create_table(
        "response_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["response_id"], ["response.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_response_event_response_id", "response_event", ["response_id"])


def _drop(table: str, *columns: str) -> None:
    """Drop columns in place. On SQLite a batch copy would drop and recreate the table, which
    a table referenced by rows (response, store, user) refuses with foreign keys on."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for column in columns:
        if sqlite:
            op.execute(f'ALTER TABLE "{table}" DROP COLUMN {column}')
        else:
            op.drop_column(table, column)


def downgrade() -> None:
    op.drop_index("ix_response_event_response_id", table_name="response_event")
    op.drop_table("response_event")
    op.drop_index("ix_response_assignment_id", table_name="response")
    op.create_index("ix_response_assignment_id", "response", ["assignment_id"])
    _drop("response", *[f"{m}_{p}" for m in ("start", "submit")
                         for p in ("lat", "lon", "accuracy")])
    op.drop_index("ix_assignment_round_id", table_name="assignment")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("assignment_round_id_fkey", "assignment", type_="foreignkey")
        op.drop_constraint("instrument_version_approved_by_fkey", "instrument_version",
                           type_="foreignkey")
        op.drop_constraint("region_parent_id_fkey", "region", type_="foreignkey")
    _drop("assignment", "round_id", "cancelled_at")
    op.drop_table("round_quota")
    op.drop_table("round")
    _drop("instrument_version", "status", "effective_on", "approved_by", "approved_at")
    op.drop_table("shopper_conflict")
    op.drop_table("shopper_region")
    op.drop_table("manager_region")
    _drop("user", "email", "must_change_password", "monthly_capacity")
    _drop("store", "address", "latitude", "longitude", "deactivated_on")
    op.drop_index("ix_region_parent_id", table_name="region")
    _drop("region", "parent_id", "active")
