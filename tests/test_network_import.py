"""`flask --app app network import|export`: stores and users, CSV and XLSX, upsert by code,
all-or-nothing with `FILE:ROW: message` per problem (the header is row 1)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.db import new_session
from app.models import ManagerRegion, Region, ShopperRegion, Store, User

HEADER = ("region_code,region_name,parent_region_code,store_code,store_name,city,address,"
          "latitude,longitude,active")
STORES = f"""{HEADER}
brand,星驰汽车,,,,,,,,
east,华东大区,brand,,,,,,,
sh,上海区,east,,,,,,,
sh,,,SH01,上海浦东星驰4S店,上海,浦东新区张江路1号,31.2,121.6,1
sh,,,SH02,上海闵行星驰4S店,上海,闵行区,31.1,121.4,1
hz,杭州区,east,HZ01,杭州滨江星驰4S店,杭州,滨江区,30.2,120.2,1
"""
USERS = """username,display_name,role,email,scope
lin,林经理,manager,lin@example.com,east
zhou,周店总,manager,,SH02
qa,质检,reviewer,,
wang,王暗访,shopper,,sh;hz
"""


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(runner, path, *options):
    return runner.invoke(args=["network", "import", str(path), *options])


def counts(app) -> tuple[int, int, int]:
    with app.app_context(), new_session() as session:
        return tuple(session.exec(select(func.count()).select_from(t)).one()
                     for t in (Region, Store, User))


def test_import_creates_nested_regions_and_stores_then_changes_nothing(runner, bare_app,
                                                                       tmp_path):
    path = write(tmp_path, "stores.csv", STORES)
    first = run(runner, path)
    assert first.exit_code == 0, first.output
    assert "regions: 4 new, 0 changed, 0 unchanged" in first.output
    assert "stores: 3 new, 0 changed, 0 unchanged" in first.output
    with bare_app.app_context(), new_session() as session:
        regions = {r.code: r for r in session.exec(select(Region))}
        assert regions["sh"].parent_id == regions["east"].id
        assert regions["east"].parent_id == regions["brand"].id
        store = session.exec(select(Store).where(Store.code == "SH01")).one()
        assert (store.name, store.address, store.latitude) == ("上海浦东星驰4S店",
                                                               "浦东新区张江路1号", 31.2)
        assert store.region_id == regions["sh"].id
    again = run(runner, path)
    assert again.exit_code == 0
    assert "stores: 0 new, 0 changed, 3 unchanged" in again.output
    assert "regions: 0 new, 0 changed, 4 unchanged" in again.output


def test_a_changed_row_is_counted_and_written(runner, bare_app, tmp_path):
    run(runner, write(tmp_path, "stores.csv", STORES))
    changed = STORES.replace("闵行区", "闵行区七宝镇")
    result = run(runner, write(tmp_path, "stores2.csv", changed))
    assert "stores: 0 new, 1 changed, 2 unchanged" in result.output
    with bare_app.app_context(), new_session() as session:
        assert session.exec(select(Store.address).where(Store.code == "SH02")).one() == \
            "闵行区七宝镇"


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_export_imports_back_unchanged(runner, bare_app, tmp_path, suffix):
    run(runner, write(tmp_path, "stores.csv", STORES))
    run(runner, write(tmp_path, "users.csv", USERS))
    for kind, total in (("stores", "3 unchanged"), ("users", "4 unchanged")):
        out = tmp_path / f"{kind}-export.{suffix}"
        exported = runner.invoke(args=["network", "export", kind, str(out)])
        assert exported.exit_code == 0, exported.output
        result = run(runner, out)
        assert result.exit_code == 0, result.output
        assert f"{kind}: 0 new, 0 changed, {total}" in result.output


def test_xlsx_import(runner, bare_app, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for line in STORES.strip().splitlines():
        sheet.append(line.split(","))
    path = tmp_path / "门店.xlsx"
    book.save(path)
    result = run(runner, path)
    assert result.exit_code == 0, result.output
    assert "stores: 3 new, 0 changed, 0 unchanged" in result.output


def test_gbk_file_from_chinese_excel(runner, bare_app, tmp_path):
    result = run(runner, write(tmp_path, "stores.csv", STORES, "gbk"))
    assert result.exit_code == 0, result.output
    with bare_app.app_context(), new_session() as session:
        assert session.exec(select(Store.name).where(Store.code == "HZ01")).one() == \
            "杭州滨江星驰4S店"


def _bad(text: str, line: int, replacement: str) -> str:
    lines = text.strip().splitlines()
    lines[line - 1] = replacement
    return "\n".join(lines) + "\n"


# (file text, the line expected in the output); rows as a spreadsheet numbers them
BAD_STORES = [
    (STORES.replace(",active", ""), "1: missing column: active"),
    (STORES.replace("SH02", "SH01"), "6: duplicate store_code SH01 (also on row 5)"),
    (_bad(STORES, 4, "sh,上海区,nowhere,,,,,,,"), "4: unknown parent region nowhere"),
    (STORES.replace("31.2,121.6", "91.5,121.6"), "5: latitude 91.5 is out of range (-90 to 90)"),
    (STORES.replace("31.2,121.6", "31.2,east"), "5: longitude east is not a number"),
    (STORES.replace("HZ01,杭州滨江星驰4S店", "HZ01,"), "7: store_name is required"),
    (_bad(STORES, 5, "xx,,,SH01,上海浦东,上海,,,,1"), "5: unknown region xx"),
    (STORES.replace("121.4,1", "121.4,maybe"), "6: active maybe: use 1 or 0"),
]


@pytest.mark.parametrize("text, expected", BAD_STORES)
def test_a_bad_row_refuses_the_whole_file(runner, bare_app, tmp_path, text, expected):
    path = write(tmp_path, "stores.csv", text)
    result = run(runner, path)
    assert result.exit_code == 1
    assert f"{path}:{expected}" in result.output
    assert "Traceback" not in result.output
    assert counts(bare_app) == (0, 0, 0)  # nothing written, the good rows neither


def test_every_problem_is_listed_and_nothing_changes(runner, bare_app, tmp_path):
    run(runner, write(tmp_path, "stores.csv", STORES))
    before = counts(bare_app)
    text = STORES.replace("SH02", "SH01").replace("闵行区", "changed") + \
        "sh,,,SH09,新店,上海,,200,0,1\n"
    path = write(tmp_path, "stores2.csv", text)
    result = run(runner, path)
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert [re.match(r".*:(\d+): ", p).group(1) for p in problems] == ["6", "8"]
    assert counts(bare_app) == before
    with bare_app.app_context(), new_session() as session:
        assert session.exec(select(Store.address).where(Store.code == "SH02")).one() == "闵行区"


@pytest.mark.parametrize("data, message", [
    (b"", "1: the file is empty"),
    (HEADER.encode() + b"\n", "1: the file is empty"),
    (STORES.encode("utf-16"), "1: the file is neither UTF-8 nor GBK text"),
    (b"name,phone\nx,1\n", "1: the header names neither a stores file nor a users file"),
])
def test_unreadable_files(runner, bare_app, tmp_path, data, message):
    path = tmp_path / "network.csv"
    path.write_bytes(data)
    result = run(runner, path)
    assert result.exit_code == 1
    assert f"{path}:{message}" in result.output


def test_dry_run_counts_and_writes_nothing(runner, bare_app, tmp_path):
    result = run(runner, write(tmp_path, "stores.csv", STORES), "--dry-run")
    assert result.exit_code == 0
    assert "stores: 3 new, 0 changed, 0 unchanged" in result.output
    assert counts(bare_app) == (0, 0, 0)


def test_missing_stores_are_deactivated_only_when_asked(runner, bare_app, tmp_path):
    run(runner, write(tmp_path, "stores.csv", STORES))
    fewer = write(tmp_path, "fewer.csv", "\n".join(STORES.splitlines()[:-1]) + "\n")
    assert "2 unchanged" in run(runner, fewer).output
    with bare_app.app_context(), new_session() as session:
        assert session.exec(select(Store.active).where(Store.code == "HZ01")).one()
    result = run(runner, fewer, "--deactivate-missing")
    assert "stores: 1 deactivated" in result.output
    with bare_app.app_context(), new_session() as session:
        store = session.exec(select(Store).where(Store.code == "HZ01")).one()
        assert not store.active and store.deactivated_on is not None  # kept, not deleted


def test_users_get_scopes_and_one_time_passwords(runner, bare_app, tmp_path):
    run(runner, write(tmp_path, "stores.csv", STORES))
    result = run(runner, write(tmp_path, "users.csv", USERS))
    assert result.exit_code == 0, result.output
    assert "users: 4 new, 0 changed, 0 unchanged" in result.output
    passwords = dict(re.findall(r"one-time password for (\w+): (\S+)", result.output))
    assert set(passwords) == {"lin", "zhou", "qa", "wang"}
    with bare_app.app_context(), new_session() as session:
        lin = session.exec(select(User).where(User.username == "lin")).one()
        assert lin.must_change_password
        scope = session.exec(select(Region.code).join(
            ManagerRegion, ManagerRegion.region_id == Region.id).where(
            ManagerRegion.user_id == lin.id)).all()
        assert scope == ["east"]
        wang = session.exec(select(User).where(User.username == "wang")).one()
        homes = session.exec(select(Region.code).join(
            ShopperRegion, ShopperRegion.region_id == Region.id).where(
            ShopperRegion.user_id == wang.id)).all()
        assert sorted(homes) == ["hz", "sh"]
    again = run(runner, write(tmp_path, "users.csv", USERS))
    assert "users: 0 new, 0 changed, 4 unchanged" in again.output
    assert "one-time password" not in again.output  # printed once, at creation

    client = bare_app.test_client()
    from tests.conftest import Auth

    page = Auth(client).login("lin", passwords["lin"])
    assert page.status_code == 302
    assert client.get("/manager/").headers["Location"].endswith("/password")


@pytest.mark.parametrize("row, expected", [
    ("x,X,boss,,", "2: unknown role boss"),
    ("x,X,manager,,east;NOPE", "2: unknown scope code NOPE"),
    ("x,X,shopper,,SH01", "2: a shopper's scope lists home regions, SH01 is a store"),
    ("x,X,reviewer,,east", "2: a reviewer takes no scope"),
    ("x,X,manager,not-an-address,east", "2: email not-an-address is not an address"),
    (",X,manager,,east", "2: username is required"),
])
def test_bad_user_rows(runner, bare_app, tmp_path, row, expected):
    run(runner, write(tmp_path, "stores.csv", STORES))
    path = write(tmp_path, "users.csv", "username,display_name,role,email,scope\n" + row + "\n")
    result = run(runner, path)
    assert result.exit_code == 1
    assert f"{path}:{expected}" in result.output


def test_duplicate_username(runner, bare_app, tmp_path):
    run(runner, write(tmp_path, "stores.csv", STORES))
    path = write(tmp_path, "users.csv", USERS + "LIN,林,manager,,sh\n")
    result = run(runner, path)
    assert f"{path}:6: duplicate username LIN (also on row 2)" in result.output
