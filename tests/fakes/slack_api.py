"""A recording fake of the Slack Web API (and of response_urls and file uploads), over HTTP."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    result: dict[str, Any] | None = None  # what the fake answered (None for a planted failure)


class FakeSlack:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.calls: list[Call] = []
            self.responses: list[Call] = []  # posts to response_urls
            self.uploads: dict[str, bytes] = {}
            self.tokens: dict[str, dict[str, Any]] = {}
            self.admins: set[str] = set()
            self.owners: set[str] = set()
            self.channel_errors: dict[str, str] = {}
            self.failures: dict[str, list[dict[str, Any]]] = {}
            self.oauth_codes: dict[str, dict[str, Any]] = {}
            self.socket_url: str | None = None
            self.delays: dict[str, float] = {}
            self.views: dict[str, dict[str, Any]] = {}
            # conversations.replies: (channel, thread_ts) → the thread's messages, oldest first
            self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
            self.user_names: dict[str, str] = {}  # users.info's profile.display_name
            self.granted_scopes: list[str] | None = None  # sent as x-oauth-scopes, if set
            # (method, which calls, seconds): such calls reach "Slack" that much later, so a
            # later call can overtake them, as over a real network
            self.slow_arrivals: list[tuple[str, Any, float]] = []
            self.socket_acks: dict[str, Any] = {}
            self.socket_connections = 0
            self._socket: WebSocket | None = None
            self._socket_loop: Any = None
            self._counter = itertools.count(1)
        self.url = getattr(self, "url", "")

    # ---- configuration -------------------------------------------------------------

    def add_workspace(self, team_id: str, token: str, enterprise_id: str | None = None) -> None:
        self.tokens[token] = {"team_id": team_id, "enterprise_id": enterprise_id}

    def fail_next(
        self,
        method: str,
        error: str | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        for _ in range(times):
            self.failures.setdefault(method, []).append(
                {"error": error, "status": status, "headers": headers or {}}
            )

    # ---- queries -------------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 10.0, where: Any = None
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.of(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} {method} call(s), saw {len(found)}: "
                    f"{[c.method for c in self.calls]}"
                )
            time.sleep(0.02)

    def wait_response(self, count: int = 1, timeout: float = 10.0, where: Any = None) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [r for r in self.responses if where is None or where(r)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} response_url post(s), saw {len(found)}")
            time.sleep(0.02)

    def response_url(self, name: str = "r") -> str:
        return f"{self.url}/response/{name}-{next(self._counter)}"

    # ---- the server ----------------------------------------------------------------

    async def _args(self, request: Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        ctype = request.headers.get("content-type", "")
        if raw:
            if "json" in ctype:
                args.update(json.loads(raw))
            else:
                args.update(dict(parse_qsl(raw.decode())))
        for key in ("view", "blocks", "attachments", "files"):
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    async def api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await self._args(request)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() or args.get("token")
        for slow_method, matches, seconds in list(self.slow_arrivals):
            if slow_method == method and matches(args):  # the network was slow for this one
                import asyncio

                await asyncio.sleep(seconds)
        call = Call(method, args, token)
        with self.lock:
            self.calls.append(call)
            queued = self.failures.get(method) or []
            failure = queued.pop(0) if queued else None
        delay = self.delays.get(method)
        if delay:
            import asyncio

            await asyncio.sleep(delay)
        if failure is not None:
            if failure["status"] != 200:
                return JSONResponse(
                    {"ok": False, "error": failure["error"] or "ratelimited"},
                    status_code=failure["status"],
                    headers=failure["headers"],
                )
            return JSONResponse({"ok": False, "error": failure["error"]})
        call.result = self.answer(method, args, token)
        headers = {}
        if self.granted_scopes is not None:  # as Slack says on every answer to a token
            headers["x-oauth-scopes"] = ",".join(self.granted_scopes)
        return JSONResponse(call.result, headers=headers)

    def answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        n = next(self._counter)
        if method == "auth.test":
            team = self.tokens.get(token or "")
            if team is None:
                return {"ok": False, "error": "invalid_auth"}
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "palbot",
                "team_id": team["team_id"],
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "enterprise_id": team["enterprise_id"],
                "is_enterprise_install": False,
            }
        if (
            token is not None
            and token not in self.tokens
            and method not in ("oauth.v2.access", "apps.connections.open")
        ):
            return {"ok": False, "error": "invalid_auth"}
        if method == "users.info":
            user = str(args.get("user"))
            name = self.user_names.get(user, "")
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "name": name.lower() or user.lower(),
                    "is_admin": user in self.admins,
                    "is_owner": user in self.owners,
                    "profile": {"display_name": name, "real_name": name},
                },
            }
        if method == "conversations.replies":
            key = (str(args.get("channel")), str(args.get("ts")))
            if key not in self.threads:
                return {"ok": False, "error": "thread_not_found"}
            return {"ok": True, "messages": self.threads[key], "has_more": False}
        if method == "chat.getPermalink":
            channel, ts = args.get("channel"), str(args.get("message_ts"))
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}",
            }
        if method in ("views.open", "views.push", "views.update", "views.publish"):
            view_id = args.get("view_id") or f"V{n:06d}"
            view = dict(args.get("view") or {})
            view.update(id=view_id, hash=f"h{n}")
            self.views[view_id] = view
            return {"ok": True, "view": view}
        if method == "chat.postMessage":
            channel = str(args.get("channel"))
            if channel in self.channel_errors:
                return {"ok": False, "error": self.channel_errors[channel]}
            if channel[:1] in ("U", "W"):  # to a user: the app's DM with them, as Slack does
                channel = "D" + channel[1:]
            ts = f"{1700000000 + n}.{n:06d}"
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": args.get("text"), "ts": ts},
            }
        if method == "calls.add":
            return {
                "ok": True,
                "call": {
                    "id": f"R{n:08d}",
                    "external_unique_id": args.get("external_unique_id"),
                    "join_url": args.get("join_url"),
                },
            }
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "upload_url": f"{self.url}/upload/F{n}", "file_id": f"F{n}"}
        if method == "files.completeUploadExternal":
            files = args.get("files") or []
            return {
                "ok": True,
                "files": [
                    {
                        "id": f.get("id"),
                        "title": f.get("title"),
                        "permalink": f"https://fake.slack.com/files/{f.get('id')}",
                    }
                    for f in files
                ],
            }
        if method == "oauth.v2.access":
            code = args.get("code")
            if code not in self.oauth_codes:
                return {"ok": False, "error": "invalid_code"}
            return self.oauth_codes[code]
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        return {"ok": True}

    async def response(self, request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        with self.lock:
            self.responses.append(Call("response_url", body, None))
        return Response("ok")

    async def upload(self, request: Request) -> Response:
        self.uploads[request.path_params["file_id"]] = await request.body()
        return Response("OK - 200")

    async def socket(self, websocket: WebSocket) -> None:
        """A stand-in for Slack's Socket Mode WebSocket: hello, then envelopes and their acks."""
        import asyncio

        await websocket.accept()
        self._socket, self._socket_loop = websocket, asyncio.get_running_loop()
        self.socket_connections += 1
        await websocket.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "connection_info": {"app_id": "A1"},
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
            }
        )
        try:
            while True:
                message = await websocket.receive_json()
                if "envelope_id" in message:
                    self.socket_acks[message["envelope_id"]] = message.get("payload")
        except WebSocketDisconnect:
            pass

    def push(self, envelope_type: str, payload: dict[str, Any]) -> str:
        """Send an envelope to the connected Socket Mode client; returns its envelope_id."""
        import asyncio

        deadline = time.monotonic() + 10
        while self._socket is None:
            if time.monotonic() > deadline:
                raise AssertionError("no Socket Mode client connected")
            time.sleep(0.02)
        envelope_id = f"env-{next(self._counter)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
        }
        asyncio.run_coroutine_threadsafe(
            self._socket.send_json(envelope), self._socket_loop
        ).result(timeout=5)
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while envelope_id not in self.socket_acks:
            if time.monotonic() > deadline:
                raise AssertionError(f"no ack for {envelope_id}")
            time.sleep(0.02)
        return self.socket_acks[envelope_id]

    def asgi(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self.api, methods=["GET", "POST"]),
                Route("/response/{name}", self.response, methods=["POST"]),
                Route("/upload/{file_id}", self.upload, methods=["POST", "PUT"]),
                WebSocketRoute("/socket", self.socket),
            ]
        )
