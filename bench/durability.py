"""Durability figures: kill -9 in a burst of starts, and acks while the database is locked.

    python bench/durability.py [--trials 5] [--starts 40] [--lock 5]

1. For each trial: `palbot serve` with the sandbox creating each conversation in 0.5 s; a burst
   of N signed `/pal start` commands; `kill -9` at a random moment of the burst; a restart.
   Printed: how many conversations the PAL API created, how many palbot recorded, how many
   were orphaned (created upstream, unknown to palbot: the goal is 0), and how long after the
   restart reconciliation had settled every open start.
2. Another process holds the database's write lock for `--lock` seconds while `/pal help` and
   `/pal start` arrive at concurrency 20: ack latency, and how many starts were told "busy".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import PAL_KEY, Load, line, make_pal, start_stack

from palbot.store.sqlite.store import open_sqlite_store

RECONCILE = {"PALBOT_RECONCILE_GRACE": "3", "PALBOT_RECONCILE_INTERVAL": "0.5"}


def upstream_active(sandbox_url: str) -> set[str]:
    resp = httpx.get(
        sandbox_url + "/v2/conversations",
        params={"status": "active", "limit": 1000},
        headers={"x-api-key": PAL_KEY},
    )
    return {c["conversation_id"] for c in resp.json()["data"]}


def kill_trial(starts: int, rng: random.Random) -> tuple[int, int, int, float]:
    stack = start_stack(with_bare=False, extra_env=RECONCILE)
    try:
        pal_id = make_pal(stack.sandbox_url)
        httpx.post(
            stack.sandbox_url + "/_sandbox/faults",
            json={"method": "POST", "path": "/v2/conversations", "latency": 0.5},
        ).raise_for_status()
        load = Load(stack.palbot_url, stack.fake, concurrency=starts)
        texts = [f"start {pal_id} burst-{i}" for i in range(starts)]
        burst = threading.Thread(target=lambda: asyncio.run(_quietly(load.run(texts))), daemon=True)
        burst.start()
        time.sleep(rng.uniform(0.05, 1.5))  # a random moment of the burst
        palbot = next(p for p in stack.procs if p.pid == stack.palbot_pid)
        palbot.send_signal(signal.SIGKILL)
        palbot.wait(timeout=10)
        burst.join(timeout=60)
        time.sleep(1.0)  # creates already sent finish upstream
        restarted_at = time.monotonic()
        stack.start_palbot()
        assert stack.db is not None
        while True:
            check = open_sqlite_store(stack.db, stack.secret_key)
            try:
                if not check.conversations.open_starts() and not check.conversations.undelivered():
                    recorded = {c.conversation_id for c in check.conversations.list_active("T1")}
                    break
            finally:
                check.close()
            if time.monotonic() - restarted_at > 120:
                raise RuntimeError("reconciliation did not settle within 120 s")
            time.sleep(0.05)
        settled = time.monotonic() - restarted_at
        created = upstream_active(stack.sandbox_url)
        return len(created), len(created & recorded), len(created - recorded), settled
    finally:
        stack.stop()


async def _quietly(coro: object) -> None:
    with contextlib.suppress(Exception):  # the server was killed mid-burst: errors expected
        await coro  # type: ignore[misc]


def locked_acks(seconds: float, requests: int) -> None:
    stack = start_stack(with_bare=False)
    try:
        pal_id = make_pal(stack.sandbox_url)
        assert stack.db is not None
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys, time\n"
                "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                "c.execute('BEGIN IMMEDIATE')\n"
                "print('locked', flush=True)\n"
                "time.sleep(float(sys.argv[2]))\n",
                str(stack.db),
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        began = time.monotonic()
        help_latency = asyncio.run(Load(stack.palbot_url, stack.fake, 20).run(["help"] * requests))
        start_latency = asyncio.run(
            Load(stack.palbot_url, stack.fake, 20).run([f"start {pal_id}"] * requests)
        )
        within = time.monotonic() - began < seconds
        holder.wait(timeout=seconds + 10)
        print(
            f"write lock held {seconds:.0f} s by another process (all measured inside it: {within})"
        )
        print(line("palbot /pal help, locked", help_latency))
        print(line("palbot /pal start, locked", start_latency))
        busy = len(stack.fake.calls("chat.postMessage"))
        print(
            f"starts billed while locked: {len(upstream_active(stack.sandbox_url))}; "
            f"placeholders posted: {busy} (each start was refused as busy, in its ack)"
        )
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--starts", type=int, default=40)
    parser.add_argument("--lock", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"kill -9 at a random moment of a burst of {args.starts} starts, {args.trials} trials")
    orphans = 0
    for trial in range(args.trials):
        created, recorded, orphaned, settled = kill_trial(args.starts, rng)
        orphans += orphaned
        print(
            f"  trial {trial + 1}: created upstream {created:3d}  recorded {recorded:3d}  "
            f"orphaned {orphaned}  settled {settled:5.1f} s after the restart"
        )
    print(f"orphaned in all: {orphans} (goal: 0)")
    locked_acks(args.lock, 100)
    return 0 if orphans == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
