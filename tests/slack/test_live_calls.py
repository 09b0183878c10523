"""Issue 17, item 6: live calls everywhere. `/pal conversations`, App Home and the concurrency-cap
refusal list the account's active conversations as the PAL API reports them, those started
outside Slack included (marked so, End for admins only), never another workspace's."""

from __future__ import annotations

import json
from typing import Any

from palbot.store.models import ConversationRecord
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import check_message, render
from tests.slack.conftest import ADMIN, USER, PalbotHandle
from tests.slack.test_conversations import conversations_answer
from tests.slack.test_lifecycle import start_one
from tests.slack.test_pals import make_pal


def start_outside_slack(sandbox: SandboxHandle, pal_id: str, name: str) -> str:
    """A conversation started on the PAL account directly (its web app, another tool)."""
    answer = sandbox.admin.post(
        "/v2/conversations",
        headers={"x-api-key": SANDBOX_KEY},
        json={"pal_id": pal_id, "conversation_name": name},
    )
    answer.raise_for_status()
    return str(answer.json()["conversation_id"])


def upstream_status(sandbox: SandboxHandle, conversation_id: str) -> str:
    answer = sandbox.admin.get(
        f"/v2/conversations/{conversation_id}", headers={"x-api-key": SANDBOX_KEY}
    )
    return str(answer.json()["status"])


def buttons(message: dict[str, Any], action_id: str) -> list[str]:
    return [
        str(e.get("value"))
        for b in message["blocks"]
        for e in [*b.get("elements", []), b.get("accessory") or {}]
        if e.get("action_id") == action_id
    ]


def test_conversations_started_outside_slack_are_listed_and_only_admins_end_them(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    mine = start_one(palbot, fake_slack, sandbox, "Mine", pal_name="Coach")
    pal_id = mine.pal_id
    kiosk = start_outside_slack(sandbox, pal_id, "Lobby kiosk")
    member = conversations_answer(palbot, fake_slack)
    check_message(member)
    text = render(member["blocks"])
    assert "Live conversations (2)" in text
    assert "Lobby kiosk · :globe_with_meridians: started outside Slack" in text
    assert f"`{kiosk}`" in text
    assert buttons(member, "conversation_end") == [mine.conversation_id]  # their own only
    assert kiosk not in json.dumps(buttons(member, "conversation_join"))  # not palbot's to hand
    admin = conversations_answer(palbot, fake_slack, ADMIN)
    assert set(buttons(admin, "conversation_end")) == {mine.conversation_id, kiosk}
    # a member cannot end it; an admin can, and it is audited as started outside Slack
    palbot.slack.command(f"end {kiosk}")
    assert upstream_status(sandbox, kiosk) == "active"
    palbot.slack.block_action("conversation_end", kiosk, user=ADMIN)
    ended = palbot.wait_audit("conversation.end", "ok")
    assert ended[-1].target == kiosk and ended[-1].detail["outside_slack"] is True
    assert upstream_status(sandbox, kiosk) == "ended"
    refused = [e for e in palbot.audit("conversation.end") if e.outcome == "invalid"]
    assert [e.user_id for e in refused] == [USER]


def test_the_concurrency_cap_refusal_lists_the_accounts_live_calls(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    sandbox.configure(concurrency_cap=1)
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    kiosk = start_outside_slack(sandbox, pal_id, "Lobby kiosk")
    palbot.slack.command(f"start {pal_id}")
    told = fake_slack.wait_response(where=lambda r: "maximum" in json.dumps(r.args))[-1]
    text = render(told.args["blocks"])
    assert "Lobby kiosk" in text and "started outside Slack" in text and kiosk in text
    assert buttons(told.args, "conversation_end") == []  # a member: not theirs to end


def test_app_home_lists_them_and_tells_admins_what_a_reinstall_turns_on(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    kiosk = start_outside_slack(sandbox, pal_id, "Lobby kiosk")
    fake_slack.granted_scopes = ["commands", "chat:write", "users:read", "files:write"]
    palbot.slack.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    view = fake_slack.wait_for("views.publish")[-1].args["view"]
    text = render(view["blocks"])
    assert "Live conversations (1)" in text and kiosk in text and "outside Slack" in text
    assert "Turned off until palbot is reinstalled" in text
    assert "call card on each conversation's message (`calls:write`)" in text
    assert "`links:write`" in text
    assert "`files:write`" not in text  # granted
    fake_slack.granted_scopes = None  # Slack says nothing: palbot says nothing either
    palbot.slack.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    view = fake_slack.wait_for("views.publish", count=2)[-1].args["view"]
    assert "reinstalled" not in render(view["blocks"])
    palbot.slack.event({"type": "app_home_opened", "user": USER, "tab": "home"})
    member = fake_slack.wait_for("views.publish", count=3)[-1].args["view"]
    assert kiosk in render(member["blocks"]) and "reinstalled" not in render(member["blocks"])
    assert kiosk not in json.dumps(buttons(member, "conversation_end"))


def test_when_the_pal_api_cannot_be_asked_palbots_own_are_listed_and_that_is_said(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    start_one(palbot, fake_slack, sandbox, "Mine", pal_name="Coach")
    sandbox.fault(method="GET", path="/v2/conversations", status=503, times=5)
    text = render(conversations_answer(palbot, fake_slack)["blocks"])
    assert "Live conversations (1)" in text and "Mine" in text
    assert "could not be asked" in text


def test_another_workspaces_conversations_are_never_listed(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    theirs = start_outside_slack(sandbox, pal_id, "Their standup")
    # the same PAL account, used by another workspace's palbot: palbot knows it is theirs
    palbot.store.conversations.add(
        ConversationRecord(conversation_id=theirs, team_id="T2", pal_id=pal_id, started_by="U_T2")
    )
    text = render(conversations_answer(palbot, fake_slack, ADMIN)["blocks"])
    assert "Live conversations (0)" in text and theirs not in text
    palbot.slack.command(f"end {theirs}", user=ADMIN)
    assert upstream_status(sandbox, theirs) == "active"
