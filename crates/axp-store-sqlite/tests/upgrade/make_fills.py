#!/usr/bin/env python3
"""Writes the upgrade fixtures' fill files, fill/NNNN.sql, from a real data dir.

For each migration step k (the files of ../../migrations, in order), it builds a database with
migrations 1..k, finds the tables step k created, and writes fill/k.sql: INSERTs of the rows
those tables hold in SOURCE (a data dir's axp.db, filled by a current `axp serve` through its
API), with the columns the table has at step k. So every fill holds real rows of the current
server (their JSON bodies as the current code writes them), shaped as the schema of step k.

A step that creates no table gets a fill with comments only; write INSERTs by hand there when
its migration changes data. An existing fill file is never overwritten (delete it to redo it).

    python3 make_fills.py SOURCE_DATA_DIR

`src/upgrade.rs` replays them: migrations 1..k with their fills, then the current store opens
the database and must read every row back.
"""

import pathlib
import sqlite3
import sys

HERE = pathlib.Path(__file__).resolve().parent
MIGRATIONS = sorted((HERE / "../../migrations").resolve().glob("*.sql"))


def tables(conn):
    rows = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {r[0] for r in rows}


def columns(conn, table):
    return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]


def literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'"
    return "'" + value.replace("'", "''") + "'"


def main(source_dir):
    source = sqlite3.connect(pathlib.Path(source_dir) / "axp.db")
    step = sqlite3.connect(":memory:")
    for k, migration in enumerate(MIGRATIONS, start=1):
        before = tables(step)
        step.executescript(migration.read_text())
        created = sorted(tables(step) - before)
        out = HERE / "fill" / f"{k:04d}.sql"
        if out.exists():
            continue
        lines = [f"-- Rows for the tables {migration.name} creates, from a data dir of the current server", ""]
        if not created:
            lines = [f"-- {migration.name} creates no table; the earlier fills hold the rows it changes.", ""]
        for table in created:
            if table not in tables(source):
                lines.append(f"-- {table}: a later migration drops it; no rows")
                continue
            cols = [c for c in columns(step, table) if c in columns(source, table)]
            names = ", ".join(cols)
            for row in source.execute(f'SELECT {names} FROM "{table}"'):
                values = ", ".join(literal(v) for v in row)
                lines.append(f"INSERT INTO {table} ({names}) VALUES ({values});")
        out.write_text("\n".join(lines) + "\n")
        print(f"wrote {out.name}: {', '.join(created) or 'no tables'}")


if __name__ == "__main__":
    main(sys.argv[1])
