"""Importing a 2,000-store network (4 large regions, 40 regions) from one CSV into an empty
SQLite database, as `flask --app app network import` does.

Prints `bench network-import: rows=2000 seconds=<s>`."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from app import create_app
from app.db import new_session
from app.domain.network_file import STORE_COLUMNS
from app.migrate import upgrade
from app.network.importer import import_network

STORES = 2000


def network_csv(stores: int = STORES) -> bytes:
    lines = [",".join(STORE_COLUMNS), "brand,星驰汽车,,,,,,,,"]
    for big in range(4):
        lines.append(f"L{big},大区{big},brand,,,,,,,")
        for r in range(10):
            lines.append(f"R{big}{r},区域{big}-{r},L{big},,,,,,,")
    for n in range(stores):
        region = f"R{n % 4}{n // 4 % 10}"
        lines.append(f"{region},,,S{n:05d},星驰{n}号4S店,城市{n % 97},某路{n}号,"
                     f"{20 + n % 20}.5,{100 + n % 30}.25,1")
    return ("\n".join(lines) + "\n").encode("utf-8")


def main() -> float:
    data = network_csv()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}",
                          "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade(app.extensions["engine"])
            with new_session() as session:
                start = time.perf_counter()
                result = import_network(session, data, "stores.csv")
                seconds = time.perf_counter() - start
            assert result.ok and result.stores.new == STORES, result.file.problems[:3]
            app.extensions["engine"].dispose()
    print(f"network-import: {result.lines()[1]}")
    print(f"bench network-import: rows={STORES} seconds={seconds:.2f}")
    return seconds


if __name__ == "__main__":
    main()
