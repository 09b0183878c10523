"""`palbot sandbox`: a local PAL API emulator, strict to pal-api.md.

A development and demo tool: per-key data in memory, `x-api-key` auth, upstream-style errors, JSON
Patch through jsonpatch, conversations with callbacks, a concurrency cap and fault injection
(`/_sandbox/...` admin routes). It is not Tavus and never bills anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonpatch
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from palbot.sandbox.schema import ConversationBody, PalBody
from palbot.sandbox.state import (
    STOCK_FACES,
    STOCK_PALS,
    Account,
    Fault,
    SandboxConfig,
    SandboxState,
    now_iso,
)

log = logging.getLogger("palbot.sandbox")
SERVER_FIELDS = ("pal_id", "created_at", "updated_at", "pal_type")
MAX_BODY = 1_000_000


def _err(status: int, message: str, key: str = "message") -> JSONResponse:
    return JSONResponse({key: message}, status_code=status)


def _validation_message(exc: ValidationError) -> str:
    """An API's words for a bad body: the field, the value, what is expected."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
    if err["type"] == "literal_error":
        expected = str((err.get("ctx") or {}).get("expected", "")).replace("'", "")
        msg = f"{err['input']!r} is not a valid value (expected {expected})"
    elif err["type"] == "missing":
        msg = "is required"
    else:
        msg = err["msg"].removeprefix("Value error, ")
    return f"Invalid request body: {loc}: {msg}" if loc else f"Invalid request body: {msg}"


def _page(items: list[dict[str, Any]], request: Request) -> dict[str, Any]:
    try:
        limit = max(1, min(100, int(request.query_params.get("limit", 10))))
        page = max(1, int(request.query_params.get("page", 1)))
    except ValueError:
        limit, page = 10, 1
    start = (page - 1) * limit
    return {"data": items[start : start + limit], "total_count": len(items)}


class Sandbox:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    # ---- plumbing ----------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _json_body(self, request: Request) -> Any:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise _Abort(_err(413, "Request body too large"))
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise _Abort(_err(400, "Invalid JSON body")) from None

    def _auth(self, request: Request) -> tuple[str, Account]:
        key = request.headers.get("x-api-key", "")
        if key not in self.state.keys:
            raise _Abort(_err(401, "Invalid access token"))
        return key, self.state.account(key)

    async def api(self, request: Request) -> Response:
        """Every `/v2/...` request: log, faults, auth, then the route."""
        path = request.url.path
        entry: dict[str, Any] = {
            "method": request.method,
            "path": path,
            "query": dict(request.query_params),
            "key": request.headers.get("x-api-key", ""),
            "at": now_iso(),
        }
        if request.method in ("POST", "PATCH"):
            raw = await request.body()
            try:
                entry["body"] = json.loads(raw) if raw else None
            except ValueError:
                entry["body"] = raw.decode("utf-8", "replace")
        self.state.requests.append(entry)
        try:
            fault = self.state.take_fault(request.method, path)
            if fault is not None:
                if fault.latency:
                    await asyncio.sleep(fault.latency)
                if fault.status is not None:
                    resp: Response = (
                        Response(status_code=fault.status, headers=fault.headers)
                        if fault.body is None
                        else JSONResponse(fault.body, fault.status, headers=fault.headers)
                    )
                    entry["status"] = resp.status_code
                    return resp
            handler = self._route(request.method, path)
            if handler is None:
                resp = _err(404, "Not found")
            else:
                key, account = self._auth(request)
                resp = await handler(request, key, account)
        except _Abort as abort:
            resp = abort.response
        entry["status"] = resp.status_code
        return resp

    def _route(self, method: str, path: str) -> Any:
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2 or parts[0] != "v2":
            return None
        kind, rest = parts[1], parts[2:]
        if kind in ("pals", "personas"):
            if not rest:
                return {"POST": self.create_pal, "GET": self.list_pals}.get(method)
            if len(rest) == 1:
                return {
                    "GET": self.get_pal,
                    "PATCH": self.patch_pal,
                    "DELETE": self.delete_pal,
                }.get(method)
        if kind == "conversations":
            if not rest:
                return {"POST": self.create_conversation, "GET": self.list_conversations}.get(
                    method
                )
            if len(rest) == 1:
                return {"GET": self.get_conversation, "DELETE": self.delete_conversation}.get(
                    method
                )
            if len(rest) == 2 and rest[1] == "end" and method == "POST":
                return self.end_conversation
        if kind in ("faces", "replicas") and not rest and method == "GET":
            return self.list_faces
        return None

    @staticmethod
    def _tail(request: Request, index: int = 2) -> str:
        return [p for p in request.url.path.split("/") if p][index]

    # ---- PALs --------------------------------------------------------------------------

    async def create_pal(self, request: Request, key: str, account: Account) -> Response:
        body = await self._json_body(request)
        if not isinstance(body, dict):
            return _err(400, "Invalid request body: expected a JSON object")
        body = dict(body)
        if "persona_name" in body and "pal_name" not in body:
            body["pal_name"] = body.pop("persona_name")
        try:
            PalBody.model_validate(body)
        except ValidationError as exc:
            return _err(400, _validation_message(exc))
        if not self._face_exists(body["default_face_id"]):
            return _err(400, "Invalid default_face_id", key="error")
        pal = {k: v for k, v in body.items() if k not in SERVER_FIELDS}
        pal_id = SandboxState.new_id("p")
        pal.update(pal_id=pal_id, pal_type="user", created_at=now_iso(), updated_at=now_iso())
        pal.setdefault("pipeline_mode", "full")
        account.pals[pal_id] = pal
        return JSONResponse(pal)

    async def list_pals(self, request: Request, key: str, account: Account) -> Response:
        pal_type = request.query_params.get("pal_type")
        items = STOCK_PALS if pal_type == "system" else list(account.pals.values())
        return JSONResponse(
            _page(list(reversed(items)) if pal_type != "system" else items, request)
        )

    def _pal(self, request: Request, account: Account) -> tuple[str, dict[str, Any]]:
        pal_id = self._tail(request)
        pal = account.pals.get(pal_id)
        if pal is None and request.method == "GET":  # stock PALs can be read, not changed
            pal = next((p for p in STOCK_PALS if p["pal_id"] == pal_id), None)
        if pal is None:
            raise _Abort(_err(400, "Invalid pal_id", key="error"))
        return pal_id, pal

    async def get_pal(self, request: Request, key: str, account: Account) -> Response:
        _, pal = self._pal(request, account)
        return JSONResponse({"data": [pal]} if self.state.config.wrap_get else pal)

    async def patch_pal(self, request: Request, key: str, account: Account) -> Response:
        pal_id, pal = self._pal(request, account)
        ops = await self._json_body(request)
        force = request.query_params.get("force") == "true"
        if not isinstance(ops, list) or not ops:
            return _err(422, "Invalid JSON patch format")
        try:
            patch = jsonpatch.JsonPatch(ops)
            updated = patch.apply(copy.deepcopy(pal))
        except (
            jsonpatch.JsonPatchException,
            jsonpatch.JsonPointerException,
            TypeError,
            KeyError,
            AttributeError,
            ValueError,
        ):
            return _err(422, "Invalid JSON patch format")
        if not isinstance(updated, dict) or any(
            updated.get(f) != pal.get(f) for f in ("pal_id", "pal_type", "created_at")
        ):
            return _err(422, "Invalid JSON patch format: read-only fields cannot change")
        if updated == pal:
            return Response(status_code=304)
        try:
            PalBody.model_validate({k: v for k, v in updated.items() if k not in SERVER_FIELDS})
        except ValidationError as exc:
            return _err(422, "Invalid JSON patch format: " + _validation_message(exc))
        discarded = False
        if pal_id in account.maker_changes:
            if not force:
                return JSONResponse(
                    {
                        "conflict": "maker_changes",
                        "message": "The PAL has unpublished changes in the editor",
                    },
                    409,
                )
            account.maker_changes.discard(pal_id)
            discarded = True
        updated["updated_at"] = now_iso()
        account.pals[pal_id] = updated
        out = dict(updated)
        if discarded:
            out["discarded_maker_changes"] = True
        return JSONResponse(out)

    async def delete_pal(self, request: Request, key: str, account: Account) -> Response:
        pal_id, _ = self._pal(request, account)
        del account.pals[pal_id]
        return Response(status_code=204)

    # ---- conversations -----------------------------------------------------------------

    async def create_conversation(self, request: Request, key: str, account: Account) -> Response:
        body = await self._json_body(request)
        if not isinstance(body, dict):
            return _err(400, "Invalid request body: expected a JSON object")
        if self.state.config.conversation_names == "legacy" and "persona_id" not in body:
            return _err(400, "Invalid request body: persona_id: Field required")
        try:
            req = ConversationBody.model_validate(body)
        except ValidationError as exc:
            return _err(400, _validation_message(exc))
        pal = account.pals.get(req.pal_id) or next(
            (p for p in STOCK_PALS if p["pal_id"] == req.pal_id), None
        )
        if pal is None:
            return _err(400, "Invalid pal_id", key="error")
        face_id = req.face_id or pal.get("default_face_id")
        if not face_id:
            return _err(400, "face_id is required: the PAL has no default face")
        if not self._face_exists(face_id):
            return _err(400, "Invalid replica_id", key="error")
        test_mode = bool(req.test_mode)
        if not test_mode:
            if account.active_billable() >= self.state.config.concurrency_cap:
                return _err(400, "User has reached maximum concurrent conversations")
            if account.credits is not None:
                if account.credits <= 0:
                    return _err(402, "The user is out of conversational credits")
                account.credits -= 1
        conv_id = SandboxState.new_id("c", 16)
        conv: dict[str, Any] = {
            "conversation_id": conv_id,
            "conversation_name": req.conversation_name
            or f"Conversation with {pal.get('pal_name')}",
            "conversation_url": f"{self.state.config.public_url}/rooms/{conv_id}",
            "status": "ended" if test_mode else "active",  # as upstream: ended at once
            "callback_url": req.callback_url or "",
            "created_at": now_iso(),
            "pal_id": req.pal_id,
            "face_id": face_id,
            "test_mode": test_mode,
            "properties": req.properties.model_dump(mode="json", exclude_unset=True)
            if req.properties
            else {},
        }
        if req.require_auth:
            conv["meeting_token"] = SandboxState.new_id("mt", 24)
        account.conversations[conv_id] = conv
        if not test_mode:
            self._spawn(self._after_start(account, conv))
        return JSONResponse({k: v for k, v in conv.items() if k not in ("properties", "face_id")})

    async def _after_start(self, account: Account, conv: dict[str, Any]) -> None:
        await asyncio.sleep(self.state.config.callback_delay)
        if conv["status"] == "active":
            await self._callback(conv, "system.replica_joined", "system", {})
        duration = conv["properties"].get("max_call_duration")
        if duration:
            await asyncio.sleep(duration * self.state.config.duration_scale)
            if conv["status"] == "active":
                await self.shutdown(account, conv, "max_call_duration reached")

    def mark_ended(self, conv: dict[str, Any], reason: str) -> bool:
        """End a conversation at once; False when it had already ended."""
        if conv["status"] != "active":
            return False
        conv["status"] = "ended"
        conv["ended_at"] = now_iso()
        conv["shutdown_reason"] = reason
        return True

    async def shutdown(self, account: Account, conv: dict[str, Any], reason: str) -> None:
        """End a conversation as upstream does, then send the end-of-call callbacks."""
        if self.mark_ended(conv, reason):
            await self.send_end_callbacks(account, conv)

    async def send_end_callbacks(self, account: Account, conv: dict[str, Any]) -> None:
        if conv.get("test_mode"):
            return
        reason = conv.get("shutdown_reason", "")
        await self._callback(conv, "system.shutdown", "system", {"shutdown_reason": reason})
        pal = account.pals.get(conv["pal_id"], {})
        transcript = self._transcript(pal)
        conv["transcript"] = transcript
        await self._callback(
            conv, "application.transcription_ready", "application", {"transcript": transcript}
        )
        if conv["properties"].get("enable_recording"):
            await self._callback(
                conv,
                "application.recording_ready",
                "application",
                {
                    "storage_uri": f"s3://sandbox-recordings/{conv['conversation_id']}.mp4",
                    "duration": 42,
                },
            )
        perception = (pal.get("layers") or {}).get("perception") or {}
        if perception.get("perception_model", "raven-1") != "off":
            conv["analysis"] = "*Summary:* the participant was engaged and attentive."
            await self._callback(
                conv,
                "application.perception_analysis",
                "application",
                {"analysis": conv["analysis"]},
            )

    def _transcript(self, pal: dict[str, Any]) -> list[dict[str, str]]:
        turns: list[dict[str, str]] = [
            {"role": "system", "content": pal.get("system_prompt") or ""}
        ]
        for i in range(self.state.config.transcript_turns):
            turns.append({"role": "assistant", "content": f"Question {i + 1}: tell me more?"})
            turns.append({"role": "user", "content": f"Answer {i + 1}: here is what I think."})
        return turns

    async def _callback(
        self, conv: dict[str, Any], event_type: str, message_type: str, properties: dict[str, Any]
    ) -> None:
        url = conv.get("callback_url")
        if not url:
            return
        envelope = {
            "conversation_id": conv["conversation_id"],
            "event_type": event_type,
            "message_type": message_type,
            "timestamp": now_iso(),
            "properties": properties,
        }
        record: dict[str, Any] = {"url": url, "event": envelope}
        self.state.callbacks_sent.append(record)
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=5.0)
        try:
            response = await self._http.post(url, json=envelope)
            record["status"] = response.status_code
        except httpx.HTTPError as exc:
            record["status"] = None
            log.warning("callback %s to %s failed: %s", event_type, url, type(exc).__name__)

    def _conv(self, request: Request, account: Account) -> dict[str, Any]:
        conv = account.conversations.get(self._tail(request))
        if conv is None:
            raise _Abort(_err(400, "Invalid conversation_id", key="error"))
        return conv

    @staticmethod
    def _public(conv: dict[str, Any], verbose: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in conv.items() if k not in ("transcript", "properties", "analysis")}
        if verbose:
            events = []
            if conv.get("transcript"):
                events.append(
                    {
                        "event_type": "application.transcription_ready",
                        "properties": {"transcript": conv["transcript"]},
                    }
                )
            if conv.get("analysis"):
                events.append(
                    {
                        "event_type": "application.perception_analysis",
                        "properties": {"analysis": conv["analysis"]},
                    }
                )
            if conv.get("shutdown_reason"):
                events.append(
                    {
                        "event_type": "system.shutdown",
                        "properties": {"shutdown_reason": conv["shutdown_reason"]},
                    }
                )
            out["events"] = events
        return out

    async def get_conversation(self, request: Request, key: str, account: Account) -> Response:
        conv = self._conv(request, account)
        return JSONResponse(self._public(conv, request.query_params.get("verbose") == "true"))

    async def list_conversations(self, request: Request, key: str, account: Account) -> Response:
        status = request.query_params.get("status")
        items = [
            self._public(c)
            for c in reversed(account.conversations.values())
            if status in (None, "", c["status"])
        ]
        return JSONResponse(_page(items, request))

    async def end_conversation(self, request: Request, key: str, account: Account) -> Response:
        conv = self._conv(request, account)
        if self.mark_ended(conv, "end_conversation_endpoint_hit"):
            self._spawn(self.send_end_callbacks(account, conv))
        return JSONResponse({"conversation_id": conv["conversation_id"], "status": "ended"})

    async def delete_conversation(self, request: Request, key: str, account: Account) -> Response:
        conv = self._conv(request, account)
        self.mark_ended(conv, "conversation deleted")
        if request.query_params.get("hard") == "true":
            del account.conversations[conv["conversation_id"]]
        else:
            conv["deleted"] = True
        return Response(status_code=204)

    # ---- faces -------------------------------------------------------------------------

    @staticmethod
    def _face_exists(face_id: str) -> bool:
        return any(f["face_id"] == face_id for f in STOCK_FACES)

    async def list_faces(self, request: Request, key: str, account: Account) -> Response:
        face_type = request.query_params.get("face_type") or request.query_params.get(
            "replica_type"
        )
        items = [f for f in STOCK_FACES if face_type in (None, "", f["face_type"])]
        legacy = self.state.config.legacy_names or request.url.path.startswith("/v2/replicas")
        if legacy:
            items = [
                {"replica_id": f["face_id"], "replica_name": f["face_name"], "status": f["status"]}
                for f in items
            ]
        return JSONResponse(_page(items, request))

    # ---- admin (tests and demos) -------------------------------------------------------

    async def admin(self, request: Request) -> Response:
        what = request.path_params["what"]
        method = request.method
        if what == "requests":
            if method == "DELETE":
                self.state.requests.clear()
                return JSONResponse({"ok": True})
            return JSONResponse(self.state.requests)
        if what == "callbacks":
            return JSONResponse(self.state.callbacks_sent)
        if what == "reset" and method == "POST":
            self.state.reset()
            return JSONResponse({"ok": True})
        if what == "faults":
            if method == "DELETE":
                self.state.faults.clear()
                return JSONResponse({"ok": True})
            if method == "POST":
                body = await self._json_body(request)
                self.state.faults.append(Fault(**body))
                return JSONResponse({"ok": True, "faults": len(self.state.faults)})
        if what == "keys" and method == "POST":
            body = await self._json_body(request)
            self.state.keys.add(str(body["key"]))
            if "credits" in body:
                self.state.account(str(body["key"])).credits = body["credits"]
            return JSONResponse({"ok": True})
        if what == "config" and method == "POST":
            body = await self._json_body(request)
            for name, value in body.items():
                if not hasattr(self.state.config, name):
                    return _err(400, f"unknown setting {name}")
                setattr(self.state.config, name, value)
            return JSONResponse({"ok": True})
        return _err(404, "Not found")

    async def admin_conversation(self, request: Request) -> Response:
        """POST /_sandbox/conversations/{id}/shutdown {"reason": ...}: end it as upstream would."""
        conv_id = request.path_params["conversation_id"]
        for account in self.state.accounts.values():
            if conv_id in account.conversations:
                body = await self._json_body(request) or {}
                await self.shutdown(
                    account,
                    account.conversations[conv_id],
                    str(body.get("reason", "participant_left_timeout reached")),
                )
                return JSONResponse({"ok": True})
        return _err(404, "Not found")

    async def admin_pal(self, request: Request) -> Response:
        """POST /_sandbox/pals/{id}/maker_changes: the PAL gets unpublished editor changes."""
        pal_id = request.path_params["pal_id"]
        for account in self.state.accounts.values():
            if pal_id in account.pals:
                account.maker_changes.add(pal_id)
                return JSONResponse({"ok": True})
        return _err(404, "Not found")

    async def room(self, request: Request) -> Response:
        conv_id = request.path_params["conversation_id"]
        return HTMLResponse(
            f"<!doctype html><title>palbot sandbox room</title><h1>Sandbox room {conv_id}</h1>"
            "<p>This is the palbot sandbox: no video call happens here.</p>"
        )

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.close()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._http is not None:
            await self._http.aclose()


class _Abort(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def build_sandbox(
    keys: list[str], config: SandboxConfig | None = None
) -> tuple[Starlette, Sandbox]:
    sandbox = Sandbox(SandboxState(keys, config))
    methods = ["GET", "POST", "PATCH", "DELETE", "PUT"]
    app = Starlette(
        routes=[
            Route(
                "/_sandbox/conversations/{conversation_id}/shutdown",
                sandbox.admin_conversation,
                methods=["POST"],
            ),
            Route("/_sandbox/pals/{pal_id}/maker_changes", sandbox.admin_pal, methods=["POST"]),
            Route("/_sandbox/{what}", sandbox.admin, methods=methods),
            Route("/rooms/{conversation_id}", sandbox.room, methods=["GET"]),
            Route("/{path:path}", sandbox.api, methods=methods),
        ],
        lifespan=sandbox.lifespan,
    )
    return app, sandbox
