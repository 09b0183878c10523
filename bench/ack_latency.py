"""Ack latency of palbot against a bare Bolt app, with the PAL API fast and then slow.

    python bench/ack_latency.py [--requests 400] [--concurrency 50] [--slow 10]

Starts the fake Slack Web API (in this process), the PAL API sandbox, `palbot serve` and a bare
Bolt AsyncApp whose /pal handler only acks (each its own process, on 127.0.0.1), sends signed
`/pal help` and `/pal start` commands at the given concurrency and prints the figures. A second
bare Bolt app with `process_before_response=True` ("bare at-ack": it answers as soon as the
handler acks, as palbot does, instead of at Bolt's next 10 ms poll) is printed for context.
Targets at C=50: palbot/bare p99 <= 1.5; max ack < 1 s with the PAL API answering in 10 s;
views.open reaching Slack within 150 ms p99 of the command.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Load, line, make_pal, pct, start_stack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="commands per kind and server")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--slow", type=float, default=10.0, help="PAL API latency, seconds")
    args = parser.parse_args()
    n, c = args.requests, args.concurrency
    stack = start_stack(with_bare=True)
    verdicts: list[tuple[str, bool]] = []
    try:
        pal_id = make_pal(stack.sandbox_url)
        assert stack.bare_url is not None and stack.bare_at_ack_url is not None
        palbot = Load(stack.palbot_url, stack.fake, c)
        bare = Load(stack.bare_url, stack.fake, c)
        bare_at_ack = Load(stack.bare_at_ack_url, stack.fake, c)
        for load in (palbot, bare, bare_at_ack):  # warm up connections, imports and caches
            asyncio.run(load.run(["help"] * 20))
        print(f"ack latency, {n} requests per row, concurrency {c}")
        results = {}
        for kind, texts in (
            ("help", ["help"] * n),
            ("start", [f"start {pal_id} bench-{i}" for i in range(n)]),
        ):
            results[("bare", kind)] = asyncio.run(bare.run(texts))
            results[("at-ack", kind)] = asyncio.run(bare_at_ack.run(texts))
            results[("palbot", kind)] = asyncio.run(palbot.run(texts))
            print(line(f"bare Bolt   /pal {kind}", results[("bare", kind)]))
            print(line(f"bare at-ack /pal {kind}", results[("at-ack", kind)]))
            print(line(f"palbot      /pal {kind}", results[("palbot", kind)]))
        for kind in ("help", "start"):
            ratio = pct(results[("palbot", kind)], 99) / pct(results[("bare", kind)], 99)
            print(f"ratio palbot/bare p99, /pal {kind}: {ratio:.2f} (target <= 1.5)")
            verdicts.append((f"p99 ratio /pal {kind} <= 1.5", ratio <= 1.5))
            context = pct(results[("palbot", kind)], 99) / pct(results[("at-ack", kind)], 99)
            print(
                f"  palbot/bare at-ack p99, /pal {kind}: {context:.2f} (context: a bare Bolt "
                "that also answers at its ack; no target)"
            )

        # views.open: from the command's arrival to the modal request reaching Slack
        before = len(stack.fake.calls("views.open"))
        asyncio.run(palbot.run(["create"] * n))
        deadline = time.monotonic() + 30
        while len(stack.fake.calls("views.open")) < before + n and time.monotonic() < deadline:
            time.sleep(0.05)
        opens = [
            call["at"] - palbot.sent_at[call["trigger_id"]]
            for call in stack.fake.calls("views.open")
            if call.get("trigger_id") in palbot.sent_at
        ]
        print(line("palbot /pal create -> views.open", opens))
        verdicts.append(("views.open p99 <= 150 ms", pct(opens, 99) <= 0.150))

        # the PAL API answering in args.slow seconds: acks must not wait for it
        httpx.post(stack.sandbox_url + "/_sandbox/faults", json={"latency": args.slow})
        slow = asyncio.run(palbot.run([f"start {pal_id} slow-{i}" for i in range(n)]))
        print(line(f"palbot /pal start, PAL API {args.slow:.0f} s", slow))
        verdicts.append((f"max ack < 1 s with the PAL API at {args.slow:.0f} s", max(slow) < 1.0))
    finally:
        stack.stop()
    for name, ok in verdicts:
        print(f"{'met   ' if ok else 'MISSED'} {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
