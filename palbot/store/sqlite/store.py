"""The SQLite backend: every store interface over one database file."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from palbot.store.crypto import SecretBox, SecretKeyError, load_secret_box, write_key_file
from palbot.store.sqlite.audit import CHAIN_ROOT_META, SqliteAuditLog
from palbot.store.sqlite.conversations import SqliteConversationStore, SqliteIdempotencyStore
from palbot.store.sqlite.db import Database
from palbot.store.sqlite.installations import SqliteInstallationStore, SqliteOAuthStateStore
from palbot.store.sqlite.shared import SqliteLeaseStore, SqliteSessionStore
from palbot.store.sqlite.workspaces import SecretRegistry, SqliteWorkspaceStore

CANARY_META = "secret_canary"
CANARY_TEXT = "palbot secret canary"
SEALED_COLUMNS = (
    ("workspaces", "team_id", "pal_key_enc"),
    ("slack_bots", "data_enc", "data_enc"),  # each ciphertext is unique (Fernet's IV)
    ("slack_installations", "data_enc", "data_enc"),
    ("meta", "key", "value"),
    ("form_sessions", "key", "data_enc"),
)
SEALED_META = (CANARY_META, CHAIN_ROOT_META)


class SqliteStore:
    def __init__(
        self,
        path: Path | str,
        box: SecretBox,
        *,
        key_file: Path | None = None,
        synchronous: str = "NORMAL",
        database: Any = None,
    ) -> None:
        """`database`: another backend's database with the same interface (PostgreSQL)."""
        self.path = Path(path) if database is None else path
        self.key_file = key_file
        self.db = database if database is not None else Database(path, synchronous=synchronous)
        self.box = box
        self._check_canary()
        self.secrets = SecretRegistry()
        self.workspaces = SqliteWorkspaceStore(self.db, box, self.secrets)
        self.audit = SqliteAuditLog(self.db, box, self.secrets.values)
        self.conversations = SqliteConversationStore(self.db)
        self.idempotency = SqliteIdempotencyStore(self.db)
        self.installations = SqliteInstallationStore(self.db, box, self.secrets)
        self.oauth_states = SqliteOAuthStateStore(self.db)
        self.leases = SqliteLeaseStore(self.db)
        self.sessions = SqliteSessionStore(self.db, box)
        self._learn_stored_secrets()

    def _learn_stored_secrets(self) -> None:
        """Teach the redactor every stored PAL key, so no audit row can ever hold one."""
        rows = self.db.conn.execute(
            "SELECT pal_key_enc FROM workspaces WHERE pal_key_enc IS NOT NULL"
        ).fetchall()
        for row in rows:
            self.secrets.add(self.box.decrypt(row["pal_key_enc"]))

    def _check_canary(self) -> None:
        with self.db.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (CANARY_META,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    (CANARY_META, self.box.encrypt(CANARY_TEXT)),
                )
                return
        if self.box.decrypt(row["value"]) != CANARY_TEXT:
            raise SecretKeyError("the secret key check failed")

    def transaction(self) -> contextlib.AbstractContextManager[object]:
        """Group several store calls into one atomic write (they join it)."""
        return self.db.write()

    def ping(self) -> bool:
        return self.db.ping()

    def close(self) -> None:
        self.db.close()

    def rotate_secret(self, new_key: bytes) -> int:
        """Start a rotation: every stored secret re-encrypted under `new_key`, in one
        transaction; returns the count. The key file (if any) holds `new,old` from before the
        transaction until `finish_rotation`: every process can open everything meanwhile, and a
        running server re-reads it and encrypts under the new key from then on."""
        keys = [new_key, *[k for k in self.box.keys if k != new_key]]
        if self.key_file is not None:
            write_key_file(self.key_file, b",".join(keys))
        self.box.adopt(keys)
        return self._reencrypt_all()[0]

    def finish_rotation(self) -> int:
        """End a rotation: whatever is still under an older key (a process that wrote before it
        saw the new one) is re-encrypted under the first key; then the key file holds the first
        key alone. Returns how many secrets were still under an older key."""
        stale = self._reencrypt_all()[1]
        if self.key_file is not None:
            write_key_file(self.key_file, self.box.primary)
        self.box.adopt([self.box.primary])
        return stale

    def _reencrypt_all(self) -> tuple[int, int]:
        """(secrets re-encrypted under the first key, of which were under another key)."""
        count = stale = 0
        with self.db.write() as conn:
            for table, key_col, col in SEALED_COLUMNS:
                rows = conn.execute(
                    f"SELECT {key_col} AS k, {col} AS v FROM {table} WHERE {col} IS NOT NULL"
                ).fetchall()
                for row in rows:
                    if table == "meta" and row["k"] not in SEALED_META:
                        continue
                    self.box.decrypt(row["v"])  # a clear error if some key is missing
                    stale += not self.box.opens_with_primary(row["v"])
                    conn.execute(
                        f"UPDATE {table} SET {col} = ? WHERE {key_col} = ?",
                        (self.box.reencrypt(row["v"]), row["k"]),
                    )
                    count += 1
        return count, stale

    def running_servers(self) -> list[str]:
        """Processes that hold a duty's lease now: palbot servers using this database."""
        return self.leases.holders()


def open_sqlite_store(
    database: Path | str, secret_key: str | None, synchronous: str = "NORMAL"
) -> SqliteStore:
    key_file = Path(str(database) + ".key")
    box = load_secret_box(secret_key, key_file)
    return SqliteStore(
        database, box, key_file=None if secret_key else key_file, synchronous=synchronous
    )


def generate_key() -> bytes:
    return Fernet.generate_key()
