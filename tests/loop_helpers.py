"""Shared set-up for the closing-the-loop tests: submitted and approved shop-case reports
(tests/data/shop-case.yaml), approval through the reviewer's page, small PNG photos."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from PIL import Image
from sqlmodel import select

from app.db import new_session
from app.domain.definitions import load_instrument as read_instrument
from app.domain.definitions import load_taxonomy
from app.instruments import load_instrument
from app.models import InstrumentVersion, Store, User
from app.responses import create_scored_response
from tests.conftest import csrf_token
from tests.factories import ROOT, SURVEYS

GOOD = {"greeted": "yes", "card_given": "yes", "drinks": "yes", "test_drive_offered": "yes",
        "licence_checked": "yes", "route_rating": 5}
RED_LINE = {**GOOD, "greeted": "no"}  # a critical item failed: greeting scores 0


def shop_case(session) -> InstrumentVersion:
    found = session.exec(select(InstrumentVersion).where(
        InstrumentVersion.instrument_id == "shop-case")).first()
    if found is None:
        taxonomy = load_taxonomy(SURVEYS / "touchpoints.yaml")
        load_instrument(session, read_instrument(ROOT / "tests" / "data" / "shop-case.yaml",
                                                 taxonomy))
        session.flush()
        found = session.exec(select(InstrumentVersion).where(
            InstrumentVersion.instrument_id == "shop-case")).one()
    return found


def add_report(app, *, store: str = "W1", answers=None, status: str = "submitted",
               day: date | None = None, shopper: str = "shopper") -> int:
    with app.app_context(), new_session() as session:
        version = shop_case(session)
        user = session.exec(select(User).where(User.username == shopper)).one()
        response, _ = create_scored_response(
            session, version=version, store=session.exec(select(Store).where(
                Store.code == store)).one(), raw_answers=answers or GOOD, channel="shopper",
            status=status, day=day or date.today() - timedelta(days=1), shopper_id=user.id)
        session.commit()
        return response.id


def approve(client, auth, response_id: int):
    auth.as_role("reviewer")
    page = client.get(f"/review/r/{response_id}").get_data(as_text=True)
    return client.post(f"/review/r/{response_id}/decide", data={
        "csrf_token": csrf_token(page), "action": "approve", "comment": ""})


def png(size=(64, 48), colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def token(client, path: str = "/actions/") -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def first_id(pattern: str, html: str) -> int:
    return int(re.search(pattern, html).group(1))
