"""Round planning as properties: whatever the network, shoppers and history, a plan never
sends a shopper to a store twice, never inside the exclusion window or to a conflicting store,
never over capacity, never outside the period; and every missing visit is accounted for."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.rounds import (
    CAPACITY,
    CONFLICT,
    EXCLUDED,
    NO_SHOPPER,
    Shopper,
    StoreNeed,
    draw_window,
    plan_round,
)

# regions 1..6: 1 is the brand, 2 and 3 large regions under it, 4,5 under 2 and 6 under 3
ABOVE = {1: {1}, 2: {1, 2}, 3: {1, 3}, 4: {1, 2, 4}, 5: {1, 2, 5}, 6: {1, 3, 6}}


@st.composite
def rounds(draw):
    n_stores = draw(st.integers(1, 25))
    stores = [StoreNeed(sid, frozenset(ABOVE[draw(st.sampled_from([4, 5, 6]))]),
                        draw(st.integers(0, 3))) for sid in range(1, n_stores + 1)]
    store_ids = st.sampled_from([s.store_id for s in stores])
    shoppers = [Shopper(100 + i, frozenset(draw(st.sets(st.integers(1, 6), min_size=1,
                                                        max_size=2))),
                        draw(st.integers(0, 6)),
                        frozenset(draw(st.sets(store_ids, max_size=3))),
                        frozenset(draw(st.sets(store_ids, max_size=5))))
                for i in range(draw(st.integers(0, 8)))]
    start = draw(st.dates(date(2026, 1, 1), date(2027, 12, 1)))
    end = start + timedelta(days=draw(st.integers(0, 40)))
    return stores, shoppers, start, end, draw(st.integers(1, 10)), draw(st.integers(0, 2**32))


@settings(max_examples=300, deadline=None)
@given(rounds())
def test_a_plan_keeps_every_rule(case):
    stores, shoppers, start, end, window_days, seed = case
    plan = plan_round(stores, shoppers, start, end, window_days=window_days, seed=seed)
    by_id = {s.id: s for s in shoppers}
    need = {s.store_id: s for s in stores}
    pairs = Counter((v.shopper_id, v.store_id) for v in plan.visits)
    assert max(pairs.values(), default=1) == 1  # never the same store twice in a round
    for visit in plan.visits:
        shopper = by_id[visit.shopper_id]
        assert visit.store_id not in shopper.recent  # exclusion window
        assert visit.store_id not in shopper.conflicts
        assert shopper.home_regions & need[visit.store_id].regions  # home region above it
        assert start <= visit.window_start <= visit.window_end <= end
    for shopper_id, n in plan.per_shopper().items():
        assert n <= by_id[shopper_id].capacity
    # every store gets its quota, or the missing visits are listed with a reason
    visits = Counter(v.store_id for v in plan.visits)
    short = {s.store_id: s.missing for s in plan.shortfalls}
    for store in stores:
        assert visits[store.store_id] + short.get(store.store_id, 0) == store.quota


@settings(max_examples=100, deadline=None)
@given(rounds())
def test_the_same_seed_gives_the_same_plan(case):
    stores, shoppers, start, end, window_days, seed = case
    assert plan_round(stores, shoppers, start, end, window_days=window_days, seed=seed) == \
        plan_round(stores, shoppers, start, end, window_days=window_days, seed=seed)


def test_shortfall_reasons():
    store = StoreNeed(1, frozenset({1, 2, 4}), 1)
    start, end = date(2026, 12, 1), date(2026, 12, 31)

    def reason(*shoppers):
        return plan_round([store], list(shoppers), start, end).shortfalls[0].reason

    assert reason() == NO_SHOPPER
    assert reason(Shopper(1, frozenset({3}), 5)) == NO_SHOPPER  # another large region
    assert reason(Shopper(1, frozenset({2}), 5, conflicts=frozenset({1}))) == CONFLICT
    assert reason(Shopper(1, frozenset({2}), 5, recent=frozenset({1}))) == EXCLUDED
    assert reason(Shopper(1, frozenset({1}), 0)) == CAPACITY


def test_load_is_spread_and_windows_vary():
    stores = [StoreNeed(i, frozenset({1}), 2) for i in range(40)]
    shoppers = [Shopper(i, frozenset({1}), 20) for i in range(4)]
    plan = plan_round(stores, shoppers, date(2026, 12, 1), date(2026, 12, 31), seed=3)
    assert sorted(plan.per_shopper().values()) == [20, 20, 20, 20]
    assert len({v.window_start for v in plan.visits}) > 10  # not predictable


@given(st.dates(), st.integers(0, 60), st.integers(1, 10), st.randoms(use_true_random=False))
def test_windows_stay_inside_the_period(start, length, days, rng):
    end = start + timedelta(days=length) if start < date(9999, 1, 1) else start
    first, last = draw_window(rng, start, end, days)
    assert start <= first <= last <= end
    assert (last - first).days + 1 == min(days, (end - start).days + 1)
