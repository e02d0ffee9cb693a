"""Shopper calibration: fair store scores when shoppers differ (DESIGN.md "Aggregation").

The model, for one measure (a touchpoint's score, or the overall score) over one period:

    score of a visit = mean + store effect + shopper effect + noise

with store effects ~ N(0, σ²_store), shopper effects ~ N(0, σ²_shopper) and noise ~ N(0, σ²_visit),
crossed (a shopper visits many stores, a store is visited by many shoppers). Pure: plain
sequences in, small dataclasses out; NumPy and SciPy for the linear algebra.

1. Variance components by REML (Henderson's EM iteration), started from the method of moments
   on pairs of visits (the U-statistics of Gao and Owen, 2017, "Efficient moment calculations
   for variance components in large unbalanced crossed random effects models"): two visits to
   the same store differ by shopper and noise, two visits by the same shopper differ by store
   and noise, any two visits by all three. The three sums of squared differences are O(visits)
   to compute and their expectations are linear in the three variances; non-negative least
   squares solves them. The moments are unbiased when shoppers are assigned at random; REML
   refines them for the design at hand (say, harsh shoppers who happened to cover the best
   stores). Thin data (few visits or stores) fall back to a split given by the configured `k`.
2. Store and shopper effects as best linear unbiased predictions (Henderson's mixed-model
   equations). Store effects are absorbed (their block is diagonal), leaving a dense system the
   size of the shopper pool, so a fit costs O(visits + shoppers³).
3. The posterior of the effects is Gaussian with that system as precision: exact draws give each
   store's rank interval, and the prediction error variance gives its reliability
   (1 − PEV / σ²_store).

Ranks count from the weakest: rank 1 is the lowest calibrated score, as in the league.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse
from scipy.optimize import nnls
from threadpoolctl import threadpool_limits

MIN_VISITS = 20  # below this, or with fewer than MIN_STORES stores, the fallback split is used
MIN_STORES = 3
FLOOR_SHARE = 0.01  # σ²_store never below 1% of the total: shrinkage stays finite
BOTTOM_SHARE = 0.25  # "weakest" only when the whole rank interval lies in the bottom quarter
DRAWS = 1000
Z90 = 1.6448536269514722


@dataclass(frozen=True)
class Components:
    """Variance components of one measure (score points squared) and the grand mean."""

    store: float
    shopper: float
    visit: float
    mean: float
    visits: int
    fallback: bool = False  # True: too little data, the configured split was used

    @property
    def k(self) -> float:
        """The calibrated shrinkage constant: visit-level over between-store variance."""
        return self.visit / self.store

    def reliability(self, visits: float) -> float:
        """Reliability of a calibrated store score from `visits` visits (shopper effects taken
        as known, which many visits per shopper make nearly true): σ²s / (σ²s + σ²v / n)."""
        if visits <= 0:
            return 0.0
        return self.store / (self.store + self.visit / visits)

    def visits_needed(self, reliability: float) -> int:
        """Visits per store per period for a calibrated score of this reliability."""
        return max(1, math.ceil(reliability / (1 - reliability) * self.k - 1e-9))


@dataclass(frozen=True)
class StoreEstimate:
    store: Hashable
    visits: int
    raw_mean: float
    calibrated: float  # mean + store effect, shrunk: the score to rank by
    sd: float  # posterior standard deviation of the store effect
    reliability: float
    rank: int  # 1 = weakest
    rank_low: int  # 90% interval of the rank
    rank_high: int
    of: int  # number of stores ranked
    separable: bool  # False: every visit was by a shopper who saw no other store
    group: Hashable = None  # the store's group (its region) when `fit` was given groups
    group_rank: int = 0  # rank among the group's stores (1 = weakest), with its 90% interval
    group_low: int = 0
    group_high: int = 0
    group_of: int = 0

    @property
    def surely_weak(self) -> bool:
        """Labelled among the weakest only when the whole rank interval is in the bottom quarter."""
        return self.rank_high <= max(1, math.floor(self.of * BOTTOM_SHARE))


@dataclass(frozen=True)
class ShopperEstimate:
    shopper: Hashable
    visits: int
    stores: int  # distinct stores visited
    harshness: float  # shopper effect: negative = scores lower than the stores deserve
    low: float  # 90% interval
    high: float
    outlier: bool

    @property
    def identifiable(self) -> bool:
        """A shopper who only ever visited one store cannot be told apart from that store."""
        return self.stores > 1


@dataclass(frozen=True)
class Calibration:
    components: Components
    stores: list[StoreEstimate]  # weakest first
    shoppers: list[ShopperEstimate]  # harshest first

    @property
    def confounded_shoppers(self) -> list[ShopperEstimate]:
        return [s for s in self.shoppers if not s.identifiable]


def _codes(labels: Sequence[Hashable]) -> tuple[list, np.ndarray]:
    """Distinct labels and each element's index into them."""
    ids, codes = np.unique(np.asarray(labels), return_inverse=True)
    return ids.tolist(), codes.astype(np.int64).ravel()


def _pairs(counts: np.ndarray) -> float:
    return float((counts * (counts - 1)).sum() / 2)


def _within(codes: np.ndarray, y: np.ndarray, size: int) -> float:
    """Σ over groups of Σ over pairs in the group of squared differences."""
    n = np.bincount(codes, minlength=size).astype(float)
    total = np.bincount(codes, y, minlength=size)
    squares = np.bincount(codes, y * y, minlength=size)
    return float((n * squares - total * total).sum())


def estimate_components(store: np.ndarray, shopper: np.ndarray, y: np.ndarray, *,
                        fallback_k: float = 5.0) -> Components:
    """Method-of-moments variance components from integer store and shopper codes."""
    visits = len(y)
    mean = float(y.mean()) if visits else 0.0
    centred = y - mean
    total_var = float(centred.var(ddof=1)) if visits > 1 else 0.0
    stores, shoppers = int(store.max(initial=-1)) + 1, int(shopper.max(initial=-1)) + 1
    if visits < MIN_VISITS or stores < MIN_STORES or total_var <= 0:
        return _fallback(total_var, mean, visits, fallback_k)
    cell = np.unique(store * shoppers + shopper, return_counts=True)[1]
    p_store = _pairs(np.bincount(store))
    p_shopper = _pairs(np.bincount(shopper))
    p_cell = _pairs(cell)
    p_all = visits * (visits - 1) / 2
    w_store = _within(store, centred, stores)
    w_shopper = _within(shopper, centred, shoppers)
    w_all = float(visits * (centred * centred).sum() - centred.sum() ** 2)
    # E[(y_i − y_j)²] = 2σ²v + 2σ²s·[other store] + 2σ²p·[other shopper], summed over each pair set;
    # rows scaled by their pair counts so each reads as a mean squared difference.
    design = np.array([
        [0.0, 2 * (p_store - p_cell), 2 * p_store],
        [2 * (p_shopper - p_cell), 0.0, 2 * p_shopper],
        [2 * (p_all - p_store), 2 * (p_all - p_shopper), 2 * p_all],
    ])
    observed = np.array([w_store, w_shopper, w_all])
    keep = np.array([p_store, p_shopper, p_all]) > 0
    scale = np.where(keep, 1 / np.maximum([p_store, p_shopper, p_all], 1), 0.0)
    solution, _residual = nnls(design * scale[:, None], observed * scale)
    store_var, shopper_var, visit_var = (float(v) for v in solution)
    if visit_var <= 0:
        return _fallback(total_var, mean, visits, fallback_k)
    store_var = max(store_var, FLOOR_SHARE * total_var)
    return Components(store_var, shopper_var, visit_var, mean, visits)


def _fallback(total_var: float, mean: float, visits: int, k: float) -> Components:
    total = total_var if total_var > 0 else 100.0  # a 10-point spread when nothing is known
    return Components(total / (1 + k), 0.0, total * k / (1 + k), mean, visits, fallback=True)


def fit(stores: Sequence[Hashable], shoppers: Sequence[Hashable], scores: Sequence[float], *,
        components: Components | None = None, k: float | None = None, fallback_k: float = 5.0,
        draws: int = DRAWS, seed: int = 0, groups: dict | None = None) -> Calibration:
    """Calibrated, shrunken store scores with reliabilities and rank intervals, and shopper
    effects. `k` (an admin's override) fixes σ²_visit / σ²_store instead of estimating it.
    `groups` ({store: group}, e.g. its region) adds each store's rank within its group, with
    an interval from the same posterior draws."""
    # One BLAS thread: the matrices are small enough, and threads spinning against a web
    # server's other work (or a busy CI machine) made a fit several times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(stores, shoppers, scores, components=components, k=k,
                    fallback_k=fallback_k, draws=draws, seed=seed, groups=groups)


def _fit(stores, shoppers, scores, *, components, k, fallback_k, draws, seed, groups
         ) -> Calibration:
    store_ids, s = _codes(stores)
    shopper_ids, p = _codes(shoppers)
    y = np.asarray(scores, dtype=float)
    n_stores, n_shoppers = len(store_ids), len(shopper_ids)
    if not n_stores:
        return Calibration(components or _fallback(0.0, 0.0, 0, fallback_k), [], [])
    if components is None:
        components = estimate_components(s, p, y, fallback_k=fallback_k)
        if not components.fallback:
            components = _refine(s, p, y, n_stores, n_shoppers, components)
    if k is not None and k > 0:
        components = Components(components.visit / k, components.shopper, components.visit,
                                components.mean, components.visits, components.fallback)
    post = _posterior(s, p, y, n_stores, n_shoppers, components)
    rng = np.random.default_rng(seed)
    group_ids, g = _codes([groups.get(sid) for sid in store_ids]) if groups else ([None], None)
    low, high, group_low, group_high = _rank_interval(post, rng, draws, g)
    effect = post.store_effect
    order = np.lexsort((np.arange(n_stores), effect))
    rank = np.empty(n_stores, dtype=int)
    rank[order] = np.arange(1, n_stores + 1)
    g = np.zeros(n_stores, dtype=np.int64) if g is None else g
    group_rank, group_of = _ranks_within(effect, g), np.bincount(g)[g]

    visits = np.bincount(s, minlength=n_stores)
    raw = np.bincount(s, y, minlength=n_stores) / np.maximum(visits, 1)
    reach = np.bincount(np.unique(p * n_stores + s) // n_stores, minlength=n_shoppers)
    separable = np.bincount(s, weights=(reach[p] > 1).astype(float), minlength=n_stores) > 0
    reliability = np.clip(1 - post.store_pev / components.store, 0.0, 1.0)
    store_rows = [
        StoreEstimate(store_ids[i], int(visits[i]), float(raw[i]), float(post.mean + effect[i]),
                      float(math.sqrt(post.store_pev[i])), float(reliability[i]), int(rank[i]),
                      int(low[i]), int(high[i]), n_stores, bool(separable[i]),
                      group_ids[g[i]], int(group_rank[i]), int(group_low[i]),
                      int(group_high[i]), int(group_of[i]))
        for i in order
    ]
    shopper_rows = _shoppers(post, shopper_ids, p, reach)
    return Calibration(components, store_rows, shopper_rows)


@dataclass
class _Posterior:
    mean: float
    store_effect: np.ndarray
    shopper_effect: np.ndarray
    store_pev: np.ndarray
    shopper_pev: np.ndarray
    chol: np.ndarray  # Cholesky factor (lower) of the reduced precision over (mean, shoppers)
    coupling: sparse.csr_matrix  # G: stores × (1 + shoppers)
    absorbed: np.ndarray  # A: the store block's diagonal
    store_sums: np.ndarray
    reduced: np.ndarray  # (mean, shopper effects) solution
    visit_sd: float


def _posterior(s, p, y, n_stores, n_shoppers, c: Components, *, per_store: bool = True
               ) -> _Posterior:
    """Henderson's equations scaled by σ²_visit, the store block absorbed (Schur complement)."""
    lam_store = c.visit / c.store
    lam_shopper = c.visit / c.shopper if c.shopper > 0 else 1e12  # no shopper variance: effects 0
    store_n = np.bincount(s, minlength=n_stores).astype(float)
    shopper_n = np.bincount(p, minlength=n_shoppers).astype(float)
    counts = sparse.csr_matrix((np.ones(len(y)), (s, p)), shape=(n_stores, n_shoppers))
    coupling = sparse.hstack([sparse.csr_matrix(store_n[:, None]), counts], format="csr")
    absorbed = store_n + lam_store
    head = np.zeros((n_shoppers + 1, n_shoppers + 1))
    head[0, 0] = len(y)
    head[0, 1:] = head[1:, 0] = shopper_n
    head[1:, 1:] = np.diag(shopper_n + lam_shopper)
    weighted = sparse.diags(1 / absorbed) @ coupling
    reduced_matrix = head - (coupling.T @ weighted).toarray()
    store_sums = np.bincount(s, y, minlength=n_stores)
    rhs = np.concatenate([[y.sum()], np.bincount(p, y, minlength=n_shoppers)])
    rhs -= coupling.T @ (store_sums / absorbed)
    chol = linalg.cholesky(reduced_matrix, lower=True)
    reduced = linalg.cho_solve((chol, True), rhs)
    store_effect = (store_sums - coupling @ reduced) / absorbed
    # Prediction error variances: σ²v·(1/A + gᵀS⁻¹g/A²) per store; σ²v·(S⁻¹)pp per shopper.
    inverse, info = linalg.lapack.dpotri(chol, lower=1)  # S⁻¹ from its Cholesky factor
    if info:
        raise linalg.LinAlgError("reduced system not invertible")
    inverse = np.tril(inverse) + np.tril(inverse, -1).T
    inverse_diag = np.diag(inverse).copy()
    if per_store:
        quad = np.empty(n_stores)
        for start in range(0, n_stores, 4096):  # bounded memory for large networks
            rows = coupling[start:start + 4096]
            quad[start:start + 4096] = np.asarray((rows @ inverse) * rows.toarray()).sum(axis=1)
        store_pev = c.visit * (1 / absorbed + quad / absorbed**2)
    else:  # only their sum (for REML): Σ 1/A + tr(S⁻¹ · GᵀA⁻²G), without a store × shopper array
        squared = (coupling.T @ sparse.diags(absorbed**-2) @ coupling).toarray()
        store_pev = np.array([c.visit * (float((1 / absorbed).sum()) + float((inverse * squared).sum()))])
    return _Posterior(float(reduced[0]), store_effect, reduced[1:], store_pev,
                      c.visit * inverse_diag[1:], chol, coupling, absorbed, store_sums, reduced,
                      math.sqrt(c.visit))


def _refine(s, p, y, n_stores, n_shoppers, c: Components, *, rounds: int = 200,
            tolerance: float = 1e-4) -> Components:
    """REML by EM (Henderson's iteration), started from the moment estimates: the moments
    assume shoppers are assigned to stores at random, REML does not, which matters when, say,
    the harsh shoppers happen to cover the best stores."""
    floor = FLOOR_SHARE * float(y.var())
    sums = float(y.sum()), np.bincount(s, y, minlength=n_stores), np.bincount(p, y, minlength=n_shoppers)
    squares = float((y * y).sum())
    for _round in range(rounds):
        post = _posterior(s, p, y, n_stores, n_shoppers, c, per_store=False)
        effect_b = post.shopper_effect if c.shopper > 0 else np.zeros(n_shoppers)
        explained = post.mean * sums[0] + post.store_effect @ sums[1] + effect_b @ sums[2]
        visit = max(float(squares - explained) / (len(y) - 1), floor)
        store = max(float((post.store_effect**2).sum() + post.store_pev.sum()) / n_stores, floor)
        shopper = (float((effect_b**2).sum() + post.shopper_pev.sum()) / n_shoppers
                   if c.shopper > 0 else 0.0)
        change = max(abs(store - c.store) / c.store, abs(visit - c.visit) / c.visit,
                     abs(shopper - c.shopper) / max(c.shopper, floor))
        c = Components(store, shopper, visit, c.mean, c.visits)
        if change < tolerance:
            break
    return c


def _ranks_within(effect: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Each store's rank (1 = lowest effect) among the stores of its group."""
    order = np.lexsort((np.arange(len(effect)), effect, group))
    starts = np.searchsorted(group[order], group[order], side="left")
    rank = np.empty(len(effect), dtype=np.int64)
    rank[order] = np.arange(len(effect)) - starts + 1
    return rank


def _rank_interval(post: _Posterior, rng: np.random.Generator, draws: int,
                   group: np.ndarray | None = None, chunk: int = 200) -> tuple[np.ndarray, ...]:
    """5th and 95th percentiles of each store's rank over exact posterior draws: (mean,
    shoppers) from N(û, σ²v·S⁻¹), then each store given them, independently. With `group`
    codes, also the percentiles of its rank within its group (else copies of the first)."""
    n_stores = len(post.store_effect)
    draws = max(200, min(draws, 4_000_000 // max(n_stores, 1)))  # bounded time and memory
    ranks = np.empty((draws, n_stores), dtype=np.int32)  # one draw per row: sorts run along rows
    within = np.empty((draws, n_stores), dtype=np.int32) if group is not None else None
    if group is not None:  # columns ordered by group: a draw's sort by (group, effect)
        by_group = np.argsort(group, kind="stable")
        starts = np.searchsorted(group[by_group], group[by_group], side="left")
        offset = (group[by_group] * 1e6).astype(np.float64)  # effects are far below 1e6 points
    places = np.broadcast_to(np.arange(1, n_stores + 1, dtype=np.int32), (chunk, n_stores))
    for start in range(0, draws, chunk):
        size = min(chunk, draws - start)
        z = rng.standard_normal((len(post.reduced), size))
        reduced = post.reduced[:, None] + post.visit_sd * linalg.solve_triangular(
            post.chol.T, z, lower=False)
        effect = ((post.store_sums[:, None] - post.coupling @ reduced) / post.absorbed[:, None]).T
        effect += post.visit_sd * rng.standard_normal((size, n_stores)) / np.sqrt(post.absorbed)
        np.put_along_axis(ranks[start:start + size], effect.astype(np.float32).argsort(axis=1),
                          places[:size], axis=1)
        if within is not None:
            keyed = effect[:, by_group] + offset  # groups apart, effects in order inside each
            positions = keyed.argsort(axis=1)  # positions into by_group
            place = (np.arange(n_stores) - starts[positions] + 1).astype(np.int32)
            np.put_along_axis(within[start:start + size], by_group[positions], place, axis=1)
    low = np.percentile(ranks, 5, axis=0, method="lower")
    high = np.percentile(ranks, 95, axis=0, method="higher")
    if within is None:
        return low, high, low, high
    return (low, high, np.percentile(within, 5, axis=0, method="lower"),
            np.percentile(within, 95, axis=0, method="higher"))


def _shoppers(post: _Posterior, ids: list, p: np.ndarray, reach: np.ndarray
              ) -> list[ShopperEstimate]:
    visits = np.bincount(p, minlength=len(ids))
    effect, sd = post.shopper_effect, np.sqrt(np.maximum(post.shopper_pev, 0.0))
    # An outlier: far out among the shoppers (robust z beyond 3: median and scaled median
    # absolute deviation, so the harsh ones do not hide by widening the spread) and surely
    # not neutral (the 90% interval excludes 0).
    centre = float(np.median(effect)) if len(effect) else 0.0
    spread = 1.4826 * float(np.median(np.abs(effect - centre))) if len(effect) > 2 else 0.0
    rows = []
    for i in np.argsort(effect, kind="stable"):
        low, high = effect[i] - Z90 * sd[i], effect[i] + Z90 * sd[i]
        outlier = spread > 0 and abs(effect[i] - centre) > 3 * spread and (low > 0 or high < 0)
        rows.append(ShopperEstimate(ids[i], int(visits[i]), int(reach[i]), float(effect[i]),
                                    float(low), float(high), bool(outlier)))
    return rows


def one_way_k(stores: Sequence[Hashable], scores: Sequence[float], *, fallback_k: float = 5.0
              ) -> float:
    """Shrinkage constant without calibration: within-store over between-store variance
    (one-way random effects by the same pair moments), the shopper's part counted as noise."""
    _ids, s = _codes(stores)
    y = np.asarray(scores, dtype=float)
    if len(y) < MIN_VISITS or len(_ids) < MIN_STORES:
        return fallback_k
    centred = y - y.mean()
    p_store, p_all = _pairs(np.bincount(s)), len(y) * (len(y) - 1) / 2
    if p_store == 0:
        return fallback_k
    within = _within(s, centred, len(_ids)) / (2 * p_store)
    everything = float(len(y) * (centred * centred).sum() - centred.sum() ** 2) / (2 * p_all)
    between = (everything - within) * p_all / (p_all - p_store)
    between = max(between, FLOOR_SHARE * float(centred.var()))
    return within / between if within > 0 else fallback_k


def shrunken_means(stores: Sequence[Hashable], scores: Sequence[float], k: float
                   ) -> dict[Hashable, float]:
    """(n·mean + k·grand mean) / (n + k) per store."""
    ids, s = _codes(stores)
    y = np.asarray(scores, dtype=float)
    n = np.bincount(s, minlength=len(ids))
    value = (np.bincount(s, y, minlength=len(ids)) + k * y.mean()) / (n + k)
    return dict(zip(ids, value.tolist(), strict=True))


def plan(components: Components, targets: Sequence[float] = (0.7, 0.8)) -> dict[float, int]:
    """Sample-size planner: visits per store per period for each target reliability."""
    return {target: components.visits_needed(target) for target in targets}
