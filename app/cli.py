"""Command line: `flask --app app surveys check|score|load`, `db upgrade`, `demo seed`,
`jobs worker`.

Every command reports problems as text and an exit code; none shows a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import db
from .domain.definitions import (
    DefinitionError,
    Taxonomy,
    check,
    definition_files,
    is_taxonomy_file,
    load_instrument,
    load_taxonomy,
)
from .domain.item_types import AnswerError
from .domain.scoring import score, validate_answers

surveys = AppGroup("surveys", help="Check, score and load instrument definitions.")
database = AppGroup("db", help="Database migrations.")
demo = AppGroup("demo", help="Demo data.")
jobs = AppGroup("jobs", help="Background jobs.")


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


def _taxonomy_for(paths: list[Path]) -> tuple[Taxonomy | None, list[str]]:
    """The touchpoints.yaml among the paths, else the one beside them, else the app's."""
    files = definition_files(paths)
    candidates = [f for f in files if is_taxonomy_file(f)]
    candidates += [f.parent / "touchpoints.yaml" for f in files]
    candidates.append(Path(current_app.config["SURVEYS_DIR"]) / "touchpoints.yaml")
    for candidate in candidates:
        if candidate.is_file():
            try:
                return load_taxonomy(candidate), []
            except DefinitionError as error:
                return None, [str(p) for p in error.problems]
    return None, []


@surveys.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def check_command(paths: tuple[Path, ...]) -> None:
    """Validate definition files (default: the surveys folder). Exit 1 on any problem."""
    targets = list(paths) or [Path(current_app.config["SURVEYS_DIR"])]
    taxonomy, taxonomy_problems = _taxonomy_for(targets)
    problems, instruments = check(targets, taxonomy)
    lines = sorted({*(str(p) for p in problems), *taxonomy_problems})
    for line in lines:
        click.echo(line)
    if lines:
        sys.exit(1)
    click.echo(f"ok: {len(definition_files(targets))} file(s), {len(instruments)} instrument(s)")


@surveys.command("score")
@click.argument("definition", type=click.Path(path_type=Path))
@click.argument("answers", type=click.Path(path_type=Path))
def score_command(definition: Path, answers: Path) -> None:
    """Score one response: DEFINITION.yaml ANSWERS.json -> scores as JSON."""
    taxonomy, _ = _taxonomy_for([definition])
    try:
        instrument = load_instrument(definition, taxonomy)
    except DefinitionError as error:
        _fail("\n".join(str(p) for p in error.problems))
    try:
        raw = json.loads(answers.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _fail(f"{answers}: no such file")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        _fail(f"{answers}: not valid JSON ({error})")
    if not isinstance(raw, dict):
        _fail(f"{answers}: answers must be a JSON object of item id -> answer")
    try:
        parsed = validate_answers(instrument, raw)
    except AnswerError as error:
        _fail(f"invalid answer for item '{error.item_id}': {error.message}")
    click.echo(json.dumps(score(instrument, parsed).as_json(), ensure_ascii=False))


@surveys.command("load")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def load_command(paths: tuple[Path, ...]) -> None:
    """Load touchpoints and instruments into the database as immutable versions."""
    from .instruments import VersionConflict
    from .instruments import load_instrument as store_instrument
    from .instruments import load_taxonomy as store_taxonomy

    targets = list(paths) or [Path(current_app.config["SURVEYS_DIR"])]
    taxonomy, taxonomy_problems = _taxonomy_for(targets)
    problems, instruments = check(targets, taxonomy)
    if taxonomy is None and not taxonomy_problems:
        taxonomy_problems = ["no touchpoints.yaml found: load the taxonomy first"]
    if problems or taxonomy_problems:
        _fail("\n".join(sorted({*(str(p) for p in problems), *taxonomy_problems})))
    with db.new_session() as session:
        store_taxonomy(session, taxonomy)
        results = []
        try:
            results = [store_instrument(session, instrument) for instrument in instruments]
        except VersionConflict as error:
            session.rollback()
            _fail(f"refused: {error}")
        session.commit()
    for result in results:
        click.echo(f"{result.instrument_id} v{result.version}: {result.status}")


@database.command("upgrade")
def upgrade_command() -> None:
    """Apply all migrations (safe to run again)."""
    from .migrate import upgrade

    if current_app.config["DATABASE_URL"].startswith("sqlite"):
        Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
    upgrade(db.engine())
    click.echo("database is up to date")


@demo.command("seed")
@click.option("--months", default=6, show_default=True)
@click.option("--seed", "random_seed", default=20261121, show_default=True)
def seed_command(months: int, random_seed: int) -> None:
    """Demo network, one user per role and scored history (skipped if already seeded)."""
    from .demo import DEMO_LOGINS, seed

    with db.new_session() as session:
        created = seed(session, months=months, random_seed=random_seed)
    click.echo("demo data: " + ("created " + created if created else "already present"))
    click.echo("demo logins (username / password):")
    for role, (username, password) in DEMO_LOGINS.items():
        click.echo(f"  {role:<9} {username} / {password}")


@jobs.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
def worker_command(burst: bool) -> None:
    """Run background jobs from the Redis queue (REDIS_URL) until stopped."""
    from .jobs import run_worker

    if not current_app.config["REDIS_URL"]:
        _fail("REDIS_URL is not set: without a queue, jobs run inside the app process (make run)")
    run_worker(current_app._get_current_object(), burst=burst)


def init_app(app: Flask) -> None:
    app.cli.add_command(jobs)
    app.cli.add_command(surveys)
    app.cli.add_command(database)
    app.cli.add_command(demo)
