"""Sends requests to palbot exactly as Slack does: form-encoded or JSON, and signed."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier


class SlackSender:
    def __init__(self, url: str, signing_secret: str, response_url: Any, http: Any = None) -> None:
        # over real HTTP, or any client with httpx's `post` (tests/inprocess.py: no socket)
        self.http = http or httpx.Client(base_url=url, timeout=30)
        self.verifier = SignatureVerifier(signing_secret)
        self.response_url = response_url
        self._trigger = 0

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        path: str = "/slack/events",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = signature or self.verifier.generate_signature(timestamp=ts, body=body)
        return self.http.post(
            path,
            content=body.encode(),
            headers={
                "content-type": content_type,
                "x-slack-request-timestamp": ts,
                "x-slack-signature": sig,
                **(headers or {}),
            },
        )

    def trigger(self) -> str:
        self._trigger += 1
        return f"trigger-{time.time_ns()}-{self._trigger}"

    def command(
        self,
        text: str,
        *,
        user: str = "U_USER",
        team: str = "T1",
        channel: str = "C_GENERAL",
        trigger_id: str | None = None,
        response_url: str | None = None,
        enterprise: str | None = None,
        **kw: Any,
    ) -> httpx.Response:
        form = {
            "token": "legacy",
            "team_id": team,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "someone",
            "command": "/pal",
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": response_url or self.response_url(),
            "trigger_id": trigger_id or self.trigger(),
        }
        if enterprise:
            form["enterprise_id"] = enterprise
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    def interactive(self, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kw
        )

    def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user: str = "U_USER",
        team: str = "T1",
        channel: str | None = "C_GENERAL",
        view: dict[str, Any] | None = None,
        url: str | None = None,
        action_ts: str | None = None,
        response_url: str | None = None,
        **kw: Any,
    ) -> httpx.Response:
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": "b1",
            "type": "button",
            "action_ts": action_ts or f"{time.time():.6f}",
        }
        if value is not None:
            action["value"] = value
        if url:
            action["url"] = url
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A1",
            "trigger_id": self.trigger(),
            "actions": [action],
            "token": "legacy",
            "is_enterprise_install": False,
        }
        if view is not None:
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view.get("id")}
        else:
            payload["channel"] = {"id": channel, "name": "general"}
            payload["container"] = {
                "type": "message",
                "channel_id": channel,
                "message_ts": "1700000000.000001",
            }
            payload["response_url"] = response_url or self.response_url()
            payload["message"] = {"ts": "1700000000.000001", "text": "x"}
        return self.interactive(payload, **kw)

    def message_shortcut(
        self,
        callback_id: str,
        message: dict[str, Any],
        *,
        user: str = "U_USER",
        team: str = "T1",
        channel: str = "C_GENERAL",
        **kw: Any,
    ) -> httpx.Response:
        """A message shortcut (`message_action`) on `message`, as Slack sends it."""
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": self.trigger(),
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user, "team_id": team},
            "channel": {"id": channel, "name": "general"},
            "message_ts": message.get("ts"),
            "message": {"type": "message", **message},
            "response_url": self.response_url(),
            "api_app_id": "A1",
            "token": "legacy",
            "is_enterprise_install": False,
        }
        return self.interactive(payload, **kw)

    def submit(
        self,
        view: dict[str, Any],
        values: dict[str, Any],
        *,
        user: str = "U_USER",
        team: str = "T1",
        **kw: Any,
    ) -> httpx.Response:
        """A view_submission of `view` (as palbot opened it) with `values` by block_id."""
        state: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            block_id = block["block_id"]
            element = block["element"]
            kind = element["type"]
            value = values.get(block_id)
            entry: dict[str, Any] = {"type": kind}
            if kind in ("static_select", "external_select"):
                chosen = (
                    value
                    if value is not None
                    else ((element.get("initial_option") or {}).get("value"))
                )
                entry["selected_option"] = (
                    {"value": chosen, "text": {"type": "plain_text", "text": str(chosen)}}
                    if chosen is not None
                    else None
                )
            elif kind == "conversations_select":
                entry["selected_conversation"] = value
            elif kind == "checkboxes":  # a value: those options ticked (True: all of them)
                ticked = [o["value"] for o in element["options"]] if value is True else value
                entry["selected_options"] = [
                    o for o in element["options"] if o["value"] in (ticked or [])
                ]
            else:
                entry["value"] = value if value is not None else element.get("initial_value")
            state[block_id] = {element["action_id"]: entry}
        payload = {
            "type": "view_submission",
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": self.trigger(),
            "is_enterprise_install": False,
            "view": {
                **view,
                "id": view.get("id", "V_TEST"),
                "hash": view.get("hash", "h1"),
                "team_id": team,
                "state": {"values": state},
            },
        }
        return self.interactive(payload, **kw)

    def suggest(
        self, action_id: str, value: str = "", *, user: str = "U_USER", team: str = "T1", **kw: Any
    ) -> httpx.Response:
        payload = {
            "type": "block_suggestion",
            "action_id": action_id,
            "block_id": action_id,
            "value": value,
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A1",
            "token": "legacy",
            "view": {"id": "V1", "type": "modal"},
        }
        return self.interactive(payload, **kw)

    def event(self, event: dict[str, Any], *, team: str = "T1", **kw: Any) -> httpx.Response:
        body = {
            "token": "legacy",
            "team_id": team,
            "api_app_id": "A1",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": team, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}
            ],
        }
        return self.post(json.dumps(body), "application/json", **kw)
