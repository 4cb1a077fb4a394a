"""Bulk statements of the write path: binary COPY and binary array parameters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" * 2  # binary COPY header
COPY_TRAILER = b"\xff\xff"


def copy_rows(conn: Conn, target: str, types: Sequence[str],
              rows: Iterable[Sequence[object]]) -> None:
    """``COPY target FROM STDIN (FORMAT BINARY)``; ``target`` names the table and columns."""
    with conn.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def copy_encoded(conn: Conn, target: str, rows: Iterable[bytes]) -> None:
    """Binary COPY of rows already encoded (``ingest.register_runs``)."""
    with conn.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(COPY_SIGNATURE)
        for data in rows:
            copy.write(data)
        copy.write(COPY_TRAILER)


def float_array(values: Iterable[float | int | None]) -> list[float | None]:
    """A float8 array parameter: binary arrays take one Python type, so no int among floats."""
    return [None if v is None else float(v) for v in values]


def columns_of(rows: Sequence[Sequence[object]], types: Sequence[str]) -> list[list[Any]]:
    """Rows -> one list per column, for ``unnest(%b::type[], …)`` parameters."""
    columns: list[list[Any]] = [list(column) for column in zip(*rows, strict=True)]
    return [float_array(c) if t == "float8" else c for c, t in zip(columns, types, strict=True)]
