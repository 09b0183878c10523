"""Throughput under wrk: `/pal help` and `/pal start`, SQLite and PostgreSQL, 1, 2 and 4 workers,
beside bare Bolt in the same run.

    python bench/wrk_load.py [--commands help,start] [--backends sqlite,postgresql]
                             [--workers 1,2,4] [--connections 50] [--seconds 10] [--threads 1]

Starts the same stack as the other benches (fake Slack, sandbox, `palbot serve --workers N`,
bare Bolt; a throwaway PostgreSQL server as tests/pg.py does), then runs wrk against each. wrk is
a C load generator: unlike the Python one of bench/backends.py, it leaves the cores to the
servers, so whether throughput rises with workers shows. Every request is signed as Slack signs
it. `/pal help` changes nothing, so one signed request is replayed; each `/pal start` is a
distinct, pre-signed command (its own trigger id, so none is a retry), cycled from a table in
the wrk script that holds more than the run sends. Prints requests per second, wrk's latency
percentiles and the palbot/bare ratios. Needs `wrk` (Debian: `apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))

from cryptography.fernet import Fernet  # noqa: E402
from harness import (  # noqa: E402
    PAL_KEY,
    SECRET,
    Stack,
    command_body,
    make_pal,
    start_stack,
)
from slack_sdk.signature import SignatureVerifier  # noqa: E402

from palbot.store.postgres.store import open_postgres_store  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

STARTS_PER_SECOND_CEILING = 6000  # the table of distinct starts covers this rate, never cycled


def script(path: Path, text: str, distinct: int) -> None:
    """A wrk script sending `distinct` different signed commands in turn (1: one, replayed);
    the commands are in a file beside it, one per line (a Lua table literal that large is
    more than LuaJIT accepts)."""
    verifier = SignatureVerifier(SECRET)
    ts = str(int(time.time()))
    data = path.with_suffix(".tsv")
    with data.open("w") as out:
        for i in range(distinct):
            b = command_body(text, i, f"wrk-{time.time_ns()}-{i}", "http://127.0.0.1:9/r")
            out.write(f"{verifier.generate_signature(timestamp=ts, body=b)}\t{b}\n")
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        f'wrk.headers["X-Slack-Request-Timestamp"] = "{ts}"\n'
        "local sigs, bodies = {}, {}\n"
        f'for line in io.lines("{data}") do\n'
        '  local tab = line:find("\\t", 1, true)\n'
        "  sigs[#sigs + 1] = line:sub(1, tab - 1)\n"
        "  bodies[#bodies + 1] = line:sub(tab + 1)\n"
        "end\n"
        "local i = 0\n"
        "request = function()\n"
        "  local k = i % #sigs + 1\n"
        "  i = i + 1\n"
        '  wrk.headers["X-Slack-Signature"] = sigs[k]\n'
        "  return wrk.format(nil, nil, nil, bodies[k])\n"
        "end\n"
    )


def run_wrk(url: str, lua: Path, connections: int, seconds: int, threads: int) -> dict[str, float]:
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(lua),
            url.rstrip("/") + "/slack/events",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    figures = {"rps": rate, "total": total, "non2xx": float(non2xx.group(1)) if non2xx else 0.0}
    for pct in ("50", "99"):
        found = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        if found:
            value, unit = float(found.group(1)), found.group(2)
            figures[f"p{pct}"] = (
                value / 1000 if unit == "us" else value * (1000 if unit == "s" else 1)
            )
    return figures


def measure(
    stack: Stack, label: str, args: argparse.Namespace, bare: dict[str, float]
) -> list[str]:
    """Each command against palbot (and bare Bolt, if this stack runs it): one row each."""
    rows = []
    pal_id = make_pal(stack.sandbox_url)
    tmp = Path(stack.tmp.name)
    script(tmp / "warm.lua", "help", 1)
    for command in args.commands.split(","):
        text = "help" if command == "help" else f"start {pal_id}"
        distinct = 1 if command == "help" else STARTS_PER_SECOND_CEILING * (args.seconds + 2)
        lua = tmp / f"{command}.lua"
        script(lua, text, distinct)
        targets = [(label, stack.palbot_url)]
        if stack.bare_url:
            targets.insert(0, ("bare Bolt", stack.bare_url))
        for who, url in targets:
            run_wrk(url, tmp / "warm.lua", args.connections, 2, 1)  # warm up on help
            r = run_wrk(url, lua, args.connections, args.seconds, args.threads)
            if who == "bare Bolt":
                bare[command] = r["rps"]
            ratio = f"  {r['rps'] / bare[command]:.2f}x bare" if who != "bare Bolt" else ""
            cycled = "  (table cycled: repeats are retries)" if r["total"] > distinct > 1 else ""
            rows.append(
                f"{who:26} /pal {command:5} {r['rps']:7.0f} req/s  "
                f"p50 {r.get('p50', 0):6.2f} ms  p99 {r.get('p99', 0):7.2f} ms  "
                f"non-2xx {int(r['non2xx'])}{ratio}{cycled}"
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", default="help,start")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2,4", help="palbot worker counts")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="wrk's threads")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)")
        return 2
    counts = [int(w) for w in args.workers.split(",")]
    server = PostgresServer() if "postgresql" in args.backends else None
    print(
        f"wrk, {args.connections} connections, {args.seconds} s per row, {args.threads} thread(s)"
    )
    bare: dict[str, float] = {}
    try:
        for backend in args.backends.split(","):
            for workers in counts:
                env: dict[str, str] = {}
                if backend == "postgresql":
                    assert server is not None
                    url, secret = server.new_database(), Fernet.generate_key().decode()
                    seed = open_postgres_store(url, secret)
                    seed.workspaces.set_pal_key("T1", PAL_KEY, set_by="U_BENCH")
                    seed.close()
                    env = {"DATABASE_URL": url, "PALBOT_SECRET_KEY": secret}
                stack = start_stack(with_bare=not bare, extra_env=env, workers=workers)
                try:
                    for row in measure(stack, f"{backend}, {workers} worker(s)", args, bare):
                        print(row, flush=True)
                finally:
                    stack.stop()
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
