"""The admin import page: a preview that saves nothing, then apply; exports; access."""

from __future__ import annotations

import io

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.db import new_session
from app.models import Store, User
from tests.conftest import csrf_token
from tests.test_network_import import STORES, USERS

PAGES = ["/admin/network/", "/admin/network/export/stores.csv",
         "/admin/network/export/users.xlsx"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role, status", [("admin", 200), ("manager", 403), ("reviewer", 403),
                                          ("shopper", 403)])
def test_access(client, auth, path, role, status):
    auth.as_role(role)
    assert client.get(path).status_code == status


def test_anonymous_goes_to_login(client):
    page = client.get("/admin/network/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def _upload(client, text: str, name: str = "stores.csv", **extra):
    token = csrf_token(client.get("/admin/network/").get_data(as_text=True))
    data = {"csrf_token": token, "file": (io.BytesIO(text.encode()), name), **extra}
    return client.post("/admin/network/import", data=data, content_type="multipart/form-data")


def _store_codes(app):
    with app.app_context(), new_session() as session:
        return set(session.exec(select(Store.code)))


def test_preview_saves_nothing_then_apply_saves(client, auth, app):
    auth.as_role("admin")
    before = _store_codes(app)
    page = _upload(client, STORES)
    assert page.status_code == 200
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    stores_row = [tr for tr in soup.select("table.counts tr") if "门店" in tr.get_text()
                  or "Stores" in tr.get_text()][0]
    assert [td.get_text() for td in stores_row.select("td")][:3] == ["3", "0", "0"]
    assert _store_codes(app) == before  # a preview writes nothing
    form = soup.select_one("form[action$='/import/apply']")
    data = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    applied = client.post("/admin/network/import/apply", data=data)
    assert applied.status_code == 200
    assert _store_codes(app) == before | {"SH01", "SH02", "HZ01"}


def test_bad_file_lists_every_row_and_saves_nothing(client, auth, app):
    auth.as_role("admin")
    page = _upload(client, STORES.replace("SH02", "SH01").replace("31.2,121.6", "99,121.6"))
    assert page.status_code == 422
    text = BeautifulSoup(page.get_data(as_text=True), "html.parser").get_text()
    assert "stores.csv:5" in text and "stores.csv:6" in text
    assert "import/apply" not in page.get_data(as_text=True)
    assert "SH01" not in _store_codes(app)


def test_altered_file_on_apply_is_refused(client, auth, app):
    auth.as_role("admin")
    soup = BeautifulSoup(_upload(client, STORES).get_data(as_text=True), "html.parser")
    data = {i["name"]: i.get("value", "") for i in soup.select("form input[type=hidden]")}
    data["content"] = data["content"][:-8] + "AAAAAAA="
    assert client.post("/admin/network/import/apply", data=data).status_code == 400
    assert "SH01" not in _store_codes(app)


def test_new_users_see_their_one_time_password_once(client, auth, app):
    auth.as_role("admin")
    soup = BeautifulSoup(_upload(client, STORES).get_data(as_text=True), "html.parser")
    data = {i["name"]: i.get("value", "") for i in soup.select("form input[type=hidden]")}
    client.post("/admin/network/import/apply", data=data)
    soup = BeautifulSoup(_upload(client, USERS, "users.csv").get_data(as_text=True),
                         "html.parser")
    data = {i["name"]: i.get("value", "") for i in soup.select("form input[type=hidden]")}
    page = client.post("/admin/network/import/apply", data=data).get_data(as_text=True)
    codes = [c.get_text() for c in BeautifulSoup(page, "html.parser").select("td code")]
    assert len(codes) == 4
    with app.app_context(), new_session() as session:
        assert session.exec(select(User).where(User.username == "wang")).one() \
            .must_change_password


def test_export_is_the_import_format(client, auth):
    auth.as_role("admin")
    body = client.get("/admin/network/export/stores.csv").get_data().decode("utf-8-sig")
    assert body.splitlines()[0] == STORES.splitlines()[0]
    assert "E1,上海一店" in body


def test_csrf_is_required(client, auth):
    auth.as_role("admin")
    page = client.post("/admin/network/import", data={
        "file": (io.BytesIO(STORES.encode()), "stores.csv")}, content_type="multipart/form-data")
    assert page.status_code == 400
