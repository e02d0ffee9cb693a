"""Store scorecards and region leagues (seed 003: 优良/合格/一般/不合格; seed 002: case KPIs).

One pipeline for the web page and the monthly PDF: SQL aggregates (the overall scores per
store and the touchpoints from the summaries kept at write time, `summaries.overall_rows` and
`queries_dashboard`; customer answers for NPS and top-2-box) -> maths in `domain.loop` and
`domain.ranking` -> plain dataclasses the templates render.
"""

from __future__ import annotations

import bisect
import json
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, select

from . import actions, cases, summaries
from . import queries_dashboard as q
from .calibration import queries as cq
from .calibration.queries import FitRef, StoreScore
from .domain import loop
from .domain.item_types import fraction
from .domain.ranking import Period, Stats, months_between, shrink
from .instruments import definition
from .models import (
    OVERALL,
    Answer,
    CorrectiveAction,
    FollowUpCase,
    InstrumentVersion,
    Region,
    Response,
    ResponseEvidence,
    Store,
    Touchpoint,
    utcnow,
)

STAGES = ("sales", "aftersales")


@dataclass(frozen=True)
class Rank:
    """A store's place (1 = best) with the range of places its interval allows: better than
    every store whose interval lies wholly below it, worse than every one wholly above."""

    point: int
    best: int
    worst: int
    of: int


def calibrated_rank(score: StoreScore, *, region: bool = False) -> Rank:
    """A stored calibrated rank (1 = weakest, with its 90% interval) turned best first."""
    if region:
        of, point, low, high = (score.region_ranked, score.region_rank, score.region_low,
                                score.region_high)
    else:
        of, point, low, high = score.ranked, score.rank, score.rank_low, score.rank_high
    return Rank(of + 1 - point, of + 1 - high, of + 1 - low, of)


def ranks(stats_by_store: dict[int, Stats], prior: float, k: float) -> dict[int, Rank]:
    """Ranks by shrunken overall mean, best first, with interval ranges."""
    shrunk = {sid: shrink(s.n, s.mean, prior, k) for sid, s in stats_by_store.items()}
    order = sorted(shrunk, key=lambda sid: (-shrunk[sid], sid))
    bounds = {sid: (loop.shrunk_interval(s, prior, k) or (0.0, 100.0))
              for sid, s in stats_by_store.items()}
    lows = sorted(b[0] for b in bounds.values())
    highs = sorted(b[1] for b in bounds.values())
    total = len(order)
    out = {}
    for place, sid in enumerate(order, start=1):
        low, high = bounds[sid]
        surely_better = total - bisect.bisect_right(lows, high)  # whose low > my high
        surely_worse = bisect.bisect_left(highs, low)  # whose high < my low
        out[sid] = Rank(place, surely_better + 1, total - surely_worse, total)
    return out


def overall_by_store(session: Session, *, start: date, end: date) -> dict[int, Stats]:
    """{store id: Stats of the overall scores} of approved mystery shops in the window (from
    the summaries kept at write time)."""
    return {sid: Stats(n, total, squares) for sid, _month, n, total, squares
            in summaries.overall_rows(session, kind="mystery_shop", start=start, end=end)}


def latest_shop_day(session: Session, store_ids: set[int]) -> date | None:
    """The day of the stores' latest approved mystery shop within a year, if any."""
    r = Response
    return session.exec(select(func.max(r.day)).where(
        r.kind == "mystery_shop", r.status == "approved", r.store_id.in_(store_ids or {-1}),
        r.day >= date.today() - timedelta(days=366), r.day <= date.today())).one()


def monthly_overall(session: Session, store_ids: set[int], start: date, end: date):
    """{(year, month): Stats} of approved mystery shops' overall scores of the stores."""
    out: dict[tuple[int, int], Stats] = {}
    for _sid, month, n, total, squares in summaries.overall_rows(
            session, kind="mystery_shop", start=start, end=end, store_ids=store_ids,
            by_month=True):
        key = (month.year, month.month)
        out[key] = out.get(key, Stats()) + Stats(n, total, squares)
    return out


# ---- customer measures --------------------------------------------------------------------


def _customer_items(session: Session) -> tuple[set[str], dict[str, tuple[int, int]]]:
    """NPS item ids, and {outcome item id: (min, max)} of customer-survey scales."""
    nps, outcome = set(), {}
    for version in session.exec(select(InstrumentVersion).where(
            InstrumentVersion.kind == "customer_survey")):
        instrument = definition(version)
        for item in instrument.items():
            if item.type == "nps":
                nps.add(item.id)
        item = instrument.item(instrument.outcome) if instrument.outcome else None
        if item is not None and item.type == "scale":
            outcome[item.id] = item.scale_range
    return nps, outcome


@dataclass(frozen=True)
class Customer:
    nps: loop.Nps
    top2: loop.Proportion


def customer_measures(session: Session, store_ids: set[int], start: date,
                      end: date) -> Customer:
    """NPS (% promoters − % detractors) and CSAT top-2-box (% answering the two best points
    of the overall-satisfaction scale) of counted customer surveys, counted in SQL."""
    nps_items, outcome = _customer_items(session)
    query = (select(Answer.item_id, Answer.value, func.count())
             .join(Response, Response.id == Answer.response_id)
             .where(Response.kind == "customer_survey",
                    Response.status.in_(("submitted", "approved")),
                    Response.day >= start, Response.day <= end,
                    Response.store_id.in_(store_ids or {-1}),
                    Answer.item_id.in_((nps_items | set(outcome)) or {""}))
             .group_by(Answer.item_id, Answer.value))
    groups = {"promoter": 0, "passive": 0, "detractor": 0}
    hits = n = 0
    for item_id, raw, count in session.exec(query):
        if not raw.lstrip("-").isdigit():
            continue  # "na"
        value = int(raw)
        if item_id in nps_items:
            groups["promoter" if value >= 9 else "passive" if value >= 7 else "detractor"] += count
        if item_id in outcome:
            n += count
            hits += count if value >= outcome[item_id][1] - 1 else 0
    return Customer(loop.Nps(groups["promoter"], groups["passive"], groups["detractor"]),
                    loop.Proportion(hits, n))


# ---- case KPIs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseKpis:
    opened: int
    open_now: int
    first_contact_24h: float | None  # % of cases contacted within 24 h
    resolved_first_contact: float | None  # % of closed cases closed at the first contact
    median_hours_to_close: float | None


def case_kpis(session: Session, store_ids: set[int], start: date, end: date) -> CaseKpis:
    rows = session.exec(
        select(FollowUpCase.opened_at, FollowUpCase.contacted_at, FollowUpCase.closed_at,
               FollowUpCase.status)
        .join(Response, Response.id == FollowUpCase.response_id)
        .where(Response.status != "invalid", FollowUpCase.store_id.in_(store_ids or {-1}),
               Response.day >= start, Response.day <= end)).all()
    day = timedelta(hours=24)
    contacted = [cases.as_utc(c) - cases.as_utc(o) for o, c, _x, _s in rows if c is not None]
    closed = [(cases.as_utc(o), cases.as_utc(c), cases.as_utc(x)) for o, c, x, s in rows
              if s == "closed" and x is not None]
    within = sum(1 for gap in contacted if gap <= day)
    first = sum(1 for _o, c, x in closed if c is not None and abs(x - c) < timedelta(minutes=1))
    hours = [(x - o).total_seconds() / 3600 for o, _c, x in closed]
    return CaseKpis(
        len(rows), sum(1 for *_r, s in rows if s == "open"),
        100.0 * within / len(rows) if rows else None,
        100.0 * first / len(closed) if closed else None,
        statistics.median(hours) if hours else None)


# ---- the store scorecard -----------------------------------------------------------------


@dataclass
class TouchpointLine:
    touchpoint: Touchpoint
    stats: Stats
    target: float
    region: float | None
    network: float | None
    calibrated: StoreScore | None = None  # from the stage's stored fit

    @property
    def score(self) -> float | None:
        """The calibrated score when there is one, else the raw mean."""
        return self.calibrated.calibrated if self.calibrated else self.stats.mean

    @property
    def ci90(self) -> tuple[float, float] | None:
        """90% interval of the score shown (the calibrated one's from its posterior)."""
        if self.calibrated is None:
            return self.stats.ci90
        half = 1.645 * self.calibrated.sd
        return max(0.0, self.score - half), min(100.0, self.score + half)

    @property
    def gap(self) -> float | None:
        return None if self.score is None else self.score - self.target


@dataclass
class StoreCard:
    store: Store
    region: Region
    period: Period
    overall: Stats
    grade: str | None
    rank_region: Rank | None
    rank_network: Rank | None
    touchpoints: list[TouchpointLine]
    customer: Customer
    kpis: CaseKpis
    trend: list[tuple[str, float | None, int]]
    open_actions: list = field(default_factory=list)
    verified_actions: list = field(default_factory=list)
    open_cases: list = field(default_factory=list)
    failed_items: list = field(default_factory=list)
    calibration: FitRef | None = None  # the fit of the overall score (stage `all`)
    calibrated: StoreScore | None = None  # this store's calibrated overall score
    mystery_shop: bool = True  # for the calibration note


def store_card(session: Session, store: Store, period: Period, *, k: float,
               grades=loop.DEFAULT_GRADES, with_failures: bool = False,
               fits: dict[str, FitRef | None] | None = None) -> StoreCard:
    """The store's month. With stored calibration `fits` ({stage: fit}; `all` for the
    overall score), grade and ranks come from its calibrated scores, raw means beside."""
    region = session.get(Region, store.region_id)
    window = {"start": period.start, "end": period.end}
    overall = overall_by_store(session, **window)
    network_prior = Stats.total_of(overall.values()).mean or 0.0
    region_ids = set(session.exec(select(Store.id).where(Store.region_id == store.region_id)))
    net_ranks = ranks(overall, network_prior, k)
    in_region = {sid: s for sid, s in overall.items() if sid in region_ids}
    reg_ranks = ranks(in_region, network_prior, k)
    mine = overall.get(store.id, Stats())
    table = actions.targets(session, {store.id})
    lines = []
    for stage in STAGES:
        per_store, region_of = q.store_stats(session, kind="mystery_shop", stage=stage,
                                             scope=None, **window)
        for tp in q.touchpoints(session, stage):
            stores = per_store.get(tp.id, {})
            if store.id not in stores:
                continue
            lines.append(TouchpointLine(
                tp, stores[store.id], actions.target_for(table, store.id, tp.id),
                Stats.total_of(s for sid, s in stores.items()
                               if region_of[sid] == store.region_id).mean,
                Stats.total_of(stores.values()).mean))
    first = date(period.end.year - 1, period.end.month, 1) + timedelta(days=32)
    first = first.replace(day=1)
    months = monthly_overall(session, {store.id}, first, period.end)
    trend = [(f"{y}-{m:02d}", months.get((y, m), Stats()).mean, months.get((y, m), Stats()).n)
             for y, m in months_between(first, period.end)]
    card = StoreCard(
        store, region, period, mine, loop.grade(mine.mean, grades), reg_ranks.get(store.id),
        net_ranks.get(store.id), lines, customer_measures(session, {store.id}, **window),
        case_kpis(session, {store.id}, **window), trend)
    _calibrate_card(session, card, fits or {}, grades)
    rows = actions.listing(session, {store.id}, status="active")
    card.open_actions = rows
    card.verified_actions = [r for r in actions.listing(session, {store.id}, status="closed")
                             if r.action.verified_at is None
                             or cases.as_utc(r.action.verified_at).date() >= period.start][:10]
    card.open_cases = cases.listing(session, {store.id}, status="open", limit=20)
    if with_failures:
        card.failed_items = failed_items(session, store.id, period)
    return card


def _calibrate_card(session: Session, card: StoreCard, fits: dict, grades) -> None:
    """Grade, ranks and touchpoint scores from the stored fits (one query for all of them)."""
    card.calibration = fits.get("all")
    found = {stage: fit for stage, fit in fits.items() if fit is not None}
    if not found:
        return
    scores = cq.store_lines(session, {fit.id for fit in found.values()}, card.store.id)
    if "all" in found:
        card.calibrated = scores.get((found["all"].id, OVERALL))
    if card.calibrated is not None:
        card.grade = loop.grade(card.calibrated.calibrated, grades)
        card.rank_network = calibrated_rank(card.calibrated)
        card.rank_region = calibrated_rank(card.calibrated, region=True)
    for line in card.touchpoints:
        fit = found.get(line.touchpoint.stage)
        line.calibrated = scores.get((fit.id, line.touchpoint.id)) if fit else None


@dataclass(frozen=True)
class FailedItem:
    response: Response
    touchpoint: str
    text: dict
    critical: bool
    photo: str | None


def failed_items(session: Session, store_id: int, period: Period, limit: int = 40):
    """Failed items of the store's approved reports in the period, with evidence photos."""
    reports = list(session.exec(select(Response).where(
        Response.store_id == store_id, Response.kind == "mystery_shop",
        Response.status == "approved", Response.day >= period.start,
        Response.day <= period.end).order_by(Response.day)))
    ids = {r.id for r in reports}
    answers: dict[int, dict[str, str]] = {}
    for a in session.exec(select(Answer).where(Answer.response_id.in_(ids or {-1}))):
        answers.setdefault(a.response_id, {})[a.item_id] = a.value
    photos = {(e.response_id, e.item_id): e.sha256 for e in session.exec(
        select(ResponseEvidence).where(ResponseEvidence.response_id.in_(ids or {-1})))}
    versions = {v.id: definition(v) for v in session.exec(select(InstrumentVersion).where(
        InstrumentVersion.id.in_({r.instrument_version_id for r in reports} or {-1})))}
    out = []
    for report in reports:
        instrument = versions[report.instrument_version_id]
        given = answers.get(report.id, {})
        for section in instrument.sections:
            for item in section.items:
                if item.id not in given or not item.scored:
                    continue
                part = fraction(item, json.loads(given[item.id]))
                if part is not None and part < 0.5:
                    out.append(FailedItem(report, section.touchpoint, item.text.model_dump(),
                                          item.critical, photos.get((report.id, item.id))))
    out.sort(key=lambda f: (not f.critical, f.response.day))
    return out[:limit]


# ---- the region league --------------------------------------------------------------------


@dataclass(frozen=True)
class LeagueLine:
    store: Store
    stats: Stats
    shrunk: float  # the calibrated score with a fit, else the shrunken raw mean
    rank: Rank | None  # None: visited after the stored fit was computed
    grade: str | None
    open_actions: int
    overdue_actions: int
    calibrated: StoreScore | None = None


def region_league(session: Session, region: Region, period: Period, *, k: float,
                  grades=loop.DEFAULT_GRADES, fit: FitRef | None = None) -> list[LeagueLine]:
    """The region's stores best first: by calibrated overall score (rank within the region
    with its interval) when `fit` (stage `all`) is stored, else by shrunken raw means."""
    overall = overall_by_store(session, start=period.start, end=period.end)
    prior = Stats.total_of(overall.values()).mean or 0.0
    stores = {s.id: s for s in session.exec(select(Store).where(Store.region_id == region.id))}
    mine = {sid: s for sid, s in overall.items() if sid in stores}
    calibrated = cq.overall_of(session, fit.id, set(mine)) if fit else {}
    a = CorrectiveAction
    open_counts = {sid: (int(o or 0), int(d or 0)) for sid, o, d in session.exec(
        select(a.store_id, func.count(), func.sum(case((a.due_at < utcnow(), 1), else_=0)))
        .where(a.status.in_(loop.ACTIVE), a.store_id.in_(set(stores) or {-1}))
        .group_by(a.store_id))}
    if fit is None:
        placed = ranks(mine, prior, k)
        lines = [LeagueLine(stores[sid], s, shrink(s.n, s.mean, prior, k), placed[sid],
                            loop.grade(s.mean, grades), *open_counts.get(sid, (0, 0)))
                 for sid, s in mine.items()]
        return sorted(lines, key=lambda line: line.rank.point)
    lines = []
    for sid, s in mine.items():
        score = calibrated.get(sid)
        value = score.calibrated if score else shrink(s.n, s.mean, prior, k)
        lines.append(LeagueLine(
            stores[sid], s, value, calibrated_rank(score, region=True) if score else None,
            loop.grade(value, grades), *open_counts.get(sid, (0, 0)), score))
    return sorted(lines, key=lambda line: (line.rank is None,
                                           line.rank.point if line.rank else -line.shrunk))


@dataclass
class RegionCard:
    region: Region
    period: Period
    league: list[LeagueLine]
    boards: dict  # stage -> dashboard.Board
    heatmaps: dict  # stage -> dashboard.HeatMap
    overdue_actions: list
    calibration: FitRef | None = None  # the fit of the overall score (stage `all`)
    mystery_shop: bool = True


def region_card(session: Session, region: Region, period: Period, *, k: float,
                grades=loop.DEFAULT_GRADES, small_n: int = 5,
                fits: dict[str, FitRef | None] | None = None) -> RegionCard:
    from . import dashboard

    fits = fits or {}
    boards, heatmaps = {}, {}
    for stage in STAGES:
        f = dashboard.Filters(q.Scope("region", region_id=region.id), period, stage,
                              "mystery_shop", k, region=region, calibration=fits.get(stage))
        boards[stage] = dashboard.build_board(session, f, small_n=small_n)
        heatmaps[stage] = dashboard.build_heatmap(session, f)
    stores = set(session.exec(select(Store.id).where(Store.region_id == region.id)))
    overdue = [r for r in actions.listing(session, stores, status="active") if r.overdue]
    league = region_league(session, region, period, k=k, grades=grades, fit=fits.get("all"))
    return RegionCard(region, period, league, boards, heatmaps, overdue, fits.get("all"))


# ---- targets per region or store --------------------------------------------------------


class TargetError(ValueError):
    """`code`: touchpoint | place (no such region or store) | value (not 0..100)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def set_target(session: Session, *, touchpoint_id: str, level: str, code: str,
               value: float) -> None:
    """Set (or replace) the target of a touchpoint for one region or one store."""
    from .models import TouchpointTarget

    if session.get(Touchpoint, touchpoint_id) is None:
        raise TargetError("touchpoint")
    if not 0 <= value <= 100:
        raise TargetError("value")
    model = Region if level == "region" else Store
    place = session.exec(select(model).where(model.code == code.strip())).first()
    if level not in ("region", "store") or place is None:
        raise TargetError("place")
    key = {"region_id": place.id, "store_id": None} if level == "region" else {
        "region_id": None, "store_id": place.id}
    found = session.exec(select(TouchpointTarget).where(
        TouchpointTarget.touchpoint_id == touchpoint_id,
        TouchpointTarget.region_id.is_(None) if key["region_id"] is None
        else TouchpointTarget.region_id == key["region_id"],
        TouchpointTarget.store_id.is_(None) if key["store_id"] is None
        else TouchpointTarget.store_id == key["store_id"])).first()
    if found is None:
        found = TouchpointTarget(touchpoint_id=touchpoint_id, target=value, **key)
    found.target = value
    session.add(found)
    session.commit()


def target_rows(session: Session):
    """(target, touchpoint, region or None, store or None), by touchpoint."""
    from .models import TouchpointTarget

    return list(session.exec(
        select(TouchpointTarget, Touchpoint, Region, Store)
        .join(Touchpoint, Touchpoint.id == TouchpointTarget.touchpoint_id)
        .outerjoin(Region, Region.id == TouchpointTarget.region_id)
        .outerjoin(Store, Store.id == TouchpointTarget.store_id)
        .order_by(Touchpoint.stage, Touchpoint.position, TouchpointTarget.id)))
