"""The "about these numbers" panel and the planner: a fit's variance components in the
words a quality director reads (points, shares, reliability, visits needed)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from ..models import OVERALL, Touchpoint
from . import queries


def _stages(stage: str) -> tuple[str, ...]:
    return ("sales", "aftersales") if stage == "all" else (stage,)


@dataclass(frozen=True)
class AboutLine:
    """One measure's variance components, in the words of the "about these numbers" panel."""

    touchpoint: object | None  # Touchpoint; None for the overall score
    store_sd: float  # how far stores truly differ (points, one standard deviation)
    shopper_sd: float  # how far shoppers differ
    visit_sd: float  # how far two visits to one store differ beyond those
    shopper_share: float  # the shoppers' part of all the differences between visits
    reliability: float  # of a store's score at the mean visits per store
    visits_per_store: float
    visits_for_70: int
    visits_for_80: int
    k: float
    fallback: bool


def about(session: Session, fit_id: int, stage: str) -> list[AboutLine]:
    """The fit's variance components per touchpoint of the stage (and overall), overall
    first, then in the touchpoints' order."""
    labels = {tp.id: tp for tp in session.exec(
        select(Touchpoint).where(Touchpoint.stage.in_(_stages(stage))).order_by(
            Touchpoint.stage.desc(), Touchpoint.position))}
    out = []
    for measure, c in queries.components(session, fit_id).items():
        if measure not in labels and measure != OVERALL:
            continue
        total = c.store_var + c.shopper_var + c.visit_var
        out.append(AboutLine(
            labels.get(measure), c.store_var ** 0.5, c.shopper_var ** 0.5, c.visit_var ** 0.5,
            c.shopper_var / total if total else 0.0, c.reliability_now,
            c.visits / c.stores if c.stores else 0.0, c.visits_for_70, c.visits_for_80,
            c.visit_var / c.store_var if c.store_var else 0.0, c.fallback))
    order = {tp_id: i for i, tp_id in enumerate(labels)}
    return sorted(out, key=lambda a: -1 if a.touchpoint is None else order[a.touchpoint.id])
