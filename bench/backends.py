"""SQLite and PostgreSQL, 1, 2 and 4 workers: ack latency and throughput, beside bare Bolt.

    python bench/backends.py [--requests 1000] [--concurrency 50] [--workers 1,2,4]

Starts a throwaway PostgreSQL server (as tests/pg.py does), the fake Slack Web API, the sandbox
and `palbot serve --workers N` on each backend; sends signed `/pal help` and `/pal start` at the
concurrency and prints p50/p99 and requests per second; then audit appends per second on
PostgreSQL from 1 and from 4 processes. Everything shares this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
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


def run_config(label: str, extra_env: dict[str, str], workers: int, n: int, c: int) -> list[str]:
    stack = start_stack(
        with_bare=workers == 1 and label == "sqlite", extra_env=extra_env, workers=workers
    )
    rows = []
    try:
        pal_id = make_pal(stack.sandbox_url)
        targets = [("palbot", stack.palbot_url)]
        if stack.bare_url:
            targets.insert(0, ("bare Bolt", stack.bare_url))
        for who, url in targets:
            for text in ("help", f"start {pal_id}"):
                load = Load(url, stack.fake, c)
                began = time.monotonic()
                lat = asyncio.run(load.run([text] * n))
                rate = n / (time.monotonic() - began)
                name = text.split()[0]
                rows.append(
                    f"{who if who != 'palbot' else label:10} workers {workers}  /pal {name:5}  "
                    f"p50 {pct(lat, 50) * 1000:6.1f} ms  p99 {pct(lat, 99) * 1000:6.1f} ms  "
                    f"{rate:7.0f} req/s"
                )
    finally:
        stack.stop()
    return rows


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
    args = parser.parse_args()
    server = PostgresServer()
    try:
        print(f"ack latency and throughput, {args.requests} requests per row, C={args.concurrency}")
        for workers in [int(w) for w in args.workers.split(",")]:
            for label in ("sqlite", "postgresql"):
                env: dict[str, str] = {}
                if label == "postgresql":
                    url, secret = server.new_database(), Fernet.generate_key().decode()
                    seed = open_postgres_store(url, secret)
                    seed.workspaces.set_pal_key("T1", PAL_KEY, set_by="U_BENCH")
                    seed.close()
                    env = {"DATABASE_URL": url, "PALBOT_SECRET_KEY": secret}
                for row in run_config(label, env, workers, args.requests, args.concurrency):
                    print(row, flush=True)
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
