"""Shared plumbing for the benchmarks: the fake Slack Web API, the sandbox, palbot and the
bare Bolt baseline as real processes on 127.0.0.1, and a signed async load generator."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
from cryptography.fernet import Fernet
from slack_sdk.signature import SignatureVerifier

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from palbot.store.sqlite.store import open_sqlite_store  # noqa: E402

SECRET = "bench-signing-secret-0123456789"
BOT = "xoxb-T1-bench-token"
PAL_KEY = "sk-bench-key-00000001"
UPSTREAM_NICE = int(os.environ.get("BENCH_UPSTREAM_NICE", "10"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class RemoteFake:
    """The fake Slack Web API running in its own process."""

    def __init__(self, url: str) -> None:
        self.url = url

    def calls(self, method: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = httpx.get(
            self.url + "/_calls", params={"method": method}
        ).json()
        return rows


@dataclass
class Stack:
    fake: RemoteFake
    sandbox_url: str
    palbot_url: str
    bare_url: str | None
    bare_at_ack_url: str | None = None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    tmp: Any = None
    palbot_pid: int = 0
    palbot_env: dict[str, str] = field(default_factory=dict)
    palbot_port: int = 0
    db: Path | None = None
    secret_key: str = ""

    def start_palbot(self) -> subprocess.Popen[bytes]:
        """(Re)start `palbot serve` on the same port and database; returns once it answers."""
        proc = _palbot_process(self.palbot_env, self.palbot_port)
        self.procs.append(proc)
        self.palbot_pid = proc.pid
        wait_http(self.palbot_url + "/healthz")
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()  # palbot serve --workers N: its workers stop with it
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.tmp is not None:
            self.tmp.cleanup()


def start_stack(
    with_bare: bool = True, extra_env: dict[str, str] | None = None, workers: int = 1
) -> Stack:
    tmp = tempfile.TemporaryDirectory()
    db = Path(tmp.name) / "palbot.db"
    secret_key = Fernet.generate_key().decode()
    store = open_sqlite_store(db, secret_key)
    store.workspaces.set_pal_key("T1", PAL_KEY, set_by="U_BENCH")
    store.close()
    procs: list[subprocess.Popen[bytes]] = []
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    # Slack and the PAL API run on other machines in production: here their stand-ins share
    # this machine's cores, so they run at a lower CPU priority to compete less with palbot.
    upstream = {**quiet, "preexec_fn": lambda: os.nice(UPSTREAM_NICE)}
    fake_port = free_port()
    procs.append(
        subprocess.Popen(
            [
                sys.executable,
                str(REPO / "bench" / "fake_slack_server.py"),
                "--port",
                str(fake_port),
                "--workspace",
                f"T1={BOT}",
            ],
            cwd=REPO,
            **upstream,
        )
    )
    fake = RemoteFake(f"http://127.0.0.1:{fake_port}")
    wait_http(fake.url + "/_calls")
    sandbox_port = free_port()
    procs.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "palbot",
                "--log-level",
                "warning",
                "sandbox",
                "--port",
                str(sandbox_port),
                "--key",
                PAL_KEY,
                "--concurrency",
                "1000000",
            ],
            cwd=REPO,
            **upstream,
        )
    )
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PALBOT_", "PAL_API_"))
    }
    env.update(
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN=BOT,
        SLACK_API_URL=fake.url + "/api/",
        PAL_API_URL=sandbox_url,
        PALBOT_DATABASE=str(db),
        PALBOT_SECRET_KEY=secret_key,
        PALBOT_POLL_INTERVAL="3600",
        PAL_API_READ_TIMEOUT="15",
        PAL_API_DEADLINE="30",
    )
    env.update(extra_env or {})
    palbot_port = free_port()
    palbot = _palbot_process(env, palbot_port, workers)
    procs.append(palbot)
    bare_url = bare_at_ack_url = None
    if with_bare:
        urls = []
        for flags in ([], ["--at-ack"]):
            bare_port = free_port()
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        str(REPO / "bench" / "bare_bolt.py"),
                        "--port",
                        str(bare_port),
                        *flags,
                    ],
                    cwd=REPO,
                    env=env,
                    **quiet,
                )
            )
            urls.append(f"http://127.0.0.1:{bare_port}")
        bare_url, bare_at_ack_url = urls
    palbot_url = f"http://127.0.0.1:{palbot_port}"
    wait_http(sandbox_url + "/v2/faces")
    wait_http(palbot_url + "/healthz")
    for url in (bare_url, bare_at_ack_url):
        if url:
            wait_http(url + "/slack/events")
    return Stack(
        fake,
        sandbox_url,
        palbot_url,
        bare_url,
        bare_at_ack_url,
        procs,
        tmp,
        palbot.pid,
        env,
        palbot_port,
        db,
        secret_key,
    )


def _palbot_process(env: dict[str, str], port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "palbot",
            "--log-level",
            "warning",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def make_pal(sandbox_url: str) -> str:
    resp = httpx.post(
        sandbox_url + "/v2/pals",
        headers={"x-api-key": PAL_KEY},
        json={"pal_name": "Bench", "system_prompt": "You help.", "default_face_id": "r90bbd427f71"},
    )
    resp.raise_for_status()
    return str(resp.json()["pal_id"])


def command_body(text: str, i: int, trigger: str, response_url: str) -> str:
    """The form body Slack posts for `/pal <text>`, the i-th of a load (its channel and user
    vary with i, as in a busy workspace)."""
    return urlencode(
        {
            "team_id": "T1",
            "channel_id": f"C{i % 997:04d}",
            "user_id": f"U{i % 50:03d}",
            "command": "/pal",
            "text": text,
            "response_url": response_url,
            "trigger_id": trigger,
            "api_app_id": "A1",
        }
    )


class Load:
    """Signed `/pal` commands at a fixed concurrency (closed loop: the next is sent when an
    answer comes back); latency = time to the HTTP answer. With `rate`, open loop instead, as
    Slack sends: one request every 1/rate s whatever the answers, latency counted from when it
    was due (a late send counts against the server, not hidden)."""

    def __init__(
        self, url: str, fake: RemoteFake, concurrency: int, rate: float | None = None
    ) -> None:
        self.url = url.rstrip("/") + "/slack/events"
        self.fake = fake
        self.concurrency = concurrency
        self.rate = rate
        self.span = 0.0
        self.answered: list[tuple[float, float]] = []  # (sent or due, latency), as answered
        self.verifier = SignatureVerifier(SECRET)
        self.sent_at: dict[str, float] = {}

    def body(self, text: str, i: int, trigger: str) -> str:
        return command_body(text, i, trigger, f"{self.fake.url}/response/b{i}")

    async def run(self, texts: list[str]) -> list[float]:
        """Send `texts` at the concurrency (or the rate), over one warm connection pool; the
        latencies, in the order answered (`answered` keeps each one's send or due time too)."""
        self.answered = []
        open_loop = self.rate is not None
        # closed: at most `concurrency` in flight; open: whatever the answers
        limit = contextlib.nullcontext() if open_loop else asyncio.Semaphore(self.concurrency)
        signed = []
        for i, text in enumerate(texts):  # signed up front, outside the timed part
            trigger = f"trig-{time.time_ns()}-{i}"
            body = self.body(text, i, trigger)
            ts = str(int(time.time()))
            signature = self.verifier.generate_signature(timestamp=ts, body=body)
            signed.append(
                (
                    trigger,
                    body,
                    {
                        "content-type": "application/x-www-form-urlencoded",
                        "x-slack-request-timestamp": ts,
                        "x-slack-signature": signature,
                    },
                )
            )
        connector = aiohttp.TCPConnector(limit=max(self.concurrency, 256 if open_loop else 0))
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

            async def one(
                trigger: str,
                body: str,
                headers: dict[str, str],
                timed: bool,
                due: float | None = None,
            ) -> None:
                async with limit:
                    began = time.monotonic() if due is None else due
                    self.sent_at[trigger] = began
                    async with client.post(self.url, data=body, headers=headers) as resp:
                        await resp.read()
                        if timed:
                            self.answered.append((began, time.monotonic() - began))
                        if resp.status != 200:
                            raise RuntimeError(f"HTTP {resp.status}")

            # open the pool's connections first (a real Slack keeps them open too)
            warm = [
                (f"warm-{time.time_ns()}-{i}", *self._signed_help(i))
                for i in range(self.concurrency)
            ]
            await asyncio.gather(*(one(t, b, h, False) for t, b, h in warm))
            # the generator's own GC pauses would count as server latency: none while timing
            gc.collect()
            gc.disable()
            try:
                if self.rate is None:
                    await asyncio.gather(*(one(*item, True) for item in signed))
                else:
                    start, rate = time.monotonic() + 0.05, self.rate

                    async def when_due(i: int, item: tuple[str, str, dict[str, str]]) -> None:
                        due = start + i / rate
                        if due > time.monotonic():
                            await asyncio.sleep(due - time.monotonic())
                        await one(*item, True, due)

                    await asyncio.gather(*(when_due(i, item) for i, item in enumerate(signed)))
                    self.span = time.monotonic() - start  # first due → last answer
            finally:
                gc.enable()
        return [latency for _, latency in self.answered]

    def _signed_help(self, i: int) -> tuple[str, dict[str, str]]:
        body = self.body("help", i, f"warm-{i}")
        ts = str(int(time.time()))
        return body, {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": self.verifier.generate_signature(timestamp=ts, body=body),
        }


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": pct(values, 50) * 1000,
        "p95": pct(values, 95) * 1000,
        "p99": pct(values, 99) * 1000,
        "max": max(values) * 1000,
        "mean": statistics.fmean(values) * 1000,
    }


def line(label: str, values: list[float]) -> str:
    s = summary(values)
    return (
        f"{label:<34} n={len(values):<5} p50 {s['p50']:7.1f} ms  p95 {s['p95']:7.1f} ms  "
        f"p99 {s['p99']:7.1f} ms  max {s['max']:7.1f} ms"
    )
