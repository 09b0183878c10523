"""Issue 17, item 2: every start option, in the Start form (`pal_start`) and, for the common ones,
as `/pal start` flags. A private start's link goes to its starter alone (a direct message), the
room asks for its meeting token, and nothing about it is ever posted in a channel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import render
from tests.slack.conftest import ADMIN, PalbotHandle
from tests.slack.test_conversations import started
from tests.slack.test_lifecycle import callbacks_of, start_one, wait
from tests.slack.test_pals import make_pal

START_FIELDS = (
    "pal_id",
    "conversation_name",
    "channel",
    "conversational_context",
    "custom_greeting",
    "properties.language",
    "properties.max_call_duration",
    "audio_only",
    "properties.enable_closed_captions",
    "private",
    "test_mode",
)


def set_call_limit(palbot: PalbotHandle, seconds: int) -> None:
    limits = palbot.store.workspaces.get("T1").limits  # type: ignore[union-attr]
    palbot.store.workspaces.set_limits(
        "T1", limits.model_copy(update={"max_call_duration": seconds}), set_by=ADMIN
    )


def open_start_form(palbot: PalbotHandle, fake: FakeSlack) -> dict[str, Any]:
    palbot.slack.command("start")
    return dict(fake.wait_for("views.open")[-1].args["view"])


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def test_the_start_form_sends_every_option_it_offers(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    set_call_limit(palbot, 600)  # the workspace allows 10 minutes
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    view = open_start_form(palbot, fake_slack)
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == list(START_FIELDS)
    duration = block(view, "properties.max_call_duration")
    assert duration["element"]["max_value"] == "10" and "10 at most" in duration["hint"]["text"]
    assert "Recording is not offered" in render(view["blocks"])  # and why
    answer = palbot.slack.submit(
        view,
        {
            "pal_id": pal_id,
            "conversation_name": "Pricing review",
            "channel": "C_SALES",
            "conversational_context": "Dana from ACME joins; she asked about pricing.",
            "custom_greeting": "Hi Dana!",
            "properties.language": "multilingual",
            "properties.max_call_duration": "5",
            "audio_only": True,
            "properties.enable_closed_captions": True,
        },
    )
    assert answer.status_code == 200 and answer.json()["response_action"] == "update"
    palbot.wait_audit("conversation.start", "ok")
    [sent] = sandbox.requests("POST", "/v2/conversations")
    body = sent["body"]
    assert body["conversational_context"] == "Dana from ACME joins; she asked about pricing."
    assert body["custom_greeting"] == "Hi Dana!"
    assert body["audio_only"] is True
    assert body["properties"] == {
        "language": "multilingual",
        "max_call_duration": 300,  # minutes in the form, seconds upstream
        "enable_closed_captions": True,
    }
    assert "require_auth" not in body and "test_mode" not in body
    placeholder = fake_slack.of("chat.postMessage")[0]
    assert placeholder.args["channel"] == "C_SALES"
    accepted = palbot.audit("conversation.start")[0]
    # the audit says what was asked; a context (it may quote people) by its length only
    assert accepted.detail["context_chars"] == len(body["conversational_context"])
    assert accepted.detail["closed_captions"] is True and accepted.detail["private"] is False
    assert "ACME" not in json.dumps(accepted.detail)


def test_the_start_form_refuses_what_it_cannot_send_at_its_field(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    set_call_limit(palbot, 600)
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    view = open_start_form(palbot, fake_slack)
    for values, field, said in (
        ({"properties.max_call_duration": "11"}, "properties.max_call_duration", "10 minutes"),
        ({"properties.max_call_duration": "0"}, "properties.max_call_duration", "Between 1"),
        ({"properties.max_call_duration": "2.5"}, "properties.max_call_duration", "whole"),
        ({"properties.language": "klingon"}, "properties.language", "from the list"),
        ({"custom_greeting": "x" * 501}, "custom_greeting", "500 characters"),
    ):
        answer = palbot.slack.submit(view, {"pal_id": pal_id, "channel": "C1", **values}).json()
        assert answer["response_action"] == "errors", values
        assert said in answer["errors"][field], answer
    assert sandbox.requests("POST", "/v2/conversations") == []
    assert palbot.audit("conversation.start") == []


def _channel_posts(fake: FakeSlack) -> list[Any]:
    return [
        c
        for c in fake.calls
        if c.method.startswith(("chat.", "calls.", "files."))
        and str(c.args.get("channel", "")).startswith("C")
    ]


def test_a_private_start_goes_to_its_starter_alone(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot: PalbotHandle = make_palbot(public=True)
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    palbot.slack.command(f"start {pal_id} 1:1 --private")
    [join] = started(palbot, fake_slack)
    [sent] = sandbox.requests("POST", "/v2/conversations")
    assert sent["body"]["require_auth"] is True  # a room that asks for its token
    [conv] = palbot.store.conversations.list_active("T1")
    assert conv.private and conv.channel_id == "D_USER"  # the starter's DM with palbot
    upstream = sandbox.admin.get(
        f"/v2/conversations/{conv.conversation_id}", headers={"x-api-key": SANDBOX_KEY}
    ).json()
    token = upstream["meeting_token"]
    # the Join link in the DM carries the token; no call card (Slack would hold the link)
    assert join.args["channel"] == "D_USER"
    assert f"{conv.url}?t={token}" in json.dumps(join.args)
    assert "for you alone" in render(join.args["blocks"])
    assert fake_slack.of("calls.add") == []
    told = fake_slack.wait_response(where=lambda r: "private conversation" in json.dumps(r.args))
    assert "direct messages" in render(told[-1].args["blocks"])
    # the PAL joins: the DM still offers the link with its token
    joined = fake_slack.wait_for("chat.update", where=lambda c: "PAL joined" in json.dumps(c.args))
    assert f"?t={token}" in json.dumps(joined[-1].args)
    # it ends: the DM says so, and the thread gets the results; no channel saw any of it
    palbot.slack.command(f"end {conv.conversation_id}")
    wait(lambda: "application.transcription_ready" in callbacks_of(palbot))
    palbot.settle()
    assert _channel_posts(fake_slack) == []
    carrying = [c for c in fake_slack.calls if token in json.dumps(c.args)]
    assert [(c.method, c.args["channel"]) for c in carrying] == [
        ("chat.update", "D_USER"),  # the join message
        ("chat.update", "D_USER"),  # "PAL joined"
    ]
    ended = fake_slack.of("chat.update")[-1]
    assert ended.args["channel"] == "D_USER" and "ended by" in render(ended.args["blocks"])
    # the token is kept encrypted: the database never holds it in clear text
    db_file = Path(palbot.bot.settings.palbot_database)
    stored = db_file.read_bytes() + Path(f"{db_file}-wal").read_bytes()
    assert token.encode() not in stored


def test_the_private_checkbox_and_a_test_start_from_the_form(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    view = open_start_form(palbot, fake_slack)
    palbot.slack.submit(view, {"pal_id": pal_id, "channel": "C_SALES", "private": True})
    started(palbot, fake_slack)
    view = {**open_start_form(palbot, fake_slack), "id": "V_SECOND"}
    palbot.slack.submit(view, {"pal_id": pal_id, "channel": "C_SALES", "test_mode": True})
    palbot.wait_audit("conversation.start", "ok", count=2)
    first, second = (r["body"] for r in sandbox.requests("POST", "/v2/conversations"))
    assert first["require_auth"] is True and "test_mode" not in first
    assert second["test_mode"] is True and "require_auth" not in second
    assert [c.args["channel"] for c in fake_slack.of("chat.postMessage")][:2] == [
        "U_USER",
        "C_SALES",
    ]


def test_private_flag_parsing_is_as_strict_as_test(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    text = render(palbot.slack.command(f"start {pal_id} Demo --privte").json()["blocks"])
    assert "Did you mean `--private`?" in text
    assert sandbox.requests("POST", "/v2/conversations") == []


def test_recording_is_offered_only_where_its_storage_is_set_up(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    storage = {"recording_s3_bucket_name": "acme-calls", "recording_s3_bucket_region": "eu-west-1"}
    palbot: PalbotHandle = make_palbot(public=True, palbot_recording_storage=storage)
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    view = open_start_form(palbot, fake_slack)
    assert "properties.enable_recording" in [b.get("block_id") for b in view["blocks"]]
    assert "PALBOT_RECORDING_STORAGE" not in render(view["blocks"])
    palbot.slack.submit(
        view, {"pal_id": pal_id, "channel": "C_SALES", "properties.enable_recording": True}
    )
    started(palbot, fake_slack)
    [sent] = sandbox.requests("POST", "/v2/conversations")
    assert sent["body"]["properties"]["enable_recording"] is True
    assert sent["body"]["properties"]["recording_storage"] == storage
    assert palbot.audit("conversation.start")[0].detail["recording"] is True
    # the recording's link comes to the thread, and the channel message links to it
    [conv] = palbot.store.conversations.list_active("T1")
    sandbox.shutdown(conv.conversation_id, "max_call_duration reached")
    fake_slack.wait_for(
        "chat.postMessage",
        where=lambda c: (
            "recording is ready" in json.dumps(c.args)
            and c.args.get("thread_ts") == conv.message_ts
        ),
    )
    fake_slack.wait_for("chat.update", where=lambda c: "|Recording>" in json.dumps(c.args))


def test_without_recording_storage_the_form_says_why_recording_is_not_offered(
    palbot: PalbotHandle, fake_slack: FakeSlack
) -> None:
    palbot.connect_key()
    view = open_start_form(palbot, fake_slack)
    assert "properties.enable_recording" not in [b.get("block_id") for b in view["blocks"]]
    assert "PALBOT_RECORDING_STORAGE" in render(view["blocks"])


def test_a_private_call_is_listed_only_for_its_starter_and_admins(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from tests.slack.test_conversations import conversations_answer

    conv = start_one(palbot, fake_slack, sandbox, "Salary talk --private", pal_name="Coach")
    for who, sees in (("U_USER", True), (ADMIN, True), ("U_OTHER", False)):
        text = render(conversations_answer(palbot, fake_slack, who)["blocks"])
        assert ("Salary talk" in text) is sees and (conv.conversation_id in text) is sees, who
        palbot.slack.event({"type": "app_home_opened", "user": who, "tab": "home"})
        home = fake_slack.wait_for(
            "views.publish", where=lambda c, w=who: c.args.get("user_id") == w
        )[-1]
        assert ("Salary talk" in render(home.args["view"]["blocks"])) is sees, who
        fake_slack.calls.clear()
