"""The demo seed shows the closed loop at once: actions in every state, appeals waiting and
decided, evidence photos, and a store manager who can log in and see their actions."""

from datetime import date, timedelta

from bs4 import BeautifulSoup
from sqlmodel import select

from app.db import new_session
from app.demo import seed
from app.models import Appeal, AppealItem, CorrectiveAction, ResponseEvidence, Round
from app.rounds.service import progress
from tests.test_dashboard import text_of


def test_the_demo_has_the_loop_in_every_state(bare_app, tmp_path):
    from tests.factories import load_shipped

    with bare_app.app_context(), new_session() as session:
        load_shipped(session)
        session.commit()
        assert seed(session, months=3, random_seed=7, surveys_per_month=2,
                    storage=str(tmp_path))
        statuses = set(session.exec(select(CorrectiveAction.status)))
        assert statuses == {"open", "plan_submitted", "done", "verified", "reopened"}
        assert {a.status for a in session.exec(select(Appeal))} == {"open", "decided"}
        assert {"overturned", "upheld", "pending"} <= set(session.exec(
            select(AppealItem.decision)))
        [last_month] = session.exec(select(Round)).all()
        assert last_month.period_end == date.today().replace(day=1) - timedelta(days=1)
        board = progress(session, last_month.id)
        assert len(board) > 3 and all(row.counts["approved"] == sum(row.counts.values())
                                      for row in board)  # finished: every visit approved
        assert session.exec(select(ResponseEvidence)).first() is not None
    from app.storage import LocalStorage

    bare_app.extensions["storage"] = LocalStorage(tmp_path)
    client = bare_app.test_client()
    from tests.conftest import Auth, csrf_token

    assert Auth(client).login("store", "store-demo").status_code == 302
    mine = text_of(client.get("/actions/?mine=1"))
    assert "上海闵行星驰4S店" in mine and "上海浦东" not in mine
    month = date.today().strftime("%Y-%m")
    assert client.get(f"/reports/stores/SH02/{month}.pdf").status_code == 200
    assert client.get(f"/reports/stores/SH01/{month}.pdf").status_code == 404
    # the region's manager sees the loop's outcomes: an action that worked, one flagged
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/actions/").get_data(
        as_text=True))})
    assert Auth(client).login("manager", "manager-demo").status_code == 302
    verified = BeautifulSoup(client.get("/actions/?status=closed").get_data(as_text=True),
                             "html.parser").select("a[href^='/actions/']")
    effects = [text_of(client.get(a["href"])).split("效果")[1] for a in verified
               if a["href"].rstrip("/").split("/")[-1].isdigit()]
    assert any("已改善" in e for e in effects), [e[30:260] for e in effects]
    assert "尚无改善的措施" in text_of(client.get("/manager/"))
    # and the reviewer queue holds a red-line failure whose approval opens an action
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/actions/").get_data(
        as_text=True))})
    assert Auth(client).login("reviewer", "reviewer-demo").status_code == 302
    queue = BeautifulSoup(client.get("/review/").get_data(as_text=True), "html.parser")
    assert "上海闵行星驰4S店" in queue.get_text()
