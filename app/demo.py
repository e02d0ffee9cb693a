"""Demo data that looks like a real network: regions, stores, one user per role and six
months of scored mystery shops and customer surveys whose weak touchpoints differ by store.

Answers are generated per item and go through the same validation and scoring as real
submissions (`responses.create_scored_response`).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, select

from .auth import hash_password
from .demo_loop import seed_loop
from .domain.definitions import Instrument, Item
from .domain.scoring import visible_answers
from .instruments import active_versions, definition
from .models import Assignment, Region, Store, User
from .responses import create_scored_response

DEMO_LOGINS = {
    "admin": ("admin", "admin-demo"),
    "manager": ("manager", "manager-demo"),
    "reviewer": ("reviewer", "reviewer-demo"),
    "shopper": ("shopper", "shopper-demo"),
}

NETWORK = {
    ("east", "华东区"): [
        ("SH01", "上海浦东星驰4S店", "上海"), ("SH02", "上海闵行星驰4S店", "上海"),
        ("HZ01", "杭州滨江星驰4S店", "杭州"), ("SZ01", "苏州园区星驰4S店", "苏州"),
    ],
    ("south", "华南区"): [
        ("GZ01", "广州天河星驰4S店", "广州"), ("SZ02", "深圳南山星驰4S店", "深圳"),
        ("FS01", "佛山禅城星驰4S店", "佛山"),
    ],
    ("north", "华北区"): [
        ("BJ01", "北京朝阳星驰4S店", "北京"), ("BJ02", "北京亦庄星驰4S店", "北京"),
        ("TJ01", "天津河西星驰4S店", "天津"),
    ],
    ("southwest", "西南区"): [
        ("CD01", "成都高新星驰4S店", "成都"), ("CQ01", "重庆渝北星驰4S店", "重庆"),
    ],
}

COMMENTS = [
    "销售顾问很专业，讲解清楚。", "等待时间有点长。", "休息区很舒服，饮品不错。",
    "交车时说明很详细，谢谢！", "价格解释得不够清楚。", "", "",
]


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


def _answer(item: Item, quality: float, rng: random.Random) -> Any:
    """One plausible answer for an item, better the higher the store's quality there."""
    if item.na and rng.random() < 0.04:
        return "na"
    if item.type == "yes_no":
        p = 1 - (1 - quality) * 0.35 if item.critical else quality
        return "yes" if rng.random() < p else "no"
    if item.type in ("scale", "nps"):
        low, high = item.scale_range
        return low + round((high - low) * _clamp(rng.gauss(quality, 0.18)))
    if item.type == "choice":
        options = item.options or []
        scored = [o for o in options if o.score is not None] or options
        target = _clamp(rng.gauss(quality, 0.2))
        return min(scored, key=lambda o: abs((o.score or 0) - target)).value
    if item.type == "number":
        bands = [b for b in item.bands or [] if b.max is not None]
        if not bands:
            return round(rng.uniform(item.min or 0, item.max or 100))
        edge = bands[0].max if rng.random() < quality else bands[-1].max * 1.5
        low = item.min if item.min is not None else 0
        return max(low, round(edge * rng.uniform(0.4, 1.0)))
    if item.type == "text":
        return rng.choice(COMMENTS) or None
    if item.type == "time":
        return f"{rng.randint(9, 16):02d}:{rng.choice(['00', '15', '30', '45'])}"
    return None  # photos are not faked


def generate_answers(instrument: Instrument, quality: dict[str, float], rng: random.Random):
    answers: dict[str, Any] = {}
    for section in instrument.sections:
        q = quality.get(section.touchpoint, 0.85)
        for item in section.items:
            value = _answer(item, q, rng)
            if value is not None:
                answers[item.id] = value
    _drive_outcome(instrument, answers, rng)
    # drop answers to items the generated branch hides, as a phone would
    return visible_answers(instrument, answers)


def _drive_outcome(instrument: Instrument, answers: dict[str, Any], rng: random.Random) -> None:
    """Customers' overall verdict follows how the visit went (so key-driver importance has
    something real to find): the outcome and NPS answers follow the mean of the other scales."""
    if instrument.outcome is None:
        return
    parts = [(answers[i.id] - i.scale_range[0]) / (i.scale_range[1] - i.scale_range[0])
             for i in instrument.items()
             if i.type == "scale" and i.id != instrument.outcome and isinstance(answers.get(i.id), int)]
    if not parts:
        return
    mood = sum(parts) / len(parts)
    for item in instrument.items():
        if item.id == instrument.outcome or item.type == "nps":
            low, high = item.scale_range
            answers[item.id] = low + round((high - low) * _clamp(rng.gauss(mood, 0.08)))


def _store_profile(touchpoints: list[str], rng: random.Random) -> dict[str, float]:
    profile = {tp: rng.uniform(0.78, 0.96) for tp in touchpoints}
    for tp in rng.sample(touchpoints, k=min(3, len(touchpoints))):
        profile[tp] = rng.uniform(0.45, 0.7)  # this store's short boards
    return profile


def _network(session: Session) -> list[Store]:
    stores = []
    for (code, name), members in NETWORK.items():
        region = Region(code=code, name=name)
        session.add(region)
        session.flush()
        for store_code, store_name, city in members:
            store = Store(code=store_code, name=store_name, city=city, region_id=region.id)
            session.add(store)
            stores.append(store)
    session.flush()
    return stores


def _users(session: Session, east_region_id: int) -> dict[str, User]:
    names = {"admin": "质量部 王敏", "manager": "华东区域经理 李强",
             "reviewer": "审核员 陈静", "shopper": "神秘顾客 张伟"}
    users = {}
    for role, (username, password) in DEMO_LOGINS.items():
        user = User(username=username, display_name=names[role], role=role,
                    password_hash=hash_password(password),
                    region_id=east_region_id if role == "manager" else None)
        session.add(user)
        users[role] = user
    session.flush()
    return users


def seed(session: Session, *, months: int = 6, random_seed: int = 1, today: date | None = None,
         surveys_per_month: int = 8, storage=None) -> str | None:
    """Create the demo network and history; None when a network already exists."""
    if session.exec(select(Region)).first() is not None:
        return None
    versions = active_versions(session)
    if not versions:
        raise RuntimeError("no instruments loaded: run `flask --app app surveys load --publish` first")
    rng = random.Random(random_seed)
    today = today or date.today()
    stores = _network(session)
    users = _users(session, stores[0].region_id)
    instruments = [(v, definition(v)) for v in versions]
    all_touchpoints = sorted({s.touchpoint for _, i in instruments for s in i.sections})
    count = 0
    for store in stores:
        profile = _store_profile(all_touchpoints, rng)
        for offset in range(months * 30, 0, -1):
            day = today - timedelta(days=offset)
            for version, instrument in instruments:
                per_month = 1 if version.kind == "mystery_shop" else surveys_per_month
                if rng.random() >= per_month / 30:
                    continue
                answers = generate_answers(instrument, profile, rng)
                shop = version.kind == "mystery_shop"
                create_scored_response(
                    session, version=version, store=store, raw_answers=answers,
                    channel="demo" if shop else "qr", status="approved" if shop else "submitted",
                    day=day, shopper_id=users["shopper"].id if shop else None,
                )
                count += 1
    _open_work(session, stores, users, instruments, rng, today)
    session.flush()
    loop = seed_loop(session, storage=storage, rng=rng, today=today)
    session.commit()
    return f"{len(stores)} stores, {len(users)} users, {count} responses, {loop}"


def _open_work(session, stores, users, instruments, rng, today) -> None:
    """A few assignments for the shopper and reports waiting for the reviewer; the first of
    them failed a red line, so approving it opens a corrective action for the region's
    manager to follow (the loop from its start)."""
    shops = [(v, i) for v, i in instruments if v.kind == "mystery_shop"]
    for n, store in enumerate(stores[:3]):
        version, instrument = shops[n % len(shops)]
        start = today - timedelta(days=10 if n == 2 else 2)
        session.add(Assignment(instrument_version_id=version.id, store_id=store.id,
                               shopper_id=users["shopper"].id, window_start=start,
                               window_end=start + timedelta(days=7),
                               created_by=users["admin"].id))
    for store in (stores[1], stores[4]):  # SH02 has the demo's store manager (demo_loop)
        version, instrument = shops[0]
        assignment = Assignment(instrument_version_id=version.id, store_id=store.id,
                                shopper_id=users["shopper"].id,
                                window_start=today - timedelta(days=5),
                                window_end=today + timedelta(days=2), created_by=users["admin"].id)
        session.add(assignment)
        session.flush()
        answers = generate_answers(instrument, {}, rng)
        if store is stores[1]:
            critical = next((i for i in instrument.items() if i.critical
                             and i.type == "yes_no" and answers.get(i.id) == "yes"), None)
            if critical is not None:
                answers = visible_answers(instrument, {**answers, critical.id: "no"})
        create_scored_response(session, version=version, store=store, raw_answers=answers,
                               channel="shopper", status="submitted", day=today,
                               shopper_id=users["shopper"].id, assignment_id=assignment.id)
