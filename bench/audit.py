"""Audit log benchmark: appended rows per second, and the time to export a million rows.

    python bench/audit.py [--rows 1000000] [--append 20000] [--synchronous NORMAL|FULL]

Durability: WAL mode with synchronous=NORMAL (palbot's setting) — a committed row survives a crash
of palbot; a power loss may lose the last transactions but never corrupts the file or the chain.
synchronous=FULL (fsync per commit) is measured too, for comparison.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from palbot import audit_cli
from palbot.store.sqlite.store import open_sqlite_store

TARGET_PER_SECOND = 5_000


def bench_append(folder: Path, rows: int, synchronous: str) -> float:
    store = open_sqlite_store(
        folder / f"append-{synchronous}.db", Fernet.generate_key().decode(), synchronous=synchronous
    )
    started = time.perf_counter()
    for i in range(rows):
        store.audit.append(
            "conversation.start",
            "ok",
            team_id="T0001",
            user_id="U0001",
            channel_id="C0001",
            target=f"c{i:08d}",
            detail={"pal_id": "p12345", "name": "Weekly sync"},
        )
    elapsed = time.perf_counter() - started
    assert store.audit.verify().ok
    store.close()
    return rows / elapsed


def bench_export(folder: Path, rows: int) -> tuple[float, float, float]:
    store = open_sqlite_store(folder / "export.db", Fernet.generate_key().decode())
    started = time.perf_counter()
    batch = 10_000
    for start in range(0, rows, batch):
        with store.db.write():  # bulk-load: one transaction per batch
            for i in range(start, min(rows, start + batch)):
                store.audit.append(
                    "conversation.callback",
                    "ok",
                    team_id=f"T{i % 7}",
                    user_id="U1",
                    target=f"c{i:08d}",
                    detail={"event_type": "system.replica_joined"},
                )
    load = time.perf_counter() - started

    class Sink(io.TextIOBase):
        chars = 0

        def write(self, s: str) -> int:
            Sink.chars += len(s)
            return len(s)

    args = argparse.Namespace(team=None, since=None, action=None, format="jsonl")
    started = time.perf_counter()
    audit_cli.export(store, args, Sink())
    export_jsonl = time.perf_counter() - started
    args.format = "csv"
    started = time.perf_counter()
    audit_cli.export(store, args, Sink())
    export_csv = time.perf_counter() - started
    store.close()
    return load, export_jsonl, export_csv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to export")
    parser.add_argument("--append", type=int, default=20_000, help="rows to append, timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        normal = bench_append(folder, args.append, "NORMAL")
        full = bench_append(folder, max(1000, args.append // 10), "FULL")
        verdict = "met" if normal >= TARGET_PER_SECOND else "MISSED"
        print(
            f"append, one process, WAL + synchronous=NORMAL: {normal:,.0f} rows/s "
            f"(target >= {TARGET_PER_SECOND:,}/s: {verdict})"
        )
        print(f"append, one process, WAL + synchronous=FULL:   {full:,.0f} rows/s")
        load, jsonl, csv_time = bench_export(folder, args.rows)
        print(f"loaded {args.rows:,} rows in {load:.1f} s")
        print(f"export {args.rows:,} rows as jsonl: {jsonl:.1f} s; as csv: {csv_time:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
