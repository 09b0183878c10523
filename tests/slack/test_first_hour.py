"""Issue 15 (item 13): the first hour in Slack, read as a person reads it. Each test renders the
Block Kit to text (tests/slack/blockkit.render) and asserts on that text. (Items 1, 2: test_edit;
6, 8: test_conversations; 7, 11: test_pals; 9, 12: test_keys, test_lifecycle; 10:
test_install::test_app_home.)"""

from __future__ import annotations

import json

from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import render
from tests.slack.conftest import ADMIN, PalbotHandle
from tests.slack.test_conversations import started
from tests.slack.test_pals import make_pal


def said_to_starter(fake_slack: FakeSlack, needle: str, count: int = 1) -> str:
    found = fake_slack.wait_response(count=count, where=lambda r: needle in json.dumps(r.args))
    return render(found[-1].args["blocks"])


def test_item_3_a_failed_start_is_told_to_the_starter_alone(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Sales coach")
    sandbox.fault(
        method="POST",
        path="/v2/conversations",
        status=400,
        body={"message": "User has reached maximum concurrent conversations"},
    )
    palbot.slack.command(f"start {pal_id}")
    text = said_to_starter(fake_slack, "maximum")
    assert "maximum" in text.lower()
    fake_slack.wait_for("chat.delete")  # the placeholder left the channel
    channel = [
        render(c.args.get("blocks") or [])
        for c in fake_slack.calls
        if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == "C_GENERAL"
    ]
    assert not any("maximum" in t.lower() or "could not start" in t for t in channel), channel


def test_item_4_the_pal_first_then_limits_with_the_active_list_and_plurals(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    palbot.store.workspaces.set_limits(
        "T1",
        palbot.store.workspaces.get("T1").limits.model_copy(  # type: ignore[union-attr]
            update={"max_concurrent": 1}
        ),
        set_by=ADMIN,
    )
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    palbot.slack.command(f"start {pal_id} first")
    started(palbot, fake_slack)
    palbot.slack.command("start p-does-not-exist")
    text = said_to_starter(fake_slack, "No PAL")
    assert "No PAL `p-does-not-exist`" in text and "/pal list" in text
    assert "at most" not in text
    palbot.slack.command(f"start {pal_id} second", channel="C_OTHER")
    text = said_to_starter(fake_slack, "at most 1")
    assert "at most 1 concurrent conversation, and 1 is active or starting" in text
    assert "conversations," not in text  # one conversation, said in the singular
    assert "*Coach* · first" in text and "[End]" in text  # the active one, with End
    assert "/pal limits" in text  # where an admin changes the limit


def test_item_5_a_mistyped_flag_is_refused_never_billed(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    for typed in ("--TEST", "-test", "--tset"):
        body = palbot.slack.command(f"start {pal_id} Demo {typed}").json()
        text = render(body["blocks"])
        assert f"`{typed}` is not a flag palbot knows. Did you mean `--test`?" in text
    assert sandbox.requests("POST", "/v2/conversations") == []


def test_item_12_confirmations_name_the_pal(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach Carter")
    palbot.slack.command(f"delete {pal_id}", user=ADMIN)
    text = said_to_starter(fake_slack, "pal_delete_confirm")
    assert f"Delete the PAL *Coach Carter* (`{pal_id}`)?" in text and "[Delete PAL]" in text
    palbot.slack.block_action("pal_delete_confirm", pal_id, user=ADMIN)
    text = said_to_starter(fake_slack, "Deleted the PAL")
    assert "Coach Carter" in text  # the name, not only the id


def test_start_flags_for_audio_only_and_language(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """Issue 17, item 2 (the flags so far): `--audio-only` and `--lang <language>`, anywhere
    after the id, with the same strict parsing as `--test`."""
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    palbot.slack.command(f"start {pal_id} --lang Spanish Weekly --audio-only sync")
    started(palbot, fake_slack)
    [sent] = sandbox.requests("POST", "/v2/conversations")
    assert sent["body"]["conversation_name"] == "Weekly sync"
    assert sent["body"]["audio_only"] is True
    assert sent["body"]["properties"]["language"] == "spanish"
    [accepted, _] = palbot.audit("conversation.start")
    assert accepted.detail["audio_only"] is True and accepted.detail["language"] == "spanish"
    for typed, said in (
        (f"start {pal_id} Demo --lang", "`--lang` needs a value"),
        (f"start {pal_id} Demo --lang 42!", "A language is a name"),
        (f"start {pal_id} Demo --audio", "Did you mean `--audio-only`?"),
    ):
        text = render(palbot.slack.command(typed).json()["blocks"])
        assert said in text, (typed, text)
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1
