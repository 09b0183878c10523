"""`palbot serve` as a subprocess, the way an operator runs it: its environment and a port."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import httpx

from tests.conftest import SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_client import SlackSender
from tests.servers import reserve_socket
from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET


def free_port() -> int:
    sock = reserve_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def serve_env(fake: FakeSlack, sandbox: SandboxHandle | None, **settings: str) -> dict[str, str]:
    """One workspace (bot token) against the fake Slack and the sandbox; `settings` by
    variable name (PALBOT_DATABASE, DATABASE_URL, PALBOT_SECRET_KEY, …)."""
    env = {
        **os.environ,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake.url + "/api/",
        **({"PAL_API_URL": sandbox.url} if sandbox is not None else {}),
        **settings,
    }
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "PALBOT_PUBLIC_URL"):
        env.pop(name, None)
    return env


def start_serve(
    env: dict[str, str], cwd: Path, port: int, *options: str, out: IO[Any] | int | None = None
) -> subprocess.Popen[bytes]:
    """`palbot serve --port <port> <options>` in a session of its own (stop it with
    `os.killpg`), answering /healthz; `out` takes its output (discarded by default). A
    process that exits first, or is not healthy within 60 s, fails the test with what it
    printed (when `out` is a file)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "palbot", "serve", "--port", str(port), *options],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL if out is None else out,
        stderr=subprocess.DEVNULL if out is None else subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            printed = Path(out.name).read_text() if hasattr(out, "name") else ""
            raise AssertionError(f"palbot serve {' '.join(options)} did not start: {printed}")
        time.sleep(0.2)


def fire_burst(
    senders: list[SlackSender], pal_id: str, count: int, acked: list[str], name: str = "burst"
) -> list[threading.Thread]:
    """`count` starts at once, spread over `senders` (one palbot or several); the names of
    those acked are appended to `acked`. Returns the running threads."""
    lock = threading.Lock()

    def fire(i: int) -> None:
        start_name = f"{name}-{i:03d}"
        try:
            sender = senders[i % len(senders)]
            resp = sender.command(f"start {pal_id} {start_name}", channel=f"C{i:03d}")
        except httpx.HTTPError:
            return  # the server was killed mid-burst
        if resp.status_code == 200:
            with lock:
                acked.append(start_name)

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    return threads
