"""`/pal help` throughput under wrk, palbot (SQLite) beside bare Bolt in one run.

    python bench/wrk_help.py [--connections 50] [--seconds 10] [--threads 2] [--workers 1,2]

Starts the same stack as the other benches (fake Slack, sandbox, `palbot serve`, bare Bolt),
then runs wrk against each with one signed `/pal help` request replayed (a Slack signature
stays valid for five minutes; `/pal help` changes nothing, so a replay is a fair load). Prints
requests per second, wrk's latency percentiles and the palbot/bare ratios; with several
`--workers` counts, palbot once per count (`palbot serve --workers N`), beside the same bare
Bolt run. Needs `wrk` (Debian: `apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))

from harness import SECRET, start_stack  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

BODY = (
    "team_id=T1&channel_id=C0001&user_id=U001&command=%2Fpal&text=help"
    "&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr&trigger_id=t1&api_app_id=A1"
)


def script(path: Path) -> None:
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=BODY)
    path.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{BODY}"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        f'wrk.headers["X-Slack-Request-Timestamp"] = "{ts}"\n'
        f'wrk.headers["X-Slack-Signature"] = "{signature}"\n'
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
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    figures = {"rps": rate, "non2xx": float(non2xx.group(1)) if non2xx else 0.0}
    for pct in ("50", "99"):
        found = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        if found:
            value, unit = float(found.group(1)), found.group(2)
            figures[f"p{pct}"] = (
                value / 1000 if unit == "us" else value * (1000 if unit == "s" else 1)
            )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", default="1", help="palbot worker counts, e.g. 1,2")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)")
        return 2
    counts = [int(w) for w in args.workers.split(",")]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "help.lua"
        script(lua)
        for i, workers in enumerate(counts):
            stack = start_stack(with_bare=i == 0, workers=workers)
            try:
                targets = [(f"palbot, {workers} worker(s)", stack.palbot_url)]
                if stack.bare_url:
                    targets.insert(0, ("bare Bolt", stack.bare_url))
                for who, url in targets:
                    run_wrk(url, lua, args.connections, 2, args.threads)  # warm up
                    results[who] = run_wrk(url, lua, args.connections, args.seconds, args.threads)
            finally:
                stack.stop()
    print(f"/pal help under wrk, {args.connections} connections, {args.seconds} s, SQLite")
    bare = results["bare Bolt"]
    for who, r in results.items():
        ratio = (
            ""
            if who == "bare Bolt"
            else (
                f"  palbot/bare: throughput {r['rps'] / bare['rps']:.2f}x, "
                f"p99 {r.get('p99', 0) / max(bare.get('p99', 1), 1e-9):.2f}x"
            )
        )
        print(
            f"{who:22} {r['rps']:8.0f} req/s  p50 {r.get('p50', 0):6.2f} ms  "
            f"p99 {r.get('p99', 0):6.2f} ms  non-2xx {int(r['non2xx'])}{ratio}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
