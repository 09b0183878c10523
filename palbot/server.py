"""The ASGI server: Slack routes, PAL API callbacks and health, under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import uvicorn
from pydantic import ValidationError
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from palbot import gc_tuning, logsafe
from palbot.config import Settings, SlackMode
from palbot.pal_api.models import CallbackEvent
from palbot.services import Services
from palbot.services.conversations import ConversationService
from palbot.services.lifecycle import MAX_CALLBACK_BYTES, Lifecycle
from palbot.services.reconcile import Reconciler
from palbot.services.runtime import Runtime
from palbot.slack.app import build_app, messages_for
from palbot.slack.context import SlackDeps
from palbot.store import Store, open_store
from palbot.store.errors import StoreBusy

log = logging.getLogger("palbot.server")
MAX_SLACK_BODY = 1_000_000  # Slack's own requests are far smaller
HEALTH_TIMEOUT = 0.8


@dataclass
class Palbot:
    settings: Settings
    store: Store
    rt: Runtime
    convs: ConversationService
    lifecycle: Lifecycle
    app: AsyncApp
    services: Services
    slack: SlackDeps
    reconciler: Reconciler
    loop: asyncio.AbstractEventLoop | None = None  # the serving loop, once started


def assemble(
    settings: Settings, store: Store | None = None, http: httpx.AsyncClient | None = None
) -> Palbot:
    """`http`: the PAL API connection pool (tests mount the sandbox in it, in-process)."""
    store = store or open_store(settings)
    for handler in logging.getLogger().handlers:  # scrub stored secrets from every log line
        for existing in handler.filters:
            if isinstance(existing, logsafe.SecretFilter):
                existing.known = store.secrets.values
    rt = Runtime(settings, store, http)
    services = Services.build(rt)
    app, slack = build_app(services)
    convs = services.conversations
    messages = messages_for(slack.clients)
    reconciler = Reconciler(rt, services.audit, convs, messages)
    lifecycle = Lifecycle(rt, convs, services.audit, messages, reconciler)
    return Palbot(settings, store, rt, convs, lifecycle, app, services, slack, reconciler)


MALFORMED = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)


async def bounded_body(request: Request, limit: int) -> bytes | None:
    """The request's body, read as it streams (Content-Length or chunked alike), or None as soon
    as it passes `limit`: an oversized body is never held whole in memory."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    request._body = bytes(body)  # Starlette's cache: what the handler reads next
    return request._body


def signature_check(settings: Settings) -> Any:
    """Slack's request signature, checked before Bolt parses anything (None: no secret)."""
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    if not secret:
        return None
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(secret)

    def valid(body: bytes, headers: Any) -> bool:
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not timestamp.isdigit() or not signature or len(signature) > 200:
            return False
        try:
            return bool(verifier.is_valid(body=body, timestamp=timestamp, signature=signature))
        except (TypeError, ValueError):
            return False

    return valid


def callback_route(lifecycle: Lifecycle) -> Route:
    async def callback(request: Request) -> Response:
        token = request.path_params["token"]
        body = await bounded_body(request, MAX_CALLBACK_BYTES)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            event = CallbackEvent.model_validate(json.loads(body))
        except (ValueError, ValidationError, RecursionError):
            return JSONResponse({"error": "malformed callback"}, status_code=400)
        try:
            status, what = await lifecycle.accept(token, event)
        except StoreBusy:  # not recorded: upstream's retry delivers it
            return JSONResponse(
                {"ok": False, "result": "busy"}, status_code=503, headers={"Retry-After": "5"}
            )
        return JSONResponse({"ok": status < 300, "result": what}, status_code=status)

    return Route("/pal/callbacks/{token}", callback, methods=["POST"])


def health_route(store: Store) -> Route:
    checking: asyncio.Future[str] | None = None  # the check in flight: later asks share it

    async def healthz(request: Request) -> Response:
        """Within a second whatever the database does: the check runs off the event loop.
        The body says the database's state; a write lock held elsewhere, or every pooled
        PostgreSQL connection in use, is still 200 (reads and acks go on, or wait their turn;
        writes say "busy"), an unreachable or silent database 503. A check the database has
        not answered yet is shared by the asks that come meanwhile: a silent database costs
        one waiting thread and connection, not one more per ask."""
        nonlocal checking
        backend = "postgresql" if getattr(store.db, "is_postgres", False) else "sqlite"
        if checking is None or checking.done():
            checking = asyncio.ensure_future(asyncio.to_thread(store.db.health))
            checking.add_done_callback(_retrieved)
        try:
            state = await asyncio.wait_for(asyncio.shield(checking), HEALTH_TIMEOUT)
        except TimeoutError:
            state = f"no answer within {HEALTH_TIMEOUT} s"
        ok = state in ("ok", "write-locked", "busy")
        body = {"ok": ok, "database": {"backend": backend, "state": state}}
        return JSONResponse(body, status_code=200 if ok else 503)

    return Route("/healthz", healthz, methods=["GET"])


def _retrieved(check: asyncio.Future[str]) -> None:
    """A check that ends after every ask gave up on it: its failure is logged, not lost."""
    if not check.cancelled() and check.exception() is not None:
        log.warning("a health check failed: %r", check.exception())


def build_asgi(
    bot: Palbot, *, slack_routes: bool = True, socket_token: str | None = None
) -> Starlette:
    """The ASGI app. With `socket_token`, Slack traffic arrives over Socket Mode instead of
    /slack/events, and this app serves /healthz and the callback route only."""
    routes = [health_route(bot.store), callback_route(bot.lifecycle)]
    if slack_routes:
        handler = AsyncSlackRequestHandler(bot.app)

        verify = signature_check(bot.settings)

        async def events(request: Request) -> Response:
            if request.method == "POST":
                body = await bounded_body(request, MAX_SLACK_BODY)  # cached for the handler
                if body is None:
                    return JSONResponse({"error": "body too large"}, status_code=413)
                if verify is not None and not verify(body, request.headers):
                    # a stranger: answered before anything parses (or logs) what they sent
                    return JSONResponse({"error": "invalid signature"}, status_code=401)
            bot.rt.ack_first.enter()
            try:
                return await handler.handle(request)
            except MALFORMED as exc:  # signed, yet not a payload Slack sends
                log.info("malformed Slack request (%s): answered 400", type(exc).__name__)
                return JSONResponse({"error": "malformed request"}, status_code=400)
            finally:
                bot.rt.ack_first.leave()

        routes.append(Route("/slack/events", events, methods=["POST"]))
        if bot.settings.mode is SlackMode.OAUTH:
            routes.append(Route("/slack/install", events, methods=["GET"]))
            routes.append(Route("/slack/oauth_redirect", events, methods=["GET"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        bot.loop = asyncio.get_running_loop()
        # store work runs on the store's threads (`rt.db`); a store call on this loop's
        # thread raises, so none can creep back in
        bot.store.db.loop_guard.forbid()
        bot.store.db.release_thread()  # its start-up connection (PostgreSQL: a server process)
        gc_tuning.freeze_startup()  # and full collections run when no request is waiting
        collector = asyncio.get_running_loop().create_task(
            gc_tuning.collect_when_quiet(bot.rt.ack_first)
        )
        # One pooled HTTP session for every Slack Web API call (slack_sdk otherwise opens a
        # new connection per call); Bolt hands it on to each request's client.
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        bot.app.client.session = session
        bot.slack.clients.session = session
        socket = None
        if socket_token:
            from palbot.slack.socket_mode import GatedSocketModeHandler

            # built on the app's own Web API client, so SLACK_API_URL applies here too
            socket = GatedSocketModeHandler(
                bot.app, socket_token, web_client=bot.app.client, gate=bot.rt.ack_first
            )
            await socket.connect_async()
            log.info("connected to Slack over Socket Mode")
        poller = None
        if not bot.settings.palbot_public_url:
            poller = asyncio.get_running_loop().create_task(
                bot.lifecycle.run_poller(bot.settings.palbot_poll_interval)
            )
        # every start accepted and not settled (a restart, a lost answer) is matched against
        # the PAL API now and every PALBOT_RECONCILE_INTERVAL seconds
        reconciling = asyncio.get_running_loop().create_task(
            bot.reconciler.run_forever(bot.settings.palbot_reconcile_interval)
        )
        try:
            yield
        finally:
            collector.cancel()
            reconciling.cancel()
            if poller is not None:
                poller.cancel()
            if socket is not None:
                await socket.close_async()
            # SIGTERM: no new requests reach palbot now; in-flight PAL API work gets
            # PALBOT_SHUTDOWN_GRACE seconds. What is still open is durable: the next start's
            # reconciliation settles it.
            await bot.rt.aclose(bot.settings.palbot_shutdown_grace)
            await bot.convs.flush_now()  # the delivery marks still waiting for their batch
            await bot.rt.step_down("reconcile", "poller")
            await session.close()
            bot.rt.db.close()
            bot.store.db.loop_guard.allow()
            bot.store.close()

    return Starlette(routes=routes, lifespan=lifespan)


def run_socket(settings: Settings, *, host: str, port: int, log_level: str = "info") -> None:
    bot = assemble(settings)
    assert settings.slack_app_token is not None
    log.info("palbot over Socket Mode; /healthz and callbacks on %s:%d", host, port)
    token = settings.slack_app_token.get_secret_value()
    asgi = build_asgi(bot, slack_routes=False, socket_token=token)
    uvicorn.run(asgi, host=host, port=port, log_level=log_level)


def run_http(
    settings: Settings, *, host: str, port: int, log_level: str = "info", workers: int = 1
) -> None:
    """One process, or `workers` processes sharing the port (each its own event loop, store
    connections and PAL API pool; the database is what they share)."""
    log.info(
        "palbot serving Slack over HTTP on %s:%d (%s mode, %d worker%s)",
        host,
        port,
        settings.mode.value,
        workers,
        "" if workers == 1 else "s",
    )
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "proxy_headers": True,
        "forwarded_allow_ips": "*",
    }
    if workers > 1:  # uvicorn starts each worker from this factory, settings from the env
        open_store(settings).close()  # migrate once, before the workers start
        uvicorn.run("palbot.server:app_from_env", factory=True, workers=workers, **common)
        return
    uvicorn.run(build_asgi(assemble(settings)), **common)


def app_from_env() -> Starlette:
    """The ASGI app of one worker process (`palbot serve --workers N`)."""
    from palbot import logsafe
    from palbot.config import load_settings

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logsafe.install()  # in this worker too: no secret in a log line
    stop_when_supervisor_dies()
    return build_asgi(assemble(load_settings()))


def stop_when_supervisor_dies() -> None:
    """In a worker: when the process that started it is gone (killed outright, by SIGKILL or
    the OOM killer, it could not stop its workers), this one shuts down as on SIGTERM rather
    than go on serving unsupervised and holding the port the next palbot needs. The parent's
    sentinel (a pipe multiprocessing keeps open) says so the moment it dies: nothing polls."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        log.warning("this worker's supervisor (pid %s) is gone: stopping", parent.pid)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="palbot-supervisor-watch", daemon=True).start()
