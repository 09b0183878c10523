"""`palbot serve` as a subprocess, the way an operator runs it: its environment and a port."""

from __future__ import annotations

import os

from tests.conftest import SandboxHandle
from tests.fakes.slack_api import FakeSlack
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
