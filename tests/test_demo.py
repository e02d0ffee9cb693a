"""Demo data: made through the scoring code, weaknesses differ by store, safe to run twice."""

from datetime import date

from sqlalchemy import func
from sqlmodel import select

from app.db import new_session
from app.demo import seed
from app.domain.scoring import score
from app.instruments import definition
from app.models import InstrumentVersion, Response, TouchpointScore
from app.responses import stored_answers


def test_demo_seed(bare_app):
    from tests.factories import load_shipped

    with bare_app.app_context(), new_session() as session:
        load_shipped(session)
        session.commit()
        created = seed(session, months=2, random_seed=7, today=date(2026, 11, 1),
                       surveys_per_month=3)
        assert created and "12 stores" in created
        assert seed(session, months=2) is None  # already there: nothing doubled

        # the stored scores are the scoring module's
        for response in session.exec(select(Response).limit(20)):
            version = session.get(InstrumentVersion, response.instrument_version_id)
            expected = score(definition(version), stored_answers(session, response.id))
            assert response.overall == expected.overall

        # each store's weakest touchpoint is not the same everywhere
        rows = session.exec(
            select(TouchpointScore.store_id, TouchpointScore.touchpoint_id,
                   func.avg(TouchpointScore.score))
            .where(TouchpointScore.counted, TouchpointScore.kind == "mystery_shop")
            .group_by(TouchpointScore.store_id, TouchpointScore.touchpoint_id)
        ).all()
        weakest = {}
        for store_id, tp, mean in rows:
            if store_id not in weakest or mean < weakest[store_id][1]:
                weakest[store_id] = (tp, mean)
        assert len({tp for tp, _ in weakest.values()}) >= 3
        statuses = set(session.exec(select(Response.status).distinct()))
        assert {"approved", "submitted"} <= statuses
