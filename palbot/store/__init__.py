"""palbot's state: workspaces and keys, conversations, installations and the audit log.

Callers use the Protocols of `palbot.store.interfaces`; `open_store` picks the backend (SQLite).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from palbot.store.crypto import SecretKeyError
from palbot.store.models import AuditEntry, ConversationRecord, Limits, Workspace
from palbot.store.sqlite.db import DatabaseError
from palbot.store.sqlite.store import SqliteStore, open_sqlite_store

if TYPE_CHECKING:
    from palbot.config import Settings

Store = SqliteStore


def open_store(settings: Settings) -> Store:
    secret = settings.palbot_secret_key.get_secret_value() if settings.palbot_secret_key else None
    return open_sqlite_store(settings.palbot_database, secret)


__all__ = [
    "AuditEntry",
    "ConversationRecord",
    "DatabaseError",
    "Limits",
    "SecretKeyError",
    "Store",
    "Workspace",
    "open_store",
]
