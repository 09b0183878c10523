"""Conversations palbot started, and the callback events already handled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from palbot.store.models import ConversationRecord, utc_now
from palbot.store.sqlite.db import Database

FIELDS = tuple(ConversationRecord.model_fields)


def _record(row: Any) -> ConversationRecord:
    data = dict(row)
    data["test_mode"] = bool(data.get("test_mode"))
    return ConversationRecord(**data)


class SqliteConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, record: ConversationRecord) -> None:
        data = record.model_dump()
        data["test_mode"] = int(record.test_mode)
        with self.db.write() as conn:
            conn.execute(
                f"INSERT INTO conversations ({', '.join(FIELDS)}) "
                f"VALUES ({', '.join('?' for _ in FIELDS)})",
                tuple(data[f] for f in FIELDS),
            )

    def _one(self, where: str, args: tuple[Any, ...]) -> ConversationRecord | None:
        row = self.db.conn.execute(f"SELECT * FROM conversations WHERE {where}", args).fetchone()
        return _record(row) if row else None

    def get(self, conversation_id: str) -> ConversationRecord | None:
        return self._one("conversation_id = ?", (conversation_id,))

    def by_callback_token(self, token: str) -> ConversationRecord | None:
        if not token:
            return None
        return self._one("callback_token = ?", (token,))

    def by_message(self, channel_id: str, message_ts: str) -> ConversationRecord | None:
        return self._one("channel_id = ? AND message_ts = ?", (channel_id, message_ts))

    def set_message(self, conversation_id: str, channel_id: str, message_ts: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE conversations SET channel_id = ?, message_ts = ? WHERE conversation_id = ?",
                (channel_id, message_ts, conversation_id),
            )

    def mark_ended(self, conversation_id: str, *, ended_by: str | None, reason: str | None) -> bool:
        """Record the end once: True only for the call that moved it from active to ended."""
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE conversations SET status = 'ended', ended_at = ?, ended_by = ?, "
                "end_reason = ? WHERE conversation_id = ? AND status IN ('active', 'starting')",
                (utc_now(), ended_by, reason, conversation_id),
            )
            return cur.rowcount > 0

    def set_ended_by(self, conversation_id: str, user_id: str) -> bool:
        """Name who ended it, when a callback recorded the end first (a race with our end)."""
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE conversations SET ended_by = ? WHERE conversation_id = ? "
                "AND status = 'ended' AND ended_by IS NULL",
                (user_id, conversation_id),
            )
            return cur.rowcount > 0

    def list_active(self, team_id: str | None = None) -> list[ConversationRecord]:
        if team_id is None:
            rows = self.db.conn.execute(
                "SELECT * FROM conversations WHERE status = 'active' ORDER BY created_at"
            )
        else:
            rows = self.db.conn.execute(
                "SELECT * FROM conversations WHERE team_id = ? AND status = 'active' "
                "ORDER BY created_at",
                (team_id,),
            )
        return [_record(r) for r in rows.fetchall()]

    def recent(self, team_id: str, limit: int = 10) -> list[ConversationRecord]:
        rows = self.db.conn.execute(
            "SELECT * FROM conversations WHERE team_id = ? ORDER BY created_at DESC LIMIT ?",
            (team_id, limit),
        ).fetchall()
        return [_record(r) for r in rows]

    def count_started_since(self, team_id: str, since: str) -> int:
        row = self.db.conn.execute(
            "SELECT COUNT(*) FROM conversations WHERE team_id = ? AND created_at >= ? "
            "AND test_mode = 0",
            (team_id, since),
        ).fetchone()
        return int(row[0])

    def first_event(self, conversation_id: str, event_type: str) -> bool:
        """True the first time (conversation_id, event_type) is seen; False for a repeat."""
        with self.db.write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO conversation_events (conversation_id, event_type, "
                "received_at) VALUES (?, ?, ?)",
                (conversation_id, event_type, utc_now()),
            )
            return cur.rowcount > 0


class SqliteIdempotencyStore:
    """One user action, one effect: each key (view id + hash, action_ts…) is claimed once."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, key: str, *, team_id: str | None = None, window: float | None = None) -> bool:
        """True for the first claim of `key`; with `window` (s), again once that has passed."""
        now = datetime.now(UTC)
        with self.db.write() as conn:
            if window is None:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO idempotency_keys (key, team_id, created_at) "
                    "VALUES (?, ?, ?)",
                    (key, team_id, utc_now()),
                )
            else:
                cutoff = (
                    (now - timedelta(seconds=window))
                    .isoformat(timespec="microseconds")
                    .replace("+00:00", "Z")
                )
                cur = conn.execute(
                    "INSERT INTO idempotency_keys (key, team_id, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET created_at = excluded.created_at "
                    "WHERE idempotency_keys.created_at < ?",
                    (key, team_id, utc_now(), cutoff),
                )
            return cur.rowcount > 0

    def purge(self, older_than: str) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?", (older_than,)
            ).rowcount
