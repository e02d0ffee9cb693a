"""Putting definitions into the database as immutable versions, and reading them back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from sqlmodel import Session, select

from .domain.definitions import Instrument, Taxonomy
from .models import InstrumentVersion, Touchpoint


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


def load_instrument(session: Session, instrument: Instrument) -> LoadResult:
    """Add a new version; the same content again is a no-op; other content is refused."""
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
        return LoadResult(instrument.id, instrument.version, "unchanged")
    session.add(
        InstrumentVersion(
            instrument_id=instrument.id,
            version=instrument.version,
            kind=instrument.kind,
            stage=instrument.stage,
            title_zh=instrument.title.zh,
            title_en=instrument.title.en,
            content_hash=digest,
            definition=json.dumps(instrument.model_dump(mode="json"), ensure_ascii=False),
        )
    )
    session.flush()
    _activate_newest(session, instrument.id)
    return LoadResult(instrument.id, instrument.version, "added")


def _next_version(session: Session, instrument_id: str) -> int:
    versions = session.exec(
        select(InstrumentVersion.version).where(InstrumentVersion.instrument_id == instrument_id)
    ).all()
    return max(versions, default=0) + 1


def _activate_newest(session: Session, instrument_id: str) -> None:
    rows = session.exec(
        select(InstrumentVersion).where(InstrumentVersion.instrument_id == instrument_id)
    ).all()
    newest = max(r.version for r in rows)
    for r in rows:
        r.active = r.version == newest
        session.add(r)


def active_versions(session: Session, kind: str | None = None) -> list[InstrumentVersion]:
    query = select(InstrumentVersion).where(InstrumentVersion.active)
    if kind is not None:
        query = query.where(InstrumentVersion.kind == kind)
    return list(session.exec(query.order_by(InstrumentVersion.instrument_id)))


def definition(version: InstrumentVersion) -> Instrument:
    """The stored definition as a model; cached by content hash (versions never change)."""
    return _parse(version.content_hash, version.definition)


@lru_cache(maxsize=64)
def _parse(content_hash: str, text: str) -> Instrument:
    return Instrument.model_validate(json.loads(text))
