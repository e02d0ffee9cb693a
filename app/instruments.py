"""Putting definitions into the database as immutable versions, and reading them back.

Which version an instrument uses is decided when it is read: its newest published version
whose effective day has come (on the stores' clock). A publication for the 1st of next month
takes over on that day by itself, whoever looks first, with no one visiting an admin page.
The `active` column mirrors that decision for people reading the tables with SQL; it is
refreshed on publication and on the admin home, and the app never reads it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from . import clock
from .domain.definitions import Instrument, Taxonomy
from .models import InstrumentVersion, Touchpoint, utcnow


class VersionConflict(ValueError):
    pass


@dataclass(frozen=True)
class LoadResult:
    instrument_id: str
    version: int
    status: str  # added | unchanged


def load_taxonomy(session: Session, taxonomy: Taxonomy) -> int:
    """Insert or refresh touchpoints (ids are a contract; labels and targets may be refined)."""
    existing = {t.id: t for t in session.exec(select(Touchpoint))}
    for position, tp in enumerate(taxonomy.touchpoints):
        row = existing.get(tp.id) or Touchpoint(id=tp.id, stage=tp.stage, label_zh="", label_en="")
        row.stage, row.label_zh, row.label_en = tp.stage, tp.label.zh, tp.label.en
        row.target, row.position = tp.target, position
        session.add(row)
    return len(taxonomy.touchpoints)


def load_instrument(session: Session, instrument: Instrument, *, publish: bool = True,
                    approved_by: int | None = None, effective_on: date | None = None,
                    today: date | None = None) -> LoadResult:
    """Add a new version; the same content again is a no-op; other content is refused.

    A new version is a draft until published. The CLI and the admin page publish only when
    asked (`surveys load --publish`); this Python default publishes, for seeding and tests
    that need a working instrument at once."""
    digest = instrument.content_hash()
    row = session.exec(
        select(InstrumentVersion).where(
            InstrumentVersion.instrument_id == instrument.id,
            InstrumentVersion.version == instrument.version,
        )
    ).first()
    if row is not None:
        if row.content_hash != digest:
            raise VersionConflict(
                f"{instrument.id} version {instrument.version} is already loaded with different "
                f"content; bump the version (to {_next_version(session, instrument.id)}) "
                "to publish a change"
            )
        if publish and row.status == "draft":
            publish_version(session, row, approved_by=approved_by, effective_on=effective_on,
                            today=today)
            return LoadResult(instrument.id, instrument.version, "published")
        return LoadResult(instrument.id, instrument.version, "unchanged")
    row = InstrumentVersion(
        instrument_id=instrument.id,
        version=instrument.version,
        kind=instrument.kind,
        stage=instrument.stage,
        title_zh=instrument.title.zh,
        title_en=instrument.title.en,
        content_hash=digest,
        definition=json.dumps(instrument.model_dump(mode="json"), ensure_ascii=False),
        status="draft", active=False,
    )
    session.add(row)
    session.flush()
    if publish:
        publish_version(session, row, approved_by=approved_by, effective_on=effective_on,
                        today=today)
    return LoadResult(instrument.id, instrument.version, "added")


class NotPublishable(ValueError):
    pass


def publish_version(session: Session, row: InstrumentVersion, *, approved_by: int | None,
                    effective_on: date | None = None, today: date | None = None) -> None:
    """Approve a draft; it becomes the active version on its effective day (today when none
    is given). An older version than the active one cannot be published."""
    today = today or clock.today()
    if row.status != "draft":
        raise NotPublishable("not a draft")
    row.status = "published"
    row.approved_by = approved_by
    row.approved_at = utcnow()
    row.effective_on = effective_on or today
    session.add(row)
    session.flush()
    activate_due(session, today)


def in_use_ids(today: date):
    """A query of the ids of the versions in use on `today`: per instrument, the newest
    published version whose effective day has come (none yet: the instrument is unused)."""
    newest = (
        select(InstrumentVersion.instrument_id,
               func.max(InstrumentVersion.version).label("version"))
        .where(InstrumentVersion.status == "published",
               or_(InstrumentVersion.effective_on.is_(None),
                   InstrumentVersion.effective_on <= today))
        .group_by(InstrumentVersion.instrument_id)
        .subquery()
    )
    return select(InstrumentVersion.id).join(newest, and_(
        InstrumentVersion.instrument_id == newest.c.instrument_id,
        InstrumentVersion.version == newest.c.version))


def in_use(session: Session, today: date | None = None) -> set[int]:
    """The ids of the versions in use today (for pages that label versions)."""
    return set(session.exec(in_use_ids(today or clock.today())))


def activate_due(session: Session, today: date | None = None) -> bool:
    """Refresh the `active` mirror from the versions in use today. True when anything
    changed (the caller commits)."""
    using = in_use(session, today)
    rows = session.exec(select(InstrumentVersion).where(
        or_(InstrumentVersion.active, InstrumentVersion.id.in_(using or {-1})))).all()
    changed = False
    for row in rows:
        should = row.id in using
        if row.active != should:
            row.active = should
            session.add(row)
            changed = True
    if changed:
        session.flush()
    return changed


def next_review(row: InstrumentVersion, interval_days: int) -> date | None:
    """When the published rules are due for review (seed 001: versions are reviewed)."""
    start = row.effective_on or (row.approved_at.date() if row.approved_at else None)
    return None if start is None else start + timedelta(days=interval_days)


def _next_version(session: Session, instrument_id: str) -> int:
    versions = session.exec(
        select(InstrumentVersion.version).where(InstrumentVersion.instrument_id == instrument_id)
    ).all()
    return max(versions, default=0) + 1


def active_versions(session: Session, kind: str | None = None,
                    today: date | None = None) -> list[InstrumentVersion]:
    """The version each instrument uses today (of one kind, when given)."""
    query = select(InstrumentVersion).where(
        InstrumentVersion.id.in_(in_use_ids(today or clock.today())))
    if kind is not None:
        query = query.where(InstrumentVersion.kind == kind)
    return list(session.exec(query.order_by(InstrumentVersion.instrument_id)))


def active_version(session: Session, instrument_id: str,
                   today: date | None = None) -> InstrumentVersion | None:
    """The version of one instrument in use today, or None: its newest published version
    whose effective day has come (as `in_use_ids`, in one index look-up: every answer asks)."""
    return session.exec(select(InstrumentVersion).where(
        InstrumentVersion.id == in_use_id(instrument_id, today))).first()


def in_use_id(instrument_id: str, today: date | None = None):
    """The id of the version of one instrument in use today, as a scalar subquery (to join
    in a larger query)."""
    return (select(InstrumentVersion.id).where(
        InstrumentVersion.instrument_id == instrument_id,
        InstrumentVersion.status == "published",
        or_(InstrumentVersion.effective_on.is_(None),
            InstrumentVersion.effective_on <= (clock.today() if today is None else today)))
        .order_by(InstrumentVersion.version.desc()).limit(1).scalar_subquery())


def definition(version: InstrumentVersion) -> Instrument:
    """The stored definition as a model; cached by content hash (versions never change)."""
    return _parse(version.content_hash, version.definition)


@lru_cache(maxsize=64)
def _parse(content_hash: str, text: str) -> Instrument:
    return Instrument.model_validate(json.loads(text))
