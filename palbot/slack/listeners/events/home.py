"""`app_home_opened`: publish the App Home tab for the person who opened it."""

from __future__ import annotations

import logging

from palbot.services.conversations import visible_to
from palbot.services.runtime import Actor
from palbot.slack.blocks.home import home_view
from palbot.slack.context import Ctx
from palbot.slack.scopes import missing_scopes
from palbot.slack.slack_errors import SLACK_FAILURES, slack_error_code

log = logging.getLogger("palbot.home")


async def publish_home(ctx: Ctx) -> None:
    event = ctx.body.get("event") or {}
    if event.get("tab") not in (None, "home"):
        return
    a = ctx.actor
    viewer = Actor(
        team_id=a.team_id, user_id=event.get("user") or a.user_id, enterprise_id=a.enterprise_id
    )
    is_admin = await ctx.deps.admins.is_admin(ctx.client, viewer)
    data = await ctx.services.home.load(viewer, is_admin)
    view = home_view(
        workspace=data.workspace,
        pals=data.pals,
        pals_error=data.pals_error,
        conversations=visible_to(data.conversations, viewer.user_id, is_admin),
        is_admin=is_admin,
        audit=data.audit,
        pals_total=data.pals_total,
        active=visible_to(data.active, viewer.user_id, is_admin),
        viewer=viewer.user_id,
        started_today=data.started_today,
        live_unchecked=data.live_unchecked,
        missing_scopes=await missing_scopes(ctx.client) if is_admin else None,
    )
    try:
        await ctx.client.views_publish(user_id=viewer.user_id, view=view)
    except SLACK_FAILURES as exc:
        log.warning("views.publish failed: %s", slack_error_code(exc))
