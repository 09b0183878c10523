"""Resident memory of `palbot serve`: idle, then after 10,000 commands (growth beyond noise is a
leak). Prints the figures.

    python bench/memory.py [--commands 10000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Load, make_pal, start_stack


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    stack = start_stack(with_bare=False)
    try:
        pal_id = make_pal(stack.sandbox_url)
        load = Load(stack.palbot_url, stack.fake, args.concurrency)
        asyncio.run(load.run(["help"] * 200))  # imports, caches, connection pools
        time.sleep(1)
        idle = rss_mib(stack.palbot_pid)
        print(f"palbot serve, idle after warm-up: {idle:.1f} MiB")
        # a realistic mix: help, key status, list (PAL API), start (PAL API + Slack, billed)
        mix = ["help", "key status", "list", f"start {pal_id} mem"]
        step = args.commands // 4
        done = 0
        for _ in range(4):  # four rounds: growth should flatten, not climb
            texts = [
                f"start {pal_id} mem-{done}-{i}" if i % 4 == 3 else mix[i % 4] for i in range(step)
            ]
            asyncio.run(load.run(texts))
            done += step
            time.sleep(2)  # let the after-ack work finish
            print(f"after {done:,} commands: {rss_mib(stack.palbot_pid):.1f} MiB")
        final = rss_mib(stack.palbot_pid)
        print(
            f"growth: {final - idle:+.1f} MiB over {args.commands:,} commands "
            f"({(final - idle) * 1024 / args.commands:.2f} KiB per command)"
        )
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
