from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from palbot.sandbox import SandboxConfig, build_sandbox
from tests.servers import ServerThread

SANDBOX_KEY = "sk-test-aaaaaaaaaaaa1111"
SANDBOX_KEY_2 = "sk-test-bbbbbbbbbbbb2222"


class SandboxHandle:
    def __init__(self, server: ServerThread, sandbox: object, app: object = None) -> None:
        self.server = server
        self.sandbox = sandbox
        self.app = app  # the ASGI app itself, to mount in-process
        self.url = server.url
        self.admin = httpx.Client(base_url=server.url, timeout=10)

    def reset(self) -> None:
        self.admin.post("/_sandbox/reset").raise_for_status()
        self.configure(
            concurrency_cap=3,
            wrap_get=False,
            legacy_names=False,
            conversation_names="both",
            callback_delay=0.05,
            duration_scale=1.0,
            transcript_turns=4,
        )

    def configure(self, **settings: object) -> None:
        self.admin.post("/_sandbox/config", json=settings).raise_for_status()

    def fault(self, **rule: object) -> None:
        self.admin.post("/_sandbox/faults", json=rule).raise_for_status()

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict]:
        rows = self.admin.get("/_sandbox/requests").json()
        return [
            r
            for r in rows
            if (method is None or r["method"] == method) and (path is None or r["path"] == path)
        ]

    def callback_token(self, conversation_id: str, key: str = SANDBOX_KEY) -> str:
        """The token at the end of the callback URL palbot gave this conversation (palbot
        itself keeps only its hash)."""
        resp = self.admin.get(f"/v2/conversations/{conversation_id}", headers={"x-api-key": key})
        resp.raise_for_status()
        url = str(resp.json().get("callback_url") or "")
        assert "/pal/callbacks/" in url, url
        return url.rsplit("/", 1)[-1]

    def callbacks(self) -> list[dict]:
        return self.admin.get("/_sandbox/callbacks").json()

    def add_key(self, key: str, **extra: object) -> None:
        self.admin.post("/_sandbox/keys", json={"key": key, **extra}).raise_for_status()

    def shutdown(self, conversation_id: str, reason: str) -> None:
        self.admin.post(
            f"/_sandbox/conversations/{conversation_id}/shutdown", json={"reason": reason}
        ).raise_for_status()

    def maker_changes(self, pal_id: str) -> None:
        self.admin.post(f"/_sandbox/pals/{pal_id}/maker_changes").raise_for_status()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxHandle]:
    app, sandbox = build_sandbox([SANDBOX_KEY, SANDBOX_KEY_2], SandboxConfig())
    server = ServerThread(app).start()
    sandbox.state.config.public_url = server.url
    handle = SandboxHandle(server, sandbox, app)
    yield handle
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle) -> SandboxHandle:
    sandbox_server.reset()
    sandbox_server.add_key(SANDBOX_KEY)
    sandbox_server.add_key(SANDBOX_KEY_2)
    return sandbox_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """One PostgreSQL server for the session (each test gets a database of its own)."""
    from tests.pg import PostgresServer

    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: object) -> str:
    from tests.pg import PostgresServer

    assert isinstance(postgres_server, PostgresServer)
    return postgres_server.new_database()
