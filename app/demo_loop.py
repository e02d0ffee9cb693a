"""Demo data for the closed loop, so a newcomer sees it working at once: a store manager,
evidence photos on failed items, corrective actions in every state (open, plan submitted,
done, verified, reopened), appeals waiting, upheld and overturned, and last month's round of
visits finished.

Everything goes through the same functions the pages use (actions, appeals, photos).
"""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, date, datetime, time, timedelta

from PIL import Image, ImageDraw
from sqlmodel import Session, select

from . import actions, appeals
from .auth import hash_password
from .config import from_environment
from .domain.item_types import fraction
from .domain.loop import corrected_answer
from .domain.scoring import visible_answers
from .instruments import active_versions, definition
from .models import (
    ActionPhoto,
    Answer,
    Assignment,
    InstrumentVersion,
    ManagerStore,
    Response,
    ResponseEvidence,
    Round,
    Store,
    User,
    utcnow,
)
from .photos import store_photo
from .responses import stored_answers
from .storage import LocalStorage, Storage

STORE_LOGIN = ("store", "store-demo")  # the manager of one store (上海闵行)
STORE_CODE = "SH02"


def _photo(rng: random.Random, label: str) -> bytes:
    """A small photo-like PNG (a coloured scene with a caption): enough to look at."""
    image = Image.new("RGB", (480, 320), tuple(rng.randint(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randint(0, 440), rng.randint(0, 280)
        draw.rectangle((x, y, x + rng.randint(20, 120), y + rng.randint(20, 90)),
                       fill=tuple(rng.randint(0, 255) for _ in range(3)))
    draw.text((12, 290), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def seed_loop(session: Session, *, storage: Storage | str | None, rng: random.Random,
              today: date) -> str:
    config = from_environment()
    if storage is None or isinstance(storage, str):
        storage = LocalStorage(storage or config["STORAGE_DIR"])
    settings = actions.Settings.of(config)
    store = session.exec(select(Store).where(Store.code == STORE_CODE)).first()
    if store is None:
        return ""
    owner = User(username=STORE_LOGIN[0], display_name="上海闵行店总 赵敏", role="manager",
                 password_hash=hash_password(STORE_LOGIN[1]))
    session.add(owner)
    session.flush()
    session.add(ManagerStore(user_id=owner.id, store_id=store.id))
    region_manager = session.exec(select(User).where(User.username == "manager")).one()
    reviewer = session.exec(select(User).where(User.role == "reviewer")).first()
    shops = list(session.exec(select(Response).where(
        Response.kind == "mystery_shop", Response.status == "approved",
        Response.day >= today - timedelta(days=75)).order_by(Response.day)))
    for shop in shops:  # reviewed the day after the visit: appeal deadlines follow from it
        shop.reviewed_at = datetime.combine(shop.day + timedelta(days=1), time(10), UTC)
        shop.reviewed_by = reviewer.id if reviewer else None
        session.add(shop)
    session.flush()
    photos = _evidence(session, shops, storage=storage, rng=rng)
    for shop in shops:
        actions.open_for_red_lines(session, settings=settings, response=shop,
                                   now=shop.reviewed_at)
    session.flush()
    visits = _finished_round(session, today)
    _appeals(session, store, owner, reviewer, today)
    _actions_in_every_state(session, store, owner, region_manager, settings, photos, today, rng)
    return f"{len(photos)} photos, last month's round of {visits} visits"


def _finished_round(session, today: date) -> int:
    """Last month's round of the most used checklist: each store's first approved visit of
    the month is its assignment, so the round's board shows every visit approved."""
    end = today.replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    shops = list(session.exec(select(Response).where(
        Response.kind == "mystery_shop", Response.status == "approved",
        Response.assignment_id.is_(None), Response.day >= start, Response.day <= end)
        .order_by(Response.store_id, Response.day, Response.id)))
    if not shops:
        return 0
    counts: dict[int, int] = {}
    for shop in shops:
        counts[shop.instrument_version_id] = counts.get(shop.instrument_version_id, 0) + 1
    version_id = max(counts, key=lambda v: (counts[v], -v))
    admin = session.exec(select(User).where(User.role == "admin")).first()
    found = Round(name=f"{end.year}年{end.month}月暗访", period_start=start, period_end=end,
                  instrument_version_id=version_id, created_by=admin.id if admin else None,
                  created_at=datetime.combine(start - timedelta(days=5), time(9), UTC))
    session.add(found)
    session.flush()
    seen: set[int] = set()
    for shop in shops:
        if shop.instrument_version_id != version_id or shop.store_id in seen:
            continue
        seen.add(shop.store_id)
        assignment = Assignment(instrument_version_id=version_id, store_id=shop.store_id,
                                shopper_id=shop.shopper_id, window_start=start,
                                window_end=end, round_id=found.id, created_by=found.created_by)
        session.add(assignment)
        session.flush()
        shop.assignment_id = assignment.id
        session.add(shop)
    session.flush()
    return len(seen)


def _evidence(session, shops, *, storage, rng) -> list[str]:
    """A photo on the first failed item with evidence of each recent shop."""
    versions = {v.id: definition(v) for v in session.exec(select(InstrumentVersion))}
    answers: dict[int, dict] = {}
    for answer in session.exec(select(Answer).where(
            Answer.response_id.in_({s.id for s in shops} or {-1}))):
        answers.setdefault(answer.response_id, {})[answer.item_id] = json.loads(answer.value)
    stored = []
    for shop in shops:
        given = answers.get(shop.id, {})
        for item in versions[shop.instrument_version_id].items():
            if item.evidence == "none" or item.id not in given or not item.scored:
                continue
            part = fraction(item, given[item.id])
            if part is not None and part < 0.5:
                sha = store_photo(session, data=_photo(rng, f"{shop.day} {item.id}"),
                                  storage=storage, max_bytes=8 * 1024 * 1024,
                                  uploaded_by=shop.shopper_id).sha256
                session.add(ResponseEvidence(response_id=shop.id, item_id=item.id, sha256=sha))
                stored.append(sha)
                break
    session.flush()
    return stored


# (touchpoint, opened days ago, done days ago, final status, its effect in the demo data)
ACTION_STORIES = [
    ("greeting", 110, 80, "verified", "improved"),
    ("needs_analysis", 100, 70, "verified", "not_yet"),  # flagged on the short board
    ("test_drive", 60, 35, "reopened", None),
    ("farewell", 45, 20, "done", None),
    ("service_reception", 30, None, "plan_submitted", None),
    ("delivery", 6, None, "open", None),
]


def _actions_in_every_state(session, store, owner, region_manager, settings, photos, today, rng):
    """The store's actions at every state, each with a history dated as it happened; the
    two verified long ago have visits around them, so one shows an improvement and the
    other is flagged on the short board as not improved yet."""
    now = utcnow()
    plan = {"root_cause": "training", "whys": ["新员工未按流程执行", "入职培训未覆盖该环节",
                                               "培训教材过期"],
            "plan": "本月内完成全员流程培训，店总每周抽查两次。"}
    for n, (tp, opened_ago, done_ago, status, effect) in enumerate(ACTION_STORIES):
        opened = now - timedelta(days=opened_ago)
        action = actions.open_action(
            session, settings=settings, store=store, touchpoint_id=tp, trigger="manual",
            note="区域巡检发现：执行不到位，需要整改。", opened_by=region_manager.id, now=opened)
        session.flush()
        if status == "open":
            continue
        actions.submit_plan(session, action, owner, settings=settings, **plan)
        _dated(session, action.id, opened + timedelta(days=3))
        if done_ago is None or not photos:
            continue
        done = now - timedelta(days=done_ago)
        session.add(ActionPhoto(action_id=action.id, sha256=photos[n % len(photos)],
                                added_at=done - timedelta(hours=2)))
        session.flush()
        actions.mark_done(session, action, owner, "已完成培训并现场抽查。")
        action.done_at = done
        session.add(action)
        _dated(session, action.id, done)
        if status in ("verified", "reopened"):
            actions.verify(session, action, region_manager, accept=status == "verified",
                           note="现场确认已整改。" if status == "verified"
                           else "照片不能说明问题，请补充培训签到表。")
            decided = done + timedelta(days=2)
            if status == "verified":
                action.verified_at = decided
            else:
                action.due_at = decided + timedelta(days=7)
            session.add(action)
            _dated(session, action.id, decided)
        if effect is not None:
            _visits_around(session, store, tp, opened.date(), done.date(), improved=effect ==
                           "improved", rng=rng)
    session.flush()


def _dated(session, action_id: int, at: datetime) -> None:
    """Date the action's newest event (the functions the pages use stamp it now)."""
    from .models import ActionEvent

    event = session.exec(select(ActionEvent).where(ActionEvent.action_id == action_id)
                         .order_by(ActionEvent.id.desc())).first()
    event.at = at
    session.add(event)
    session.commit()


def _visits_around(session, store, tp: str, opened: date, done: date, *, improved: bool,
                   rng: random.Random) -> None:
    """Approved visits weak on the touchpoint in the weeks before the action and, after it
    was done, more of them strong when it worked (enough to outweigh the ordinary visits in
    the window, whatever the random history), as weak ones when it did not."""
    from .demo import generate_answers
    from .responses import create_scored_response

    version = next((v for v in active_versions(session, "mystery_shop")
                    if any(s.touchpoint == tp for s in definition(v).sections)), None)
    shopper = session.exec(select(User).where(User.role == "shopper")).first()
    if version is None:
        return
    instrument = definition(version)
    items = [i for section in instrument.sections if section.touchpoint == tp
             for i in section.items if i.scored]
    before = [opened - timedelta(days=d) for d in (5, 16, 27, 38)]
    after = [done + timedelta(days=d) for d in (6, 14, 22, 30, 38, 46)]
    for n, day in enumerate(before + after):
        strong = n >= len(before) and improved
        answers = generate_answers(instrument, {tp: 1.0 if strong else 0.15}, rng)
        for item in items:  # the touchpoint's items done right, or its yes/no items missed
            value = corrected_answer(item) if strong else "no" if item.type == "yes_no" else None
            if value is not None:
                answers[item.id] = value
        response, _ = create_scored_response(
            session, version=version, store=store,
            raw_answers=visible_answers(instrument, answers), channel="demo",
            status="approved", day=day, shopper_id=shopper.id if shopper else None)
        response.reviewed_at = datetime.combine(day + timedelta(days=1), time(10), UTC)
        session.add(response)
    session.flush()


def _appeals(session, store, owner, reviewer, today):
    """The store's three newest approved shops: an appeal waiting, one overturned (with a
    second item upheld when there is one) and one upheld."""
    shops = list(session.exec(select(Response).where(
        Response.store_id == store.id, Response.kind == "mystery_shop",
        Response.status == "approved").order_by(Response.day.desc()).limit(3)))
    for n, shop in enumerate(shops):
        shop.reviewed_at = utcnow() - timedelta(days=1 + n)
        session.add(shop)
        session.flush()
        instrument = definition(session.get(InstrumentVersion, shop.instrument_version_id))
        items = appeals.contestable(instrument, stored_answers(session, shop.id))
        if not items:
            continue
        contested = items[:2] if n == 1 else items[:1]
        appeal = appeals.file_appeal(
            session, response=shop, user=owner, days=from_environment()["APPEAL_DAYS"],
            items={item.id: ("监控录像显示该项已执行，申请复核。", None) for item in contested})
        if n == 0 or reviewer is None:
            continue  # waiting for the reviewer
        decisions = {item.id: ("upheld", "录像中未见该项执行，维持原判。") for item in contested}
        if n == 1:
            decisions[contested[0].id] = ("overturned", "核对录像属实，改判。")
        appeals.decide(session, appeal, reviewer, decisions)

