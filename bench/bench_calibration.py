"""Does shopper calibration make the store league fairer? The fixed design of issue 13, 40 times:
400 stores in 8 regions (50 each), 40 shoppers (5 living in each region), 6 visits per store,
each by a shopper of the store's region with probability 0.8 and from another region
otherwise; a visit's score = 80 + store (SD 6) + shopper (SD 8) + noise (SD 10). Stores are
ranked by (a) raw mean, (b) shrunken mean without calibration (k estimated from the data),
(c) the calibrated estimate (variances estimated from the data) and (d) an oracle that knows
the shopper effects and the variances; each counts how many of the 20 truly weakest stores
it puts in its bottom 20. Then the coverage of the 90% rank intervals (true rank inside), and
the time of one network fit of 200,000 visits (variances, effects, reliabilities, ranks with
intervals).

Prints `bench rank-intervals: coverage=<x>`, `bench calibration-fit: visits=<n> seconds=<s>`
and, last, `bench calibration: precision_at_20 calibrated=<c> uncalibrated=<b> raw=<a> oracle=<d>`."""

from __future__ import annotations

import time

import numpy as np

from app.domain import calibration

REGIONS, STORES_PER_REGION, SHOPPERS_PER_REGION, VISITS = 8, 50, 5, 6
MEAN, STORE_SD, SHOPPER_SD, NOISE_SD, HOME = 80.0, 6.0, 8.0, 10.0, 0.8
TOP = 20


def network(rng: np.random.Generator, *, regions: int = REGIONS,
            stores_per_region: int = STORES_PER_REGION,
            shoppers_per_region: int = SHOPPERS_PER_REGION, visits: int = VISITS):
    """(store of each visit, shopper of each visit, score, true store effects, true shopper
    effects) for one simulated period."""
    n_stores, n_shoppers = regions * stores_per_region, regions * shoppers_per_region
    store_effect = rng.normal(0, STORE_SD, n_stores)
    shopper_effect = rng.normal(0, SHOPPER_SD, n_shoppers)
    store = np.repeat(np.arange(n_stores), visits)
    region = store // stores_per_region
    home = rng.random(len(store)) < HOME
    other = (region + rng.integers(1, regions, len(store))) % regions  # any region but its own
    shopper_region = np.where(home, region, other)
    shopper = shopper_region * shoppers_per_region + rng.integers(0, shoppers_per_region,
                                                                  len(store))
    score = (MEAN + store_effect[store] + shopper_effect[shopper]
             + rng.normal(0, NOISE_SD, len(store)))
    return store, shopper, score, store_effect, shopper_effect


def bottom(values: dict, count: int = TOP) -> set:
    return set(sorted(values, key=values.get)[:count])


def simulate(seed: int) -> tuple[dict[str, float], float]:
    """Precision at 20 of each ranking, and the 90% rank intervals' coverage, for one network."""
    rng = np.random.default_rng(seed)
    store, shopper, score, store_effect, shopper_effect = network(rng)
    truth = bottom(dict(enumerate(store_effect)))
    counts = np.bincount(store)
    raw = dict(enumerate(np.bincount(store, score) / counts))
    k = calibration.one_way_k(store, score)
    uncalibrated = calibration.shrunken_means(store, score, k)
    fitted = calibration.fit(store, shopper, score, seed=seed)
    calibrated = {row.store: row.calibrated for row in fitted.stores}
    oracle = calibration.shrunken_means(store, score - shopper_effect[shopper],
                                        NOISE_SD**2 / STORE_SD**2)
    precision = {name: len(bottom(ranking) & truth) / TOP for name, ranking in (
        ("calibrated", calibrated), ("uncalibrated", uncalibrated), ("raw", raw),
        ("oracle", oracle))}
    true_rank = np.empty(len(store_effect), dtype=int)
    true_rank[np.argsort(store_effect)] = np.arange(1, len(store_effect) + 1)
    covered = sum(row.rank_low <= true_rank[row.store] <= row.rank_high for row in fitted.stores)
    return precision, covered / len(fitted.stores)


def fit_time(visits: int = 200_000) -> tuple[int, float]:
    """One network fit at scale: 10,000 stores in 100 regions of 100, 20 visits each, 1,000
    shoppers (10 per region)."""
    rng = np.random.default_rng(7)
    store, shopper, score, _s, _p = network(rng, regions=100, stores_per_region=100,
                                             shoppers_per_region=10, visits=visits // 10_000)
    started = time.perf_counter()
    calibration.fit(store, shopper, score)
    return len(score), time.perf_counter() - started


def main(runs: int = 40) -> dict[str, float]:
    results = [simulate(seed) for seed in range(runs)]
    precision = {name: sum(r[0][name] for r in results) / runs for name in results[0][0]}
    coverage = sum(r[1] for r in results) / runs
    visits, seconds = fit_time()
    print(f"calibration: {runs} simulated networks, {REGIONS * STORES_PER_REGION} stores, "
          f"{REGIONS * SHOPPERS_PER_REGION} shoppers, {VISITS} visits per store")
    print(f"bench rank-intervals: coverage={coverage:.3f}")
    print(f"bench calibration-fit: visits={visits} seconds={seconds:.2f}")
    print("bench calibration: precision_at_20 " + " ".join(
        f"{name}={precision[name]:.3f}" for name in ("calibrated", "uncalibrated", "raw", "oracle")))
    return precision | {"coverage": coverage}


if __name__ == "__main__":
    main()
