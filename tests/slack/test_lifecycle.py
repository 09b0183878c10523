"""Following a conversation to its end: real callbacks from the sandbox over HTTP, the poller."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import check_message, render
from tests.slack.conftest import PalbotHandle
from tests.slack.test_conversations import started
from tests.slack.test_pals import make_pal


def start_one(
    palbot: PalbotHandle, fake: FakeSlack, sandbox: SandboxHandle, text: str = "", **pal: Any
) -> Any:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, **pal)
    palbot.slack.command(f"start {pal_id} {text}".strip())
    started(palbot, fake)
    [conv] = palbot.store.conversations.list_active("T1")
    return conv


def callbacks_of(palbot: PalbotHandle) -> list[str]:
    return [e.detail["event_type"] for e in palbot.audit("conversation.callback")]


def wait(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_full_happy_path(make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle) -> None:
    palbot = make_palbot(public=True)
    conv = start_one(palbot, fake_slack, sandbox, "Interview", pal_name="Coach")
    sent = sandbox.requests("POST", "/v2/conversations")[0]["body"]
    token = sandbox.callback_token(conv.conversation_id)
    assert token and len(token) >= 40
    assert sent["callback_url"] == f"{palbot.bot.settings.palbot_public_url}/pal/callbacks/{token}"
    # palbot keeps only the token's hash: the database holds no usable callback URL
    assert conv.callback_token_hash == hashlib.sha256(token.encode()).hexdigest()
    db_file = Path(palbot.bot.settings.palbot_database)
    assert token.encode() not in db_file.read_bytes() + Path(f"{db_file}-wal").read_bytes()
    # replica joined → "PAL joined"
    fake_slack.wait_for("chat.update", where=lambda c: "PAL joined" in json.dumps(c.args))
    # the call ends upstream (max duration): shutdown, transcript, analysis
    sandbox.shutdown(conv.conversation_id, "max_call_duration reached")
    ended = fake_slack.wait_for(
        "chat.update", where=lambda c: "maximum call duration" in json.dumps(c.args)
    )
    check_message(ended[-1].args)
    assert "conversation_join" not in json.dumps(ended[-1].args)
    record = palbot.store.conversations.get(conv.conversation_id)
    assert (
        record
        and record.status == "ended"
        and record.end_reason == ("max_call_duration reached")
        and record.ended_by is None
    )
    # the transcript: a readable file in the thread, never a wall of messages
    [upload] = fake_slack.wait_for("files.completeUploadExternal")
    assert upload.args.get("thread_ts") == conv.message_ts
    assert "Transcript (8 turns" in str(upload.args.get("initial_comment"))
    content = b"".join(fake_slack.uploads.values()).decode()
    assert "\n\nCoach: Question 1: tell me more?\n\nParticipant: Answer 1" in content
    fake_slack.wait_for(
        "chat.postMessage",
        where=lambda c: (
            c.args.get("thread_ts") == conv.message_ts
            and "Perception analysis" in json.dumps(c.args)
        ),
    )
    # the channel message sums it up and links to the results in its thread
    summary = fake_slack.wait_for(
        "chat.update", where=lambda c: "Perception analysis" in json.dumps(c.args)
    )[-1]
    check_message(summary.args)
    said = render(summary.args["blocks"])
    assert "Started by <@U_USER>" in said and "maximum call duration" in said
    assert "lasted" in said and "Results in the thread" in said
    assert "https://fake.slack.com/files/F" in json.dumps(summary.args)  # the transcript
    assert "https://fake.slack.com/archives/" in json.dumps(summary.args)  # the analysis
    assert set(wait(lambda: len(callbacks_of(palbot)) >= 4 and callbacks_of(palbot))) == {
        "system.replica_joined",
        "system.shutdown",
        "application.transcription_ready",
        "application.perception_analysis",
    }
    assert all(c["status"] == 200 for c in sandbox.callbacks())


def test_end_from_slack_then_callbacks(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot = make_palbot(public=True)
    conv = start_one(palbot, fake_slack, sandbox)
    palbot.slack.command(f"end {conv.conversation_id}")
    fake_slack.wait_for("files.completeUploadExternal")
    wait(lambda: "application.perception_analysis" in callbacks_of(palbot))
    palbot.settle()
    updates = [c for c in fake_slack.of("chat.update") if "ended" in json.dumps(c.args)]
    # whichever arrives first, our end or upstream's shutdown callback, the message ends up
    # saying who ended it, without a Join button (then, again, with links to the results)
    ends = [c for c in updates if "Results in the thread" not in json.dumps(c.args)]
    assert 1 <= len(ends) <= 2
    assert "ended by &lt;" not in json.dumps(updates[-1].args)
    assert "ended by <@U_USER>" in json.dumps(updates[-1].args)
    assert "conversation_join" not in json.dumps(updates[-1].args)
    record = palbot.store.conversations.get(conv.conversation_id)
    assert record is not None and record.ended_by == "U_USER"


def test_recording_and_long_transcript_as_file(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot = make_palbot(public=True)
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    sandbox.configure(transcript_turns=400)
    # recording enabled on the conversation upstream (palbot does not ask for it by default)
    palbot.slack.command(f"start {pal_id}")
    started(palbot, fake_slack)
    [conv] = palbot.store.conversations.list_active("T1")
    for c in sandbox.sandbox.state.accounts[SANDBOX_KEY].conversations.values():  # type: ignore
        c["properties"]["enable_recording"] = True
    sandbox.shutdown(conv.conversation_id, "participant_left_timeout reached")
    upload = fake_slack.wait_for("files.completeUploadExternal")
    assert upload[-1].args.get("thread_ts") == conv.message_ts
    content = b"".join(fake_slack.uploads.values()).decode()
    assert content.count("Participant: Answer") == 400  # the whole transcript, never cut
    assert "Question 400" in content
    rec = fake_slack.wait_for(
        "chat.postMessage", where=lambda c: "recording is ready" in json.dumps(c.args)
    )
    assert "s3://sandbox-recordings/" in json.dumps(rec[-1].args)
    assert "everyone left" in json.dumps(fake_slack.of("chat.update")[-1].args)


def post_callback(palbot: PalbotHandle, token: str, body: Any) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{palbot.url}/pal/callbacks/{token}",
        content=raw,
        headers={"content-type": "application/json"},
    )


def test_duplicates_out_of_order_forged_and_malformed(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot = make_palbot(public=True)
    sandbox.configure(callback_delay=30)  # the sandbox stays quiet: this test sends the events
    conv = start_one(palbot, fake_slack, sandbox)
    token = sandbox.callback_token(conv.conversation_id)
    envelope = {
        "conversation_id": conv.conversation_id,
        "message_type": "system",
        "timestamp": "2026-11-25T00:00:00Z",
    }
    # out of order: shutdown before replica_joined
    shutdown = {
        **envelope,
        "event_type": "system.shutdown",
        "properties": {"shutdown_reason": "participant_absent_timeout reached"},
    }
    assert post_callback(palbot, token, shutdown).json()["result"] == "accepted"
    assert post_callback(palbot, token, shutdown).json()["result"] == "duplicate"
    fake_slack.wait_for("chat.update", where=lambda c: "nobody joined" in json.dumps(c.args))
    joined = {**envelope, "event_type": "system.replica_joined", "properties": {}}
    assert post_callback(palbot, token, joined).status_code == 200
    palbot.settle()
    assert not any("PAL joined" in json.dumps(c.args) for c in fake_slack.of("chat.update"))
    assert callbacks_of(palbot) == ["system.shutdown", "system.replica_joined"]
    # forged tokens and mismatched conversations: 404, nothing recorded
    assert post_callback(palbot, "x" * 43, joined).status_code == 404
    assert post_callback(palbot, "short", joined).status_code == 404
    other = {**joined, "conversation_id": "cSomeoneElse"}
    assert post_callback(palbot, token, other).status_code == 404
    # malformed and oversized bodies
    assert post_callback(palbot, token, b"{not json").status_code == 400
    assert post_callback(palbot, token, {"event_type": "x"}).status_code == 400
    assert post_callback(palbot, token, [1, 2]).status_code == 400
    huge = {**joined, "properties": {"blob": "x" * 3_000_000}}
    assert post_callback(palbot, token, huge).status_code == 413
    # an unknown event type is accepted and audited, and changes nothing
    assert (
        post_callback(palbot, token, {**envelope, "event_type": "system.future_thing"}).status_code
        == 200
    )
    assert len(palbot.audit("conversation.callback")) == 3


def on_server(palbot: PalbotHandle, coro: Any) -> Any:
    """Run a coroutine on the server's own event loop (where its connection pools live)."""
    assert palbot.bot.loop is not None
    return asyncio.run_coroutine_threadsafe(coro, palbot.bot.loop).result(timeout=30)


def test_poller_catches_an_ended_call(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    conv = start_one(palbot, fake_slack, sandbox)
    assert conv.callback_token_hash is None  # no public URL: no callback_url was sent
    assert "callback_url" not in sandbox.requests("POST", "/v2/conversations")[0]["body"]
    sandbox.shutdown(conv.conversation_id, "participant_left_timeout reached")
    # one poll round (the server's own poller runs every PALBOT_POLL_INTERVAL seconds)
    ended = on_server(palbot, palbot.bot.lifecycle.poll_once())
    assert ended == 1
    update = fake_slack.wait_for(
        "chat.update", where=lambda c: "everyone left" in json.dumps(c.args)
    )
    assert "conversation_join" not in json.dumps(update[-1].args)
    assert palbot.store.conversations.get(conv.conversation_id).status == "ended"  # type: ignore
    assert on_server(palbot, palbot.bot.lifecycle.poll_once()) == 0


def test_background_poller_runs_on_its_interval(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot = make_palbot(palbot_poll_interval=0.2)
    conv = start_one(palbot, fake_slack, sandbox)
    sandbox.shutdown(conv.conversation_id, "max_call_duration reached")
    fake_slack.wait_for(
        "chat.update", where=lambda c: "maximum call duration" in json.dumps(c.args)
    )


def test_an_end_from_slack_is_said_one_way_whoever_records_it(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """Issue 15, item 12: upstream's shutdown callback can arrive while palbot still waits for
    the answer to its End; the message says "ended by @X", never "ended because …" first."""
    palbot = make_palbot(public=True)
    sandbox.configure(callback_delay=30)  # the test sends the callback itself, mid-End
    conv = start_one(palbot, fake_slack, sandbox, "Race")
    token = sandbox.callback_token(conv.conversation_id)
    end_path = f"/v2/conversations/{conv.conversation_id}/end"
    sandbox.fault(method="POST", path=end_path, latency=1.0, times=1)
    ender = threading.Thread(target=palbot.slack.command, args=(f"end {conv.conversation_id}",))
    ender.start()
    wait(lambda: sandbox.requests("POST", end_path))  # the End is waiting for upstream
    shutdown = {
        "conversation_id": conv.conversation_id,
        "event_type": "system.shutdown",
        "message_type": "system",
        "properties": {"shutdown_reason": "end_conversation_endpoint_hit"},
    }
    assert post_callback(palbot, token, shutdown).status_code == 200
    ender.join(timeout=10)
    fake_slack.wait_response(where=lambda r: "Ended the conversation" in json.dumps(r.args))
    palbot.settle()
    ended = [
        json.dumps(c.args)
        for c in fake_slack.of("chat.update")
        if c.args.get("ts") == conv.message_ts and "white_check_mark" in json.dumps(c.args)
    ]
    assert ended and all("ended by <@U_USER>" in text for text in ended), ended


def test_pal_joined_overtaken_by_the_end_never_has_the_last_word(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """The PAL joins and the call is ended at once: "PAL joined" (slow on the network) reaches
    Slack after "ended". palbot checks again once its update is sent, and says it ended."""
    palbot = make_palbot(public=True)
    fake_slack.slow_arrivals.append(
        ("chat.update", lambda args: "PAL joined" in json.dumps(args), 1.0)
    )
    conv = start_one(palbot, fake_slack, sandbox, "Weekly", pal_name="Coach")
    wait(lambda: "system.replica_joined" in callbacks_of(palbot))
    palbot.slack.command(f"end {conv.conversation_id}")
    palbot.wait_audit("conversation.end", "ok")
    fake_slack.wait_for("chat.update", where=lambda c: "PAL joined" in json.dumps(c.args))
    palbot.settle()
    updates = fake_slack.of("chat.update")
    joined_at = max(i for i, u in enumerate(updates) if "PAL joined" in json.dumps(u.args))
    last = updates[-1]
    assert joined_at < len(updates) - 1  # something was said after the stale "PAL joined"
    assert "ended by" in render(last.args["blocks"]) and "conversation_join" not in json.dumps(
        last.args
    )
