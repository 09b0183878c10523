"""Slack OAuth installations and states in palbot's database, tokens encrypted.

Unlike slack_sdk's built-in SQLite store, this keeps one row per (enterprise, team, user) and one
bot row per (enterprise, team), updated in place, and never stores a token in clear text. Rows are
plain dicts here (the store knows nothing of slack_sdk); `palbot/slack/installation_store.py`
adapts them to slack_sdk's InstallationStore and OAuthStateStore for Bolt's OAuth flow.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import datetime
from typing import Any

from palbot.store.crypto import SecretBox
from palbot.store.sqlite.db import Database
from palbot.store.sqlite.workspaces import SecretRegistry

log = logging.getLogger("palbot.store.installations")
TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot store {type(value).__name__}")


def _restore(data: dict[str, Any]) -> dict[str, Any]:
    for name in ("bot_token_expires_at", "user_token_expires_at"):
        if data.get(name) is not None:
            data[name] = int(data[name])
    return data


class SqliteInstallationStore:
    def __init__(self, db: Database, box: SecretBox, secrets_seen: SecretRegistry) -> None:
        self.db = db
        self.box = box
        self.secrets_seen = secrets_seen

    def _seal(self, data: dict[str, Any]) -> str:
        for name in TOKEN_FIELDS:
            self.secrets_seen.add(data.get(name))
        return self.box.encrypt(json.dumps(data, default=_json_default))

    def _open(self, sealed: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.box.decrypt(sealed))
        for name in TOKEN_FIELDS:
            self.secrets_seen.add(data.get(name))
        return data

    @staticmethod
    def _keys(
        enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> tuple[str, str]:
        # An org-wide install is keyed by the enterprise alone.
        if is_enterprise_install:
            return enterprise_id or "", ""
        return enterprise_id or "", team_id or ""

    # ---- writes --------------------------------------------------------------------

    def save(self, installation: dict[str, Any], bot: dict[str, Any] | None) -> None:
        """One user's installation (and the bot it carries, when it carries a bot token)."""
        ent, team = self._keys(
            installation.get("enterprise_id"),
            installation.get("team_id"),
            installation.get("is_enterprise_install"),
        )
        sealed = self._seal(installation)
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO slack_installations (enterprise_id, team_id, user_id, "
                "is_enterprise_install, installed_at, data_enc) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(enterprise_id, team_id, user_id) DO UPDATE SET "
                "is_enterprise_install = excluded.is_enterprise_install, "
                "installed_at = excluded.installed_at, data_enc = excluded.data_enc",
                (
                    ent,
                    team,
                    installation.get("user_id") or "",
                    int(bool(installation.get("is_enterprise_install"))),
                    time.time(),
                    sealed,
                ),
            )
            if bot is not None:
                self._save_bot(conn, bot)

    def save_bot(self, bot: dict[str, Any]) -> None:
        with self.db.write() as conn:
            self._save_bot(conn, bot)

    def _save_bot(self, conn: Any, bot: dict[str, Any]) -> None:
        org = bot.get("is_enterprise_install")
        ent, team = self._keys(bot.get("enterprise_id"), bot.get("team_id"), org)
        conn.execute(
            "INSERT INTO slack_bots (enterprise_id, team_id, is_enterprise_install, "
            "installed_at, data_enc) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(enterprise_id, team_id) DO UPDATE SET "
            "is_enterprise_install = excluded.is_enterprise_install, "
            "installed_at = excluded.installed_at, data_enc = excluded.data_enc",
            (
                ent,
                team,
                int(bool(org)),
                time.time(),
                self._seal(bot),
            ),
        )

    # ---- reads ---------------------------------------------------------------------

    def find_bot(
        self,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> dict[str, Any] | None:
        """The bot row's data (tokens included), or None."""
        ent, team = self._keys(enterprise_id, team_id, is_enterprise_install)
        row = self.db.conn.execute(
            "SELECT data_enc FROM slack_bots WHERE enterprise_id = ? AND team_id = ?", (ent, team)
        ).fetchone()
        if row is None and ent and not is_enterprise_install:
            # A workspace of an org with an org-wide install.
            row = self.db.conn.execute(
                "SELECT data_enc FROM slack_bots WHERE enterprise_id = ? AND team_id = '' "
                "AND is_enterprise_install = 1",
                (ent,),
            ).fetchone()
        if row is None:
            return None
        return _restore(self._open(row["data_enc"]))

    def find_installation(
        self,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> dict[str, Any] | None:
        """An installation's data, with the newest bot token of its workspace."""
        ent, team = self._keys(enterprise_id, team_id, is_enterprise_install)
        if user_id is not None:
            row = self.db.conn.execute(
                "SELECT data_enc FROM slack_installations WHERE enterprise_id = ? AND "
                "team_id = ? AND user_id = ?",
                (ent, team, user_id),
            ).fetchone()
        else:
            row = self.db.conn.execute(
                "SELECT data_enc FROM slack_installations WHERE enterprise_id = ? AND "
                "team_id = ? ORDER BY installed_at DESC LIMIT 1",
                (ent, team),
            ).fetchone()
        if row is None:
            return None
        data = _restore(self._open(row["data_enc"]))
        # The bot row is the newest bot token (another user's later install may have renewed it).
        bot = self.find_bot(enterprise_id, team_id, is_enterprise_install)
        if bot is not None:
            for name in (
                "bot_token",
                "bot_id",
                "bot_user_id",
                "bot_scopes",
                "bot_refresh_token",
                "bot_token_expires_at",
            ):
                data[name] = bot.get(name)
        else:
            data.update(bot_token=None, bot_refresh_token=None)
        return data

    # ---- deletes -------------------------------------------------------------------

    def delete_bot(self, enterprise_id: str | None, team_id: str | None) -> None:
        with self.db.write() as conn:
            conn.execute(
                "DELETE FROM slack_bots WHERE enterprise_id = ? AND team_id = ?",
                (enterprise_id or "", team_id or ""),
            )

    def delete_installation(
        self, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        with self.db.write() as conn:
            if user_id is None:
                conn.execute(
                    "DELETE FROM slack_installations WHERE enterprise_id = ? AND team_id = ?",
                    (enterprise_id or "", team_id or ""),
                )
            else:
                conn.execute(
                    "DELETE FROM slack_installations WHERE enterprise_id = ? AND "
                    "team_id = ? AND user_id = ?",
                    (enterprise_id or "", team_id or "", user_id),
                )

    def delete_all(self, enterprise_id: str | None, team_id: str | None) -> None:
        self.delete_bot(enterprise_id, team_id)
        self.delete_installation(enterprise_id, team_id)

    def count(self) -> tuple[int, int]:
        bots = self.db.conn.execute("SELECT COUNT(*) FROM slack_bots").fetchone()[0]
        users = self.db.conn.execute("SELECT COUNT(*) FROM slack_installations").fetchone()[0]
        return int(bots), int(users)


class SqliteOAuthStateStore:
    """One-time OAuth `state` values with an expiry (CSRF protection of the install flow)."""

    def __init__(self, db: Database, expiration_seconds: int = 600) -> None:
        self.db = db
        self.expiration_seconds = expiration_seconds

    def issue(self) -> str:
        state = secrets.token_urlsafe(32)
        with self.db.write() as conn:
            conn.execute("DELETE FROM oauth_states WHERE expire_at < ?", (time.time(),))
            conn.execute(
                "INSERT INTO oauth_states (state, expire_at) VALUES (?, ?)",
                (state, time.time() + self.expiration_seconds),
            )
        return state

    def consume(self, state: str) -> bool:
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT expire_at FROM oauth_states WHERE state = ?", (state,)
            ).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM oauth_states WHERE state = ?", (state,))
            return bool(row["expire_at"] >= time.time())
