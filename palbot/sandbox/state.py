"""The sandbox's data: per-key PALs and conversations, faces, faults and the request log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STOCK_FACES: list[dict[str, Any]] = [
    {"face_id": "r90bbd427f71", "face_name": "Anna", "status": "completed", "face_type": "system"},
    {
        "face_id": "rb17cf590e15",
        "face_name": "Charlie",
        "status": "completed",
        "face_type": "system",
    },
    {
        "face_id": "r6ae5b6efc9d",
        "face_name": "Olivia",
        "status": "completed",
        "face_type": "system",
    },
    {"face_id": "r4317e64d25a", "face_name": "Steph", "status": "completed", "face_type": "system"},
]
STOCK_PALS: list[dict[str, Any]] = [
    {
        "pal_id": "p5317866",
        "pal_name": "Tavus Researcher",
        "pal_type": "system",
        "pipeline_mode": "full",
        "default_face_id": "r90bbd427f71",
        "system_prompt": "You are a friendly researcher.",
        "created_at": "2025-01-01T00:00:00Z",
    },
]


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Fault:
    """A rule that delays or fails matching requests (for tests and demos)."""

    method: str | None = None
    path: str | None = None  # prefix of the request path
    status: int | None = None
    latency: float = 0.0
    times: int | None = None  # None: for ever
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path and not path.startswith(self.path))


@dataclass
class Account:
    """Everything one API key owns."""

    pals: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    maker_changes: set[str] = field(default_factory=set)
    credits: int | None = None  # None: unlimited

    def active_billable(self) -> int:
        return sum(
            1
            for c in self.conversations.values()
            if c["status"] == "active" and not c.get("test_mode")
        )


@dataclass
class SandboxConfig:
    concurrency_cap: int = 3
    wrap_get: bool = False  # answer GET /v2/pals/{id} as {"data": [pal]} (upstream quirk)
    legacy_names: bool = False  # answer faces with replica_id / replica_name
    # "legacy": POST /v2/conversations wants persona_id/replica_id (400 for pal_id), as the
    # generation of the API Tavus's own CLI targets; "both": either names (the docs)
    conversation_names: str = "both"
    callback_delay: float = 0.05
    duration_scale: float = 1.0  # max_call_duration seconds are multiplied by this
    transcript_turns: int = 4
    public_url: str = "http://127.0.0.1:8787"


class SandboxState:
    def __init__(self, keys: list[str], config: SandboxConfig | None = None) -> None:
        self.keys = set(keys)
        self.config = config or SandboxConfig()
        self.accounts: dict[str, Account] = {}
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        self.callbacks_sent: list[dict[str, Any]] = []

    def account(self, key: str) -> Account:
        return self.accounts.setdefault(key, Account())

    def reset(self) -> None:
        self.accounts.clear()
        self.faults.clear()
        self.requests.clear()
        self.callbacks_sent.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    @staticmethod
    def new_id(prefix: str, length: int = 12) -> str:
        return prefix + secrets.token_hex(length // 2 + 1)[: length - 1]
