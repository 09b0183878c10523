"""Who is an admin: workspace admins and owners (`users.info`), or `PALBOT_ADMIN_USERS`."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from palbot.services.cache import TTLCache
from palbot.services.runtime import Actor

log = logging.getLogger("palbot.slack")
ADMIN_CACHE_SECONDS = 300.0
ADMIN_CHECK_TIMEOUT = 2.0


class Admins:
    def __init__(self, configured: frozenset[str] | set[str] | list[str]) -> None:
        self.configured = frozenset(configured)
        self._cache: TTLCache[bool] = TTLCache(ttl=ADMIN_CACHE_SECONDS, max_items=20_000)

    async def is_admin(self, client: AsyncWebClient, actor: Actor) -> bool:
        if actor.user_id in self.configured:
            return True
        cache_key = f"{actor.team_id}:{actor.user_id}"
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        try:
            resp = await asyncio.wait_for(
                client.users_info(user=actor.user_id), ADMIN_CHECK_TIMEOUT
            )
            user = resp.get("user") or {}
            admin = bool(
                user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")
            )
        except (SlackApiError, TimeoutError, OSError) as exc:
            log.warning("users.info failed for the admin check: %s", type(exc).__name__)
            return False  # not cached: the next attempt asks again
        self._cache.set(cache_key, admin)
        return admin
