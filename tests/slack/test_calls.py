"""Issue 17, item 1: a PAL conversation is a Slack call. Its message carries Slack's native call
card (Calls API); the PAL joins it as a participant; the card ends with the conversation and
says how long it lasted. Where the Calls API is not available, nothing is lost: the message is
palbot's own, with the Join button, as before."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from tests.conftest import SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import PalbotHandle
from tests.slack.test_lifecycle import callbacks_of, start_one, wait


def card(call: Any) -> list[dict[str, Any]]:
    return [b for b in call.args.get("blocks") or [] if b.get("type") == "call"]


def test_the_call_card_follows_the_conversation_from_add_to_end(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot: PalbotHandle = make_palbot(public=True)
    conv = start_one(palbot, fake_slack, sandbox, "Weekly", pal_name="Coach")
    [added] = fake_slack.of("calls.add")
    assert added.args["external_unique_id"] == conv.conversation_id
    assert added.args["join_url"] == conv.url
    assert added.args["created_by"] == "U_USER"
    assert added.args["title"] == "Conversation with Coach"
    call_id = added.result["call"]["id"]  # type: ignore[index]
    join = next(c for c in fake_slack.of("chat.update") if card(c))
    assert card(join) == [{"type": "call", "call_id": call_id}]
    assert "conversation_end" in json.dumps(join.args)  # palbot's End stays beside the card
    assert palbot.store.conversations.get(conv.conversation_id).slack_call_id == call_id  # type: ignore[union-attr]
    # the PAL joins: it appears among the call's participants
    [joined] = fake_slack.wait_for("calls.participants.add")
    assert joined.args["id"] == call_id
    users = joined.args["users"]
    users = json.loads(users) if isinstance(users, str) else users
    assert users == [{"external_id": f"pal:{conv.pal_id}", "display_name": "Coach"}]
    # it ends upstream, over a second later: the card ends with the conversation's duration
    time.sleep(1.1)
    sandbox.shutdown(conv.conversation_id, "max_call_duration reached")
    wait(lambda: "system.shutdown" in callbacks_of(palbot))
    [ended] = fake_slack.wait_for("calls.end")
    record = palbot.store.conversations.get(conv.conversation_id)
    assert record is not None and record.status == "ended"
    assert ended.args["id"] == call_id
    # the right duration: the conversation's own, from its creation to its recorded end
    began = datetime.fromisoformat(record.created_at.replace("Z", "+00:00"))
    over = datetime.fromisoformat((record.ended_at or "").replace("Z", "+00:00"))
    assert int(ended.args["duration"]) == int((over - began).total_seconds()) >= 1
    # the message follows the card (calls.end goes first, the message's update after it)
    last = fake_slack.wait_for(
        "chat.update", where=lambda c: "maximum call duration" in json.dumps(c.args)
    )[-1]
    assert card(last) == [{"type": "call", "call_id": call_id}]
    assert "conversation_join" not in json.dumps(last.args)
    palbot.settle()  # and nothing later brings Join back (the results' summary included)
    updates = fake_slack.of("chat.update")
    after = updates[updates.index(last) :]
    assert all("conversation_join" not in json.dumps(u.args) for u in after)


def test_without_the_calls_api_the_message_is_as_before(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot: PalbotHandle = make_palbot(public=True)
    fake_slack.fail_next("calls.add", error="missing_scope")  # an older install
    conv = start_one(palbot, fake_slack, sandbox, "Weekly", pal_name="Coach")
    assert len(fake_slack.of("calls.add")) == 1
    join = fake_slack.wait_for(
        "chat.update", where=lambda c: "conversation_join" in json.dumps(c.args)
    )[-1]
    assert card(join) == [] and conv.url in json.dumps(join.args)
    assert palbot.store.conversations.get(conv.conversation_id).slack_call_id is None  # type: ignore[union-attr]
    fake_slack.wait_for("chat.update", where=lambda c: "PAL joined" in json.dumps(c.args))
    assert fake_slack.of("calls.participants.add") == []
