"""Planning a monthly round of mystery shops: who visits which store, and when.

Pure: plain data in, a plan out (the database side gathers the inputs and stores the result,
app/rounds/service.py). The same inputs and seed always give the same plan, so the preview an
admin approves is the plan that is committed.

Rules:
- each store gets its quota of visits, each by a different shopper;
- a shopper only visits stores below one of their home regions, never a store marked as a
  conflict, never a store they visited within the exclusion window (earlier rounds), and never
  more visits than their remaining monthly capacity;
- visit windows are drawn at random inside the period, so a store cannot predict the day;
- stores left short are listed with the reason (no shopper in the region, all of them
  conflicted, excluded by recent visits, or out of capacity).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

NO_SHOPPER = "no_shopper"  # nobody has a home region above this store
CONFLICT = "conflict"  # every shopper of the region is marked as conflicting
EXCLUDED = "excluded"  # the others visited it recently (or already in this round)
CAPACITY = "capacity"  # the rest are fully booked
REASONS = (NO_SHOPPER, CONFLICT, EXCLUDED, CAPACITY)


@dataclass(frozen=True)
class StoreNeed:
    store_id: int
    regions: frozenset[int]  # the store's region and every region above it
    quota: int


@dataclass(frozen=True)
class Shopper:
    id: int
    home_regions: frozenset[int]
    capacity: int  # visits still free in this period
    conflicts: frozenset[int] = frozenset()  # store ids
    recent: frozenset[int] = frozenset()  # store ids visited inside the exclusion window


@dataclass(frozen=True)
class Visit:
    store_id: int
    shopper_id: int
    window_start: date
    window_end: date


@dataclass(frozen=True)
class Shortfall:
    store_id: int
    missing: int
    reason: str


@dataclass
class Plan:
    visits: list[Visit] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)

    def per_shopper(self) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for visit in self.visits:
            counts[visit.shopper_id] += 1
        return dict(counts)


def draw_window(rng: random.Random, start: date, end: date, days: int) -> tuple[date, date]:
    """A window of `days` days at a random place inside [start, end] (the whole period when
    it is shorter)."""
    length = (end - start).days + 1
    if days >= length:
        return start, end
    first = start + timedelta(days=rng.randrange(length - days + 1))
    return first, first + timedelta(days=days - 1)


def plan_round(stores: list[StoreNeed], shoppers: list[Shopper], start: date, end: date, *,
               window_days: int = 3, seed: int = 0) -> Plan:
    if end < start:
        raise ValueError("the period ends before it starts")
    rng = random.Random(seed)
    by_region: dict[int, list[Shopper]] = defaultdict(list)
    for shopper in shoppers:
        for region in shopper.home_regions:
            by_region[region].append(shopper)
    left = {s.id: max(0, s.capacity) for s in shoppers}
    plan = Plan()

    def candidates(need: StoreNeed) -> list[Shopper]:
        seen: dict[int, Shopper] = {}
        for region in need.regions:
            for shopper in by_region.get(region, ()):
                seen[shopper.id] = shopper
        return sorted(seen.values(), key=lambda s: s.id)

    # the most constrained stores first (fewest possible shoppers), ties in random order
    needs = [(need, candidates(need), rng.random()) for need in stores if need.quota > 0]
    needs.sort(key=lambda t: (len(t[1]), t[2]))
    for need, pool, _ in needs:
        chosen: list[int] = []
        for _slot in range(need.quota):
            free = [s for s in pool if s.id not in chosen and need.store_id not in s.conflicts
                    and need.store_id not in s.recent and left[s.id] > 0]
            if not free:
                missing = need.quota - len(chosen)
                plan.shortfalls.append(Shortfall(need.store_id, missing,
                                                 _reason(need, pool, chosen, left)))
                break
            # spread the load: the shopper with the most room left, ties at random
            most = max(left[s.id] for s in free)
            shopper = rng.choice([s for s in free if left[s.id] == most])
            left[shopper.id] -= 1
            chosen.append(shopper.id)
            first, last = draw_window(rng, start, end, window_days)
            plan.visits.append(Visit(need.store_id, shopper.id, first, last))
    plan.visits.sort(key=lambda v: (v.store_id, v.window_start, v.shopper_id))
    plan.shortfalls.sort(key=lambda s: s.store_id)
    return plan


def _reason(need: StoreNeed, pool: list[Shopper], chosen: list[int], left: dict[int, int]) -> str:
    if not pool:
        return NO_SHOPPER
    open_ = [s for s in pool if need.store_id not in s.conflicts]
    if not open_:
        return CONFLICT
    allowed = [s for s in open_ if need.store_id not in s.recent and s.id not in chosen]
    if not allowed:
        return EXCLUDED
    return CAPACITY
