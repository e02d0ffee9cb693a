"""Monthly rounds: plan with a preview, commit exactly that plan, the shoppers find their
visits, progress board and export, bulk cancel and reassign; admins only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.db import new_session
from app.models import Assignment, Region, Round, ShopperRegion, User
from tests.conftest import csrf_token


@pytest.fixture
def shoppers(app):
    """shopper: home region east, 3 visits a month; shopper2: the whole network (west and
    east), 2 visits a month."""
    with app.app_context(), new_session() as session:
        regions = {r.code: r.id for r in session.exec(select(Region))}
        users = {u.username: u for u in session.exec(select(User))}
        users["shopper"].monthly_capacity = 3
        users["shopper2"].monthly_capacity = 2
        session.add_all([users["shopper"], users["shopper2"],
                         ShopperRegion(user_id=users["shopper"].id, region_id=regions["east"]),
                         ShopperRegion(user_id=users["shopper2"].id, region_id=regions["east"]),
                         ShopperRegion(user_id=users["shopper2"].id, region_id=regions["west"])])
        session.commit()
    return app


def _form(client, **changes):
    page = client.get("/admin/rounds/").get_data(as_text=True)
    soup = BeautifulSoup(page, "html.parser")
    form = soup.select_one("form[action$='/preview']")
    data = {i["name"]: i.get("value", "") for i in form.select("input")}
    data["version_id"] = form.select_one("select[name=version_id] option")["value"]
    data.update(changes)
    data["csrf_token"] = csrf_token(page)
    return data


def test_plan_preview_then_commit(client, auth, shoppers):
    auth.as_role("admin")
    today = date.today()
    data = _form(client, name="2026-12", quota="2", period_start=today.isoformat(),
                 period_end=(today + timedelta(days=20)).isoformat())
    preview = client.post("/admin/rounds/preview", data=data)
    assert preview.status_code == 200
    soup = BeautifulSoup(preview.get_data(as_text=True), "html.parser")
    # 4 stores x 2 = 8 visits; shopper (east, capacity 3) can see E1 and E2 once each,
    # shopper2 (capacity 2) two more: four visits, four missing, each with a reason
    assert len(soup.select("table.visits tbody tr")) == 4
    assert sum(int(td.get_text()) for td in soup.select("table.shortfalls td.num")) == 4
    with shoppers.app_context(), new_session() as session:
        assert session.exec(select(Assignment)).all() == []  # the preview saved nothing
    hidden = {i["name"]: i.get("value", "") for i in soup.select(
        "form[action$='/commit'] input")}
    shown = sorted(tuple(td.get_text(strip=True) for td in tr.select("td"))
                   for tr in soup.select("table.visits tbody tr"))
    done = client.post("/admin/rounds/commit", data=hidden)
    assert done.status_code == 302
    with shoppers.app_context(), new_session() as session:
        assignments = session.exec(select(Assignment)).all()
        assert len(assignments) == 4 and all(a.round_id for a in assignments)
        assert len({(a.shopper_id, a.store_id) for a in assignments}) == 4
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "E1" in page and "W1" in page
    # what was committed is what the preview showed
    rows = BeautifulSoup(page, "html.parser").select("form table tbody tr")
    assert sorted(tuple(td.get_text(strip=True) for td in tr.select("td")[1:4])
                  for tr in rows) == shown

    auth.as_role("shopper")
    mine = client.get("/shopper/").get_data(as_text=True)
    assert "上海一店" in mine or "杭州一店" in mine


def test_progress_export_and_bulk_cancel_and_reassign(client, auth, shoppers):
    auth.as_role("admin")
    data = _form(client, quota="1")
    client.post("/admin/rounds/commit", data=data | {"seed": "7"})
    with shoppers.app_context(), new_session() as session:
        round_id = session.exec(select(Round.id)).one()
        ids = [a.id for a in session.exec(select(Assignment))]
        shopper2 = session.exec(select(User.id).where(User.username == "shopper2")).one()
    csv_text = client.get(f"/admin/rounds/{round_id}/progress.csv").get_data().decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("region,store_code,store_name,assigned")
    assert client.get(f"/admin/rounds/{round_id}/progress.xlsx").status_code == 200
    page = client.get(f"/admin/rounds/{round_id}").get_data(as_text=True)
    token = csrf_token(page)
    moved = client.post(f"/admin/rounds/{round_id}/bulk", data={
        "csrf_token": token, "action": "reassign", "shopper_id": str(shopper2),
        "assignment": [str(i) for i in ids]})
    assert moved.status_code == 302
    with shoppers.app_context(), new_session() as session:
        # shopper2 takes every store once, never one store twice
        owners = [(a.shopper_id, a.store_id) for a in session.exec(select(Assignment))]
        assert len(set(owners)) == len(owners)
    client.post(f"/admin/rounds/{round_id}/bulk", data={
        "csrf_token": token, "action": "cancel", "assignment": [str(i) for i in ids]})
    with shoppers.app_context(), new_session() as session:
        assert all(a.cancelled_at for a in session.exec(select(Assignment)))
    auth.as_role("shopper2")
    assert "上海一店" not in client.get("/shopper/").get_data(as_text=True)
    assert client.get(f"/shopper/a/{ids[0]}").status_code == 404


@pytest.mark.parametrize("role", ["manager", "reviewer", "shopper"])
@pytest.mark.parametrize("path", ["/admin/rounds/", "/admin/rounds/1",
                                  "/admin/rounds/1/progress.csv"])
def test_only_admins(client, auth, role, path):
    auth.as_role(role)
    assert client.get(path).status_code == 403


def test_bad_overrides_are_refused(client, auth, shoppers):
    auth.as_role("admin")
    page = client.post("/admin/rounds/preview", data=_form(client, overrides="nowhere=2"))
    assert page.status_code == 400
    assert "nowhere" in page.get_data(as_text=True)


@pytest.mark.parametrize("exclusion_months, may_return", [(3, False), (0, True)])
def test_the_plan_keeps_past_visits_and_conflicts_from_the_database(
        shoppers, exclusion_months, may_return):
    """shopper visited E1 last month; shopper2 must never visit E2. Whatever the seed, the
    plan never sends shopper back to E1 inside the exclusion window, nor shopper2 to E2."""
    from app.models import ShopperConflict, Store
    from app.rounds.service import RoundSpec, make_plan

    start = (date.today().replace(day=1) + timedelta(days=32)).replace(day=1)
    with shoppers.app_context(), new_session() as session:
        users = {u.username: u.id for u in session.exec(select(User))}
        stores = {s.code: s.id for s in session.exec(select(Store))}
        session.add_all([
            Assignment(instrument_version_id=1, store_id=stores["E1"], shopper_id=users["shopper"],
                       window_start=start - timedelta(days=20), window_end=start - timedelta(days=14)),
            ShopperConflict(user_id=users["shopper2"], store_id=stores["E2"])])
        session.commit()
        pairs = set()
        for seed in range(20):
            spec = RoundSpec("next", start, start + timedelta(days=27), 1, quota=1,
                             exclusion_months=exclusion_months, window_days=3, overrides={},
                             seed=seed)
            plan = make_plan(session, spec)
            pairs |= {(v.shopper_id, v.store_id) for v in plan.visits}
            assert all(start <= v.window_start <= v.window_end <= spec.period_end
                       for v in plan.visits)
    assert (users["shopper2"], stores["E2"]) not in pairs
    assert ((users["shopper"], stores["E1"]) in pairs) == may_return
