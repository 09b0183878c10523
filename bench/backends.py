"""SQLite and PostgreSQL, 1, 2 and 4 workers: ack latency and throughput, beside bare Bolt.

    python bench/backends.py [--requests 1000] [--concurrency 50] [--workers 1,2,4] [--rounds 1]
                             [--rate R]

Starts a throwaway PostgreSQL server (as tests/pg.py does), the fake Slack Web API, the sandbox
and `palbot serve --workers N` on each backend; sends signed `/pal help` and `/pal start` at the
concurrency and prints p50/p99 and requests per second; then audit appends per second on
PostgreSQL from 1 and from 4 processes. Everything shares this machine's cores.

A p99 over a burst of a second is the burst's worst few answers: one stall decides it, and on a
shared two-core machine runs of the same code differ by half. With `--rounds N` each row is
measured N times, each on a fresh stack, backends taking turns, and the medians are printed.

The load is a closed loop by default: C connections, each sending its next request when its
answer comes back (it measures what the server sustains; its batches come in waves). With
`--rate R` it is an open loop instead, as Slack sends: R requests a second, evenly spaced,
whatever the answers; each latency counts from when its request was due.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))

from cryptography.fernet import Fernet  # noqa: E402
from harness import PAL_KEY, Load, make_pal, pct, start_stack  # noqa: E402

from palbot.store.postgres.store import open_postgres_store  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

APPENDER = """
import sys, time
from palbot.store.postgres.store import open_postgres_store
store = open_postgres_store(sys.argv[1], sys.argv[2])
for i in range(int(sys.argv[3])):
    store.audit.append("audit.read", "ok", team_id="T1", user_id="bench", detail={"i": i})
store.close()
"""


Row = tuple[str, int, str]  # who, workers, command
Figures = tuple[float, float, float]  # p50 ms, p99 ms, req/s


def run_config(
    label: str, extra_env: dict[str, str], workers: int, n: int, c: int, rate: float | None
) -> dict[Row, Figures]:
    stack = start_stack(
        with_bare=workers == 1 and label == "sqlite", extra_env=extra_env, workers=workers
    )
    rows: dict[Row, Figures] = {}
    try:
        pal_id = make_pal(stack.sandbox_url)
        targets = [("palbot", stack.palbot_url)]
        if stack.bare_url:
            targets.insert(0, ("bare Bolt", stack.bare_url))
        for who, url in targets:
            for text in ("help", f"start {pal_id}"):
                load = Load(url, stack.fake, c, rate)
                began = time.monotonic()
                lat = asyncio.run(load.run([text] * n))
                throughput = n / (load.span if load.rate else time.monotonic() - began)
                row = (who if who != "palbot" else label, workers, text.split()[0])
                rows[row] = (pct(lat, 50) * 1000, pct(lat, 99) * 1000, throughput)
                print(line(row, rows[row]), flush=True)
    finally:
        stack.stop()
    return rows


def line(row: Row, figures: Figures, prefix: str = "") -> str:
    (who, workers, name), (p50, p99, rate) = row, figures
    return (
        f"{prefix}{who:10} workers {workers}  /pal {name:5}  "
        f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  {rate:7.0f} req/s"
    )


def audit_rate(url: str, secret: str, procs: int, rows: int) -> float:
    began = time.monotonic()
    running = [
        subprocess.Popen([sys.executable, "-c", APPENDER, url, secret, str(rows)], cwd=REPO)
        for _ in range(procs)
    ]
    for p in running:
        p.wait()
    return procs * rows / (time.monotonic() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rate", type=float, default=None, help="open loop: requests/s")
    args = parser.parse_args()
    server = PostgresServer()
    try:
        load = f"open loop at {args.rate:g}/s" if args.rate else f"C={args.concurrency}"
        print(f"ack latency and throughput, {args.requests} requests per row, {load}")
        for workers in [int(w) for w in args.workers.split(",")]:
            seen: dict[Row, list[Figures]] = {}
            for _ in range(args.rounds):
                for label in ("sqlite", "postgresql"):
                    env: dict[str, str] = {}
                    if label == "postgresql":
                        url, secret = server.new_database(), Fernet.generate_key().decode()
                        seed = open_postgres_store(url, secret)
                        seed.workspaces.set_pal_key("T1", PAL_KEY, set_by="U_BENCH")
                        seed.close()
                        env = {"DATABASE_URL": url, "PALBOT_SECRET_KEY": secret}
                    measured = run_config(
                        label, env, workers, args.requests, args.concurrency, args.rate
                    )
                    for row, figures in measured.items():
                        seen.setdefault(row, []).append(figures)
            if args.rounds > 1:
                for row, runs in seen.items():
                    p50, p99, rate = (statistics.median(f[i] for f in runs) for i in range(3))
                    medians = (p50, p99, rate)
                    p99s = ", ".join(f"{f[1]:.1f}" for f in runs)
                    print(line(row, medians, "median ") + f"  (p99s {p99s})", flush=True)
        url, secret = server.new_database(), Fernet.generate_key().decode()
        open_postgres_store(url, secret).close()
        for procs in (1, 4):
            rate = audit_rate(url, secret, procs, 500)
            print(f"audit appends on PostgreSQL from {procs} process(es): {rate:7.0f} rows/s")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
