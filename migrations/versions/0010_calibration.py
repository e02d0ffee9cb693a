"""stored fits of the shopper calibration: per stage and period, the variance components of
each measure, every store's calibrated score with its rank interval, every shopper's harshness

Revision ID: 0010_calibration
Revises: 0009_notice_mail

Empty at first: the fits are computed in the background (app/calibration/) when a view or
`flask --app app calibration fit` asks for them.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_calibration"
down_revision = "0009_notice_mail"
branch_labels = None
depends_on = None


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False)


def _float(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=nullable)


def _flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _fit_key() -> list[sa.Column]:
    return [_int("fit_id"), sa.Column("measure", sa.String(length=64), nullable=False)]


def upgrade() -> None:
    # how many visits were approved since a fit's data were read: a range look-up
    op.create_index("ix_response_reviewed", "response", ["status", "reviewed_at"])
    op.create_table(
        "calibration_fit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        _flag("rolling"),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_stamp", sa.String(length=120), nullable=False),
        _int("visits"), _int("stores"), _int("shoppers"), _float("seconds"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stage", "period_start", "period_end"),
    )
    op.create_index("ix_cfit_rolling", "calibration_fit", ["stage", "rolling", "period_end"])
    op.create_table(
        "calibration_component",
        *_fit_key(),
        _float("store_var"), _float("shopper_var"), _float("visit_var"), _float("mean"),
        _int("visits"), _int("stores"), _flag("fallback"), _float("best_quartile", True),
        _float("reliability_now"), _int("visits_for_70"), _int("visits_for_80"),
        sa.ForeignKeyConstraint(["fit_id"], ["calibration_fit.id"]),
        sa.PrimaryKeyConstraint("fit_id", "measure"),
    )
    op.create_table(
        "calibration_store",
        _int("fit_id"), _int("store_id"), sa.Column("measure", sa.String(length=64), nullable=False),
        _int("region_id"), _int("visits"),
        _float("raw_mean"), _float("calibrated"), _float("sd"), _float("reliability"),
        _int("rank"), _int("rank_low"), _int("rank_high"), _int("ranked"),
        _int("region_rank"), _int("region_low"), _int("region_high"), _int("region_ranked"),
        _flag("separable"), _flag("weakest"),
        sa.ForeignKeyConstraint(["fit_id"], ["calibration_fit.id"]),
        sa.PrimaryKeyConstraint("fit_id", "store_id", "measure"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_cstore_order", "calibration_store", ["fit_id", "measure", "calibrated"])
    op.create_index("ix_cstore_weakest", "calibration_store",
                    ["fit_id", "weakest", "measure", "calibrated"])
    op.create_table(
        "calibration_shopper",
        *_fit_key(),
        _int("shopper_id"), _int("visits"), _int("stores"),
        _float("harshness"), _float("low"), _float("high"), _flag("outlier"),
        sa.ForeignKeyConstraint(["fit_id"], ["calibration_fit.id"]),
        sa.PrimaryKeyConstraint("fit_id", "measure", "shopper_id"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("calibration_shopper")
    op.drop_index("ix_cstore_weakest", table_name="calibration_store")
    op.drop_index("ix_cstore_order", table_name="calibration_store")
    op.drop_table("calibration_store")
    op.drop_table("calibration_component")
    op.drop_index("ix_cfit_rolling", table_name="calibration_fit")
    op.drop_table("calibration_fit")
    op.drop_index("ix_response_reviewed", table_name="response")
