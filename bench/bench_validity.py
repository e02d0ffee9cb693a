"""Is shrinkage honest? A simulated network with known true touchpoint scores per store and
about five responses per store (1 to 9, as real months are uneven): rank stores on each
touchpoint by raw mean and by the empirical-Bayes shrunken mean, and count how many of the
ten stores ranked weakest are truly among the ten weakest (precision at 10).

Prints `bench validity: precision_at_10 shrunk=<a> raw=<b>`."""

from __future__ import annotations

import random

from app.domain.ranking import Stats, league, precision_at_k

STORES, TOUCHPOINTS, MEAN_N, TOP = 300, 8, 5, 10
BETWEEN_SD, NOISE_SD, K = 6.0, 15.0, 5.0


def simulate(seed: int, *, stores: int = STORES, touchpoints: int = TOUCHPOINTS,
             k: float = K) -> tuple[float, float]:
    """(precision@10 shrunk, precision@10 raw), averaged over the touchpoints."""
    rng = random.Random(seed)
    shrunk_hits = raw_hits = 0.0
    for _tp in range(touchpoints):
        truth = {s: rng.gauss(80, BETWEEN_SD) for s in range(stores)}
        stats = {}
        for store, true_mean in truth.items():
            n = max(1, min(9, round(rng.gauss(MEAN_N, 2.2))))
            scores = [min(100.0, max(0.0, rng.gauss(true_mean, NOISE_SD))) for _ in range(n)]
            stats[store] = Stats.of(scores)
        weakest = sorted(truth, key=truth.get)[:TOP]
        network = sum(stats.values(), Stats()).mean
        shrunk = [row.store_id for row in league(stats, network, k)]
        raw = sorted(stats, key=lambda s: stats[s].mean)
        shrunk_hits += precision_at_k(shrunk, weakest, TOP)
        raw_hits += precision_at_k(raw, weakest, TOP)
    return shrunk_hits / touchpoints, raw_hits / touchpoints


def main(runs: int = 40) -> tuple[float, float]:
    results = [simulate(seed) for seed in range(runs)]
    shrunk = sum(r[0] for r in results) / runs
    raw = sum(r[1] for r in results) / runs
    print(f"validity: {runs} simulated networks x {TOUCHPOINTS} touchpoints, {STORES} stores, "
          f"~{MEAN_N} responses per store (1-9), k={K:g}")
    print(f"bench validity: precision_at_10 shrunk={shrunk:.3f} raw={raw:.3f}")
    return shrunk, raw


if __name__ == "__main__":
    main()
