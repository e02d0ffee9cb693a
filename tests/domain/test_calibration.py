"""Shopper calibration maths: planted harsh shoppers, recovered variances, rank intervals,
reliability and the planner, identifiability, and the invariants a fair league must keep."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import calibration
from app.domain.calibration import Components


def harsh_network(seed: int = 1):
    """30 stores whose true quality rises with their number; 10 shoppers of whom 2 are harsh
    (20 points lower) and do most visits to the 10 best stores. Little noise."""
    rng = np.random.default_rng(seed)
    quality = np.linspace(-15, 15, 30)
    harshness = np.array([-20.0, -20.0] + [0.0] * 8)
    stores, shoppers, scores = [], [], []
    for store in range(30):
        for visit in range(6):
            if store >= 20 and visit < 4:
                shopper = visit % 2  # a harsh one
            else:
                shopper = 2 + (store + visit) % 8
            stores.append(f"S{store:02d}")
            shoppers.append(f"P{shopper}")
            scores.append(80 + quality[store] + harshness[shopper] + rng.normal(0, 1.5))
    return stores, shoppers, scores


def test_planted_harsh_shoppers_the_calibrated_league_recovers_the_true_order():
    stores, shoppers, scores = harsh_network()
    truth = [f"S{i:02d}" for i in range(30)]  # weakest first
    raw = calibration.shrunken_means(stores, scores, 0.0)
    raw_order = sorted(raw, key=raw.get)
    fitted = calibration.fit(stores, shoppers, scores)
    calibrated_order = [row.store for row in fitted.stores]
    # raw: good stores that met harsh shoppers sink into the bottom ten
    assert set(raw_order[:10]) != set(truth[:10])
    assert set(calibrated_order[:10]) == set(truth[:10])
    assert set(calibrated_order[-10:]) == set(truth[-10:])
    assert np.corrcoef([truth.index(s) for s in calibrated_order], range(30))[0, 1] > 0.98
    harshest = fitted.shoppers[:2]
    assert {s.shopper for s in harshest} == {"P0", "P1"}
    assert all(s.high < -10 and s.outlier for s in harshest)
    assert not any(s.outlier for s in fitted.shoppers[2:])


def simulated(seed: int, stores: int = 300, shoppers: int = 60, visits: int = 8,
              store_sd: float = 6, shopper_sd: float = 8, noise_sd: float = 10):
    rng = np.random.default_rng(seed)
    store = np.repeat(np.arange(stores), visits)
    shopper = rng.integers(0, shoppers, len(store))
    a, b = rng.normal(0, store_sd, stores), rng.normal(0, shopper_sd, shoppers)
    return store, shopper, 80 + a[store] + b[shopper] + rng.normal(0, noise_sd, len(store)), a


def test_the_variance_components_are_recovered_from_the_data():
    fits = [calibration.fit(*simulated(seed)[:3], draws=200).components for seed in (3, 4, 5)]
    assert not any(c.fallback for c in fits)
    store, shopper, visit = (np.mean([getattr(c, name) for c in fits])
                             for name in ("store", "shopper", "visit"))
    assert 36 * 0.75 < store < 36 * 1.25  # true SDs 6, 8 and 10
    assert 64 * 0.7 < shopper < 64 * 1.3
    assert 100 * 0.9 < visit < 100 * 1.1
    assert fits[0].k == pytest.approx(fits[0].visit / fits[0].store)
    moments = calibration.estimate_components(*simulated(4)[:3])
    assert moments.visit == pytest.approx(fits[1].visit, rel=0.1)  # REML starts from these


def test_rank_intervals_cover_the_true_rank_about_nine_times_in_ten():
    covered = total = 0
    for seed in range(4):
        store, shopper, score, a = simulated(seed)
        true_rank = np.argsort(np.argsort(a)) + 1
        for row in calibration.fit(store, shopper, score, seed=seed).stores:
            covered += row.rank_low <= true_rank[row.store] <= row.rank_high
            total += 1
    assert 0.8 < covered / total < 0.97


def test_a_shopper_who_saw_one_store_is_named_and_that_store_is_not_separable():
    stores, shoppers, scores = harsh_network()
    stores += ["LONE"] * 4
    shoppers += ["HOMEBODY"] * 4
    scores += [60.0] * 4
    fitted = calibration.fit(stores, shoppers, scores)
    assert [s.shopper for s in fitted.confounded_shoppers] == ["HOMEBODY"]
    lone = next(row for row in fitted.stores if row.store == "LONE")
    assert not lone.separable
    assert all(row.separable for row in fitted.stores if row.store != "LONE")


def test_thin_data_fall_back_to_the_configured_split():
    c = calibration.estimate_components(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]),
                                        np.array([70.0, 80.0, 90.0, 85.0]), fallback_k=4)
    assert c.fallback and c.k == pytest.approx(4)


def test_an_admin_override_of_k_fixes_the_shrinkage():
    store, shopper, score, _a = simulated(5, stores=40)
    fitted = calibration.fit(store, shopper, score, k=1000)
    spread = max(r.calibrated for r in fitted.stores) - min(r.calibrated for r in fitted.stores)
    looser = calibration.fit(store, shopper, score, k=0.5)
    spread_loose = max(r.calibrated for r in looser.stores) - min(r.calibrated for r in looser.stores)
    assert fitted.components.k == pytest.approx(1000)
    assert spread < spread_loose / 10  # k this large pulls every store to the network mean


@pytest.mark.parametrize(("store", "visit", "target", "visits"), [
    (36.0, 100.0, 0.7, 7),  # k = 2.78: 0.7/0.3 × 2.78 = 6.5 -> 7
    (36.0, 100.0, 0.8, 12),  # 4 × 2.78 = 11.1 -> 12
    (100.0, 100.0, 0.8, 4),
    (1.0, 100.0, 0.7, 234),
])
def test_the_planner_gives_the_fewest_visits_reaching_the_reliability(store, visit, target, visits):
    c = Components(store, 0.0, visit, 80.0, 1000)
    assert c.visits_needed(target) == visits
    assert c.reliability(visits) >= target > c.reliability(visits - 1)
    assert calibration.plan(c, [target]) == {target: visits}


@settings(max_examples=30)
@given(shift=st.floats(-30, 30), seed=st.integers(0, 10_000))
def test_adding_a_constant_to_every_score_shifts_scores_and_keeps_ranks(shift, seed):
    store, shopper, score, _a = simulated(seed, stores=25, shoppers=8, visits=4)
    before = calibration.fit(store, shopper, score, draws=200, seed=1)
    after = calibration.fit(store, shopper, score + shift, draws=200, seed=1)
    assert [r.store for r in after.stores] == [r.store for r in before.stores]
    for a, b in zip(before.stores, after.stores, strict=True):
        assert b.calibrated == pytest.approx(a.calibrated + shift, abs=1e-6)
        assert (b.rank, b.rank_low, b.rank_high) == (a.rank, a.rank_low, a.rank_high)


@settings(max_examples=30)
@given(data=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4), st.floats(0, 100)),
                     min_size=1, max_size=60))
def test_any_data_give_a_full_league_with_sane_numbers(data):
    stores, shoppers, scores = zip(*data, strict=True)
    fitted = calibration.fit(stores, shoppers, scores, draws=200)
    ranked = fitted.stores
    assert sorted(r.rank for r in ranked) == list(range(1, len(set(stores)) + 1))
    assert [r.rank for r in ranked] == sorted(r.rank for r in ranked)  # weakest first
    for row in ranked:
        assert 1 <= row.rank_low <= row.rank_high <= row.of
        assert 0.0 <= row.reliability <= 1.0
        assert min(scores) - 1e-6 <= row.raw_mean <= max(scores) + 1e-6
        assert -1 <= row.calibrated <= 101  # shrinkage keeps scores near the data
    assert sum(s.visits for s in fitted.shoppers) == len(scores)


def test_more_visits_mean_a_more_reliable_store():
    store, shopper, score, _a = simulated(9, stores=60)
    keep = ~((store < 30) & (np.arange(len(store)) % 8 >= 2))  # stores 0-29 keep 2 visits
    fitted = calibration.fit(store[keep], shopper[keep], score[keep])
    few = [r.reliability for r in fitted.stores if r.visits == 2]
    many = [r.reliability for r in fitted.stores if r.visits == 8]
    assert max(few) < min(many)


def test_ranks_within_regions_come_from_the_same_draws_and_cover_the_true_rank():
    store, shopper, score, a = simulated(11, stores=160)
    region = {s: s % 4 for s in range(160)}  # four regions of 40
    fitted = calibration.fit(store, shopper, score, groups=region, seed=3)
    covered = 0
    for row in fitted.stores:
        mates = [s for s in range(160) if region[s] == region[row.store]]
        true_place = sorted(mates, key=lambda s: a[s]).index(row.store) + 1
        covered += row.group_low <= true_place <= row.group_high
        assert row.group == region[row.store] and row.group_of == 40
        assert 1 <= row.group_low <= row.group_rank <= row.group_high <= 40
        assert row.group_rank <= row.rank  # fewer stores below it in its region
    for g in range(4):  # the point ranks of a region are its calibrated order
        rows = sorted((r for r in fitted.stores if r.group == g), key=lambda r: r.calibrated)
        assert [r.group_rank for r in rows] == list(range(1, 41))
    assert covered / 160 > 0.8
