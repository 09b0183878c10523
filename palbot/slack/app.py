"""Build the Bolt AsyncApp: one workspace (bot token) or many (OAuth), every value explicit."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.authorization.authorize_result import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.models.installation import Installation

from palbot.config import SlackMode
from palbot.manifest import bot_scopes
from palbot.services import Services
from palbot.services.installs import InstallService
from palbot.services.ports import ConversationMessages
from palbot.slack import pages
from palbot.slack.admins import Admins
from palbot.slack.clients import SlackClients, web_client
from palbot.slack.context import SlackDeps, request_context
from palbot.slack.installation_store import SlackInstallationStore, SlackOAuthStateStore
from palbot.slack.listeners import register_listeners
from palbot.slack.messages import SlackConversationMessages

log = logging.getLogger("palbot.app")
NOT_INSTALLED = (
    "palbot is not installed in this workspace (or its install was removed). "
    "Ask a workspace admin to install it from this palbot server's "
    "/slack/install page."
)
AUTH_CACHE_SECONDS = 600.0


class StoreAuthorize(AsyncAuthorize):
    """Authorize from palbot's own installation store, cached: no auth.test per request."""

    def __init__(self, store: SlackInstallationStore) -> None:
        super().__init__()
        self.store = store
        self._cache: dict[tuple[str, str], tuple[float, AuthorizeResult]] = {}

    def forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        self._cache.pop((enterprise_id or "", team_id or ""), None)

    def clear(self) -> None:
        self._cache.clear()

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        key = (enterprise_id or "", team_id or "")
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        is_org = bool(context.get("is_enterprise_install"))
        bot = await self.store.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_org
        )
        if bot is None or not bot.bot_token:
            self._cache.pop(key, None)
            return None
        result = AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id or team_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )
        self._cache[key] = (time.monotonic() + AUTH_CACHE_SECONDS, result)
        return result


class PalbotOAuthFlow(AsyncOAuthFlow):
    """Bolt's OAuth flow with palbot's pages, and installs audited."""

    installs: InstallService

    async def build_install_page_html(self, url: str, request: AsyncBoltRequest) -> str:
        return pages.install_page(url)

    async def store_installation(
        self, request: AsyncBoltRequest, installation: Installation
    ) -> None:
        await super().store_installation(request, installation)
        await self.installs.installed(
            installation.team_id,
            installation.user_id,
            installation.enterprise_id,
            bool(installation.is_enterprise_install),
            installation.bot_scopes,
        )


async def _success(args: AsyncSuccessArgs) -> BoltResponse:
    inst = args.installation
    url = f"https://app.slack.com/client/{inst.team_id}" if inst.team_id else None
    return BoltResponse(
        status=200,
        body=pages.success_page(inst.team_name, url),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    log.warning("OAuth install failed: %s", args.reason)
    return BoltResponse(
        status=args.suggested_status_code,
        body=pages.failure_page(args.reason),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )


# What Bolt reads from the process environment when it is built, and acts on: SLACK_CLIENT_ID
# and SLACK_CLIENT_SECRET present, even empty (as compose.yaml passes those left out of .env),
# switch on its own file-based OAuth, which drops the bot token ("not installed" to everyone).
BOLT_READS_FROM_ENVIRONMENT = (
    "SLACK_BOT_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SIGNING_SECRET",
    "SLACK_VERIFICATION_TOKEN",
)


@contextlib.contextmanager
def _hidden_from_bolt() -> Iterator[None]:
    """While the app is built (at start-up, before any request): Bolt sees none of the
    variables above, only the values palbot's settings give it. Put back after."""
    hidden = {
        name: os.environ.pop(name) for name in BOLT_READS_FROM_ENVIRONMENT if name in os.environ
    }
    try:
        yield
    finally:
        os.environ.update(hidden)


def build_app(services: Services) -> tuple[AsyncApp, SlackDeps]:
    """Every value comes from palbot's settings: Bolt never reads OAuth settings or file stores
    from the process environment."""
    s = services.rt.settings
    signing_secret = s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else ""
    common: dict[str, Any] = {
        "name": "palbot",
        "signing_secret": signing_secret,
        "request_verification_enabled": bool(signing_secret),
        "process_before_response": True,  # answered at the ack: see slack/answer_at_ack.py
        "user_facing_authorize_error_message": NOT_INSTALLED,
    }
    if s.mode is SlackMode.OAUTH:
        with _hidden_from_bolt():
            app = _oauth_app(services, common)
        clients = SlackClients(s.slack_api_url, services.installs)
    else:
        token = s.slack_bot_token.get_secret_value() if s.slack_bot_token else None
        client = web_client(s.slack_api_url, token)
        with _hidden_from_bolt():
            app = AsyncApp(client=client, **common)
        clients = SlackClients(s.slack_api_url, services.installs, single=client)
    deps = SlackDeps(services, Admins(s.palbot_admin_users), clients)
    app.middleware(request_context(deps))
    app.error(unanswerable)
    register_listeners(app, deps)
    return app, deps


async def unanswerable(error: Exception) -> BoltResponse | None:
    """What Bolt itself could not do. A reply that cannot be delivered (a workspace that never
    installed palbot, whose response_url answers nothing) is a 404 and one log line, never a
    500 with a traceback; anything else is a bug and keeps Bolt's traceback and 500."""
    if isinstance(error, aiohttp.ClientError | TimeoutError | ConnectionError):
        log.info("a Slack request could not be answered (%s): 404", type(error).__name__)
        return BoltResponse(status=404, body="")
    log.error("Slack request failed inside Bolt", exc_info=error)
    return None


def _oauth_app(services: Services, common: dict[str, Any]) -> AsyncApp:
    s = services.rt.settings
    assert s.slack_client_id and s.slack_client_secret
    store = SlackInstallationStore(services.installs.records, services.rt.db)
    authorize = StoreAuthorize(store)
    services.installs.on_forget.append(authorize.forget)
    client = web_client(s.slack_api_url)
    redirect = f"{s.palbot_public_url}/slack/oauth_redirect" if s.palbot_public_url else None
    settings = AsyncOAuthSettings(
        client_id=s.slack_client_id,
        client_secret=s.slack_client_secret.get_secret_value(),
        scopes=bot_scopes(),
        user_scopes=[],
        installation_store=store,
        state_store=SlackOAuthStateStore(services.installs.states, services.rt.db),
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
        redirect_uri=redirect,
        callback_options=AsyncCallbackOptions(success=_success, failure=_failure),
        state_expiration_seconds=600,
    )
    flow = PalbotOAuthFlow(client=client, settings=settings)
    flow.installs = services.installs
    return AsyncApp(
        client=client,
        installation_store=store,
        authorize=authorize,  # type: ignore[arg-type]
        oauth_flow=flow,
        **common,
    )


def messages_for(clients: SlackClients) -> Any:
    """The conversation messages of a team outside any request (callbacks, the poller)."""

    async def for_team(team_id: str) -> ConversationMessages | None:
        client = await clients.for_team(team_id)
        return SlackConversationMessages(client) if client is not None else None

    return for_team
