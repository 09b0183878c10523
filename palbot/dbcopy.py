"""`palbot db copy --from URL --to URL`: move a deployment's data between backends.

Rows are copied as they are stored: secrets stay encrypted under the same key (so the same
PALBOT_SECRET_KEY opens the copy), and the audit log keeps its rows, hashes and chain root (so
`palbot audit verify` passes on the copy). The target must be empty; it is migrated first.
URLs: `sqlite:///path/to/palbot.db` (or a plain path) and `postgresql://…` (`postgres://…`).
"""

from __future__ import annotations

from typing import Any

from palbot.store.postgres.db import PgDatabase
from palbot.store.postgres.store import normalize_url
from palbot.store.sqlite.db import Database

TABLES = (
    "meta",
    "workspaces",
    "conversations",
    "audit_log",
    "conversation_events",
    "idempotency_keys",
    "slack_bots",
    "slack_installations",
    "oauth_states",
    "leases",
    "form_sessions",
    "pal_creators",
)


class CopyError(Exception):
    pass


def open_database(url: str) -> Any:
    if url.startswith(("postgres://", "postgresql://")):
        return PgDatabase(normalize_url(url))
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    if url.startswith("sqlite://") and not url.startswith("sqlite:///"):
        raise CopyError("a SQLite URL is sqlite:///path/to/palbot.db (three slashes)")
    return Database(path)


def copy_database(source: str, target: str) -> dict[str, int]:
    """Copy every table; returns the rows copied per table."""
    src, dst = open_database(source), open_database(target)
    try:
        if src.user_version != dst.user_version:
            raise CopyError(
                f"schema versions differ ({src.user_version} and {dst.user_version}): "
                "run the same palbot on both"
            )
        for table in TABLES:
            if dst.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]:
                raise CopyError(f"the target is not empty ({table} has rows): copy into a new one")
        copied: dict[str, int] = {}
        with dst.write() as out:
            for table in TABLES:
                rows = src.conn.execute(f"SELECT * FROM {table}").fetchall()
                for row in rows:
                    names = list(row.keys())
                    out.execute(
                        f"INSERT INTO {table} ({', '.join(names)}) "
                        f"VALUES ({', '.join('?' for _ in names)})",
                        tuple(row[n] for n in names),
                    )
                copied[table] = len(rows)
        return copied
    finally:
        src.close()
        dst.close()
