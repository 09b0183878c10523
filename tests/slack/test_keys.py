"""/pal key: admins only, checked live, stored encrypted, status masked, remove."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import check_view
from tests.slack.conftest import ADMIN, USER, PalbotHandle


def open_key_modal(palbot: PalbotHandle, fake: FakeSlack) -> dict:
    assert palbot.slack.command("key", user=ADMIN).status_code == 200
    view = fake.wait_for("views.open")[-1].args["view"]
    assert view["callback_id"] == "pal_key"
    check_view(view)
    return {**view, "id": "V_KEY"}


def test_admin_connects_a_key(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    view = open_key_modal(palbot, fake_slack)
    resp = palbot.slack.submit(view, {"api_key": SANDBOX_KEY}, user=ADMIN)
    assert resp.status_code == 200 and resp.text in ("", "{}")
    assert palbot.store.workspaces.get_pal_key("T1") == SANDBOX_KEY
    ws = palbot.store.workspaces.get("T1")
    assert ws and ws.key_last4 == "1111" and ws.key_set_by == ADMIN
    assert len(sandbox.requests("GET", "/v2/pals")) == 1  # checked live first
    done = fake_slack.wait_response(where=lambda r: "connected" in str(r.args))
    assert SANDBOX_KEY not in str(done[-1].args)
    [row] = palbot.audit("key.set")
    assert row.outcome == "ok" and SANDBOX_KEY not in row.model_dump_json()


def test_refused_key_is_a_field_error(palbot: PalbotHandle, fake_slack: FakeSlack) -> None:
    view = open_key_modal(palbot, fake_slack)
    resp = palbot.slack.submit(view, {"api_key": "sk-not-a-real-key-0000"}, user=ADMIN)
    body = resp.json()
    assert body["response_action"] == "errors" and "refused" in body["errors"]["api_key"]
    assert palbot.store.workspaces.get_pal_key("T1") is None
    assert palbot.audit("key.set")[-1].outcome == "invalid"
    short = palbot.slack.submit(view, {"api_key": "has space"}, user=ADMIN).json()
    assert short["response_action"] == "errors"


def test_slow_pal_api_gets_checking_view_then_result(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    view = open_key_modal(palbot, fake_slack)
    sandbox.fault(method="GET", path="/v2/pals", latency=3.0, times=1)
    resp = palbot.slack.submit(view, {"api_key": SANDBOX_KEY}, user=ADMIN)
    body = resp.json()
    assert body["response_action"] == "update" and "Checking" in str(body["view"])
    check_view(body["view"])
    update = fake_slack.wait_for("views.update", timeout=10)[-1]
    assert "connected" in str(update.args["view"])
    assert palbot.store.workspaces.get_pal_key("T1") == SANDBOX_KEY
    outcomes = [e.outcome for e in palbot.audit("key.set")]
    assert outcomes == ["accepted", "ok"]
    assert palbot.audit("key.set")[-1].detail["accepted_seq"] == palbot.audit("key.set")[0].seq


def test_non_admin_cannot_connect_or_remove(palbot: PalbotHandle, fake_slack: FakeSlack) -> None:
    palbot.slack.command("key", user=USER)
    denial = fake_slack.wait_response(where=lambda r: "Only workspace admins" in str(r.args))
    assert denial
    assert fake_slack.of("views.open") == []
    palbot.connect_key()
    palbot.slack.command("key remove", user=USER)
    fake_slack.wait_response(count=2, where=lambda r: "Only workspace admins" in str(r.args))
    assert palbot.store.workspaces.get_pal_key("T1") == SANDBOX_KEY
    # a forged submission of the key modal by a non-admin is refused too
    view = {
        "type": "modal",
        "callback_id": "pal_key",
        "id": "V_FORGED",
        "blocks": [
            {
                "type": "input",
                "block_id": "api_key",
                "element": {"type": "plain_text_input", "action_id": "api_key"},
            }
        ],
    }
    body = palbot.slack.submit(view, {"api_key": "sk-attacker-key-9999"}, user=USER).json()
    assert body["response_action"] == "errors"
    assert palbot.store.workspaces.get_pal_key("T1") == SANDBOX_KEY
    assert [e.outcome for e in palbot.audit("key.set")] == ["denied", "denied"]
    assert [e.outcome for e in palbot.audit("key.remove")] == ["denied"]


def test_admin_via_setting_and_owner(make_palbot: Any, fake_slack: FakeSlack) -> None:
    palbot = make_palbot(palbot_admin_users="U_LISTED,U_OTHER")
    palbot.slack.command("key", user="U_LISTED")
    fake_slack.wait_for("views.open")
    fake_slack.owners.add("U_OWNER")
    palbot.slack.command("key", user="U_OWNER")
    fake_slack.wait_for("views.open", count=2)


def test_key_remove_asks_first_names_live_calls_and_tells_them(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """Issue 15, item 9: a confirmation of the admin's own that names the live conversations
    (End buttons to end them first); after removal their messages say how to end them."""
    from tests.slack.blockkit import render
    from tests.slack.test_conversations import started
    from tests.slack.test_pals import make_pal

    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    palbot.slack.command(f"start {pal_id} standup")
    [join] = started(palbot, fake_slack)
    [live] = palbot.store.conversations.list_active("T1")
    palbot.slack.command("key remove", user=ADMIN)
    [ask] = fake_slack.wait_response(where=lambda r: "key_remove_confirm" in json.dumps(r.args))
    text = render(ask.args["blocks"])
    assert "Remove the workspace's PAL API key ending in `1111`?" in text
    assert "1 conversation is live." in text and "*Coach* · standup" in text
    assert f"`{live.conversation_id}`" in text and "[End]" in text
    assert palbot.store.workspaces.get_pal_key("T1") == SANDBOX_KEY  # nothing removed yet
    # another admin's click: not theirs to use
    fake_slack.owners.add("U_OWNER")
    palbot.slack.block_action("key_remove_confirm", "remove", user="U_OWNER")
    fake_slack.wait_response(where=lambda r: "shown to someone else" in json.dumps(r.args))
    assert palbot.store.workspaces.get_pal_key("T1") == SANDBOX_KEY
    palbot.slack.block_action("key_remove_confirm", "remove", user=ADMIN)
    done = fake_slack.wait_response(where=lambda r: "was removed" in json.dumps(r.args))
    assert "The live conversation's message says so." in json.dumps(done[-1].args)
    assert palbot.store.workspaces.get_pal_key("T1") is None
    told = fake_slack.wait_for(
        "chat.update", where=lambda c: "key was removed" in json.dumps(c.args)
    )
    assert told[-1].args["ts"] == join.args["ts"]
    assert "conversation_end" not in json.dumps(told[-1].args)  # no End that cannot work
    assert "conversation_join" in json.dumps(told[-1].args)  # the call still runs
    assert [r.outcome for r in palbot.audit("key.remove")] == ["ok"]
    assert "No PAL API key" in str(palbot.slack.command("key status").json())
    # the button again: single use
    palbot.slack.block_action("key_remove_confirm", "remove", user=ADMIN)
    fake_slack.wait_response(where=lambda r: "has expired" in json.dumps(r.args))


def test_the_key_form_keeps_its_title_through_its_flow(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """Issue 15, item 12: one title per modal, from opening to the result (a slow check)."""
    palbot.slack.command("key", user=ADMIN)
    opened = fake_slack.wait_for("views.open")[-1].args["view"]
    sandbox.fault(method="GET", path="/v2/pals", latency=2.6, times=1)
    body = palbot.slack.submit(opened, {"api_key": SANDBOX_KEY}, user=ADMIN).json()
    assert body["response_action"] == "update"
    done = fake_slack.wait_for("views.update", where=lambda c: "connected" in json.dumps(c.args))
    titles = {
        opened["title"]["text"],
        body["view"]["title"]["text"],
        done[-1].args["view"]["title"]["text"],
    }
    assert titles == {"Connect PAL API key"}
