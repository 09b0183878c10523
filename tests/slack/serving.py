"""`palbot serve` as a subprocess, the way an operator runs it: its environment and a port."""

from __future__ import annotations

import os
import threading

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
