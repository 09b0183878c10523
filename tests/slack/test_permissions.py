"""Issue 16, item 7: who may create, edit (patch) and delete PALs is each workspace's choice, and
pointing a PAL's speech at another model or voice server is for admins only. Every refusal says
who may, is audited `denied`, and sends nothing to the PAL API."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import ADMIN, USER, PalbotHandle
from tests.slack.test_pals import open_create

OTHER = "U_OTHER"
RENAME = json.dumps([{"op": "replace", "path": "/pal_name", "value": "Renamed"}])


def make_pal(sandbox: SandboxHandle, **extra: Any) -> str:
    from tests.slack.test_pals import make_pal as sandbox_pal

    return sandbox_pal(sandbox, SANDBOX_KEY, **extra)


def said(fake_slack: FakeSlack, needle: str, count: int = 1) -> str:
    found = fake_slack.wait_response(count=count, where=lambda r: needle in json.dumps(r.args))
    return json.dumps(found[-1].args)


def set_permissions(palbot: PalbotHandle, fake_slack: FakeSlack, **choices: str) -> None:
    """As an admin does it: the Limits form, with the permission selects."""
    before = len(fake_slack.of("views.open"))
    palbot.slack.command("limits", user=ADMIN)
    view = fake_slack.wait_for("views.open", count=before + 1)[-1].args["view"]
    values = {f"permission_{verb}": level for verb, level in choices.items()}
    body = palbot.slack.submit({**view, "id": f"V_LIMITS_{before}"}, values, user=ADMIN)
    assert body.status_code == 200 and body.text in ("", "null"), body.text
    said(fake_slack, "Who may change PALs")


def test_by_default_the_creator_and_admins_edit_and_delete(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox), USER)
    # another member: refused, told who may (the creator, by name, and admins)
    refused = palbot.slack.command(f"patch {pal_id} {RENAME}", user=OTHER).json()
    assert "only its creator and workspace admins can change this PAL" in str(refused)
    assert "It was created by <@U_USER>." in str(refused)  # a mention, not escaped text
    refused = palbot.slack.command(f"delete {pal_id}", user=OTHER).json()
    assert "can delete this PAL" in str(refused) and "/pal limits" in str(refused)
    assert sandbox.requests("PATCH") == [] and sandbox.requests("DELETE") == []
    denied = [r for r in palbot.audit() if r.outcome == "denied"]
    assert [(r.action, r.user_id, r.target) for r in denied] == [
        ("pal.patch", OTHER, pal_id),
        ("pal.delete", OTHER, pal_id),
    ]
    assert all(r.detail["policy"] == "creator_and_admins" for r in denied)
    # the creator and an admin go through
    palbot.slack.command(f"patch {pal_id} {RENAME}", user=USER)
    said(fake_slack, "Patched")
    palbot.slack.command(f"patch {pal_id} {RENAME.replace('Renamed', 'Again')}", user=ADMIN)
    said(fake_slack, "Patched", count=2)
    assert len(sandbox.requests("PATCH")) == 2
    # a PAL made outside palbot has no creator here: admins only
    foreign = make_pal(sandbox)
    refused = palbot.slack.command(f"patch {foreign} {RENAME}", user=USER).json()
    assert "only workspace admins (it was not created in Slack)" in str(refused)


def test_admins_choose_who_may_and_the_choice_is_audited(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox), USER)
    set_permissions(palbot, fake_slack, create="admins", edit="admins", delete="everyone")
    [row] = palbot.audit("permissions.set")
    assert row.outcome == "ok" and row.user_id == ADMIN
    assert row.detail["before"] == {
        "create": "everyone",
        "edit": "creator_and_admins",
        "delete": "creator_and_admins",
    }
    assert row.detail["after"] == {"create": "admins", "edit": "admins", "delete": "everyone"}
    # edit: admins only now, the creator included
    refused = palbot.slack.command(f"patch {pal_id} {RENAME}", user=USER).json()
    assert "only workspace admins can change this PAL" in str(refused)
    # create: the form does not even open for a member
    refused = palbot.slack.command("create", user=USER).json()
    assert "only workspace admins can create PALs" in str(refused)
    assert [c for c in fake_slack.of("views.open") if "pal_create" in json.dumps(c.args)] == []
    # delete: everyone, with a confirmation of their own
    palbot.slack.command(f"delete {pal_id}", user=OTHER)
    said(fake_slack, "pal_delete_confirm")
    palbot.slack.block_action("pal_delete_confirm", pal_id, user=OTHER)
    said(fake_slack, "Deleted the PAL")
    assert len(sandbox.requests("DELETE")) == 1 and sandbox.requests("PATCH") == []
    # the form shows the saved choice; saving it unchanged writes no second row
    set_permissions(palbot, fake_slack)
    assert len(palbot.audit("permissions.set")) == 1
    opened = fake_slack.of("views.open")[-1].args["view"]
    selects = {
        b["block_id"]: b["element"]["initial_option"]["value"]
        for b in opened["blocks"]
        if b.get("block_id", "").startswith("permission_")
    }
    assert selects == {
        "permission_create": "admins",
        "permission_edit": "admins",
        "permission_delete": "everyone",
    }


def test_a_member_never_points_a_pal_at_another_model_server(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    set_permissions(palbot, fake_slack, edit="everyone")
    pal_id = make_pal(sandbox, layers={"llm": {"model": "m1", "base_url": "https://llm.ok"}})
    for n, (path, value) in enumerate(
        (
            ("/layers/llm/base_url", "https://attacker.example"),
            ("/layers/llm/api_key", "sk-attacker"),
            ("/layers/tts", {"api_key": "sk-voice", "tts_engine": "cartesia"}),
            ("/layers", {"llm": {"model": "m1", "base_url": "https://attacker.example"}}),
        )
    ):
        ops = json.dumps([{"op": "add", "path": path, "value": value}])
        palbot.slack.command(f"patch {pal_id} {ops}", user=USER)
        refused = said(fake_slack, "change where a PAL's speech goes", count=n + 1)
        assert "attacker" not in refused and "sk-" not in refused
    assert sandbox.requests("PATCH") == []
    rows = palbot.audit("pal.patch")  # each: accepted before the ack, then denied
    assert [r.outcome for r in rows] == ["accepted", "denied"] * 4
    assert rows[1].detail["guarded"] == ["layers.llm.base_url"]
    assert rows[1].detail["accepted_seq"] == rows[0].seq
    # the model itself is not an endpoint: a member may change it
    ops = json.dumps([{"op": "replace", "path": "/layers/llm/model", "value": "m2"}])
    palbot.slack.command(f"patch {pal_id} {ops}", user=USER)
    said(fake_slack, "Patched")
    # an admin may point it elsewhere
    ops = json.dumps([{"op": "replace", "path": "/layers/llm/base_url", "value": "https://b"}])
    palbot.slack.command(f"patch {pal_id} {ops}", user=ADMIN)
    said(fake_slack, "Patched", count=2)
    assert len(sandbox.requests("PATCH")) == 2


def test_the_create_form_refuses_a_members_model_server_and_remembers_the_creator(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    view = open_create(palbot, fake_slack)
    values = {"pal_name": "Mine", "system_prompt": "Be kind.", "default_face_id": "r90bbd427f71"}
    bad = {**values, "layers_json": '{"llm": {"base_url": "https://attacker.example"}}'}
    body = palbot.slack.submit(view, bad, user=USER).json()
    assert body["response_action"] == "errors"
    assert "change where a PAL's speech goes" in body["errors"]["pal_name"]
    assert sandbox.requests("POST", "/v2/pals") == []
    assert palbot.audit("pal.create")[-1].outcome == "denied"
    # the same form without it: created, and its creator remembered
    assert palbot.slack.submit(view, values, user=USER).json()["response_action"] == "update"
    fake_slack.wait_for("views.update", where=lambda c: "Created" in json.dumps(c.args))
    palbot.settle()
    [created] = sandbox.requests("POST", "/v2/pals")
    pal_id = next(r for r in palbot.audit("pal.create") if r.outcome == "ok").target
    assert palbot.store.workspaces.creator_of("T1", pal_id) == USER
    assert created["body"]["pal_name"] == "Mine"
