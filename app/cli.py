"""Command line: `flask --app app surveys check|score|load`, `db upgrade`, `demo seed`,
`aggregates verify|rebuild`, `jobs worker`.

Every command reports problems as text and an exit code; none shows a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

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
actions_group = AppGroup("actions", help="Corrective actions.")
network = AppGroup("network", help="Import and export regions, stores and users.")
aggregates = AppGroup("aggregates", help="Check or repair the dashboard's summary rows.")
jobs = AppGroup("jobs", help="Background jobs.")
notices_group = AppGroup("notices", help="Notices for managers.")


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
@click.option("--publish", is_flag=True,
              help="Publish the loaded versions (otherwise they stay drafts for review).")
@click.option("--effective", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="With --publish: the day they take effect (default today).")
def load_command(paths: tuple[Path, ...], publish: bool, effective) -> None:
    """Load touchpoints and instruments into the database as immutable versions (drafts
    unless --publish)."""
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
            results = [store_instrument(session, instrument, publish=publish,
                                        effective_on=effective.date() if effective else None)
                       for instrument in instruments]
        except VersionConflict as error:
            session.rollback()
            _fail(f"refused: {error}")
        session.commit()
    for result in results:
        state = "" if publish or result.status != "added" else " (draft: publish it to use it)"
        click.echo(f"{result.instrument_id} v{result.version}: {result.status}{state}")


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
    from .demo_loop import STORE_LOGIN

    with db.new_session() as session:
        created = seed(session, months=months, random_seed=random_seed,
                       storage=current_app.extensions["storage"])
    click.echo("demo data: " + ("created " + created if created else "already present"))
    click.echo("demo logins (username / password):")
    for role, (username, password) in DEMO_LOGINS.items():
        click.echo(f"  {role:<9} {username} / {password}")
    click.echo(f"  {'store':<9} {STORE_LOGIN[0]} / {STORE_LOGIN[1]}  (manager of one store)")


@actions_group.command("check")
@click.option("--month", default=None, help="YYYY-MM (default: this month)")
def actions_check_command(month: str | None) -> None:
    """Open corrective actions for store touchpoints clearly below target in MONTH and the
    month before (also run at each approval; safe to repeat: each is opened once)."""
    from datetime import date

    from . import actions

    try:
        day = date.fromisoformat(f"{month}-01") if month else date.today()
    except ValueError:
        _fail(f"--month: '{month}' is not YYYY-MM")
    with db.new_session() as session:
        opened = actions.open_for_targets(
            session, settings=actions.Settings.of(current_app.config), month=day)
        session.commit()
    click.echo(f"actions opened: {len(opened)}")


@notices_group.command("mail")
def notices_mail_command() -> None:
    """E-mail each manager with an address the notices in their scope not mailed before
    (run it daily from cron; a second run sends nothing new)."""
    from .notice_mail import MailError, MailSettings, send_digests

    settings = MailSettings.of(current_app.config)
    if settings is None:
        _fail("MAIL_SERVER is not set: give the mail server as host[:port]")
    try:
        with db.new_session() as session:
            sent = send_digests(session, settings)
    except MailError as error:
        _fail(str(error))
    click.echo(f"notices mailed: {sent} message(s)")


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@with_appcontext
def backup_command(dest: Path) -> None:
    """Back up the database (SQLite online backup, or pg_dump) and the photos into DEST."""
    from .backup import BackupError, backup

    try:
        result = backup(current_app.config["DATABASE_URL"], current_app.config["STORAGE_DIR"],
                        dest)
    except BackupError as error:
        _fail(f"backup failed: {error}")
    click.echo(f"database: {result.database}")
    if current_app.config.get("STORAGE_URL"):  # object storage: its own versioning/replication
        click.echo(f"photos: in {current_app.config['STORAGE_URL']}, back up the bucket itself")
    else:
        click.echo(f"photos: {result.photos} file(s) in {dest / 'photos'}")


@network.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and count; write nothing.")
@click.option("--deactivate-missing", is_flag=True,
              help="Deactivate stores (or users) that the file does not list.")
def network_import_command(file: Path, dry_run: bool, deactivate_missing: bool) -> None:
    """Import a stores or users file (CSV or XLSX; the header tells which)."""
    from .network.importer import import_network

    try:
        data = file.read_bytes()
    except OSError:
        _fail(f"{file}:1: no such file")
    with db.new_session() as session:
        result = import_network(session, data, file.name, dry_run=dry_run,
                                deactivate_missing=deactivate_missing)
    if not result.ok:
        _fail("\n".join(p.line(str(file)) for p in result.file.problems))
    for line in result.lines():
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing written")
    for username, password in result.passwords.items():
        click.echo(f"one-time password for {username}: {password}")
    if result.passwords:
        click.echo("(shown once; each user must change it at first login)")


@network.command("export")
@click.argument("kind", type=click.Choice(["stores", "users"]))
@click.argument("file", type=click.Path(path_type=Path))
def network_export_command(kind: str, file: Path) -> None:
    """Write the stores or users as CSV or XLSX (by the file's suffix), in the import's columns."""
    from .network.exporter import store_rows, table_bytes, user_rows

    with db.new_session() as session:
        rows = list((store_rows if kind == "stores" else user_rows)(session))
    file.write_bytes(table_bytes(rows, xlsx=file.suffix.lower() == ".xlsx", title=kind))
    click.echo(f"{kind}: {len(rows) - 1} rows written to {file}")
@aggregates.command("verify")
def verify_command() -> None:
    """Recompute every summary row from the per-response scores; print the rows that differ
    and exit 1 if any does."""
    from .summaries import verify

    with db.new_session() as session:
        differences = verify(session)
    for difference in differences:
        click.echo(str(difference))
    if differences:
        _fail(f"{len(differences)} summary row(s) differ: "
              "run `flask --app app aggregates rebuild` to repair them")
    click.echo("summaries: ok")


@aggregates.command("rebuild")
def rebuild_command() -> None:
    """Replace every summary row with a recomputation from the per-response scores."""
    from .summaries import rebuild, verify

    with db.new_session() as session:
        rebuild(session)
        session.commit()
        left = verify(session)
    if left:
        _fail(f"{len(left)} summary row(s) still differ after the rebuild")
    click.echo("summaries: rebuilt")


@jobs.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
def worker_command(burst: bool) -> None:
    """Run background jobs from the Redis queue (REDIS_URL) until stopped."""
    from .jobs import run_worker

    if not current_app.config["REDIS_URL"]:
        _fail("REDIS_URL is not set: without a queue, jobs run inside the app process (make run)")
    run_worker(current_app._get_current_object(), burst=burst)


def init_app(app: Flask) -> None:
    from .calibration.cli import group as calibration

    app.cli.add_command(calibration)
    app.cli.add_command(backup_command)
    app.cli.add_command(actions_group)
    app.cli.add_command(notices_group)
    app.cli.add_command(network)
    app.cli.add_command(jobs)
    app.cli.add_command(surveys)
    app.cli.add_command(database)
    app.cli.add_command(demo)
    app.cli.add_command(aggregates)
