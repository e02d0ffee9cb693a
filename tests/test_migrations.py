"""Migrations build the schema the models describe, on empty SQLite and PostgreSQL."""

from sqlalchemy import inspect
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.migrate import downgrade, upgrade


def test_upgrade_creates_every_table_and_downgrade_removes_them(bare_app):
    engine = bare_app.extensions["engine"]
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    upgrade(engine)  # running again is safe
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())


def test_models_and_migrations_agree(bare_app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = bare_app.extensions["engine"]
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []
