"""Every refusal, for every admin-only entry on every surface: the words the member reads, the
`denied` row (who, where, what, why), and that nothing else happened. And the audit rows of the
actions that go through: who, where and what, on the `accepted` row and on the row closing it.
(Written against the mutants `mutmut run` left alive; see README, "Mutation testing".)"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from palbot.services.errors import Invalid
from palbot.services.limits import day_start, parse_limits
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import ADMIN, USER, PalbotHandle
from tests.slack.test_conversations import started
from tests.slack.test_pals import make_pal

COMMANDS = "Only workspace admins and owners (or users listed in PALBOT_ADMIN_USERS) can {what}."
FORMS = "Only workspace admins can {what}."


def member_command(text: str) -> Callable[[PalbotHandle, str], Any]:
    return lambda palbot, pal_id: palbot.slack.command(text.format(pal_id=pal_id), user=USER)


def member_click(action_id: str) -> Callable[[PalbotHandle, str], Any]:
    return lambda palbot, pal_id: palbot.slack.block_action(action_id, pal_id, user=USER)


ADMIN_ONLY = [
    # (what the member does, audit action, what it says they cannot do, the target it names)
    (member_command("key"), "key.set", "connect the PAL API key", None),
    (member_command("key remove"), "key.remove", "remove the PAL API key", None),
    (member_command("audit 5"), "audit.read", "read the audit log", None),
    (member_command("limits"), "limits.set", "set limits", None),
    (member_click("home_connect_key"), "key.set", "connect the PAL API key", None),
    (member_click("home_limits"), "limits.set", "set limits", None),
]


@pytest.mark.parametrize(("act", "action", "what", "target"), ADMIN_ONLY)
def test_every_admin_only_entry_refuses_a_member(
    palbot: PalbotHandle,
    fake_slack: FakeSlack,
    sandbox: SandboxHandle,
    act: Callable[[PalbotHandle, str], Any],
    action: str,
    what: str,
    target: str | None,
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    before = len(sandbox.requests())
    assert act(palbot, pal_id).status_code == 200
    text = COMMANDS.format(what=what)
    fake_slack.wait_response(where=lambda r: text in json.dumps(r.args))
    palbot.settle()
    rows = palbot.audit(action)
    denied = rows[-1]
    assert denied.outcome == "denied" and denied.user_id == USER and denied.team_id == "T1"
    assert denied.target == (pal_id if target else None)
    assert denied.detail["reason"] == "not an admin"
    assert len(rows) == 1 and "accepted_seq" not in denied.detail
    # (who may delete or change a PAL is the workspace's choice: tests/slack/test_permissions.py)
    assert fake_slack.of("views.open") == []  # no form opened for them
    assert len(sandbox.requests()) == before  # and the PAL API was not asked anything
    assert palbot.store.workspaces.get_pal_key("T1") == SANDBOX_KEY


@pytest.mark.parametrize(
    ("callback_id", "field", "values", "action", "what"),
    [
        (
            "pal_key",
            "api_key",
            {"api_key": "sk-attacker-0000"},
            "key.set",
            "connect the PAL API key",
        ),
        ("pal_limits", "max_concurrent", {"max_concurrent": "9"}, "limits.set", "set limits"),
    ],
)
def test_admin_forms_refuse_a_member_at_the_field(
    palbot: PalbotHandle,
    fake_slack: FakeSlack,
    callback_id: str,
    field: str,
    values: dict[str, str],
    action: str,
    what: str,
) -> None:
    view = {
        "type": "modal",
        "callback_id": callback_id,
        "id": "V_FORGED",
        "private_metadata": json.dumps({"channel_id": "C_FROM"}),
        "blocks": [
            {
                "type": "input",
                "block_id": name,
                "element": {"type": "plain_text_input", "action_id": name},
            }
            for name in values
        ],
    }
    body = palbot.slack.submit(view, values, user=USER).json()
    assert body == {"response_action": "errors", "errors": {field: FORMS.format(what=what)}}
    [denied] = palbot.audit(action)
    assert (denied.outcome, denied.user_id, denied.channel_id) == ("denied", USER, "C_FROM")
    assert denied.detail == {"reason": "not an admin"} and denied.target is None


def test_audit_rows_say_who_where_and_what(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY))
    palbot.slack.command(f"start {pal_id} weekly", channel="C_SYNC")
    started(palbot, fake_slack)
    accepted, ok = palbot.audit("conversation.start")
    [conv] = palbot.store.conversations.list_active("T1")
    assert (accepted.user_id, accepted.channel_id, accepted.target) == (USER, "C_SYNC", pal_id)
    assert accepted.detail == {
        "test_mode": False,
        "conversation_name": "weekly",
        "audio_only": False,
        "language": None,
        "context_chars": 0,  # a context and a greeting by their length: they may quote people
        "greeting_chars": 0,
        "max_call_duration": None,
        "closed_captions": False,
        "recording": False,
        "private": False,
        "in_thread": False,
    }
    assert (ok.user_id, ok.channel_id, ok.target) == (USER, "C_SYNC", conv.conversation_id)
    assert ok.detail["accepted_seq"] == accepted.seq and ok.detail["pal_id"] == pal_id
    # an inline patch: the same who/where/what on both rows
    rename = '[{"op":"replace","path":"/pal_name","value":"Renamed"}]'
    palbot.slack.command(f"patch {pal_id} {rename}", channel="C_EDIT")
    fake_slack.wait_response(where=lambda r: "Patched" in json.dumps(r.args))
    palbot.settle()
    p_accepted, p_ok = palbot.audit("pal.patch")
    for row in (p_accepted, p_ok):
        assert (row.user_id, row.channel_id, row.target) == (USER, "C_EDIT", pal_id)
    assert p_accepted.detail["ops"][0]["path"] == "/pal_name" and p_ok.detail["changed"] is True
    # the audit command reads and records the read, with how many rows
    palbot.slack.command("audit 3", user=ADMIN, channel="C_ADMIN")
    fake_slack.wait_response(where=lambda r: "audit" in json.dumps(r.args).lower())
    palbot.settle()
    [read] = palbot.audit("audit.read")
    assert (read.outcome, read.user_id, read.channel_id) == ("ok", ADMIN, "C_ADMIN")
    assert read.detail == {"rows": 3}


def test_limits_rows_and_bounds(palbot: PalbotHandle, fake_slack: FakeSlack) -> None:
    palbot.slack.command("limits", user=ADMIN, channel="C_ADMIN")
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    bad = palbot.slack.submit(view, {"max_per_day": "100001"}, user=ADMIN).json()
    assert bad["errors"] == {
        "max_per_day": "A whole number from 1 to 100000, or empty for no limit."
    }
    good = palbot.slack.submit(
        view, {"max_concurrent": "1000", "max_per_day": "100000"}, user=ADMIN
    )
    assert good.status_code == 200
    invalid, ok = palbot.audit("limits.set")
    assert (invalid.outcome, invalid.user_id, invalid.detail) == (
        "invalid",
        ADMIN,
        {"field": "max_per_day"},
    )
    assert (ok.outcome, ok.user_id) == ("ok", ADMIN)
    assert ok.detail == {"max_concurrent": 1000, "max_per_day": 100000, "max_call_duration": None}
    workspace = palbot.store.workspaces.get("T1")
    assert workspace is not None and workspace.limits_set_by == ADMIN


def test_parse_limits_bounds_are_inclusive() -> None:
    assert (
        parse_limits({"max_concurrent": "1000", "max_call_duration": "10"}).max_concurrent == 1000
    )
    assert parse_limits({"max_per_day": "1"}).max_per_day == 1
    for field, raw in (
        ("max_concurrent", "1001"),
        ("max_concurrent", "0"),
        ("max_call_duration", "9"),
        ("max_call_duration", "14401"),
        ("max_per_day", "-1"),
        ("max_per_day", "2.5"),
    ):
        with pytest.raises(Invalid) as refused:
            parse_limits({field: raw})
        assert refused.value.field == field


def test_a_day_starts_at_midnight_utc() -> None:
    moment = datetime(2026, 11, 26, 17, 42, 13, 123456, tzinfo=UTC)
    assert day_start(moment) == "2026-11-26T00:00:00.000000Z"
    assert day_start().endswith("T00:00:00.000000Z")


def test_failures_answer_in_the_right_place(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    # a button with a malformed value: acked, nothing said, nothing sent
    resp = palbot.slack.block_action("pal_patch_button", "not an id!")
    assert resp.status_code == 200 and resp.text in ("", "null")
    palbot.settle()
    assert fake_slack.of("views.open") == [] and fake_slack.responses == []
    # no key, from a button: told in words through the response_url, never in the ack
    palbot.slack.block_action("pal_start_button", "p123")
    fake_slack.wait_response(where=lambda r: "no PAL API key connected" in json.dumps(r.args))
    # no key, on the Start form: a field error at the PAL picker (the form's own field)
    palbot.slack.command("start")  # refused: no key
    view = {
        "type": "modal",
        "callback_id": "pal_start",
        "id": "V_START",
        "blocks": [
            {
                "type": "input",
                "block_id": name,
                "element": {"type": "plain_text_input", "action_id": name},
            }
            for name in ("pal_id", "channel")
        ],
    }
    body = palbot.slack.submit(view, {"pal_id": "p123", "channel": "C1"}).json()
    assert body["response_action"] == "errors" and "no PAL API key" in body["errors"]["pal_id"]
    # after a form's ack, a failure replaces the form under its own title, saying what failed
    palbot.connect_key()
    open_create = palbot.slack.command("create")
    assert open_create.status_code == 200
    created = fake_slack.wait_for("views.open")[-1].args["view"]
    sandbox.fault(method="POST", path="/v2/pals", status=500, times=5)
    values = {"pal_name": "Ann", "system_prompt": "Hi", "default_face_id": "r90bbd427f71"}
    palbot.slack.submit({**created, "id": "V_CREATE"}, values)
    failed = fake_slack.wait_for(
        "views.update", where=lambda c: "The PAL was not created." in json.dumps(c.args)
    )[-1]
    assert failed.args["view"]["title"]["text"] == "Create PAL"


def test_usage_and_failure_words_exactly(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    usage = palbot.slack.command("show").json()
    assert usage["blocks"][0]["text"]["text"] == ":warning: Give the id of the PAL to show."
    assert usage["blocks"][1]["elements"][0]["text"] == "Usage: `/pal show <pal_id>`"
    # without a key: a command is told how to connect one, in its ack
    no_key = palbot.slack.command("list").json()
    assert "PAL Maker" in json.dumps(no_key)
    # a button is told in words through its response_url (the ack of a click carries none)
    palbot.slack.block_action("pal_start_button", "p123")
    [said] = fake_slack.wait_response(where=lambda r: "no PAL API key" in json.dumps(r.args))
    assert said.args["blocks"][0]["text"]["text"].startswith(":warning: This workspace has no")
    # a failure with nothing before it: the reason alone, no stray words or spaces
    palbot.connect_key()
    palbot.slack.command("show p-missing")
    [missing] = fake_slack.wait_response(where=lambda r: "p-missing" in json.dumps(r.args))
    assert missing.args["blocks"][0]["text"]["text"].startswith(":warning: Not found: no PAL")


def at_a_limit_of_one(palbot: PalbotHandle, fake: FakeSlack, sandbox: SandboxHandle) -> str:
    """A workspace allowed one conversation at a time, with one running; the PAL's id."""
    from palbot.store.models import Limits

    palbot.connect_key()
    palbot.store.workspaces.set_limits("T1", Limits(max_concurrent=1), set_by=ADMIN)
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    palbot.slack.command(f"start {pal_id} first")
    started(palbot, fake)
    return pal_id


def test_a_limit_refusal_says_who_can_change_it(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    pal_id = at_a_limit_of_one(palbot, fake_slack, sandbox)
    palbot.slack.command(f"start {pal_id} second")
    [refused] = fake_slack.wait_response(where=lambda r: "at most 1" in json.dumps(r.args))
    assert refused.args["text"] == (
        "This workspace allows at most 1 concurrent conversation, and 1 is active or "
        "starting. End one first. A workspace admin can change it with `/pal limits`."
    )
    # the refusal lists the active conversation, with End for the person who may end it
    [conv] = palbot.store.conversations.list_active("T1")
    ends = [b.get("accessory", {}).get("value") for b in refused.args["blocks"]]
    assert conv.conversation_id in ends
    palbot.slack.command(f"start {pal_id} third", user="U_OTHER")
    [other] = fake_slack.wait_response(
        where=lambda r: "at most 1" in json.dumps(r.args) and r is not refused
    )
    assert "accessory" not in json.dumps(other.args["blocks"][1:])  # not theirs to end
    assert conv.conversation_id in json.dumps(other.args)


def test_a_pal_that_does_not_exist_is_said_before_any_limit(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    at_a_limit_of_one(palbot, fake_slack, sandbox)
    palbot.slack.command("start p-does-not-exist")
    fake_slack.wait_response(where=lambda r: "No PAL `p-does-not-exist`" in json.dumps(r.args))
    assert not any("at most 1" in json.dumps(r.args) for r in fake_slack.responses)


@pytest.mark.parametrize("text", ["-test", "--TEST", "--tset", "weekly \u2014test"])
def test_a_mistyped_flag_never_becomes_a_billed_conversation(
    palbot: PalbotHandle, sandbox: SandboxHandle, text: str
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    answer = palbot.slack.command(f"start {pal_id} {text}").json()
    said = json.dumps(answer)
    assert "is not a flag palbot knows" in said and "Did you mean `--test`?" in said
    palbot.settle()
    assert sandbox.requests("POST", "/v2/conversations") == []
    assert palbot.audit("conversation.start") == []


def test_test_is_a_flag_anywhere_never_part_of_a_name(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    palbot.slack.command(f"start {pal_id} Demo --test please")
    palbot.wait_audit("conversation.start", "ok")
    [sent] = sandbox.requests("POST", "/v2/conversations")
    assert sent["body"] == {"pal_id": pal_id, "conversation_name": "Demo please", "test_mode": True}
