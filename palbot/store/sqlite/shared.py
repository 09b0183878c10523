"""State several processes share (SQLite and PostgreSQL alike: the same statements).

- Leases: a duty that must run in one process at a time (the poller, reconciliation) is run by
  the holder of its lease; a lease not renewed within its time passes to another process.
- Form sessions: what a later request needs (the document a Patch form was opened on, an
  Overwrite confirmation), encrypted (a PAL document may hold a layer's credentials), with an
  expiry. Any process can answer the submission.
"""

from __future__ import annotations

import json
import time
from typing import Any

from palbot.store.crypto import SecretBox


class SqliteLeaseStore:
    def __init__(self, db: Any) -> None:
        self.db = db

    def acquire(self, name: str, holder: str, ttl: float) -> bool:
        """Take or renew `name` for `ttl` seconds; False while another holder's lease runs."""
        now = time.time()
        with self.db.write() as conn:
            cur = conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at "
                "WHERE leases.expires_at < ? OR leases.holder = ?",
                (name, holder, now + ttl, now, holder),
            )
            return bool(cur.rowcount > 0)

    def holders(self) -> list[str]:
        """Who holds an unexpired lease now (servers running against this database)."""
        rows = self.db.conn.execute(
            "SELECT DISTINCT holder FROM leases WHERE expires_at >= ?", (time.time(),)
        ).fetchall()
        return sorted(str(r[0]) for r in rows)

    def release(self, name: str, holder: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))


class SqliteSessionStore:
    def __init__(self, db: Any, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def put(self, key: str, data: dict[str, Any], ttl: float, team_id: str | None = None) -> None:
        sealed = self.box.encrypt(json.dumps(data, separators=(",", ":"), default=str))
        with self.db.write() as conn:
            conn.execute("DELETE FROM form_sessions WHERE expires_at < ?", (time.time(),))
            conn.execute(
                "INSERT INTO form_sessions (key, team_id, data_enc, expires_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET team_id = excluded.team_id, "
                "data_enc = excluded.data_enc, expires_at = excluded.expires_at",
                (key, team_id, sealed, time.time() + ttl),
            )

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.db.conn.execute(
            "SELECT data_enc FROM form_sessions WHERE key = ? AND expires_at >= ?",
            (key, time.time()),
        ).fetchone()
        return json.loads(self.box.decrypt(row["data_enc"])) if row else None

    def pop(self, key: str) -> dict[str, Any] | None:
        """Take a session once (a confirmation is single use, in any process)."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT data_enc FROM form_sessions WHERE key = ? AND expires_at >= ?",
                (key, time.time()),
            ).fetchone()
            conn.execute("DELETE FROM form_sessions WHERE key = ?", (key,))
        return json.loads(self.box.decrypt(row["data_enc"])) if row else None
