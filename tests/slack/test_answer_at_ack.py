"""Bolt answers at the listener's ack: what the listener does afterwards runs on in the
background, a failure before the ack is an error answer, and one after it is logged."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from palbot.config import Settings
from palbot.services.runtime import Runtime
from palbot.slack import answer_at_ack as module
from palbot.slack.answer_at_ack import answer_at_ack
from palbot.store.sqlite.store import open_sqlite_store


async def authorize(**_: Any) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-1", bot_user_id="UB")


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    store = open_sqlite_store(tmp_path / "palbot.db", Fernet.generate_key().decode())
    runtime = Runtime(Settings(), store)
    yield runtime
    await runtime.aclose()
    store.close()


def bolt() -> AsyncApp:
    return AsyncApp(
        signing_secret="unused",
        request_verification_enabled=False,
        authorize=authorize,
        process_before_response=True,
    )


async def command(app: AsyncApp, text: str = "") -> BoltResponse:
    body = urlencode(
        {"command": "/pal", "text": text, "team_id": "T1", "user_id": "U1", "channel_id": "C1"}
    )
    headers = {"content-type": ["application/x-www-form-urlencoded"]}
    return await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))


async def test_answer_is_sent_at_the_ack_while_the_rest_runs_on(rt: Runtime) -> None:
    app = bolt()
    release, finished = asyncio.Event(), asyncio.Event()

    async def listener(ack: Any, body: dict[str, Any]) -> None:
        await ack(f"got {body['text']}")
        await release.wait()  # the slow after-ack work
        finished.set()

    app.command("/pal")(answer_at_ack(rt, listener))
    resp = await asyncio.wait_for(command(app, "start"), 1.0)
    assert (resp.status, resp.body) == (200, "got start")
    assert not finished.is_set()  # answered while the listener is still running
    release.set()
    await rt.drain(1.0)
    assert finished.is_set()


async def test_bolt_reads_the_wrapped_listeners_arguments(rt: Runtime) -> None:
    class Listener:  # palbot's listeners are bound methods and callable objects
        async def __call__(self, ack: Any, command: dict[str, Any], context: Any) -> None:
            await ack(f"{command['user_id']} in {context['team_id']}")

    app = bolt()
    app.command("/pal")(answer_at_ack(rt, Listener()))
    resp = await command(app)
    assert resp.body == "U1 in T1"


async def test_a_failure_before_the_ack_is_an_error_answer(rt: Runtime) -> None:
    app = bolt()

    async def listener(ack: Any) -> None:
        raise RuntimeError("broken before the ack")

    app.command("/pal")(answer_at_ack(rt, listener))
    resp = await command(app)
    assert resp.status == 500


async def test_a_failure_after_the_ack_is_logged_not_lost(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    app = bolt()

    async def listener(ack: Any) -> None:
        await ack("on it")
        await asyncio.sleep(0)
        raise RuntimeError("broken after the ack")

    app.command("/pal")(answer_at_ack(rt, listener))
    with caplog.at_level(logging.ERROR):
        resp = await command(app)
        await rt.drain(1.0)
    assert (resp.status, resp.body) == (200, "on it")
    failures = [r for r in caplog.records if r.exc_info and "broken after" in str(r.exc_info[1])]
    assert len(failures) == 1


async def test_a_listener_that_never_acks_is_answered_by_the_deadline(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(module, "ACK_DEADLINE", 0.05)
    app = bolt()
    release = asyncio.Event()

    async def listener(ack: Any) -> None:
        await release.wait()

    app.command("/pal")(answer_at_ack(rt, listener))
    with caplog.at_level(logging.WARNING):
        resp = await asyncio.wait_for(command(app), 1.0)
    assert (resp.status, resp.body) == (200, "")  # an empty ack: never Slack's timeout
    assert any("did not ack" in r.getMessage() for r in caplog.records)
    release.set()
    await rt.drain(1.0)


async def test_event_listeners_run_after_bolts_answer(rt: Runtime) -> None:
    app = bolt()
    release, finished = asyncio.Event(), asyncio.Event()

    async def listener(event: dict[str, Any]) -> None:
        await release.wait()
        finished.set()

    app.event("app_home_opened")(answer_at_ack(rt, listener))
    payload = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event": {"type": "app_home_opened", "user": "U1", "tab": "home"},
    }
    req = AsyncBoltRequest(body=json.dumps(payload), headers={"content-type": ["application/json"]})
    resp = await asyncio.wait_for(app.async_dispatch(req), 1.0)
    assert resp.status == 200 and not finished.is_set()
    release.set()
    await rt.drain(1.0)
    assert finished.is_set()
