"""The managers' dashboard: short board, league, heat map, trends, drill-down and exports,
as a manager sees them."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from openpyxl import load_workbook
from sqlmodel import select

from app.db import new_session
from app.demo import generate_answers
from app.instruments import active_versions, definition
from app.models import Store, User
from app.responses import create_scored_response

# store -> (mystery shops, customer surveys, {weak touchpoint: quality})
PLAN = {
    "E1": (10, 8, {"greeting": 0.05}),
    "E2": (10, 8, {"farewell": 0.5}),
    "W1": (10, 8, {"test_drive": 0.05}),
    "W2": (2, 0, {}),
}


def seed_responses(app, plan=PLAN, day=None):
    """Counted responses (approved shops, submitted surveys) for the sales stage, plus one
    unapproved shop that must never count."""
    rng = random.Random(7)
    day = day or date.today() - timedelta(days=3)
    with app.app_context(), new_session() as session:
        versions = {v.kind: v for v in active_versions(session) if v.stage == "sales"}
        stores = {s.code: s for s in session.exec(select(Store))}
        shopper = session.exec(select(User).where(User.username == "shopper")).one()
        ids = {}
        for code, (shops, surveys, weak) in plan.items():
            for kind, count in (("mystery_shop", shops), ("customer_survey", surveys)):
                version = versions[kind]
                instrument = definition(version)
                tps = {s.touchpoint for s in instrument.sections}
                for i in range(count):
                    profile = {tp: weak.get(tp, 0.97) for tp in tps}
                    if kind == "customer_survey":  # satisfaction moves with the weak touchpoint
                        profile = dict.fromkeys(tps, 0.3 + 0.7 * (i % 2))
                    answers = generate_answers(instrument, profile, rng)
                    response, _ = create_scored_response(
                        session, version=version, store=stores[code], raw_answers=answers,
                        channel="demo", status="approved" if kind == "mystery_shop" else "submitted",
                        day=day - timedelta(days=i), shopper_id=shopper.id)
                    ids.setdefault(code, response.id)
        pending, _ = create_scored_response(
            session, version=versions["mystery_shop"], store=stores["E1"],
            raw_answers=generate_answers(definition(versions["mystery_shop"]), {}, rng),
            channel="shopper", status="submitted", day=day, shopper_id=shopper.id)
        session.commit()
        ids["pending"] = pending.id
    return ids


@pytest.fixture
def seeded(app):
    return seed_responses(app)


def fetch(client, url: str):
    """GET and close: a streamed export holds its request (and database session) open until
    closed, as a WSGI server would do."""
    page = client.get(url)
    page.get_data()
    page.close()
    return page


def text_of(response) -> str:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser").get_text(" ", strip=True)


def board_rows(response) -> list[list[str]]:
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    table = soup.select_one("table.board")
    return [[td.get_text(" ", strip=True) for td in tr.select("td")]
            for tr in table.select("tbody tr")]


def test_region_manager_sees_weakest_touchpoints_of_their_region_first(client, auth, seeded):
    auth.as_role("manager")
    page = client.get("/manager/?lang=en")
    assert page.status_code == 200
    rows = board_rows(page)
    assert rows[0][0] == "1"
    assert rows[0][1].startswith("Greeting")  # E1's weak touchpoint
    assert any(r[1].startswith("Farewell") for r in rows[:3])  # E2's
    assert not any(r[1].startswith("Test drive") and r[0] == "1" for r in rows)
    first = rows[0]
    assert first[4] == "20"  # n: 10 + 10 approved shops of the region; the pending one not
    assert "–" in first[3]  # a 90% interval low–high
    assert "E1" in first[-1]  # weakest store named on the row
    assert "<svg" in page.get_data(as_text=True)


def test_perception_is_shown_beside_execution_with_importance(client, auth, seeded):
    auth.as_role("manager")
    text = text_of(client.get("/manager/?lang=en"))
    assert "Perception (customer survey)" in text
    assert "Importance" in text
    assert "n=16" in text  # 8 + 8 surveys in the east region


def test_small_samples_are_flagged_and_not_ranked(client, auth, seeded):
    auth.as_role("admin")
    page = client.get("/manager/?store=W2&lang=en")
    rows = board_rows(page)
    assert rows and all(r[0] == "–" for r in rows)
    assert all("small n" in r[1] for r in rows)


def test_store_league_shrinks_small_samples(client, auth, seeded):
    auth.as_role("admin")
    page = client.get("/manager/league?tp=test_drive&lang=en")
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    rows = [[td.get_text(" ", strip=True) for td in tr.select("td")]
            for tr in soup.select("table.table tbody tr")]
    assert rows[0][1].startswith("W1")  # truly weak, with 10 responses
    w2 = next(r for r in rows if r[1].startswith("W2"))
    assert "small n" in w2[1] and w2[4] == "2"
    assert float(w2[2]) < float(w2[3])  # pulled down toward the network mean


def test_a_long_league_is_read_a_page_at_a_time(client, auth, seeded, monkeypatch):
    from app import dashboard

    monkeypatch.setattr(dashboard, "LEAGUE_PAGE", 2)
    auth.as_role("admin")

    def codes(page):
        soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
        return [tr.select("td")[1].get_text(" ", strip=True)[:2]
                for tr in soup.select("table.table tbody tr")], soup

    first, soup = codes(client.get("/manager/league?tp=test_drive&lang=en"))
    assert len(first) == 2 and "Stores 1–2 of" in soup.get_text(" ")
    nxt = soup.select_one("nav.pager a[href*='page=2']")
    second, soup = codes(client.get(nxt["href"]))
    assert len(second) >= 1 and not set(first) & set(second)
    ranks = [tr.select("td")[0].get_text() for tr in soup.select("table.table tbody tr")]
    assert ranks[0] == "3"  # ranks go on across pages
    assert client.get("/manager/league?tp=test_drive&page=999").status_code == 200  # last page
    assert client.get("/manager/league?tp=test_drive&page=x").status_code == 200  # first page


def test_heat_map_has_numbers_and_a_legend(client, auth, seeded):
    auth.as_role("manager")
    page = client.get("/manager/heatmap?lang=en")
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    stores = [th.get_text(" ", strip=True) for th in soup.select("table.heat tbody th")]
    assert len(stores) == 2 and all(s.startswith("E") for s in stores)
    cells = [td.a.get_text(strip=True) for td in soup.select("table.heat td") if td.a]
    assert cells and all(c.isdigit() for c in cells)
    assert "Gap to target" in text_of(page)


def test_trends_by_month_with_change(client, auth, seeded):
    auth.as_role("manager")
    page = client.get("/manager/trends?lang=en")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert body.count('class="spark"') >= 10
    assert "Greeting" in text_of(page)


def test_drill_down_from_touchpoint_to_one_response(client, auth, seeded):
    auth.as_role("manager")
    page = client.get("/manager/tp/greeting?lang=en")
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    first = soup.select("table.table tbody tr")[0]
    assert first.select("td")[1].get_text(strip=True) != "0%"
    item_url = first.a["href"]
    answers = client.get(item_url)
    soup = BeautifulSoup(answers.get_data(as_text=True), "html.parser")
    links = [a["href"] for a in soup.select("table.table a") if "/manager/r/" in a["href"]]
    assert links
    one = client.get(links[0])
    assert one.status_code == 200
    text = text_of(one)
    assert "E1" in text and "Overall score" in text


def test_pending_report_is_not_shown_to_managers(client, auth, seeded):
    auth.as_role("manager")
    assert client.get(f"/manager/r/{seeded['pending']}").status_code == 404


def test_filters_answer_htmx_with_the_dashboard_only(client, auth, seeded):
    auth.as_role("manager")
    page = client.get("/manager/?stage=sales&kind=customer_survey",
                      headers={"HX-Request": "true", "HX-Target": "dash"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<html" not in body and 'id="board"' in body
    assert "HX-Request" in page.headers["Vary"]
    full = client.get("/manager/?stage=sales&kind=customer_survey")
    assert "<html" in full.get_data(as_text=True)


@pytest.mark.parametrize("query", [
    "stage=nope", "kind=x", "period=2025-13", "from=2025-02-01&to=2025-01-01", "k=-1", "k=abc",
])
def test_bad_filters_are_a_clear_400(client, auth, query):
    auth.as_role("manager")
    page = client.get(f"/manager/?{query}&lang=en")
    assert page.status_code == 400
    assert "filters are not valid" in text_of(page)


def test_ranking_exports_match_the_board(client, auth, seeded):
    auth.as_role("manager")
    data = fetch(client, "/manager/export/ranking.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    assert rows[0][:5] == ["rank", "touchpoint", "label", "score", "n"]
    assert rows[1][1] == "greeting" and rows[1][0] == "1"
    book = load_workbook(io.BytesIO(fetch(client, "/manager/export/ranking.xlsx").data))
    sheet = book.active
    assert sheet.cell(2, 2).value == "greeting"


def test_raw_export_holds_only_the_scope(client, auth, seeded):
    auth.as_role("manager")
    data = fetch(client, "/manager/export/responses.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    stores = {r[3] for r in rows[1:]}
    assert stores == {"E1", "E2"}
    assert {r[8] for r in rows[1:]} == {"approved"}
    book = load_workbook(io.BytesIO(fetch(client, "/manager/export/responses.xlsx").data))
    assert {row[3] for row in book.active.iter_rows(min_row=2, values_only=True)} == {"E1", "E2"}
    surveys = fetch(client, "/manager/export/responses.csv?kind=customer_survey").get_data(as_text=True)
    assert "overall_satisfaction" in surveys


def test_board_follows_a_review_at_once(app, client, auth, seeded):
    """Aggregates are cached per data version: approving a report shows on the next view."""
    from app.models import Response as ResponseRow
    from app.responses import set_status

    auth.as_role("manager")
    before = board_rows(client.get("/manager/?lang=en"))
    with app.app_context(), new_session() as session:
        set_status(session, session.get(ResponseRow, seeded["pending"]), "approved")
        session.commit()
    after = board_rows(client.get("/manager/?lang=en"))
    n = {r[1].split()[0]: int(r[4]) for r in before}
    assert all(int(r[4]) == n[r[1].split()[0]] + 1 for r in after if r[1].split()[0] in n)
