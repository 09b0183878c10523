"""Publishing the App Home tab."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from palbot.pal_api import errors as api_errors
from palbot.services.errors import NoKey
from palbot.services.runtime import Runtime
from palbot.slack.blocks.home import home_view
from palbot.slack.request import actor_from

log = logging.getLogger("palbot.home")


async def publish_home(
    rt: Runtime, client: AsyncWebClient, body: dict[str, Any], context: Any
) -> None:
    actor = actor_from(body, context)
    user_id = (body.get("event") or {}).get("user") or actor.user_id
    workspace = rt.store.workspaces.get(actor.team_id)
    pals: list[dict[str, Any]] | None = None
    pals_error: str | None = None
    if workspace is not None and workspace.has_key:
        try:
            page = await rt.pal_client(actor.team_id, deadline=3.0, max_retries=0).list_pals(
                limit=10
            )
            pals = [p.raw for p in page.data]
        except (NoKey, api_errors.PalApiError) as exc:
            pals_error = (
                exc.user_message
                if isinstance(exc, api_errors.PalApiError)
                else ("No key connected.")
            )
    from palbot.services.runtime import Actor

    viewer = Actor(team_id=actor.team_id, user_id=user_id, enterprise_id=actor.enterprise_id)
    is_admin = await rt.is_admin(client, viewer)
    view = home_view(
        workspace=workspace,
        pals=pals,
        pals_error=pals_error,
        conversations=rt.store.conversations.recent(actor.team_id, 10),
        is_admin=is_admin,
        audit=rt.store.audit.recent(actor.team_id, 10) if is_admin else None,
    )
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        log.warning("views.publish failed: %s", exc.response.get("error"))
