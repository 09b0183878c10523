"""External selects: faces for the Create modal, PALs for the Start modal (2.5 s budget)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from palbot.pal_api import errors as api_errors
from palbot.services.cache import TTLCache
from palbot.services.errors import NoKey
from palbot.services.runtime import Runtime
from palbot.slack import ids
from palbot.slack.answer_at_ack import register_each
from palbot.slack.parsing import is_id
from palbot.slack.request import actor_from
from palbot.slack.text import option

log = logging.getLogger("palbot.options")
BUDGET = 2.5
MAX_OPTIONS = 100


class Options:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.faces: TTLCache[list[tuple[str, str]]] = TTLCache(ttl=300, max_items=1000)

    async def _load_faces(self, team_id: str) -> list[tuple[str, str]]:
        cached = self.faces.get(team_id)
        if cached is not None:
            return cached
        client = self.rt.pal_client(team_id, deadline=BUDGET, max_retries=0)
        page = await client.list_faces(limit=100)
        faces = [(f.face_id, f"{f.face_name or f.face_id} ({f.face_id})") for f in page.data]
        self.faces.set(team_id, faces)
        return faces

    async def face(self, ack: AsyncAck, body: dict[str, Any], context: Any) -> None:
        actor = actor_from(body, context)
        typed = str(body.get("value") or "").strip()
        opts: list[dict[str, Any]] = []
        try:
            faces = await self._load_faces(actor.team_id)
        except (NoKey, api_errors.PalApiError) as exc:
            log.info("faces unavailable for the picker: %s", type(exc).__name__)
            faces = []
        needle = typed.lower()
        for face_id, label in faces:
            if not needle or needle in label.lower():
                opts.append(option(label, face_id))
        if is_id(typed) and all(o["value"] != typed for o in opts):
            opts.insert(0, option(f"Use face id {typed}", typed))
        await ack(options=opts[:MAX_OPTIONS])

    async def pal(self, ack: AsyncAck, body: dict[str, Any], context: Any) -> None:
        actor = actor_from(body, context)
        typed = str(body.get("value") or "").strip()
        opts: list[dict[str, Any]] = []
        try:
            client = self.rt.pal_client(actor.team_id, deadline=BUDGET, max_retries=0)
            page = await client.list_pals(limit=100)
            for pal in page.data:
                label = f"{pal.pal_name or pal.pal_id} ({pal.pal_id})"
                if not typed or typed.lower() in label.lower():
                    opts.append(option(label, pal.pal_id))
        except (NoKey, api_errors.PalApiError) as exc:
            log.info("PALs unavailable for the picker: %s", type(exc).__name__)
        if is_id(typed) and all(o["value"] != typed for o in opts):
            opts.insert(0, option(f"Use PAL id {typed}", typed))
        await ack(options=opts[:MAX_OPTIONS])


def register(app: AsyncApp, rt: Runtime) -> None:
    options = Options(rt)
    register_each(rt, app.options, ((ids.DEFAULT_FACE_ID, options.face), (ids.PAL_ID, options.pal)))
