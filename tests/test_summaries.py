"""Summary rows (app/summaries.py) equal a recomputation from the per-response scores after
every write that changes what counts, on SQLite and PostgreSQL; date ranges that do not align
with months are exact; concurrent approvals lose nothing; `aggregates verify|rebuild`; the
migration builds them for existing data; a view right after a write shows it."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from app import recent, summaries
from app.db import new_session
from app.demo import generate_answers
from app.domain.ranking import Stats
from app.instruments import active_versions, definition
from app.models import Response, Store, TouchpointScore, User
from app.queries_dashboard import Scope
from app.responses import create_scored_response, replace_answers, set_status
from app.review import decide

TODAY = date.today()


def _versions(session) -> dict[tuple[str, str], object]:
    return {(v.kind, v.stage): v for v in active_versions(session)}


def _write(session, *, kind: str, stage: str, store: Store, day: date, seed: int, status: str,
           shopper_id: int | None = None) -> Response:
    version = _versions(session)[(kind, stage)]
    rng = random.Random(seed)
    quality = rng.uniform(0.2, 1.0)
    answers = generate_answers(definition(version), {}, rng) if seed % 3 else \
        generate_answers(definition(version), dict.fromkeys(
            [s.touchpoint for s in definition(version).sections], quality), rng)
    response, _ = create_scored_response(
        session, version=version, store=store, raw_answers=answers,
        channel="qr" if kind == "customer_survey" else "shopper", status=status, day=day,
        shopper_id=shopper_id)
    return response


def _clean(session) -> None:
    differences = summaries.verify(session)
    assert differences == [], "\n".join(map(str, differences[:5]))


# ---- random sequences of writes ----------------------------------------------------------


def test_random_sequences_of_writes_keep_summaries_equal_to_a_recomputation(app):
    with app.app_context():
        session = new_session().__enter__()
        stores = list(session.exec(select(Store).order_by(Store.id)))
        reviewer = session.exec(select(User).where(User.username == "reviewer")).one()
        shopper = session.exec(select(User).where(User.username == "shopper")).one()

        class Writes(RuleBasedStateMachine):
            """Submissions, approvals, returns and resubmissions (re-scoring), invalidations
            and re-validations, re-scoring a counted survey or an approved report (overall
            scores too); verify after every step."""

            def __init__(self):
                super().__init__()
                self.pending, self.surveys, self.invalid, self.returned = [], [], [], []
                self.approved = []

            def _pick(self, rows, index):
                return rows[index % len(rows)]

            @rule(store=st.integers(0, 3), days_ago=st.integers(0, 120), seed=st.integers(0, 999),
                  stage=st.sampled_from(["sales", "aftersales"]))
            def submit_survey(self, store, days_ago, seed, stage):
                r = _write(session, kind="customer_survey", stage=stage, store=stores[store],
                           day=TODAY - timedelta(days=days_ago), seed=seed, status="submitted")
                session.commit()
                self.surveys.append(r.id)

            @rule(store=st.integers(0, 3), days_ago=st.integers(0, 120), seed=st.integers(0, 999),
                  stage=st.sampled_from(["sales", "aftersales"]))
            def submit_shop(self, store, days_ago, seed, stage):
                r = _write(session, kind="mystery_shop", stage=stage, store=stores[store],
                           day=TODAY - timedelta(days=days_ago), seed=seed, status="submitted",
                           shopper_id=shopper.id)
                session.commit()
                self.pending.append(r.id)

            @precondition(lambda self: self.pending)
            @rule(index=st.integers(0, 99), approve=st.booleans())
            def review(self, index, approve):
                rid = self._pick(self.pending, index)
                self.pending.remove(rid)
                decide(session, session.get(Response, rid), reviewer, approve=approve,
                       comment="" if approve else "photo missing")
                (self.approved if approve else self.returned).append(rid)

            @precondition(lambda self: self.returned)
            @rule(index=st.integers(0, 99), seed=st.integers(0, 999))
            def resubmit(self, index, seed):
                rid = self._pick(self.returned, index)
                self.returned.remove(rid)
                response = session.get(Response, rid)
                version = _versions(session)[("mystery_shop", response.stage)]
                replace_answers(session, response, version,
                                generate_answers(definition(version), {}, random.Random(seed)))
                set_status(session, response, "submitted")
                session.commit()
                self.pending.append(rid)

            @precondition(lambda self: self.surveys)
            @rule(index=st.integers(0, 99))
            def invalidate(self, index):
                rid = self._pick(self.surveys, index)
                self.surveys.remove(rid)
                set_status(session, session.get(Response, rid), "invalid")
                session.commit()
                self.invalid.append(rid)

            @precondition(lambda self: self.invalid)
            @rule(index=st.integers(0, 99))
            def count_again(self, index):
                rid = self._pick(self.invalid, index)
                self.invalid.remove(rid)
                set_status(session, session.get(Response, rid), "submitted")
                session.commit()
                self.surveys.append(rid)

            @precondition(lambda self: self.surveys)
            @rule(index=st.integers(0, 99), seed=st.integers(0, 999))
            def rescore_counted(self, index, seed):
                response = session.get(Response, self._pick(self.surveys, index))
                version = _versions(session)[("customer_survey", response.stage)]
                replace_answers(session, response, version,
                                generate_answers(definition(version), {}, random.Random(seed)))
                session.commit()

            @precondition(lambda self: self.approved)
            @rule(index=st.integers(0, 99), seed=st.integers(0, 999))
            def rescore_approved(self, index, seed):
                """An appeal overturned: a counted report's touchpoints and overall change."""
                response = session.get(Response, self._pick(self.approved, index))
                version = _versions(session)[("mystery_shop", response.stage)]
                replace_answers(session, response, version,
                                generate_answers(definition(version), {}, random.Random(seed)))
                session.commit()

            @invariant()
            def summaries_equal_recomputation(self):
                _clean(session)

        try:
            run_state_machine_as_test(Writes, settings=settings(
                max_examples=6, stateful_step_count=12, deadline=None,
                suppress_health_check=list(HealthCheck)))
            counted = session.exec(sa_select(summaries.SM.c.n)).all()
            assert sum(n for (n,) in counted) > 0  # the sequences did reach the counted set
            overall = session.exec(sa_select(summaries.SO.c.n)).all()
            assert sum(n for (n,) in overall) > 0  # and wrote overall scores
        finally:
            session.close()


# ---- exact ranges --------------------------------------------------------------------------


@pytest.fixture
def spread(app):
    """Responses of both kinds on 120 days across five months in four stores."""
    with app.app_context(), new_session() as session:
        stores = list(session.exec(select(Store).order_by(Store.id)))
        shopper = session.exec(select(User).where(User.username == "shopper")).one()
        for i in range(48):
            kind = "mystery_shop" if i % 3 == 0 else "customer_survey"
            _write(session, kind=kind, stage="sales", store=stores[i % 4],
                   day=TODAY - timedelta(days=(i * 37) % 120), seed=i,
                   status="approved" if kind == "mystery_shop" else "submitted",
                   shopper_id=shopper.id)
        session.commit()
    return app


def _direct(session, kind, start, end, scope):
    """Per-store Stats and per-touchpoint (n, Σx, Σy) straight from the per-response rows."""
    query = sa_select(TouchpointScore).where(
        TouchpointScore.counted, TouchpointScore.kind == kind, TouchpointScore.stage == "sales",
        TouchpointScore.day >= start, TouchpointScore.day <= end)
    per_store, months = defaultdict(lambda: defaultdict(list)), defaultdict(lambda: defaultdict(list))
    pairs = defaultdict(list)
    for (row,) in session.execute(query):
        if not scope.contains(row.store_id, row.region_id):
            continue
        per_store[row.touchpoint_id][row.store_id].append(row.score)
        months[row.touchpoint_id][(row.day.year, row.day.month)].append(row.score)
        if row.outcome is not None:
            pairs[row.touchpoint_id].append((row.score, row.outcome))
    return per_store, months, pairs


def _same(stats: Stats, scores: list[float]) -> bool:
    return stats.n == len(scores) and abs(stats.total - sum(scores)) < 1e-6 \
        and abs(stats.squares - sum(s * s for s in scores)) < 1e-4


@given(start=st.integers(0, 130), length=st.integers(0, 130), level=st.integers(0, 2),
       kind=st.sampled_from(["mystery_shop", "customer_survey"]))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@example(start=89, length=89, level=0, kind="mystery_shop")  # the default period: recent rows
@example(start=89, length=89, level=2, kind="customer_survey")
def test_any_date_range_is_exact(spread, start, length, level, kind):
    first = TODAY - timedelta(days=start)
    last = first + timedelta(days=length)
    with spread.app_context(), new_session() as session:
        stores = list(session.exec(select(Store).order_by(Store.id)))
        scope = [Scope("network"), Scope("region", region_id=stores[0].region_id),
                 Scope("stores", store_ids=frozenset({stores[1].id, stores[2].id}))][level]
        window = {"kind": kind, "stage": "sales", "start": first, "end": last}
        per_store, months, pairs = _direct(session, kind, first, last, scope)
        found, _ = summaries.store_stats(session, scope=scope, **window)
        assert {tp: set(s) for tp, s in found.items()} == {tp: set(s) for tp, s in per_store.items()}
        assert all(_same(found[tp][sid], per_store[tp][sid]) for tp in found for sid in found[tp])
        totals = summaries.scope_stats(session, scope=scope, **window)
        assert set(totals) == set(per_store)
        assert all(_same(totals[tp], [x for v in per_store[tp].values() for x in v]) for tp in totals)
        monthly = summaries.monthly_stats(session, scope=scope, **window)
        assert {tp: set(m) for tp, m in monthly.items()} == {tp: set(m) for tp, m in months.items()}
        assert all(_same(monthly[tp][m], months[tp][m]) for tp in monthly for m in monthly[tp])
        if kind == "customer_survey":
            moments = summaries.scope_moments(session, stage="sales", start=first, end=last,
                                              scope=scope)
            assert set(moments) == set(pairs)
            for tp, m in moments.items():
                assert m.n == len(pairs[tp])
                assert abs(m.sxy - sum(x * y for x, y in pairs[tp])) < 1e-6
                assert abs(m.sy - sum(y for _, y in pairs[tp])) < 1e-6


@given(start=st.integers(0, 130), length=st.integers(0, 130), some=st.booleans())
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@example(start=0, length=0, some=False)  # today only: one partial month
def test_overall_scores_of_any_range_are_exact(spread, start, length, some):
    """The scorecards' overall scores (whole months from the summary, the ends from the
    responses) equal the approved reports' own overall scores, per store and per month."""
    from app.scorecards import monthly_overall, overall_by_store

    first = TODAY - timedelta(days=start)
    last = first + timedelta(days=length)
    with spread.app_context(), new_session() as session:
        stores = [s.id for s in session.exec(select(Store).order_by(Store.id))]
        wanted = set(stores[:2]) if some else set(stores)
        reports = session.exec(select(Response).where(
            Response.kind == "mystery_shop", Response.status == "approved",
            Response.day >= first, Response.day <= last)).all()
        per_store, per_month = defaultdict(list), defaultdict(list)
        for r in reports:
            per_store[r.store_id].append(r.overall)
            if r.store_id in wanted:
                per_month[(r.day.year, r.day.month)].append(r.overall)
        found = overall_by_store(session, start=first, end=last)
        assert set(found) == set(per_store)
        assert all(_same(found[sid], per_store[sid]) for sid in found)
        months = monthly_overall(session, wanted, first, last)
        assert set(months) == set(per_month)
        assert all(_same(months[m], per_month[m]) for m in months)


# ---- concurrent writers --------------------------------------------------------------------


@pytest.mark.postgres
def test_two_reviewers_approving_at_once_lose_no_increment(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers are a PostgreSQL matter (SQLite has one writer at a time)")
    engine = app.extensions["engine"]
    per_thread = 6
    with app.app_context(), new_session() as session:
        store = session.exec(select(Store).order_by(Store.id)).first()
        shopper = session.exec(select(User).where(User.username == "shopper")).one()
        ids = [_write(session, kind="mystery_shop", stage="sales", store=store, day=TODAY,
                      seed=3 * i + 1, status="submitted", shopper_id=shopper.id).id
               for i in range(2 * per_thread)]
        session.commit()
    barrier, errors = threading.Barrier(2), []

    def approve(mine):
        try:
            with Session(engine, expire_on_commit=False) as session:
                reviewer = session.exec(select(User).where(User.username == "reviewer")).one()
                for rid in mine:
                    barrier.wait(timeout=30)  # both approvals start together, every round
                    decide(session, session.get(Response, rid), reviewer, approve=True)
        except Exception as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=approve, args=(ids[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with app.app_context(), new_session() as session:
        _clean(session)
        scored = session.exec(select(TouchpointScore).where(
            TouchpointScore.response_id == ids[0])).first()
        n = session.connection().execute(sa_select(summaries.SM.c.n).where(
            summaries.SM.c.store_id == store.id, summaries.SM.c.kind == "mystery_shop",
            summaries.SM.c.touchpoint_id == scored.touchpoint_id)).scalar()
        expected = session.exec(select(TouchpointScore).where(
            TouchpointScore.touchpoint_id == scored.touchpoint_id, TouchpointScore.counted,
            TouchpointScore.store_id == store.id)).all()
        assert n == len(expected) >= 2 * per_thread - 2  # (a touchpoint may be unanswered)


# ---- the recent window (the default period per store) moves with the days -------------------


def _window_back(session, days_back: int) -> None:
    """The recent rows as they were built `days_back` days ago."""
    connection = session.connection()
    connection.execute(delete(recent.W))
    connection.execute(delete(recent.R))
    recent.advance(connection, TODAY - timedelta(days=days_back))
    session.commit()


@pytest.mark.parametrize("days_back", [1, 7, 200])
def test_the_recent_window_moves_to_today_exactly(spread, days_back):
    with spread.app_context(), new_session() as session:
        _window_back(session, days_back)
        assert recent.stored(session)[1] == TODAY - timedelta(days=days_back)
        _clean(session)  # exact for its own days
        assert recent.for_read(session) == (TODAY - timedelta(days=89), TODAY)
        _clean(session)


def test_a_write_into_a_stale_window_keeps_it_exact_and_the_next_view_moves_it(spread, client,
                                                                               auth):

    with spread.app_context(), new_session() as session:
        _window_back(session, 3)
        store = session.exec(select(Store).order_by(Store.id)).first()
        _write(session, kind="customer_survey", stage="sales", store=store, day=TODAY, seed=8,
               status="submitted")
        session.commit()
        _clean(session)  # moved by the write on PostgreSQL, left for the next view on SQLite
    auth.as_role("manager")
    assert client.get("/manager/?kind=customer_survey").status_code == 200
    with spread.app_context(), new_session() as session:
        assert recent.stored(session)[1] == TODAY
        _clean(session)


def test_writers_racing_to_move_the_window_count_each_row_once(spread, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers are a PostgreSQL matter (SQLite has one writer at a time)")
    engine = spread.extensions["engine"]
    with spread.app_context(), new_session() as session:
        _window_back(session, 2)
        store_ids = [s.id for s in session.exec(select(Store).order_by(Store.id))]
    barrier, errors = threading.Barrier(3), []

    def write(seed):
        try:
            with spread.app_context(), Session(engine, expire_on_commit=False) as session:
                for i in range(4):
                    barrier.wait(timeout=30)
                    _write(session, kind="customer_survey", stage="sales",
                           store=session.get(Store, store_ids[i % len(store_ids)]),
                           day=TODAY, seed=seed + i, status="submitted")
                    session.commit()
        except Exception as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(100 * t,)) for t in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with spread.app_context(), new_session() as session:
        assert recent.stored(session)[1] == TODAY
        _clean(session)


# ---- the command line --------------------------------------------------------------------


def test_verify_names_a_wrong_row_and_rebuild_repairs_it(spread, runner):
    ok = runner.invoke(args=["aggregates", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "summaries: ok" in ok.output
    with spread.app_context(), new_session() as session:
        session.connection().execute(text(
            "UPDATE summary_store_month SET n = n + 1, total = total + 50 "
            "WHERE touchpoint_id = 'greeting'"))
        session.connection().execute(text("DELETE FROM summary_region_day WHERE touchpoint_id = 'farewell'"))
        session.commit()
    bad = runner.invoke(args=["aggregates", "verify"])
    assert bad.exit_code == 1
    assert "summary_store_month" in bad.output and "touchpoint_id=greeting" in bad.output
    assert "summary_region_day" in bad.output and "stored missing" in bad.output
    fixed = runner.invoke(args=["aggregates", "rebuild"])
    assert fixed.exit_code == 0, fixed.output
    assert runner.invoke(args=["aggregates", "verify"]).exit_code == 0


# ---- the migration on a populated database -------------------------------------------------


def test_migration_builds_summaries_for_existing_data(spread):
    from app.migrate import downgrade, upgrade

    engine = spread.extensions["engine"]

    def snapshot():
        with engine.connect() as connection:
            return {name: sorted(tuple(round(v, 6) if isinstance(v, float) else v for v in row)
                                 for row in connection.execute(sa_select(table)))
                    for name, table in summaries.UPSERT_TABLES.items()}

    before = snapshot()
    assert before["summary_store_month"] and before["summary_store_recent"]
    with spread.app_context(), new_session() as session:  # the sums importance reads
        assert session.connection().execute(sa_select(summaries.SM.c.pairs)).all()
    downgrade(engine, "0003")
    upgrade(engine)
    assert snapshot() == before
    with spread.app_context(), new_session() as session:
        _clean(session)


# ---- a view right after a write -------------------------------------------------------------


def test_a_view_right_after_a_write_shows_it(app, client, auth):
    """A new survey, then marking it invalid: the next view shows each (there is no cache)."""
    from tests.test_dashboard import seed_responses, text_of

    seed_responses(app)
    auth.as_role("manager")
    assert "n=16" in text_of(client.get("/manager/?lang=en"))
    with app.app_context(), new_session() as session:
        store = session.exec(select(Store).where(Store.code == "E1")).one()
        survey = _write(session, kind="customer_survey", stage="sales", store=store,
                        day=TODAY, seed=5, status="submitted")
        session.commit()
    assert "n=17" in text_of(client.get("/manager/?lang=en"))
    with app.app_context(), new_session() as session:
        set_status(session, session.get(Response, survey.id), "invalid")
        session.commit()
    assert "n=16" in text_of(client.get("/manager/?lang=en"))


# ---- the board's SQL ranking equals the ranking maths on per-store figures -----------------


@given(level=st.integers(0, 2), k=st.sampled_from([0.0, 1.0, 5.0, 40.0]), days=st.integers(5, 120))
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_board_ranks_stores_as_the_ranking_maths_does(spread, level, k, days):
    from app.dashboard import Filters, build_board, build_heatmap
    from app.domain.ranking import Period, quantile, shrink, weakest

    with spread.app_context(), new_session() as session:
        stores = list(session.exec(select(Store).order_by(Store.id)))
        scope = [Scope("network"), Scope("region", region_id=stores[0].region_id),
                 Scope("stores", store_ids=frozenset({stores[1].id, stores[2].id}))][level]
        period = Period(TODAY - timedelta(days=days), TODAY, "range", "r")
        f = Filters(scope, period, "sales", "customer_survey", k)
        board = build_board(session, f, small_n=2, count=2)
        everyone, region_of = summaries.store_stats(session, kind="customer_survey", **f.window())
        heat = build_heatmap(session, f, limit=3)
        for row in board.rows:
            stores_tp = everyone.get(row.touchpoint_id, {})
            prior = Stats.total_of(stores_tp.values()).mean
            shrunk = [shrink(s.n, s.mean, prior, k) for s in stores_tp.values()]
            assert row.best_quartile == pytest.approx(quantile(shrunk, 0.75))
            assert row.network_mean == pytest.approx(prior)
            inside = {sid: s for sid, s in stores_tp.items() if scope.contains(sid, region_of[sid])}
            expected = weakest(inside, prior, k, 2) if len(inside) > 1 else []
            assert [(w.store_id, w.stats.n) for w in row.weakest_stores] == \
                [(w.store_id, w.stats.n) for w in expected]
            assert row.stats.n == sum(s.n for s in inside.values())
        cells: dict[int, list[float]] = defaultdict(list)
        for by_store in everyone.values():
            prior = Stats.total_of(by_store.values()).mean
            for sid, s in by_store.items():
                if scope.contains(sid, region_of[sid]):
                    cells[sid].append(shrink(s.n, s.mean, prior, k))
        order = sorted(cells, key=lambda sid: (sum(cells[sid]) / len(cells[sid]), sid))
        assert [st_.id for st_, _ in heat.stores] == order[:3]
        assert heat.truncated == max(0, len(order) - 3)
