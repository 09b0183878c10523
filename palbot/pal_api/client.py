"""Async client for the PAL API: every call of pal-api.md, typed errors, timeouts and safe retries.

Only idempotent calls (GET, DELETE, and ending a conversation) are retried. Creating a PAL or a
conversation is never retried, not even after a read timeout: a duplicate conversation costs money.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json as json_module
import logging
import random
import re
import time
from collections.abc import Mapping
from typing import Any, Literal

import httpx

from palbot.pal_api import errors
from palbot.pal_api.models import (
    Conversation,
    ConversationCreate,
    Face,
    Page,
    Pal,
    PalCreate,
    PatchResult,
    parse_patch,
    validate_body,
)

log = logging.getLogger("palbot.pal_api")

DEFAULT_BASE_URL = "https://tavusapi.com"
_ID_ERROR = re.compile(r"invalid\s+\w*_?id\b", re.IGNORECASE)
_TRANSIENT = (429, 500, 502, 503, 504)


def _message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "conflict"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    if isinstance(body, str):
        return body
    return ""


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds (both the delta and the HTTP-date forms)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_NAMES_REFUSED = re.compile(
    r"(pal_id|face_id).{0,40}(required|missing|unknown|not allowed|not permitted|extra|unexpected)"
    r"|(required|missing|unknown|unexpected|extra).{0,40}(pal_id|persona_id)"
    r"|persona_id.{0,40}(required|missing)",
    re.IGNORECASE,
)


def legacy_names(body: dict[str, Any]) -> dict[str, Any]:
    """The same create body with the legacy names (`persona_id`, `replica_id`)."""
    renames = {"pal_id": "persona_id", "face_id": "replica_id"}
    return {renames.get(k, k): v for k, v in body.items()}


def error_for(
    status: int, body: Any, *, retry_after: float | None = None, patch: bool = False
) -> errors.PalApiError:
    """Map an upstream status and body to a typed error (pal-api.md, 'Errors')."""
    msg = _message(body)[:300]
    kw: dict[str, Any] = {"status": status, "body": body, "retry_after": retry_after}
    if status == 304:
        return errors.NoChange(msg, **kw)
    if status == 400:
        if "maximum concurrent" in msg.lower():
            return errors.ConcurrencyLimit(msg, **kw)
        if _ID_ERROR.search(msg):
            return errors.NotFound(msg, **kw)
        return errors.InvalidRequest(msg or "bad request", **kw)
    if status in (401, 403):
        return errors.Unauthorized(msg, **kw)
    if status == 402:
        return errors.OutOfCredits(msg, **kw)
    if status == 404:
        return errors.NotFound(msg, **kw)
    if status == 409:
        return errors.PatchConflict(msg, **kw)
    if status == 422:
        return errors.InvalidPatch(msg, **kw) if patch else errors.InvalidRequest(msg, **kw)
    if status == 429:
        return errors.RateLimited(msg, **kw)
    if status >= 500:
        return errors.Unavailable(msg or f"HTTP {status}", **kw)
    return errors.PalApiError(msg or f"HTTP {status}", **kw)


class PalApiClient:
    """One workspace's view of the PAL API (its key), over a shared httpx connection pool."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        deadline: float = 20.0,
        max_retries: int = 3,
        backoff_base: float = 0.25,
        backoff_cap: float = 4.0,
        http: httpx.AsyncClient | None = None,
        legacy_name_keys: set[str] | None = None,
    ) -> None:
        """`legacy_name_keys`: fingerprints of keys whose API wants `persona_id`/`replica_id`
        when creating a conversation, shared by the clients of one palbot (learned once)."""
        if not api_key or not api_key.strip():
            raise ValueError("a PAL API key is required")
        self.__key = api_key.strip()
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._legacy_names = legacy_name_keys if legacy_name_keys is not None else set()
        self._own_http = http is None
        self._http = http or httpx.AsyncClient()

    def __repr__(self) -> str:
        return f"PalApiClient(base_url={self.base_url!r}, key=****{self.__key[-4:]})"

    @property
    def _fingerprint(self) -> str:
        """Which key this is, for what palbot remembers about its API (never the key)."""
        return hashlib.sha256(self.__key.encode()).hexdigest()[:16]

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> PalApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- transport -------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return text.replace(self.__key, "[redacted]") if self.__key in text else text

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool,
        patch: bool = False,
        deadline: float | None = None,
    ) -> httpx.Response:
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + (deadline or self.deadline)
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            attempt += 1
            remaining = ends_at - loop.time()
            if remaining <= 0:
                raise errors.Timeout("no answer before the deadline")
            timeout = httpx.Timeout(
                connect=min(self.connect_timeout, remaining),
                read=min(self.read_timeout, remaining),
                write=min(self.read_timeout, remaining),
                pool=min(self.connect_timeout, remaining),
            )
            started = loop.time()
            failure: errors.PalApiError
            try:
                response = await asyncio.wait_for(
                    self._http.request(
                        method,
                        self.base_url + path,
                        json=json,
                        params=clean_params,
                        headers={"x-api-key": self.__key, "accept": "application/json"},
                        timeout=timeout,
                    ),
                    timeout=remaining,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the server: safe to report plainly, even for a create.
                failure = errors.Unavailable(f"could not connect ({type(exc).__name__})")
            except (httpx.TimeoutException, TimeoutError, httpx.TransportError) as exc:
                if not idempotent:
                    log.warning(
                        "pal_api %s %s: no answer (%s), not retried",
                        method,
                        path,
                        type(exc).__name__,
                    )
                    raise errors.OutcomeUnknown(type(exc).__name__) from None
                failure = errors.Timeout(f"no answer ({type(exc).__name__})")
            else:
                elapsed_ms = (loop.time() - started) * 1000
                log.info(
                    "pal_api %s %s -> %s in %.0f ms (attempt %d)",
                    method,
                    path,
                    response.status_code,
                    elapsed_ms,
                    attempt,
                )
                if response.status_code < 300:
                    return response
                failure = error_for(
                    response.status_code,
                    self._body(response),
                    retry_after=parse_retry_after(response.headers.get("retry-after")),
                    patch=patch,
                )
                if response.status_code not in _TRANSIENT:
                    raise failure
            if not idempotent or attempt > self.max_retries:
                raise failure
            delay = failure.retry_after
            if delay is None:
                delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
                delay *= random.uniform(0.5, 1.5)
            if loop.time() + delay >= ends_at:
                raise failure
            log.info(
                "pal_api %s %s: retry %d in %.2f s after %s",
                method,
                path,
                attempt,
                delay,
                type(failure).__name__,
            )
            await asyncio.sleep(delay)

    def _body(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        text = self._scrub(response.text)  # upstream may echo the key back: never keep it
        try:
            return json_module.loads(text)
        except ValueError:
            return text[:500]

    def _json(self, response: httpx.Response) -> Any:
        body = self._body(response)
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise errors.PalApiError(
                "the PAL API answered with a body palbot cannot read", status=response.status_code
            )
        return body

    @staticmethod
    def _unwrap(body: dict[str, Any]) -> dict[str, Any]:
        """Single objects sometimes come wrapped as {"data": [obj]} (pal-api.md ⚠)."""
        data = body.get("data")
        if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
            return data[0]
        if isinstance(data, dict):
            return data
        return body

    # ---- PALs ------------------------------------------------------------------------

    async def create_pal(self, body: PalCreate | Mapping[str, Any]) -> Pal:
        payload = validate_body(PalCreate, dict(body) if isinstance(body, Mapping) else body)
        response = await self._request("POST", "/v2/pals", json=payload.body(), idempotent=False)
        return Pal.from_api(self._unwrap(self._json(response)))

    async def list_pals(
        self, *, limit: int = 10, page: int = 1, pal_type: Literal["user", "system"] | None = None
    ) -> Page[Pal]:
        response = await self._request(
            "GET",
            "/v2/pals",
            params={"limit": limit, "page": page, "pal_type": pal_type},
            idempotent=True,
        )
        body = self._json(response)
        return Page[Pal](
            data=[Pal.from_api(p) for p in body.get("data") or []],
            total_count=body.get("total_count"),
        )

    async def get_pal(self, pal_id: str) -> Pal:
        response = await self._request("GET", f"/v2/pals/{_id(pal_id)}", idempotent=True)
        return Pal.from_api(self._unwrap(self._json(response)))

    async def patch_pal(self, pal_id: str, operations: Any, *, force: bool = False) -> PatchResult:
        ops = parse_patch(operations)
        response = await self._request(
            "PATCH",
            f"/v2/pals/{_id(pal_id)}",
            json=ops,
            params={"force": "true"} if force else None,
            idempotent=False,
            patch=True,
        )
        if response.status_code == 304:  # httpx treats 304 as success
            raise errors.NoChange(status=304)
        body = self._json(response)
        doc = self._unwrap(body)
        pal = Pal.from_api(doc) if ("pal_id" in doc or "persona_id" in doc) else None
        return PatchResult(
            pal=pal, discarded_maker_changes=bool(body.get("discarded_maker_changes"))
        )

    async def delete_pal(self, pal_id: str) -> None:
        await self._request("DELETE", f"/v2/pals/{_id(pal_id)}", idempotent=True)

    # ---- conversations ---------------------------------------------------------------

    async def create_conversation(
        self, body: ConversationCreate | Mapping[str, Any], *, deadline: float | None = None
    ) -> Conversation:
        payload = validate_body(
            ConversationCreate, dict(body) if isinstance(body, Mapping) else body
        )
        sent = payload.body()
        legacy = self._fingerprint in self._legacy_names
        try:
            response = await self._request(
                "POST",
                "/v2/conversations",
                json=legacy_names(sent) if legacy else sent,
                idempotent=False,
                deadline=deadline,
            )
        except errors.InvalidRequest as exc:
            # The quickstart's `pal_id`, refused by a generation of the API that wants
            # `persona_id` (pal-api.md ⚠): a 400 created nothing, so one retry with the legacy
            # names is safe; this key keeps using them.
            if legacy or exc.status != 400 or not _NAMES_REFUSED.search(exc.detail):
                raise
            response = await self._request(
                "POST",
                "/v2/conversations",
                json=legacy_names(sent),
                idempotent=False,
                deadline=deadline,
            )
            self._legacy_names.add(self._fingerprint)
        return Conversation.from_api(self._unwrap(self._json(response)))

    async def get_conversation(
        self, conversation_id: str, *, verbose: bool = False
    ) -> Conversation:
        response = await self._request(
            "GET",
            f"/v2/conversations/{_id(conversation_id)}",
            params={"verbose": "true"} if verbose else None,
            idempotent=True,
        )
        return Conversation.from_api(self._unwrap(self._json(response)))

    async def list_conversations(
        self,
        *,
        limit: int = 10,
        page: int = 1,
        status: Literal["active", "ended"] | None = None,
    ) -> Page[Conversation]:
        response = await self._request(
            "GET",
            "/v2/conversations",
            params={"limit": limit, "page": page, "status": status},
            idempotent=True,
        )
        body = self._json(response)
        return Page[Conversation](
            data=[Conversation.from_api(c) for c in body.get("data") or []],
            total_count=body.get("total_count"),
        )

    async def end_conversation(self, conversation_id: str) -> None:
        await self._request(
            "POST", f"/v2/conversations/{_id(conversation_id)}/end", idempotent=True
        )

    async def delete_conversation(self, conversation_id: str, *, hard: bool = False) -> None:
        await self._request(
            "DELETE",
            f"/v2/conversations/{_id(conversation_id)}",
            params={"hard": "true"} if hard else None,
            idempotent=True,
        )

    # ---- faces -----------------------------------------------------------------------

    async def list_faces(
        self, *, limit: int = 100, page: int = 1, face_type: Literal["system", "user"] | None = None
    ) -> Page[Face]:
        response = await self._request(
            "GET",
            "/v2/faces",
            params={"limit": limit, "page": page, "face_type": face_type},
            idempotent=True,
        )
        body = self._json(response)
        return Page[Face](
            data=[Face.from_api(f) for f in body.get("data") or []],
            total_count=body.get("total_count"),
        )


_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def _id(value: str) -> str:
    """Ids go into URL paths: refuse anything that could change the path."""
    if not isinstance(value, str) or not _SAFE_ID.match(value):
        raise errors.InvalidRequest("ids are letters, digits, '-' and '_' only", field="id")
    return value
