"""Open the store on PostgreSQL (`DATABASE_URL`)."""

from __future__ import annotations

from palbot.store.crypto import SecretBox, SecretKeyError, parse_keys
from palbot.store.postgres.db import POOL_SIZE, THREADS, PgDatabase
from palbot.store.sqlite.store import SqliteStore


def normalize_url(url: str) -> str:
    """Heroku and most platforms say `postgres://`; libpq wants `postgresql://`."""
    return (
        "postgresql://" + url.removeprefix("postgres://") if url.startswith("postgres://") else url
    )


def open_postgres_store(
    url: str, secret_key: str | None, *, pool_size: int = POOL_SIZE, threads: int = THREADS
) -> SqliteStore:
    """The store's classes over PostgreSQL. The secret key must come from PALBOT_SECRET_KEY:
    there is no file beside a PostgreSQL database to keep it in."""
    if not secret_key:
        raise SecretKeyError(
            "With DATABASE_URL, set PALBOT_SECRET_KEY (a Fernet key; `palbot rotate-secret` or "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())' makes one) in the platform's config: "
            "there is no key file beside a PostgreSQL database."
        )
    box = SecretBox(parse_keys(secret_key, "PALBOT_SECRET_KEY"), "PALBOT_SECRET_KEY")
    database = PgDatabase(normalize_url(url), pool_size=pool_size, threads=threads)
    return SqliteStore(normalize_url(url), box, database=database)
