"""/pal key: admins only, checked live, stored encrypted, status masked, remove."""

from __future__ import annotations

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


def test_key_remove(palbot: PalbotHandle, fake_slack: FakeSlack) -> None:
    palbot.connect_key()
    palbot.slack.command("key remove", user=ADMIN)
    fake_slack.wait_response(where=lambda r: "removed" in str(r.args))
    assert palbot.store.workspaces.get_pal_key("T1") is None
    assert palbot.audit("key.remove")[-1].outcome == "ok"
    assert "No PAL API key" in str(palbot.slack.command("key status").json())
