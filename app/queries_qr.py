"""Lists for the QR pages: recent code batches and recent QR answers (admin review)."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from .instruments import definition
from .models import Answer, InstrumentVersion, Response, Store, SurveyTokenBatch


def recent_batches(session: Session, store_ids: set[int] | None, limit: int = 30):
    query = select(SurveyTokenBatch, Store).join(Store, Store.id == SurveyTokenBatch.store_id)
    if store_ids is not None:
        query = query.where(SurveyTokenBatch.store_id.in_(store_ids or {-1}))
    return session.exec(query.order_by(SurveyTokenBatch.id.desc()).limit(limit)).all()


def recent_qr_responses(session: Session, limit: int = 100) -> list[dict]:
    """Newest QR answers with their store and free-text answers (two queries, no N+1)."""
    rows = session.exec(
        select(Response, Store, InstrumentVersion)
        .join(Store, Store.id == Response.store_id)
        .join(InstrumentVersion, InstrumentVersion.id == Response.instrument_version_id)
        .where(Response.channel == "qr")
        .order_by(Response.id.desc())
        .limit(limit)
    ).all()
    texts: dict[int, list[str]] = {}
    text_items = {
        v.id: {i.id for i in definition(v).items() if i.type == "text"} for _, _, v in rows
    }
    if rows:
        answers = session.exec(select(Answer).where(Answer.response_id.in_([r.id for r, _, _ in rows])))
        versions = {r.id: v.id for r, _, v in rows}
        for answer in answers:
            if answer.item_id in text_items[versions[answer.response_id]]:
                value = json.loads(answer.value)
                if value:
                    texts.setdefault(answer.response_id, []).append(value)
    return [
        {"response": r, "store": s, "version": v, "texts": texts.get(r.id, [])}
        for r, s, v in rows
    ]
