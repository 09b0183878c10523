"""Workspaces: the PAL API key (encrypted) and the limits of each Slack team."""

from __future__ import annotations

import sqlite3

from palbot.store.crypto import SecretBox
from palbot.store.models import Limits, Permissions, Workspace, utc_now
from palbot.store.sqlite.db import Database


class SecretRegistry:
    """Secrets this process has handled, so the redactor can recognise them anywhere."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str | None) -> None:
        if value:
            self._values.add(value)

    def values(self) -> frozenset[str]:
        return frozenset(self._values)


class SqliteWorkspaceStore:
    def __init__(self, db: Database, box: SecretBox, secrets: SecretRegistry) -> None:
        self.db = db
        self.box = box
        self.secrets = secrets

    def _ensure(
        self, conn: sqlite3.Connection, team_id: str, enterprise_id: str | None = None
    ) -> None:
        conn.execute(
            "INSERT INTO workspaces (team_id, enterprise_id, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT(team_id) DO UPDATE SET "
            "enterprise_id = COALESCE(excluded.enterprise_id, workspaces.enterprise_id)",
            (team_id, enterprise_id, utc_now()),
        )

    def get(self, team_id: str) -> Workspace | None:
        row = self.db.conn.execute(
            "SELECT * FROM workspaces WHERE team_id = ?", (team_id,)
        ).fetchone()
        if row is None:
            return None
        return Workspace(
            team_id=row["team_id"],
            enterprise_id=row["enterprise_id"],
            key_last4=row["pal_key_last4"] if row["pal_key_enc"] else None,
            key_set_by=row["key_set_by"],
            key_set_at=row["key_set_at"],
            limits=Limits(
                max_concurrent=row["max_concurrent"],
                max_per_day=row["max_per_day"],
                max_call_duration=row["max_call_duration"],
            ),
            limits_set_by=row["limits_set_by"],
            limits_set_at=row["limits_set_at"],
            permissions=Permissions(
                **{
                    verb: row[f"perm_{verb}"]
                    for verb in ("create", "edit", "delete")
                    if row[f"perm_{verb}"]
                }
            ),
        )

    def set_permissions(self, team_id: str, permissions: Permissions, *, set_by: str) -> None:
        with self.db.write() as conn:
            self._ensure(conn, team_id)
            conn.execute(
                "UPDATE workspaces SET perm_create = ?, perm_edit = ?, perm_delete = ?, "
                "permissions_set_by = ? WHERE team_id = ?",
                (permissions.create, permissions.edit, permissions.delete, set_by, team_id),
            )

    def record_creator(self, team_id: str, pal_id: str, user_id: str) -> None:
        """Who created this PAL through palbot (a PAL id is never reused upstream)."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO pal_creators (team_id, pal_id, created_by, created_at) "
                "VALUES (?, ?, ?, ?)",
                (team_id, pal_id, user_id, utc_now()),
            )

    def creator_of(self, team_id: str, pal_id: str) -> str | None:
        row = self.db.conn.execute(
            "SELECT created_by FROM pal_creators WHERE team_id = ? AND pal_id = ?",
            (team_id, pal_id),
        ).fetchone()
        return str(row[0]) if row else None

    def set_pal_key(
        self, team_id: str, api_key: str, *, set_by: str, enterprise_id: str | None = None
    ) -> Workspace:
        api_key = api_key.strip()
        self.secrets.add(api_key)
        with self.db.write() as conn:
            self._ensure(conn, team_id, enterprise_id)
            conn.execute(
                "UPDATE workspaces SET pal_key_enc = ?, pal_key_last4 = ?, key_set_by = ?, "
                "key_set_at = ? WHERE team_id = ?",
                (self.box.encrypt(api_key), api_key[-4:], set_by, utc_now(), team_id),
            )
        workspace = self.get(team_id)
        assert workspace is not None
        return workspace

    def get_pal_key(self, team_id: str) -> str | None:
        row = self.db.conn.execute(
            "SELECT pal_key_enc FROM workspaces WHERE team_id = ?", (team_id,)
        ).fetchone()
        if row is None or not row["pal_key_enc"]:
            return None
        key = self.box.decrypt(row["pal_key_enc"])
        self.secrets.add(key)
        return key

    def remove_pal_key(self, team_id: str) -> bool:
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE workspaces SET pal_key_enc = NULL, pal_key_last4 = NULL, "
                "key_set_by = NULL, key_set_at = NULL "
                "WHERE team_id = ? AND pal_key_enc IS NOT NULL",
                (team_id,),
            )
            return cur.rowcount > 0

    def set_limits(self, team_id: str, limits: Limits, *, set_by: str) -> Workspace:
        with self.db.write() as conn:
            self._ensure(conn, team_id)
            conn.execute(
                "UPDATE workspaces SET max_concurrent = ?, max_per_day = ?, "
                "max_call_duration = ?, limits_set_by = ?, limits_set_at = ? WHERE team_id = ?",
                (
                    limits.max_concurrent,
                    limits.max_per_day,
                    limits.max_call_duration,
                    set_by,
                    utc_now(),
                    team_id,
                ),
            )
        workspace = self.get(team_id)
        assert workspace is not None
        return workspace
