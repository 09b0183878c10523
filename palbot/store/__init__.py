"""palbot's state: workspaces and keys, conversations, installations and the audit log.

Callers use the Protocols of `palbot.store.interfaces`; `open_store` picks the backend: SQLite,
or PostgreSQL when `DATABASE_URL` is set.
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
    """PostgreSQL when DATABASE_URL is set; else SQLite at PALBOT_DATABASE."""
    secret = settings.palbot_secret_key.get_secret_value() if settings.palbot_secret_key else None
    if settings.database_url:
        from palbot.store.postgres.store import open_postgres_store

        return open_postgres_store(
            settings.database_url.get_secret_value(),
            secret,
            pool_size=settings.palbot_db_pool_size,
            threads=settings.palbot_db_threads,
        )
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
