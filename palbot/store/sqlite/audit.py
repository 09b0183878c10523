"""The append-only, hash-chained audit log.

Each row's `hash` is HMAC-SHA256 over the previous row's hash and the row's canonical JSON. The
HMAC key is derived (HKDF) from a random chain root kept in `meta`, sealed with the secret key: a
secret-key rotation re-seals the root, so old rows stay verifiable. Rows are appended under
BEGIN IMMEDIATE, so concurrent writers (threads or processes) queue and never fork the chain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from palbot.store.crypto import SecretBox
from palbot.store.models import (
    AUDIT_ACTIONS,
    OUTCOMES,
    AuditAction,
    AuditEntry,
    NewEntry,
    Outcome,
    VerifyResult,
    utc_now,
)
from palbot.store.redact import redact
from palbot.store.sqlite.db import Database

GENESIS = "0" * 64
CHAIN_ROOT_META = "audit_chain_root"
COLUMNS = (
    "seq",
    "at",
    "team_id",
    "user_id",
    "channel_id",
    "action",
    "target",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
)
MAX_DETAIL_CHARS = 16_000


def canonical(row: dict[str, Any]) -> str:
    """The bytes a row's hash covers: every column but the hashes, keys sorted, no spaces."""
    body = {k: row[k] for k in COLUMNS if k not in ("prev_hash", "hash")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class SqliteAuditLog:
    def __init__(
        self, db: Database, box: SecretBox, known_secrets: Callable[[], frozenset[str]]
    ) -> None:
        self.db = db
        self.box = box
        self.known_secrets = known_secrets
        self._key = self._chain_key()

    def _chain_key(self) -> bytes:
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT value FROM meta WHERE key = ?", (CHAIN_ROOT_META,)
            ).fetchone()
            if row is None:
                root = base64.b64encode(secrets.token_bytes(32)).decode()
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    (CHAIN_ROOT_META, self.box.encrypt(root)),
                )
            else:
                root = self.box.decrypt(row["value"])
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"palbot audit chain v1")
        return hkdf.derive(base64.b64decode(root))

    def _hash(self, prev_hash: str, row: dict[str, Any]) -> str:
        message = (prev_hash + "\n" + canonical(row)).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def append(
        self,
        action: AuditAction,
        outcome: Outcome,
        *,
        team_id: str | None = None,
        user_id: str | None = None,
        channel_id: str | None = None,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        [entry] = self.append_many(
            [NewEntry(action, outcome, team_id, user_id, channel_id, target, detail or {})]
        )
        return entry

    def append_many(self, entries: list[NewEntry]) -> list[AuditEntry]:
        """Append rows in order, chained one after the other: one read of the chain's head and
        one insert, whatever their number (a group commit's starts)."""
        if not entries:
            return []
        prepared = [self._prepare(e) for e in entries]
        with self.db.write() as conn:
            last = conn.execute(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq = last["seq"] if last else 0
            prev_hash = last["hash"] if last else GENESIS
            rows: list[dict[str, Any]] = []
            for row in prepared:
                seq += 1
                row.update(seq=seq, at=utc_now(), prev_hash=prev_hash)
                row["hash"] = prev_hash = self._hash(prev_hash, row)
                rows.append(row)
            one = f"({', '.join('?' for _ in COLUMNS)})"
            conn.execute(
                f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES "
                + ", ".join(one for _ in rows),
                tuple(row[c] for row in rows for c in COLUMNS),
            )
        return [_entry(row) for row in rows]

    def _prepare(self, entry: NewEntry) -> dict[str, Any]:
        """A row's own fields, checked and redacted (its place in the chain comes after)."""
        if entry.action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {entry.action!r}")
        if entry.outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {entry.outcome!r}")
        known = self.known_secrets()
        clean = redact(entry.detail, known)
        detail_json = json.dumps(
            clean, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
        if len(detail_json) > MAX_DETAIL_CHARS:
            detail_json = json.dumps(
                {"truncated": True, "chars": len(detail_json), "head": detail_json[:2000]},
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
            )
        target = redact(entry.target, known) if entry.target else entry.target
        return {
            "team_id": entry.team_id,
            "user_id": entry.user_id,
            "channel_id": entry.channel_id,
            "action": entry.action,
            "target": target,
            "outcome": entry.outcome,
            "detail": detail_json,
        }

    def open_accepted(
        self, actions: tuple[str, ...], older_than: float, within: float = 7 * 86400
    ) -> list[AuditEntry]:
        """`accepted` rows of `actions`, at least `older_than` seconds old (and no older than
        `within`), that no later row closes: actions a process took on and never finished."""
        now = datetime.now(UTC)
        newest = (now - timedelta(seconds=older_than)).isoformat(timespec="microseconds")
        oldest = (now - timedelta(seconds=within)).isoformat(timespec="microseconds")
        marks = ", ".join("?" for _ in actions)
        rows = self.db.conn.execute(
            f"SELECT * FROM audit_log AS a WHERE a.outcome = 'accepted' AND a.action IN ({marks}) "
            "AND a.at <= ? AND a.at >= ? AND NOT EXISTS (SELECT 1 FROM audit_log AS b "
            "WHERE b.seq > a.seq AND b.action = a.action AND b.outcome != 'accepted' "
            "AND json_extract(b.detail, '$.accepted_seq') = a.seq) ORDER BY a.seq",
            (*actions, newest.replace("+00:00", "Z"), oldest.replace("+00:00", "Z")),
        ).fetchall()
        return [_entry(dict(r)) for r in rows]

    def recent(self, team_id: str, limit: int = 20) -> list[AuditEntry]:
        rows = self.db.conn.execute(
            "SELECT * FROM audit_log WHERE team_id = ? ORDER BY seq DESC LIMIT ?",
            (team_id, max(1, min(limit, 1000))),
        ).fetchall()
        return [_entry(dict(r)) for r in rows]

    def iter_entries(
        self,
        *,
        team_id: str | None = None,
        since: str | None = None,
        action: str | None = None,
        batch: int = 2000,
    ) -> Iterator[AuditEntry]:
        """Stream rows in order, a batch at a time (a million rows never sit in memory)."""
        where, args = [], []
        if team_id:
            where.append("team_id = ?")
            args.append(team_id)
        if since:
            where.append("at >= ?")
            args.append(since)
        if action:
            where.append("action = ?")
            args.append(action)
        clause = (" AND " + " AND ".join(where)) if where else ""
        last = 0
        while True:
            rows = self.db.conn.execute(
                f"SELECT * FROM audit_log WHERE seq > ?{clause} ORDER BY seq LIMIT ?",
                (last, *args, batch),
            ).fetchall()
            if not rows:
                return
            for r in rows:
                yield _entry(dict(r))
            last = rows[-1]["seq"]

    def head(self) -> str | None:
        row = self.db.conn.execute(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return f"{row['seq']}:{row['hash']}" if row else None

    def verify(self, head: str | None = None) -> VerifyResult:
        """Walk the chain; name the first row that was changed, removed or inserted."""
        expected_seq, prev_hash, count = 1, GENESIS, 0
        last_seen: dict[str, Any] | None = None
        hashes_by_seq: dict[int, str] = {}
        want_seq: int | None = None
        want_hash: str | None = None
        if head:
            try:
                seq_text, want_hash = head.split(":", 1)
                want_seq = int(seq_text)
            except ValueError:
                raise ValueError(
                    "--head takes SEQ:HASH as printed by `palbot audit verify`"
                ) from None
        cursor = self.db.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_log ORDER BY seq")
        while True:
            rows = cursor.fetchmany(5000)
            if not rows:
                break
            for raw in rows:
                row = dict(raw)
                seq = row["seq"]
                if seq != expected_seq:
                    if seq > expected_seq:
                        problem = (
                            f"row {expected_seq} was removed"
                            if seq == expected_seq + 1
                            else f"rows {expected_seq}..{seq - 1} were removed"
                        )
                        return self._bad(count, expected_seq, problem, last_seen)
                    return self._bad(count, seq, f"row {seq} is out of order", last_seen)
                if row["prev_hash"] != prev_hash:
                    return self._bad(
                        count,
                        seq,
                        f"row {seq} does not follow row {seq - 1}: a "
                        "row was removed or inserted here",
                        last_seen,
                    )
                if not hmac.compare_digest(self._hash(prev_hash, row), row["hash"]):
                    return self._bad(
                        count,
                        seq,
                        f"row {seq} was changed or inserted (its hash does not match its content)",
                        last_seen,
                    )
                if want_seq == seq:
                    hashes_by_seq[seq] = row["hash"]
                prev_hash = row["hash"]
                expected_seq += 1
                count += 1
                last_seen = row
        head_now = f"{last_seen['seq']}:{last_seen['hash']}" if last_seen else None
        if want_seq is not None:
            if want_seq >= expected_seq:
                return VerifyResult(
                    ok=False,
                    rows=count,
                    head=head_now,
                    first_bad_seq=expected_seq,
                    problem=f"rows from {expected_seq} to {want_seq} were cut "
                    "from the end since that head was noted",
                )
            if hashes_by_seq.get(want_seq) != want_hash:
                return VerifyResult(
                    ok=False,
                    rows=count,
                    head=head_now,
                    first_bad_seq=want_seq,
                    problem=f"row {want_seq} is not the row noted in the head",
                )
        return VerifyResult(ok=True, rows=count, head=head_now)

    @staticmethod
    def _bad(count: int, seq: int, problem: str, last: dict[str, Any] | None) -> VerifyResult:
        head = f"{last['seq']}:{last['hash']}" if last else None
        return VerifyResult(ok=False, rows=count, head=head, first_bad_seq=seq, problem=problem)


def _entry(row: dict[str, Any]) -> AuditEntry:
    data = dict(row)
    data["detail"] = json.loads(data["detail"]) if data.get("detail") else {}
    return AuditEntry(**data)
