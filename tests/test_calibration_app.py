"""Shopper calibration through the app: planted harsh shoppers, the stored fit, the pages that
read it (league, heat map, board, scorecards), the note before a fit exists, the job's atomic
replacement, the requests made when data change, and who may open the new pages."""

from __future__ import annotations

import random
import threading
import time
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import select as select_models

from app import review
from app.calibration import compute, queries
from app.db import new_session
from app.domain.definitions import load_instrument as read_instrument
from app.domain.definitions import load_taxonomy
from app.domain.ranking import month_period
from app.instruments import load_instrument
from app.models import (
    CalibrationFit,
    CalibrationStore,
    InstrumentVersion,
    Region,
    Store,
    User,
)
from app.responses import create_scored_response
from tests.factories import ROOT, SURVEYS, password_hash

PERIOD = month_period(date.today().replace(day=1) - timedelta(days=1))  # last month
STORES = 30
HARSH = ("harsh1", "harsh2")
FAIR = tuple(f"fair{i}" for i in range(8))


def _instrument(session, name: str) -> InstrumentVersion:
    taxonomy = load_taxonomy(SURVEYS / "touchpoints.yaml")
    load_instrument(session, read_instrument(ROOT / "tests" / "data" / f"{name}.yaml", taxonomy))
    session.flush()
    return session.exec(select_models(InstrumentVersion).where(
        InstrumentVersion.instrument_id == name)).one()


def _shopper(session, username: str) -> User:
    user = User(username=username, display_name=username, role="shopper",
                password_hash=password_hash())
    session.add(user)
    session.flush()
    return user


def harsh_world(app, *, lone: bool = True) -> list[str]:
    """30 stores whose true quality rises with their number (C00 weakest) in the two test
    regions; 10 shoppers of whom 2 mark 20 points low and make 4 of the 6 visits to each of
    the 10 best stores. With `lone`, a 31st store C30 is only ever visited by one shopper who
    sees no other store. Returns the store codes weakest first (the truth)."""
    rng = random.Random(5)
    with app.app_context(), new_session() as session:
        version = _instrument(session, "calibration-case")
        regions = session.exec(select_models(Region).order_by(Region.code)).all()
        shoppers = {name: _shopper(session, name) for name in (*HARSH, *FAIR, "lone")}
        stores = [Store(code=f"C{i:02d}", name=f"校准{i:02d}店", region_id=regions[i % 2].id)
                  for i in range(STORES + 1)]
        session.add_all(stores)
        session.flush()
        days = [PERIOD.start + timedelta(days=d) for d in range(25)]
        for i, store in enumerate(stores):
            quality = 60.0 + i if i < STORES else 75.0
            for visit in range(6):
                if i == STORES:
                    if not lone:
                        continue
                    name = "lone"
                elif i >= 20 and visit < 4:
                    name = HARSH[visit % 2]
                else:
                    name = FAIR[(i + visit) % len(FAIR)]
                harshness = -20.0 if name in HARSH else 0.0

                def points(quality=quality, harshness=harshness):
                    return max(0, min(100, round(quality + harshness + rng.gauss(0, 1.5))))

                create_scored_response(
                    session, version=version, store=store, channel="shopper",
                    raw_answers={"greeting_points": points(), "farewell_points": points()},
                    status="approved", day=days[(i + visit) % len(days)],
                    shopper_id=shoppers[name].id)
        session.commit()
    return [f"C{i:02d}" for i in range(STORES)]


def fit(app, stage: str = "sales", period=PERIOD, rolling: bool = False) -> dict:
    """Run the background job here, as the worker would."""
    with app.app_context():
        return compute.calibrate(stage, period.start.isoformat(), period.end.isoformat(), rolling)


def league_order(client, tp: str = "greeting") -> tuple[list[str], BeautifulSoup]:
    page = client.get(f"/manager/league?period={PERIOD.key}&tp={tp}&lang=en")
    assert page.status_code == 200
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    return [row["data-store"] for row in soup.select("#league-table tbody tr")], soup


def test_planted_harsh_shoppers_the_calibrated_league_recovers_the_true_order(app, client,
                                                                            auth):
    truth = harsh_world(app)
    auth.as_role("admin")
    raw, soup = league_order(client)
    assert "Calibration for this period is being computed" in soup.get_text()
    raw = [code for code in raw if code in truth]
    # the raw league: good stores that met the harsh shoppers sink into the bottom ten
    assert set(raw[:10]) != set(truth[:10])
    assert {"C20", "C21"} & set(raw[:10])

    done = fit(app)
    assert done["visits"] == 186 and done["measures"] == 3  # greeting, farewell, overall
    calibrated, soup = league_order(client)
    calibrated = [code for code in calibrated if code in truth]
    assert set(calibrated[:10]) == set(truth[:10])
    assert set(calibrated[-10:]) == set(truth[-10:])
    text = soup.get_text(" ", strip=True)
    assert "Calibrated for shopper differences" in text and "186 visits" in text
    first = soup.select_one("#league-table tbody tr")
    assert first["data-store"] in truth[:3]
    assert "1st of 31 (1st–" in first.get_text(" ", strip=True)  # a rank with its interval
    # "weakest" only where the whole rank interval lies in the bottom quarter (ranks 1-7)
    with app.app_context(), new_session() as session:
        fit_id = session.exec(select_models(CalibrationFit.id)).one()
        stored = {s.store_id: s for s in session.exec(select_models(CalibrationStore).where(
            CalibrationStore.fit_id == fit_id, CalibrationStore.measure == "greeting"))}
        code = {s.id: s.code for s in session.exec(select_models(Store))}
    labelled = {row["data-store"] for row in soup.select("#league-table tbody tr")
                if row.select_one(".flag.weakest")}
    assert labelled and labelled <= set(truth[:7])
    assert labelled == {code[sid] for sid, s in stored.items() if s.rank_high <= 7}
    # the lone shopper's store says its shopper cannot be told apart from it
    lone = soup.select_one('#league-table tr[data-store="C30"]')
    assert "shopper not separable" in lone.get_text()
    assert not stored[next(s for s, c in code.items() if c == "C30")].separable
    # about these numbers: stores differ, shoppers differ, visits barely
    about = soup.select_one("#about-numbers").get_text(" ", strip=True)
    assert "Stores differ by" in about and "Overall score" in about


def test_the_heat_map_and_the_board_read_the_stored_fit(app, client, auth):
    truth = harsh_world(app)
    auth.as_role("admin")
    heat = client.get(f"/manager/heatmap?period={PERIOD.key}&lang=en")
    assert "Calibration for this period is being computed" in heat.get_data(as_text=True)
    fit(app)
    soup = BeautifulSoup(client.get(f"/manager/heatmap?period={PERIOD.key}&lang=en")
                         .get_data(as_text=True), "html.parser")
    rows = [th.a.get_text(strip=True) for th in soup.select("table.heat tbody th")]
    assert set(rows[:10]) == set(truth[:10])  # weakest overall first, calibrated
    assert "calibrated scores" in soup.get_text()
    board = BeautifulSoup(client.get(f"/manager/?period={PERIOD.key}&lang=en")
                          .get_data(as_text=True), "html.parser")
    named = {a.get_text(strip=True) for a in board.select("td.stores a")
             if a.get_text(strip=True).startswith("C")}
    assert named and named <= set(truth[:7])  # only surely weak stores are named


def test_without_a_fit_pages_show_raw_figures_and_ask_for_one(app, client, auth):
    harsh_world(app, lone=False)
    app.config["CALIBRATION_AUTO"] = True
    auth.as_role("admin")
    first, soup = league_order(client)
    assert "Calibration for this period is being computed" in soup.get_text()
    assert "Shrunken score" in soup.get_text()  # the raw league meanwhile
    deadline = time.monotonic() + 60  # the page asked for the fit: it runs in a thread
    while time.monotonic() < deadline:
        with app.app_context(), new_session() as session:
            if session.exec(select_models(CalibrationFit)).first() is not None:
                break
        time.sleep(0.1)
    for thread in threading.enumerate():
        if thread.name.startswith("job-"):
            thread.join(60)
    calibrated, soup = league_order(client)
    assert "Calibrated for shopper differences" in soup.get_text()
    assert calibrated != first


def test_the_note_says_how_many_approved_visits_came_since_the_fit(app, client, auth):
    harsh_world(app, lone=False)
    fit(app)
    with app.app_context(), new_session() as session:
        version = session.exec(select_models(InstrumentVersion).where(
            InstrumentVersion.instrument_id == "calibration-case")).one()
        store = session.exec(select_models(Store).where(Store.code == "C03")).one()
        shopper = session.exec(select_models(User).where(User.username == "fair1")).one()
        reviewer = session.exec(select_models(User).where(User.username == "reviewer")).one()
        report, _ = create_scored_response(
            session, version=version, store=store, channel="shopper", status="submitted",
            raw_answers={"greeting_points": 70, "farewell_points": 70}, day=PERIOD.start,
            shopper_id=shopper.id)
        session.commit()
        review.decide(session, report, reviewer, approve=True)
    auth.as_role("admin")
    _order, soup = league_order(client)
    assert "1 approved visit came since; a new fit is being computed." in soup.get_text()
    fit(app)
    _order, soup = league_order(client)
    assert "came since" not in soup.get_text()


def test_the_default_period_shows_yesterdays_fit_until_todays_is_stored(app, client, auth):
    harsh_world(app, lone=False)
    today = date.today()
    start, end = compute.rolling_window(today - timedelta(days=1))
    with app.app_context():
        compute.calibrate("sales", start.isoformat(), end.isoformat(), True)
    auth.as_role("admin")
    page = client.get("/manager/league?tp=greeting&lang=en")
    text = BeautifulSoup(page.get_data(as_text=True), "html.parser").get_text(" ", strip=True)
    assert f"fit of {start} – {end}" in text and "A fit of today's period is being computed" in text
    with app.app_context():  # today's window replaces yesterday's: one default fit per stage
        compute.calibrate("sales", *(d.isoformat() for d in compute.rolling_window(today)), True)
    with app.app_context(), new_session() as session:
        rolling = session.exec(select_models(CalibrationFit).where(CalibrationFit.rolling)).all()
    assert [f.period_end for f in rolling] == [today]


def test_scorecards_grade_and_rank_by_calibrated_scores_with_the_raw_mean_beside(app, client,
                                                                               auth):
    harsh_world(app, lone=False)
    for stage in ("sales", "all"):
        fit(app, stage)
    auth.as_role("admin")
    soup = BeautifulSoup(client.get(f"/scorecards/stores/C25?period={PERIOD.key}&lang=en")
                         .get_data(as_text=True), "html.parser")
    text = soup.get_text(" ", strip=True)
    assert "Calibrated score" in text and "raw mean" in text
    assert " of 30 " in text and " of 15 " in text and "90% interval: " in text  # with intervals
    greeting = next(r for r in soup.select("#touchpoints tbody tr") if "进店问候" in r.text)
    calibrated, raw = (float(td.get_text(strip=True)) for td in greeting.find_all("td")[1:3])
    assert calibrated > raw + 5  # the harsh shoppers' 20 points mostly given back
    region = BeautifulSoup(client.get(f"/scorecards/regions/east?period={PERIOD.key}&lang=en")
                           .get_data(as_text=True), "html.parser")
    rows = [r.get_text(" ", strip=True) for r in region.select("#league tbody tr")]
    assert rows[0].startswith("1st of 15") and "校准28店" in rows[0]  # east: even codes
    pdf = client.get(f"/reports/stores/C25/{PERIOD.key}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


# ---- the job --------------------------------------------------------------------------------


def _stored(app):
    with app.app_context(), new_session() as session:
        fit_row = session.exec(select_models(CalibrationFit)).one()
        rows = session.connection().execute(
            select(func.count(), func.sum(CalibrationStore.calibrated))
            .where(CalibrationStore.fit_id == fit_row.id)).one()
        return fit_row, tuple(rows)


def test_the_job_replaces_a_fit_in_one_transaction(app):
    harsh_world(app, lone=False)
    fit(app)
    before_fit, before = _stored(app)
    with app.app_context(), new_session() as writer:
        visits = compute.read_visits(writer, "sales", PERIOD.start, PERIOD.end)
        kept = [v for v in visits if v.store_id % 2 == 0]  # a different fit: half the stores
        results = compute.fit_measures(kept, fallback_k=5.0, override_k=None)
        header = {"rolling": False, "computed_at": before_fit.computed_at,
                  "data_read_at": before_fit.data_read_at, "data_stamp": "new", "visits": 1,
                  "stores": 1, "shoppers": 1, "seconds": 0.0}
        compute._replace(writer, "sales", PERIOD.start, PERIOD.end, header,
                         compute.child_rows(results, kept))
        assert _stored(app)[1] == before  # a reader meanwhile sees the old fit whole
        writer.rollback()  # a failure before the commit leaves the old fit as it was
    assert _stored(app)[1] == before
    with app.app_context(), new_session() as writer:  # a write the database refuses
        rows = compute.child_rows(results, kept)
        rows[CalibrationStore].append(rows[CalibrationStore][0])  # the same store twice
        with pytest.raises(IntegrityError):
            compute._replace(writer, "sales", PERIOD.start, PERIOD.end, header, rows)
        writer.rollback()
    assert _stored(app)[1] == before
    with app.app_context(), new_session() as writer:
        compute.store_fit(writer, stage="sales", start=PERIOD.start, end=PERIOD.end,
                          rolling=False, read_at=compute.utcnow(), stamp="new",
                          results=results, visits=kept, seconds=0.0)
    replaced, after = _stored(app)
    assert replaced.id == before_fit.id and after[0] < before[0]  # same fit, new rows
    again = fit(app)  # the stored stamp ("new") is not the data's: fitted again, in place
    assert again["fit"] == replaced.id and not again.get("unchanged")
    assert fit(app).get("unchanged")  # data unchanged since: not fitted again


def test_a_fit_of_older_data_never_overwrites_a_newer_one(app):
    harsh_world(app, lone=False)
    fit(app)
    stored, rows = _stored(app)
    with app.app_context(), new_session() as writer:
        visits = compute.read_visits(writer, "sales", PERIOD.start, PERIOD.end)[:50]
        compute.store_fit(writer, stage="sales", start=PERIOD.start, end=PERIOD.end,
                          rolling=False, read_at=stored.data_read_at - timedelta(minutes=5),
                          stamp="old", visits=visits, seconds=0.0,
                          results=compute.fit_measures(visits, fallback_k=5, override_k=None))
    assert _stored(app)[1] == rows


def test_the_cli_fits_a_period_and_says_so(app):
    harsh_world(app, lone=False)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["calibration", "fit", "--period", PERIOD.key, "--stage",
                                 "sales"])
    assert result.exit_code == 0, result.output
    assert f"sales {PERIOD.start}..{PERIOD.end}: 180 visits, 3 measures" in result.output
    again = runner.invoke(args=["calibration", "fit", "--period", PERIOD.key, "--stage",
                                "sales"])
    assert "unchanged" in again.output
    bad = runner.invoke(args=["calibration", "fit", "--period", "2025-13"])
    assert bad.exit_code == 1 and "--period" in bad.output


# ---- who may see what -----------------------------------------------------------------------


@pytest.mark.parametrize(("role", "path", "status"), [
    ("admin", "/admin/calibration", 200),
    ("admin", f"/admin/calibration?period={PERIOD.key}", 200),
    ("admin", "/admin/calibration?period=2025-13", 404),
    ("manager", "/admin/calibration", 403),
    ("reviewer", "/admin/calibration", 403),
    ("shopper", "/admin/calibration", 403),
    (None, "/admin/calibration", 302),
    ("reviewer", "/review/shoppers", 200),
    ("admin", "/review/shoppers", 200),
    ("reviewer", "/review/shoppers?period=nonsense", 404),
    ("manager", "/review/shoppers", 403),
    ("store_manager", "/review/shoppers", 403),
    ("shopper", "/review/shoppers", 403),
    (None, "/review/shoppers", 302),
])
def test_access_to_the_calibration_pages(client, auth, role, path, status):
    if role:
        auth.as_role(role)
    assert client.get(path).status_code == status


@pytest.mark.parametrize(("role", "status"), [("admin", 303), ("manager", 403),
                                              ("reviewer", 403), ("shopper", 403)])
def test_only_admins_ask_for_a_fit_and_only_with_the_form_token(client, auth, role, status):
    from tests.conftest import csrf_token

    auth.as_role(role)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    assert client.post("/admin/calibration/fit", data={"csrf_token": token}).status_code == status
    if role == "admin":
        assert client.post("/admin/calibration/fit").status_code == 400


def test_the_k_field_is_gone_and_a_k_in_the_address_changes_nothing(app, client, auth):
    harsh_world(app, lone=False)
    auth.as_role("admin")
    plain = client.get(f"/manager/league?period={PERIOD.key}&tp=greeting")
    assert 'name="k"' not in plain.get_data(as_text=True)
    asked = client.get(f"/manager/league?period={PERIOD.key}&tp=greeting&k=500")
    assert asked.status_code == 200

    def table(page):
        return str(BeautifulSoup(page.get_data(as_text=True), "html.parser").select_one("#dash"))

    assert table(asked) == table(plain)


def test_the_planner_and_the_round_form_offer_the_visits_needed(app, client, auth):
    harsh_world(app, lone=False)
    for stage in ("sales", "aftersales", "all"):
        fit(app, stage)
    with app.app_context(), new_session() as session:
        plans = queries.plans(session)
        plan = plans["sales"]
    auth.as_role("admin")
    soup = BeautifulSoup(client.get(f"/admin/calibration?period={PERIOD.key}&lang=en")
                         .get_data(as_text=True), "html.parser")
    overall = soup.select_one("#planner-sales tbody tr").find_all("td")
    assert "Overall score" in overall[0].get_text()
    assert [int(overall[3].get_text()), int(overall[4].get_text())] == [plan.for_70, plan.for_80]
    assert plan.for_70 <= plan.for_80
    assert "No approved mystery shops in this period" in soup.select_one(
        "#stage-aftersales").get_text()  # fitted, but there was nothing to fit
    rounds = BeautifulSoup(client.get("/admin/rounds/?lang=en").get_data(as_text=True),
                           "html.parser")
    # the form's first checklist is the aftersales one, without shops: both stages' figure
    assert "aftersales" not in plans
    assert rounds.select_one("input[name=quota]")["value"] == str(min(10, plans["all"].for_70))
    assert "for reliability 0.7" in rounds.select_one("#planned-visits").get_text()


def test_reviewers_see_harsh_and_straight_lining_shoppers(app, client, auth):
    harsh_world(app, lone=False)
    with app.app_context(), new_session() as session:
        version = _instrument(session, "straight-case")
        lazy = _shopper(session, "lazy")
        store = session.exec(select_models(Store).where(Store.code == "C10")).one()
        for i in range(6):
            answers = {f"s_{tp}": "yes" if (i % 2 or tp != "attire") else "no"
                       for tp in ("greeting", "attire", "etiquette", "attitude", "farewell")}
            create_scored_response(session, version=version, store=store, channel="shopper",
                                   raw_answers=answers, status="approved",
                                   day=PERIOD.start + timedelta(days=i), shopper_id=lazy.id)
        session.commit()
    fit(app, "all")
    auth.as_role("reviewer")
    soup = BeautifulSoup(client.get(f"/review/shoppers?period={PERIOD.key}&lang=en")
                         .get_data(as_text=True), "html.parser")
    rows = {r["data-shopper"]: r.get_text(" ", strip=True) for r in soup.select("#shoppers tbody tr")}
    for name in HARSH:
        assert "much harsher than others" in rows[name]
    assert not any("harsher" in rows[name] for name in FAIR)
    assert "same score on every touchpoint" in rows["lazy"] and "50% 3/6" in rows["lazy"]
    assert "no appeals" in rows["harsh1"]
    order = list(rows)
    assert set(order[:3]) == {"harsh1", "harsh2", "lazy"}  # the ones to look at first


# ---- requests when data change (the queue, with Redis) ----------------------------------------


@pytest.mark.server
def test_an_approval_asks_once_for_each_stored_fit_that_covers_it(app, database_url):
    import uuid

    from redis import Redis

    from app import create_app
    from tests.conftest import SURVEYS as SURVEY_DIR
    from tests.services import redis_or_skip

    redis_url = redis_or_skip()
    harsh_world(app, lone=False)
    fit(app)
    fit(app, "all")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    web = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "JOB_QUEUE": queue,
                      "SURVEYS_DIR": str(SURVEY_DIR), "SECRET_KEY": "test",
                      "CALIBRATION_AUTO": True})
    with web.app_context(), new_session() as session:
        asked = [compute.refresh_after(session, [("sales", PERIOD.start + timedelta(days=3))])
                 for _ in range(3)]
        assert compute.refresh_after(session, [("aftersales", PERIOD.start)]) == 1  # only all
    assert asked == [2, 2, 2]
    redis = Redis.from_url(redis_url)
    waiting = sorted(k.decode() for k in redis.keys("jobs:once:calibrate:*"))
    assert waiting == [f"jobs:once:calibrate:{stage}:{PERIOD.start}:{PERIOD.end}"
                       for stage in ("all", "sales")]
    assert redis.llen(f"rq:queue:{queue}") == 2  # debounced: three asks, one job per fit
    web.extensions["engine"].dispose()


def test_the_calibrated_league_is_read_a_page_at_a_time(app, client, auth, monkeypatch):
    from app import dashboard

    truth = harsh_world(app)
    fit(app)
    monkeypatch.setattr(dashboard, "LEAGUE_PAGE", 10)
    auth.as_role("admin")
    first, soup = league_order(client)
    assert len(first) == 10 and "Stores 1–10 of 31" in soup.get_text(" ")
    page = client.get(soup.select_one("nav.pager a[href*='page=2']")["href"])
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    rows = soup.select("#league-table tbody tr")
    assert rows[0].td.get_text() == "11" and "11th of 31" in rows[0].get_text(" ")
    assert not {r["data-store"] for r in rows} & set(first)
    assert set(first) == set(truth[:10])
    last = client.get(f"/manager/league?period={PERIOD.key}&tp=greeting&page=99&lang=en")
    assert "Stores 31–31 of 31" in BeautifulSoup(last.get_data(as_text=True),
                                                 "html.parser").get_text(" ")


RUNS: list[str] = []
RELEASE = threading.Event()


def hold(name: str) -> str:
    """A job that waits until the test lets it finish (module level: jobs are named by path)."""
    RUNS.append(name)
    RELEASE.wait(30)
    return name


def test_without_a_queue_asks_while_a_fit_runs_make_one_more_run_not_more(app):
    from app import jobs

    RUNS.clear()
    RELEASE.clear()
    with app.app_context():
        first = jobs.enqueue_once("k", "tests.test_calibration_app.hold", "a")
        deadline = time.monotonic() + 30
        while not RUNS and time.monotonic() < deadline:
            time.sleep(0.01)
        assert first and RUNS == ["a"]  # running
        assert [jobs.enqueue_once("k", "tests.test_calibration_app.hold", "a")
                for _ in range(3)] == [None, None, None]
    RELEASE.set()
    deadline = time.monotonic() + 30
    while "k" in app.extensions["jobs"].once and time.monotonic() < deadline:
        time.sleep(0.01)
    assert RUNS == ["a", "a"]  # the three asks meanwhile: one more run, after the first
    with app.app_context():
        assert jobs.enqueue_once("k", "tests.test_calibration_app.hold", "a")  # free again
    deadline = time.monotonic() + 30
    while "k" in app.extensions["jobs"].once and time.monotonic() < deadline:
        time.sleep(0.01)
