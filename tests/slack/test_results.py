"""Issue 17, item 4: a call's results in its thread. The transcript as a readable file, the
perception analysis and the recording as short replies, each posted once; the channel message
sums the call up and links to them. When no callback ever brings them (no public URL, or lost
upstream), palbot asks the PAL API for the conversation's events (`?verbose=true`)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import render
from tests.slack.conftest import PalbotHandle
from tests.slack.test_lifecycle import on_server, start_one


def test_without_callbacks_the_results_come_from_a_verbose_look_once(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    conv = start_one(palbot, fake_slack, sandbox, "Weekly", pal_name="Coach")
    assert conv.callback_token_hash is None  # no public URL: no callback will come
    sandbox.shutdown(conv.conversation_id, "participant_left_timeout reached")
    assert on_server(palbot, palbot.bot.lifecycle.poll_once()) == 1
    # not before the callbacks have had their chance…
    assert on_server(palbot, palbot.bot.lifecycle.fetch_missing_results()) == 0
    assert not [r for r in sandbox.requests("GET") if "verbose" in json.dumps(r)]
    # …then one look upstream posts what the conversation's events hold
    assert on_server(palbot, palbot.bot.lifecycle.fetch_missing_results(grace=0)) == 2
    palbot.settle()
    looks = [r for r in sandbox.requests("GET") if "verbose" in json.dumps(r)]
    assert len(looks) == 1
    [upload] = fake_slack.of("files.completeUploadExternal")
    assert upload.args.get("thread_ts") == conv.message_ts
    content = b"".join(fake_slack.uploads.values()).decode()
    assert "Coach: Question 1: tell me more?" in content
    [analysis] = [
        c for c in fake_slack.of("chat.postMessage") if "Perception" in json.dumps(c.args)
    ]
    assert analysis.args["thread_ts"] == conv.message_ts
    vias = [e.detail.get("via") for e in palbot.audit("conversation.callback")]
    assert vias == ["verbose", "verbose"]
    summary = fake_slack.of("chat.update")[-1]
    said = render(summary.args["blocks"])
    assert "everyone left" in said and "Results in the thread" in said
    # each result once: the next look finds nothing missing and asks nothing
    assert on_server(palbot, palbot.bot.lifecycle.fetch_missing_results(grace=0)) == 0
    assert len([r for r in sandbox.requests("GET") if "verbose" in json.dumps(r)]) == 1
    assert len(fake_slack.of("files.completeUploadExternal")) == 1


def test_results_that_came_by_callback_are_not_looked_for(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot: PalbotHandle = make_palbot(public=True)
    conv = start_one(palbot, fake_slack, sandbox, "Weekly", pal_name="Coach")
    sandbox.shutdown(conv.conversation_id, "max_call_duration reached")
    fake_slack.wait_for("files.completeUploadExternal")
    fake_slack.wait_for("chat.update", where=lambda c: "Perception" in json.dumps(c.args))
    palbot.settle()
    assert on_server(palbot, palbot.bot.lifecycle.fetch_missing_results(grace=0)) == 0
    assert not [r for r in sandbox.requests("GET") if "verbose" in json.dumps(r)]
    assert len(fake_slack.of("files.completeUploadExternal")) == 1


def test_without_files_write_the_transcript_is_posted_in_the_thread_and_says_so(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot: PalbotHandle = make_palbot(public=True)
    fake_slack.fail_next("files.getUploadURLExternal", error="missing_scope")
    sandbox.configure(transcript_turns=300)  # longer than messages hold
    conv = start_one(palbot, fake_slack, sandbox, pal_name="Coach")
    sandbox.shutdown(conv.conversation_id, "max_call_duration reached")
    inline = fake_slack.wait_for(
        "chat.postMessage", where=lambda c: "Transcript" in json.dumps(c.args)
    )[-1]
    said = render(inline.args["blocks"])
    assert inline.args["thread_ts"] == conv.message_ts
    assert "*Coach:* Question 1: tell me more?" in said
    assert "Cut short" in said and "files:write" in said
    assert "Question 300" not in said


def test_a_conversation_is_looked_at_upstream_at_most_every_ten_minutes(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    conv = start_one(palbot, fake_slack, sandbox, pal_name="Coach")
    sandbox.shutdown(conv.conversation_id, "participant_left_timeout reached")
    assert on_server(palbot, palbot.bot.lifecycle.poll_once()) == 1
    path = f"/v2/conversations/{conv.conversation_id}"
    sandbox.fault(method="GET", path=path, status=503, times=10)  # upstream is down
    assert on_server(palbot, palbot.bot.lifecycle.fetch_missing_results(grace=0)) == 0
    looks = len(sandbox.requests("GET", path))
    assert looks >= 1
    # the poller's next rounds, seconds later: no new look at the same conversation
    for _ in range(3):
        assert on_server(palbot, palbot.bot.lifecycle.fetch_missing_results(grace=0)) == 0
    assert len(sandbox.requests("GET", path)) == looks
    assert fake_slack.of("files.completeUploadExternal") == []


def test_results_posted_before_the_end_is_recorded_are_linked_when_it_is(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from tests.slack.test_lifecycle import callbacks_of, post_callback, wait

    palbot: PalbotHandle = make_palbot(public=True)
    no_perception = {"perception": {"perception_model": "off"}}  # no result after the end
    conv = start_one(palbot, fake_slack, sandbox, pal_name="Coach", layers=no_perception)
    token = sandbox.callback_token(conv.conversation_id)
    early = {  # the transcript overtakes the shutdown
        "conversation_id": conv.conversation_id,
        "event_type": "application.transcription_ready",
        "message_type": "application",
        "timestamp": "2026-11-26T01:00:00Z",
        "properties": {"transcript": [{"role": "user", "content": "hello there"}]},
    }
    assert post_callback(palbot, token, early).json()["result"] == "accepted"
    fake_slack.wait_for("files.completeUploadExternal")
    palbot.settle()
    assert not [u for u in fake_slack.of("chat.update") if "Results in" in json.dumps(u.args)]
    sandbox.shutdown(conv.conversation_id, "max_call_duration reached")
    wait(lambda: "system.shutdown" in callbacks_of(palbot))
    summary = fake_slack.wait_for(
        "chat.update",
        where=lambda c: (
            "Results in the thread" in json.dumps(c.args) and "|Transcript>" in json.dumps(c.args)
        ),
    )[-1]
    assert "maximum call duration" in render(summary.args["blocks"])
