"""The managers' dashboard as a pipeline: request filters -> checked scope -> SQL aggregates
(`queries_dashboard`) -> ranking maths (`domain.ranking`) -> plain dataclasses for templates,
charts and exports. No Flask imports here except through arguments: views pass the args.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from . import queries_dashboard as q
from .calibration import queries as cq
from .calibration.queries import FitRef
from .domain.item_types import NA, fraction
from .domain.ranking import (
    BoardRow,
    LeagueRow,
    Period,
    Stats,
    league,
    months_between,
    parse_period,
    rank_board,
    shrink,
)
from .instruments import definition
from .models import InstrumentVersion, Region, Store, User
from .queries_dashboard import Scope
from .scope import region_ids_below, stores_below

KINDS = ("mystery_shop", "customer_survey")
LEAGUE_PAGE = 100  # stores per page of the league
STAGES = ("sales", "aftersales")


class BadFilter(ValueError):
    """A filter value that does not parse (400)."""


class NotFound(LookupError):
    """An unknown region, store, touchpoint, item or response (404)."""


class Forbidden(PermissionError):
    """Outside the user's scope (403)."""


@dataclass(frozen=True)
class Filters:
    scope: Scope
    period: Period
    stage: str
    kind: str
    k: float  # the configured shrinkage (SHRINKAGE_K): raw figures before the first fit
    region: Region | None = None
    store: Store | None = None
    calibration: FitRef | None = None  # the stored fit shown (mystery shops), if any

    @property
    def other_kind(self) -> str:
        return KINDS[1] if self.kind == KINDS[0] else KINDS[0]

    def args(self, **changes) -> dict:
        """Query arguments reproducing this state (for url_for), with changes applied."""
        out = {"stage": self.stage, "kind": self.kind}
        if self.period.kind == "range":
            out["from"], out["to"] = self.period.start.isoformat(), self.period.end.isoformat()
        else:
            out["period"] = self.period.key
        if self.store is not None:
            out["store"] = self.store.code
        elif self.region is not None:
            out["region"] = self.region.code
        out.update(changes)
        return {key: value for key, value in out.items() if value not in (None, "")}

    def window(self) -> dict:
        return {"stage": self.stage, "start": self.period.start, "end": self.period.end}


def parse_filters(session: Session, user: User, args, *, visible: set[int] | None,
                  today: date, default_k: float) -> Filters:
    """Read and check the filters; the scope never leaves what `visible` allows. The
    shrinkage is not a filter: it comes from the data (the stored calibration fit), and
    `default_k` (configuration) only serves before the first fit."""
    stage = args.get("stage") or STAGES[0]
    kind = args.get("kind") or KINDS[0]
    if stage not in STAGES or kind not in KINDS:
        raise BadFilter("stage/kind")
    period = parse_period(args.get("period"), args.get("from"), args.get("to"), today=today)
    if period is None:
        raise BadFilter("period")
    scope, region, store = _scope(session, user, args, visible)
    return Filters(scope, period, stage, kind, default_k, region, store)


def _region_scope(session, region: Region, members: set[int]) -> Scope:
    """A region without sub-regions filters on its own id; a larger one on its stores (any
    depth below it)."""
    if region_ids_below(session, [region.id]) == {region.id} and members == stores_below(
            session, [region.id]):
        return Scope("region", region_id=region.id)
    return Scope("region", region_id=region.id, store_ids=frozenset(members))


def _scope(session, user, args, visible):
    store_code, region_code = args.get("store"), args.get("region")
    if store_code:
        store = session.exec(select(Store).where(Store.code == store_code)).first()
        if store is None or (visible is not None and store.id not in visible):
            raise NotFound("store")  # another region's store looks like no store at all
        return Scope("stores", store_ids=frozenset({store.id})), None, store
    if region_code:
        region = session.exec(select(Region).where(Region.code == region_code)).first()
        if region is None:
            raise NotFound("region")
        members = stores_below(session, [region.id])
        if visible is not None and (not members or not members <= visible):
            raise Forbidden("region")
        return _region_scope(session, region, members), region, None
    if visible is None:
        return Scope("network"), None, None
    if user.region_id is not None:
        region = session.get(Region, user.region_id)
        return _region_scope(session, region, visible), region, None
    return Scope("stores", store_ids=frozenset(visible)), None, None


# ---- short board ------------------------------------------------------------------------


@dataclass
class Board:
    filters: Filters
    rows: list[BoardRow]
    labels: dict[str, dict[str, str]]
    stores: dict[int, tuple[Store, Region]]
    store_count: int  # stores in scope with scores of the ranked kind
    has_outcome: bool
    responses: int = 0


@dataclass
class _Network:
    per_store: dict[str, dict[int, Stats]]
    region_of: dict[int, int]


def _network(session: Session, f: Filters, kind: str, touchpoint: str | None = None) -> _Network:
    per_store, region_of = q.store_stats(session, kind=kind, scope=None, touchpoint=touchpoint,
                                         **f.window())
    return _Network(per_store, region_of)


def _in_scope(f: Filters, net: _Network, tp: str) -> dict[int, Stats]:
    stores = net.per_store.get(tp, {})
    return {sid: s for sid, s in stores.items() if f.scope.contains(sid, net.region_of[sid])}


def _best_quartile(ranking) -> float | None:
    """75th percentile of the stores' shrunken means, interpolated as `domain.ranking.quantile`."""
    if ranking is None or ranking.quartile_low is None:
        return None
    share = 0.75 * (ranking.stores - 1) - 3 * (ranking.stores - 1) // 4
    return ranking.quartile_low + (ranking.quartile_high - ranking.quartile_low) * share


def build_board(session: Session, f: Filters, *, small_n: int, count: int = 3) -> Board:
    tps = q.touchpoints(session, f.stage)
    network = q.scope_stats(session, kind=f.kind, scope=Scope("network"), **f.window())
    in_scope = network if f.scope.level == "network" else \
        q.scope_stats(session, kind=f.kind, scope=f.scope, **f.window())
    priors = tuple(sorted((tp, s.mean) for tp, s in network.items() if s.n))
    components = cq.components(session, f.calibration.id) if f.calibration is not None else {}
    if f.calibration is not None and all(tp in components for tp, _mean in priors):
        # the stored fit gives every weakest store and best quartile: the raw per-store
        # ranking (2,000 stores' rows) would be thrown away, only its count is needed
        rankings = {}
        store_count = q.store_count(session, kind=f.kind, scope=f.scope,
                                    tps=tuple(tp for tp, _mean in priors), **f.window())
    else:
        rankings, store_count = q.store_ranking(session, kind=f.kind, scope=f.scope,
                                                priors=priors, k=f.k, count=count, **f.window())
    other = q.scope_stats(session, kind=f.other_kind, scope=f.scope, **f.window())
    items = q.outcome_items(session, f.stage)
    moments = q.outcome_moments(session, scope=f.scope, **f.window()) if items else {}
    rows = []
    for tp in tps:
        stats = in_scope.get(tp.id, Stats())
        if stats.n == 0 and other.get(tp.id) is None:
            continue
        ranking = rankings.get(tp.id)
        weakest_stores = [LeagueRow(sid, s, value, i) for i, (sid, s, value)
                          in enumerate(ranking.weakest if ranking else [], start=1)]
        rows.append(BoardRow(
            tp.id, tp.target, stats, other.get(tp.id, Stats()),
            best_quartile=_best_quartile(ranking),
            network_mean=network.get(tp.id, Stats()).mean,
            importance=moments[tp.id].correlation if tp.id in moments else None,
            weakest_stores=weakest_stores if len(weakest_stores) > 1 else [],
        ))
    if f.calibration is not None:
        _calibrated_board(session, f, rows, count, components)
    rows = rank_board(rows, small_n=small_n)
    labels = {tp.id: {"zh": tp.label_zh, "en": tp.label_en} for tp in tps}
    shown = {s.store_id for r in rows for s in r.weakest_stores}
    return Board(f, rows, labels, q.stores_with_regions(session, shown), store_count,
                 bool(items), sum(r.stats.n for r in rows))


def _calibrated_board(session: Session, f: Filters, rows: list[BoardRow], count: int,
                      components: dict) -> None:
    """Weakest stores and best quartiles from the stored fit: calibrated scores, and only
    stores whose whole rank interval lies in the network's bottom quarter."""
    weak = cq.weakest(session, f.calibration.id, f.scope, count)
    for row in rows:
        row.weakest_stores = weak.get(row.touchpoint_id, [])
        found = components.get(row.touchpoint_id)
        row.best_quartile = found.best_quartile if found else row.best_quartile


# ---- league and heat map ----------------------------------------------------------------


@dataclass
class League:
    touchpoint_id: str
    rows: list  # the scope's stores weakest first (calibrated: this page's StoreScore rows)
    network_mean: float | None
    target: float
    page: int = 1
    per_page: int = LEAGUE_PAGE
    calibrated: bool = False
    total: int | None = None  # calibrated: the scope's stores (only the page is read)

    @property
    def count(self) -> int:
        return len(self.rows) if self.total is None else self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def shown(self) -> list:
        """This page's rows (a network league has 2,000 stores: a page is read, not scrolled)."""
        if self.total is not None:
            return self.rows
        first = (self.page - 1) * self.per_page
        return self.rows[first:first + self.per_page]


def build_league(session: Session, f: Filters, tp_id: str, *, page: int = 1
                 ) -> tuple[League, dict]:
    target = _touchpoint(session, f.stage, tp_id).target
    if f.calibration is not None:
        return _calibrated_league(session, f, tp_id, target, page)
    net = _network(session, f, f.kind, tp_id)
    network_mean = Stats.total_of(net.per_store.get(tp_id, {}).values()).mean
    rows = league(_in_scope(f, net, tp_id), network_mean or 0.0, f.k)
    table = League(tp_id, rows, network_mean, target, per_page=LEAGUE_PAGE)
    table.page = min(max(1, page), table.pages)
    stores = q.stores_with_regions(session, {r.store_id for r in table.shown})
    return table, stores


def _calibrated_league(session: Session, f: Filters, tp_id: str, target: float, page: int):
    """One page of the stored fit's league, read in SQL (with the scope's store count)."""
    total = cq.league_size(session, f.calibration.id, tp_id, f.scope)
    page = min(max(1, page), max(1, -(-total // LEAGUE_PAGE)))
    rows = cq.league(session, f.calibration.id, tp_id, f.scope, limit=LEAGUE_PAGE,
                     offset=(page - 1) * LEAGUE_PAGE)
    found = cq.components(session, f.calibration.id).get(tp_id)
    table = League(tp_id, rows, found.mean if found else None, target, page, LEAGUE_PAGE,
                   True, total)
    return table, q.stores_with_regions(session, {r.store_id for r in rows})


@dataclass(frozen=True)
class HeatCell:
    value: float  # calibrated score, or the shrunken mean before the first fit
    raw: float | None  # raw mean
    n: int


@dataclass
class HeatMap:
    touchpoints: list  # Touchpoint rows with data
    stores: list  # (Store, Region) weakest overall first
    cells: dict  # (store id, tp) -> HeatCell
    truncated: int = 0
    calibrated: bool = False


def build_heatmap(session: Session, f: Filters, *, limit: int = 60) -> HeatMap:
    """The scope's `limit` weakest stores by touchpoint: stores are ordered in SQL (by their
    calibrated overall score, else the mean of their shrunken touchpoint scores), cells read
    for the shown stores only."""
    tps = q.touchpoints(session, f.stage)
    in_scope = q.scope_stats(session, kind=f.kind, scope=f.scope, **f.window())
    shown_tps = [tp for tp in tps if in_scope.get(tp.id, Stats()).n]
    if f.calibration is not None:
        order, total = cq.store_order(session, f.calibration.id, f.scope, limit)
        cells = {key: HeatCell(*values) for key, values in
                 cq.cells(session, f.calibration.id, set(order)).items()}
        stores = q.stores_with_regions(session, set(order))
        return HeatMap(shown_tps, [stores[sid] for sid in order], cells,
                       max(0, total - limit), True)
    network = q.scope_stats(session, kind=f.kind, scope=Scope("network"), **f.window())
    priors = tuple(sorted((tp, s.mean) for tp, s in network.items() if s.n))
    order, total = q.store_order(session, kind=f.kind, scope=f.scope, priors=priors, k=f.k,
                                 limit=limit, **f.window())
    shown = Scope("stores", store_ids=frozenset(order))
    per_store, _ = q.store_stats(session, kind=f.kind, scope=shown, **f.window())
    cells = {}
    for tp in tps:
        network_mean = network.get(tp.id, Stats()).mean
        for sid, s in per_store.get(tp.id, {}).items():
            cells[(sid, tp.id)] = HeatCell(shrink(s.n, s.mean, network_mean or 0.0, f.k),
                                           s.mean, s.n)
    stores = q.stores_with_regions(session, set(order))
    return HeatMap(shown_tps, [stores[sid] for sid in order], cells, max(0, total - limit))


# ---- trends -----------------------------------------------------------------------------


@dataclass
class Trend:
    touchpoint_id: str
    target: float
    months: list[tuple[tuple[int, int], Stats]]
    current: Stats
    previous: Stats

    @property
    def change(self) -> float | None:
        if self.current.mean is None or self.previous.mean is None:
            return None
        return self.current.mean - self.previous.mean


def build_trends(session: Session, f: Filters, *, months: int = 12) -> tuple[list[Trend], Period]:
    end = f.period.end
    first = date(end.year - (1 if end.month < months else 0), (end.month - months) % 12 + 1, 1)
    monthly = q.monthly_stats(session, kind=f.kind, stage=f.stage, start=first, end=end,
                              scope=f.scope)
    previous = f.period.previous()
    now = q.scope_stats(session, kind=f.kind, scope=f.scope, **f.window())
    before = q.scope_stats(session, kind=f.kind, stage=f.stage, start=previous.start,
                           end=previous.end, scope=f.scope)
    axis = months_between(first, end)
    trends = [
        Trend(tp.id, tp.target, [(m, monthly.get(tp.id, {}).get(m, Stats())) for m in axis],
              now.get(tp.id, Stats()), before.get(tp.id, Stats()))
        for tp in q.touchpoints(session, f.stage)
        if tp.id in monthly
    ]
    return trends, previous


# ---- drill-down -------------------------------------------------------------------------


def _touchpoint(session: Session, stage: str, tp_id: str):
    tp = next((t for t in q.touchpoints(session, stage) if t.id == tp_id), None)
    if tp is None:
        raise NotFound("touchpoint")
    return tp


def _versions(session: Session, f: Filters) -> dict[int, object]:
    rows = session.exec(select(InstrumentVersion).where(
        InstrumentVersion.kind == f.kind, InstrumentVersion.stage == f.stage))
    return {v.id: (v, definition(v)) for v in rows}


@dataclass
class ItemRow:
    item_id: str
    text: dict
    critical: bool
    answered: int = 0
    failed: int = 0
    na: int = 0
    score_sum: float = 0.0
    failing_values: set = field(default_factory=set)

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.answered if self.answered else None

    @property
    def mean(self) -> float | None:
        return 100 * self.score_sum / self.answered if self.answered else None


def failing(part: float) -> bool:
    """An answer fails when it earns less than half the item's points (yes/no: a 'no')."""
    return part < 0.5


def item_rows(session: Session, f: Filters, tp_id: str) -> list[ItemRow]:
    """The touchpoint's scored items, highest failure rate first."""
    _touchpoint(session, f.stage, tp_id)
    versions = _versions(session, f)
    items: dict[str, ItemRow] = {}
    scored = {}
    for vid, (_v, instrument) in sorted(versions.items()):
        for section in instrument.sections:
            if section.touchpoint != tp_id:
                continue
            for item in section.items:
                if item.scored:
                    scored[(vid, item.id)] = item
                    items[item.id] = ItemRow(item.id, item.text.model_dump(), item.critical)
    counts = q.item_value_counts(session, scope=f.scope, kind=f.kind, item_ids=set(items),
                                 **f.window())
    for vid, item_id, raw, count in counts:
        item = scored.get((vid, item_id))
        if item is None:
            continue
        row, value = items[item_id], json.loads(raw)
        part = fraction(item, value)
        if value == NA:
            row.na += count
        elif part is not None:
            row.answered += count
            row.score_sum += part * count
            if failing(part):
                row.failed += count
                row.failing_values.add(raw)
    found = [r for r in items.values() if r.answered or r.na]
    return sorted(found, key=lambda r: (-(r.failure_rate or 0), r.item_id))


def item_detail(session: Session, f: Filters, tp_id: str, item_id: str, *, only_failed: bool):
    rows = {r.item_id: r for r in item_rows(session, f, tp_id)}
    if item_id not in rows:
        raise NotFound("item")
    values = rows[item_id].failing_values if only_failed else None
    answers = q.item_answers(session, scope=f.scope, kind=f.kind, item_id=item_id,
                             values=values, **f.window())
    return rows[item_id], [(r, s, json.loads(v)) for r, s, v in answers]
