"""The fit a page shows: the stored one (`queries.find_fit`), and a request to compute it
(`compute.request`, debounced) when it is missing or older than the data. Never a fit here."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from . import compute, queries
from .queries import FitRef, is_rolling


def for_view(session: Session, stage: str, start: date, end: date, *, today: date
             ) -> FitRef | None:
    """The fit to show for the stage and period, asking for a fresh one when needed."""
    found = queries.find_fit(session, stage, start, end, today=today)
    if found is None or not found.current:
        compute.request(stage, start, end, rolling=is_rolling(start, end, today))
    return found


def for_stages(session: Session, stages, start: date, end: date, *, today: date
               ) -> dict[str, FitRef | None]:
    """{stage: fit} for a scorecard (the overall score's `all`, and each stage)."""
    return {stage: for_view(session, stage, start, end, today=today) for stage in stages}
