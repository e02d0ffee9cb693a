"""`flask --app app calibration fit [--period P] [--stage S]`: compute and store fits now (in
this process, not on the queue), e.g. after an import or on a schedule."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask.cli import AppGroup

from ..domain.ranking import parse_period
from ..models import CALIBRATION_STAGES
from .compute import calibrate, rolling_window

group = AppGroup("calibration", help="Shopper calibration: fit and store store scores.")


def _window(text: str | None, today: date) -> tuple[date, date, bool] | None:
    if not text or text == "recent":
        return (*rolling_window(today), True)
    if ".." in text:
        start, _sep, end = text.partition("..")
        period = parse_period(None, start, end, today=today)
    else:
        period = parse_period(text, today=today)
    return None if period is None else (period.start, period.end, False)


@group.command("fit")
@click.option("--period", help="2025-05, 2025-Q2, 2025-01-01..2025-03-31 or recent "
              "(the dashboard's default: the last 90 days; also without --period)")
@click.option("--stage", type=click.Choice(CALIBRATION_STAGES), multiple=True,
              help="default: sales, aftersales and all (the overall score of both)")
@click.option("--force", is_flag=True, help="fit again even when the data did not change")
def fit_command(period: str | None, stage: tuple[str, ...], force: bool) -> None:
    """Fit the period's approved mystery shops and store the result."""
    window = _window(period, date.today())
    if window is None:
        click.echo(f"--period {period!r}: expected 2025-05, 2025-Q2, FROM..TO or recent",
                   err=True)
        sys.exit(1)
    start, end, rolling = window
    for name in stage or CALIBRATION_STAGES:
        done = calibrate(name, start.isoformat(), end.isoformat(), rolling, force)
        if done.get("unchanged"):
            click.echo(f"{name} {start}..{end}: unchanged since the stored fit")
        else:
            click.echo(f"{name} {start}..{end}: {done['visits']} visits, "
                       f"{done['measures']} measures, {done['seconds']:.2f} s")
