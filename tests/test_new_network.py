"""A new quality department, from an empty database and without the demo seed: stores and
users from one XLSX each, a published checklist, next month's round, and the shopper finds
the visits on the phone."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup
from openpyxl import Workbook

from tests.conftest import Auth, csrf_token
from tests.test_network_import import STORES

USERS = [["username", "display_name", "role", "email", "scope", "monthly_capacity"],
         ["boss", "质量部", "admin", "", "", ""],
         ["wang", "王暗访", "shopper", "", "east", "6"]]


def _xlsx(path: Path, rows) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_from_an_empty_database_to_visits_on_the_phone(runner, bare_app, tmp_path):
    stores = _xlsx(tmp_path / "stores.xlsx", [line.split(",") for line in
                                              STORES.strip().splitlines()])
    assert runner.invoke(args=["network", "import", str(stores)]).exit_code == 0
    users = runner.invoke(args=["network", "import", str(_xlsx(tmp_path / "users.xlsx", USERS))])
    passwords = dict(re.findall(r"one-time password for (\w+): (\S+)", users.output))
    surveys = Path(__file__).resolve().parent.parent / "surveys"
    published = runner.invoke(args=["surveys", "load", "--publish", str(surveys)])
    assert published.exit_code == 0, published.output

    client = bare_app.test_client()
    auth = Auth(client)
    auth.login("boss", passwords["boss"])
    page = client.get("/password").get_data(as_text=True)
    client.post("/password", data={"csrf_token": csrf_token(page), "current": passwords["boss"],
                                   "new": "a new long password", "repeat": "a new long password"})
    form = BeautifulSoup(client.get("/admin/rounds/").get_data(as_text=True), "html.parser")
    data = {i["name"]: i.get("value", "") for i in form.select("form input")}
    data["version_id"] = form.select_one("select[name=version_id] option")["value"]
    data["quota"] = "1"
    data["seed"] = "5"
    assert client.post("/admin/rounds/commit", data=data).status_code == 302

    phone = bare_app.test_client()
    Auth(phone).login("wang", passwords["wang"])
    page = phone.get("/password").get_data(as_text=True)
    phone.post("/password", data={"csrf_token": csrf_token(page), "current": passwords["wang"],
                                  "new": "wang's own password", "repeat": "wang's own password"})
    home = phone.get("/shopper/").get_data(as_text=True)
    for name in ("上海浦东星驰4S店", "上海闵行星驰4S店", "杭州滨江星驰4S店"):
        assert name in home
