#!/usr/bin/env python3
"""Copies the benchmark's PostgreSQL data into a migrated SQLite database, table by table.

  to_sqlite.py PG_DB SQLITE_FILE

The SQLite file must already hold Switchyard's schema (`switchyard migrate` with a sqlite://
URL). Every table of the SQLite schema that PostgreSQL also has is copied with the columns both
have (triggers fill the full-text tables); booleans become 1/0, everything else is copied as
PostgreSQL writes it in CSV (timestamps as `YYYY-MM-DD HH:MM:SS.ffffff`, which both sides read).
"""
import csv
import io
import sqlite3
import subprocess
import sys

csv.field_size_limit(1 << 30)


def psql(db, sql):
    return subprocess.run(["psql", "-X", "-q", "-d", db, "-c", sql], check=True,
                          capture_output=True, text=True).stdout


def main(pg_db, path):
    lite = sqlite3.connect(path)
    lite.execute("PRAGMA foreign_keys = OFF")
    tables = [r[0] for r in lite.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '\\_\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%' "
        "AND name NOT LIKE '%\\_fts\\_%' ESCAPE '\\'")]
    pg_columns = {}
    for line in psql(pg_db, "COPY (SELECT table_name, column_name, data_type FROM "
                     "information_schema.columns WHERE table_schema = 'public') TO STDOUT "
                     "WITH CSV").splitlines():
        table, column, kind = next(csv.reader([line]))
        pg_columns.setdefault(table, {})[column] = kind
    total = 0
    for table in tables:
        if table not in pg_columns:
            continue
        lite_columns = [r[1] for r in lite.execute(f'PRAGMA table_info("{table}")')]
        columns = [c for c in lite_columns if c in pg_columns[table]]
        booleans = {i for i, c in enumerate(columns) if pg_columns[table][c] == "boolean"}
        out = psql(pg_db, f"COPY (SELECT {', '.join(columns)} FROM {table}) TO STDOUT WITH (FORMAT csv, NULL '\\N')")
        rows = []
        for row in csv.reader(io.StringIO(out)):
            rows.append([None if v == "\\N" else (1 if v == "t" else 0) if i in booleans else v
                         for i, v in enumerate(row)])
        lite.execute(f'DELETE FROM "{table}"')
        marks = ", ".join("?" for _ in columns)
        lite.executemany(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})', rows)
        total += len(rows)
        print(f"{table}: {len(rows)} rows", file=sys.stderr)
    lite.commit()
    lite.execute("ANALYZE")
    lite.close()
    print(f"{total} rows copied", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
