"""palbot served on 127.0.0.1, talking to the fake Slack Web API and the PAL API sandbox."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from palbot.config import Settings
from palbot.server import Palbot, assemble, build_asgi
from tests.conftest import SANDBOX_KEY, SANDBOX_KEY_2, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_client import SlackSender
from tests.inprocess import InProcessServer
from tests.servers import ServerThread, reserve_socket

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-T1-bot-token-test"
ADMIN = "U_ADMIN"
USER = "U_USER"


@pytest.fixture(scope="session")
def fake_slack_server() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    server = ServerThread(fake.asgi()).start()
    fake.url = server.url
    yield fake
    server.stop()


@pytest.fixture
def fake_slack(fake_slack_server: FakeSlack) -> FakeSlack:
    fake_slack_server.reset()
    fake_slack_server.add_workspace("T1", BOT_TOKEN)
    fake_slack_server.admins.add(ADMIN)
    return fake_slack_server


class PalbotHandle:
    def __init__(self, bot: Palbot, server: Any, sender: SlackSender) -> None:
        self.bot = bot
        self.server = server
        self.slack = sender
        self.store = bot.store
        self.url = server.url

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until palbot has no after-ack work running (what earlier requests started),
        no reconciliation round under way, and its delivery marks are written."""
        deadline = time.monotonic() + timeout
        while (
            self.bot.rt.background_tasks
            or self.bot.convs.pending_marks
            or self.bot.reconciler.running  # a round may be showing a start it settled
        ):
            assert time.monotonic() < deadline, "palbot's background work did not finish"
            time.sleep(0.005)

    def connect_key(self, team: str = "T1", key: str = SANDBOX_KEY) -> None:
        self.store.workspaces.set_pal_key(team, key, set_by=ADMIN)

    def created_by(self, pal_id: str, user: str = USER, team: str = "T1") -> str:
        """As if `user` had created this (sandbox-made) PAL through palbot."""
        self.store.workspaces.record_creator(team, pal_id, user)
        return pal_id

    def audit(self, action: str | None = None, team: str | None = None) -> list[Any]:
        return list(self.store.audit.iter_entries(action=action, team_id=team))

    def wait_audit(
        self, action: str, outcome: str, count: int = 1, timeout: float = 10.0
    ) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            rows = [e for e in self.audit(action) if e.outcome == outcome]
            if len(rows) >= count:
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {count} x {action}/{outcome} in "
                    f"{[(e.action, e.outcome) for e in self.audit()]}"
                )
            time.sleep(0.02)


def make_settings(
    tmp_path: Path, fake: FakeSlack, sandbox: SandboxHandle, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "slack_signing_secret": SIGNING_SECRET,
        "slack_bot_token": BOT_TOKEN,
        "slack_api_url": fake.url + "/api/",
        "pal_api_url": sandbox.url,
        "palbot_database": tmp_path / "palbot.db",
        "palbot_secret_key": Fernet.generate_key().decode(),
        "palbot_poll_interval": 3600,
        "pal_api_read_timeout": 5,
        "pal_api_deadline": 8,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def make_palbot(
    tmp_path: Path, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> Iterator[Callable[..., PalbotHandle]]:
    handles: list[PalbotHandle] = []

    def make(*, public: bool = False, http: bool = False, **overrides: Any) -> PalbotHandle:
        """palbot in-process (the fast tier), or over real HTTP on 127.0.0.1 with `http=True`
        (and always with `public=True`: the sandbox's callbacks come back over the network)."""
        if public or http:
            sock = reserve_socket()
            if public:  # PAL API callbacks come back to this very server
                overrides["palbot_public_url"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
            bot = assemble(make_settings(tmp_path, fake_slack, sandbox, **overrides))
            server: Any = ServerThread(build_asgi(bot), sock=sock).start()
            sender = SlackSender(server.url, SIGNING_SECRET, fake_slack.response_url)
        else:  # no socket: Slack's requests and the PAL API (the sandbox) through ASGI
            pal_api = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app))
            settings = make_settings(tmp_path, fake_slack, sandbox, **overrides)
            bot = assemble(settings, http=pal_api)
            server = InProcessServer(build_asgi(bot)).start()
            sender = SlackSender(server.url, SIGNING_SECRET, fake_slack.response_url, server)
        handle = PalbotHandle(bot, server, sender)
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        handle.server.stop()


@pytest.fixture
def palbot(make_palbot: Callable[..., PalbotHandle]) -> PalbotHandle:
    return make_palbot()


__all__ = ["ADMIN", "SANDBOX_KEY", "SANDBOX_KEY_2", "USER", "PalbotHandle"]
