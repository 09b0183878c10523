"""slack_sdk's InstallationStore and OAuthStateStore, on palbot's own (Slack-free) store.

The store keeps installations as encrypted rows of plain data; this adapter turns them into the
`Installation` and `Bot` objects Bolt's OAuth flow and authorization expect, and back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

log = logging.getLogger("palbot.installs")


def _bot(data: dict[str, Any] | None) -> Bot | None:
    if data is None:
        return None
    custom = data.pop("custom_values", {}) or {}
    bot = Bot(**data)
    bot.custom_values = custom
    return bot


async def _direct(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


class SlackInstallationStore(AsyncInstallationStore):
    """`run` carries each store call off the event loop (the server's store threads); without
    it (tests, the CLI, no loop serving Slack) calls are made directly."""

    def __init__(self, records: Any, run: Callable[..., Any] | None = None) -> None:
        self.records = records
        self.run = run or _direct

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await self.run(self.save, installation)

    def save(self, installation: Installation) -> None:
        bot = installation.to_bot().to_dict_for_copying() if installation.bot_token else None
        self.records.save(installation.to_dict_for_copying(), bot)

    async def async_save_bot(self, bot: Bot) -> None:
        await self.run(self.records.save_bot, bot.to_dict_for_copying())

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return _bot(
            await self.run(self.records.find_bot, enterprise_id, team_id, is_enterprise_install)
        )

    def find_bot(
        self,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return _bot(self.records.find_bot(enterprise_id, team_id, is_enterprise_install))

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        data = await self.run(
            self.records.find_installation, enterprise_id, team_id, user_id, is_enterprise_install
        )
        if data is None:
            return None
        custom = data.pop("custom_values", {}) or {}
        installation = Installation(**data)
        installation.custom_values = custom
        return installation

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.run(self.records.delete_bot, enterprise_id, team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.run(self.records.delete_installation, enterprise_id, team_id, user_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.run(self.records.delete_all, enterprise_id, team_id)

    def count(self) -> tuple[int, int]:
        bots, users = self.records.count()
        return int(bots), int(users)


class SlackOAuthStateStore(AsyncOAuthStateStore):
    """One-time OAuth `state` values with an expiry (CSRF protection of the install flow)."""

    def __init__(self, states: Any, run: Callable[..., Any] | None = None) -> None:
        self.states = states
        self.run = run or _direct

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return str(await self.run(self.states.issue))

    async def async_consume(self, state: str) -> bool:
        return bool(await self.run(self.states.consume, state))
