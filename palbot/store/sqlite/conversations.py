"""Conversations palbot started, and the callback events already handled."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from palbot.store.crypto import hash_token, token_matches
from palbot.store.models import ConversationRecord, utc_now
from palbot.store.sqlite.db import Database

FIELDS = tuple(ConversationRecord.model_fields)


def _record(row: Any) -> ConversationRecord:
    data = dict(row)
    data["test_mode"] = bool(data.get("test_mode"))
    data["delivered"] = bool(data.get("delivered"))
    data["private"] = bool(data.get("private"))
    return ConversationRecord(**data)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


OPEN = "('starting', 'unknown')"  # a start whose outcome palbot does not know yet
REDELIVER_AFTER = 60.0  # an event seen but not delivered this long ago is processed again


class SqliteConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, record: ConversationRecord) -> None:
        self.add_many([record])

    def add_many(self, records: list[ConversationRecord]) -> None:
        """Insert conversations in one statement (a group commit's starts)."""
        if not records:
            return
        rows = []
        for record in records:
            data = record.model_dump()
            data["test_mode"] = int(record.test_mode)
            data["delivered"] = int(record.delivered)
            data["private"] = int(record.private)
            rows.append(data)
        one = f"({', '.join('?' for _ in FIELDS)})"
        with self.db.write() as conn:
            conn.execute(
                f"INSERT INTO conversations ({', '.join(FIELDS)}) VALUES "
                + ", ".join(one for _ in rows),
                tuple(data[f] for data in rows for f in FIELDS),
            )

    def _one(self, where: str, args: tuple[Any, ...]) -> ConversationRecord | None:
        row = self.db.conn.execute(f"SELECT * FROM conversations WHERE {where}", args).fetchone()
        return _record(row) if row else None

    def get(self, conversation_id: str) -> ConversationRecord | None:
        return self._one("conversation_id = ?", (conversation_id,))

    def by_callback_token(self, token: str) -> ConversationRecord | None:
        """Found by the token's hash (only hashes are stored), checked in constant time."""
        if not token:
            return None
        record = self._one("callback_token_hash = ?", (hash_token(token),))
        if record is None or not token_matches(token, record.callback_token_hash):
            return None
        return record

    def by_message(self, channel_id: str, message_ts: str) -> ConversationRecord | None:
        return self._one("channel_id = ? AND message_ts = ?", (channel_id, message_ts))

    def set_message(
        self, conversation_id: str, channel_id: str, message_ts: str, pal_name: str | None = None
    ) -> None:
        """Where its message is (and, with `pal_name`, the PAL's name): one write."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE conversations SET channel_id = ?, message_ts = ?, "
                "pal_name = COALESCE(?, pal_name) WHERE conversation_id = ?",
                (channel_id, message_ts, pal_name, conversation_id),
            )

    def set_call_id(self, conversation_id: str, call_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE conversations SET slack_call_id = ? WHERE conversation_id = ?",
                (call_id, conversation_id),
            )

    def note_ending(self, conversation_id: str, user_id: str | None) -> None:
        """Who asked to end a live conversation (None: the request failed), so whichever
        records the end — the End itself or upstream's callback racing it — names them."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE conversations SET ended_by = ? WHERE conversation_id = ? "
                "AND status IN ('active', 'starting')",
                (user_id, conversation_id),
            )

    def mark_ended(self, conversation_id: str, *, ended_by: str | None, reason: str | None) -> bool:
        """Record the end once: True only for the call that moved it from active to ended."""
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE conversations SET status = 'ended', ended_at = ?, "
                "ended_by = COALESCE(?, ended_by), "
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

    def count_started_since(self, team_id: str, since: str, before_seq: int | None = None) -> int:
        """Billable starts since `since`: failed ones never billed; a start still in flight
        counts when it was accepted before `before_seq` (the earlier start goes first)."""
        row = self.db.conn.execute(
            "SELECT COUNT(*) FROM conversations WHERE team_id = ? AND created_at >= ? "
            "AND test_mode = 0 AND status != 'failed' "
            f"AND (status NOT IN {OPEN} OR accepted_seq < ?)",
            (team_id, since, before_seq if before_seq is not None else 1 << 62),
        ).fetchone()
        return int(row[0])

    def count_open_before(self, team_id: str, before_seq: int) -> int:
        """Active conversations, and starts accepted before `before_seq` not yet decided."""
        row = self.db.conn.execute(
            "SELECT COUNT(*) FROM conversations WHERE team_id = ? AND test_mode = 0 AND "
            f"(status = 'active' OR (status IN {OPEN} AND accepted_seq < ?))",
            (team_id, before_seq),
        ).fetchone()
        return int(row[0])

    # ---- a start's outcome -------------------------------------------------------------

    def by_attempt(self, attempt_id: str) -> ConversationRecord | None:
        return self._one("attempt_id = ?", (attempt_id,))

    def activate(
        self, attempt_id: str, conversation_id: str, url: str | None, name: str | None
    ) -> bool:
        """The PAL API created it: the start's row becomes the conversation (once)."""
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE conversations SET conversation_id = ?, url = ?, "
                "conversation_name = COALESCE(?, conversation_name), status = 'active' "
                f"WHERE attempt_id = ? AND status IN {OPEN}",
                (conversation_id, url, name, attempt_id),
            )
            return cur.rowcount > 0

    def fail(self, attempt_id: str, reason: str) -> bool:
        """Nothing was created (or nothing was found): the start failed, once."""
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE conversations SET status = 'failed', ended_at = ?, end_reason = ? "
                f"WHERE attempt_id = ? AND status IN {OPEN}",
                (utc_now(), reason, attempt_id),
            )
            return cur.rowcount > 0

    def set_unknown(self, attempt_id: str) -> bool:
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE conversations SET status = 'unknown' "
                "WHERE attempt_id = ? AND status = 'starting'",
                (attempt_id,),
            )
            return cur.rowcount > 0

    def set_pal_name(self, conversation_id: str, pal_name: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE conversations SET pal_name = ? WHERE conversation_id = ?",
                (pal_name, conversation_id),
            )

    def mark_delivered(self, *conversation_ids: str) -> None:
        """Their messages show what they are (one write for any number of them)."""
        if not conversation_ids:
            return
        marks = ", ".join("?" for _ in conversation_ids)
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE conversations SET delivered = 1 WHERE conversation_id IN ({marks})",
                conversation_ids,
            )

    def open_starts(self, older_than: float = 0.0) -> list[ConversationRecord]:
        """Starts whose outcome is not known, accepted at least `older_than` seconds ago."""
        cutoff = _iso(datetime.now(UTC) - timedelta(seconds=older_than))
        rows = self.db.conn.execute(
            f"SELECT * FROM conversations WHERE status IN {OPEN} AND created_at <= ? "
            "ORDER BY created_at",
            (cutoff,),
        ).fetchall()
        return [_record(r) for r in rows]

    def undelivered(self, older_than: float = 0.0) -> list[ConversationRecord]:
        """Decided starts whose message does not show it yet (palbot stopped in between)."""
        cutoff = _iso(datetime.now(UTC) - timedelta(seconds=older_than))
        rows = self.db.conn.execute(
            "SELECT * FROM conversations WHERE delivered = 0 AND status IN "
            "('active', 'failed', 'ended') AND created_at <= ? ORDER BY created_at",
            (cutoff,),
        ).fetchall()
        return [_record(r) for r in rows]

    # ---- callback events ---------------------------------------------------------------

    def first_event(self, conversation_id: str, event_type: str) -> bool:
        """True the first time (conversation_id, event_type) is seen, and again for a repeat
        of one seen long enough ago and never delivered (palbot stopped, or Slack failed)."""
        now = datetime.now(UTC)
        stale = _iso(now - timedelta(seconds=REDELIVER_AFTER))
        with self.db.write() as conn:
            cur = conn.execute(
                "INSERT INTO conversation_events (conversation_id, event_type, received_at) "
                "VALUES (?, ?, ?) ON CONFLICT(conversation_id, event_type) DO UPDATE SET "
                "received_at = excluded.received_at WHERE conversation_events.delivered_at "
                "IS NULL AND conversation_events.received_at < ?",
                (conversation_id, event_type, _iso(now), stale),
            )
            return cur.rowcount > 0

    def event_delivered(
        self, conversation_id: str, event_type: str, link: str | None = None
    ) -> None:
        """Delivered; `link`: where its result can be seen (a permalink), if it has one."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE conversation_events SET delivered_at = ?, link = COALESCE(?, link) "
                "WHERE conversation_id = ? AND event_type = ?",
                (utc_now(), link, conversation_id, event_type),
            )

    def result_links(self, conversation_id: str) -> dict[str, str]:
        """The delivered results that have a link, by event type."""
        rows = self.db.conn.execute(
            "SELECT event_type, link FROM conversation_events WHERE conversation_id = ? "
            "AND delivered_at IS NOT NULL AND link IS NOT NULL",
            (conversation_id,),
        ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def awaiting_results(
        self, event_type: str, ended_before: str, ended_after: str
    ) -> list[ConversationRecord]:
        """Ended conversations (not tests) whose `event_type` was never received, which ended
        between `ended_after` and `ended_before` (ISO times): for a look upstream."""
        rows = self.db.conn.execute(
            "SELECT * FROM conversations c WHERE status = 'ended' AND COALESCE(test_mode, 0) = 0 "
            "AND ended_at < ? AND ended_at > ? AND NOT EXISTS (SELECT 1 FROM "
            "conversation_events e WHERE e.conversation_id = c.conversation_id "
            "AND e.event_type = ?) ORDER BY ended_at",
            (ended_before, ended_after, event_type),
        )
        return [_record(r) for r in rows]

    def release_event(self, conversation_id: str, event_type: str) -> None:
        """Delivery failed: forget the event, so upstream's retry is processed."""
        with self.db.write() as conn:
            conn.execute(
                "DELETE FROM conversation_events WHERE conversation_id = ? AND event_type = ? "
                "AND delivered_at IS NULL",
                (conversation_id, event_type),
            )


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

    def claim_many(
        self,
        keys: list[tuple[str, str | None]],
        *,
        window: float | None = None,
        renewable: Collection[str] | None = None,
    ) -> set[str]:
        """Claim several (key, team_id) at once, in one statement: the keys claimed now. With
        `window`, a key in `renewable` (every key, if None) is also claimed when its claim is
        older than that. Keys must be distinct."""
        if not keys:
            return set()
        now = utc_now()
        values = ", ".join("(?, ?, ?)" for _ in keys)
        args: list[Any] = [v for key, team in keys for v in (key, team, now)]
        if window is None or (renewable is not None and not renewable):
            conflict = "ON CONFLICT(key) DO NOTHING"
        else:
            cutoff = _iso(datetime.now(UTC) - timedelta(seconds=window))
            conflict = (
                "ON CONFLICT(key) DO UPDATE SET created_at = excluded.created_at "
                "WHERE idempotency_keys.created_at < ?"
            )
            args.append(cutoff)
            if renewable is not None:
                conflict += f" AND excluded.key IN ({', '.join('?' for _ in renewable)})"
                args += list(renewable)
        with self.db.write() as conn:
            rows = conn.execute(
                f"INSERT INTO idempotency_keys (key, team_id, created_at) VALUES {values} "
                f"{conflict} RETURNING key",
                tuple(args),
            ).fetchall()
        return {str(r[0]) for r in rows}

    def unclaim(self, keys: list[str]) -> None:
        """Give claims back (their action was refused for another reason, in the same write)."""
        if not keys:
            return
        with self.db.write() as conn:
            conn.execute(
                f"DELETE FROM idempotency_keys WHERE key IN ({', '.join('?' for _ in keys)})",
                tuple(keys),
            )

    def purge(self, older_than: str) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?", (older_than,)
            ).rowcount
