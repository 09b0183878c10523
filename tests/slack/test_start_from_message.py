"""Issue 17, item 3: the message shortcut `pal_start_from_message` ("Talk this through with a
PAL"). It opens the Start form with the message (or its thread) as the PAL's context, in plain
words: mentions named, links as label and address without their parameters, no formatting marks,
no ids. The join message, and the results after it, go in that thread."""

from __future__ import annotations

import json
from typing import Any

from palbot.slack.plaintext import fit_lines, to_plain
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import render
from tests.slack.conftest import PalbotHandle
from tests.slack.test_conversations import started
from tests.slack.test_lifecycle import callbacks_of, wait
from tests.slack.test_pals import make_pal

SHORTCUT = "pal_start_from_message"
ASKED = (
    "<@U_BOB> can you *prep* me for <https://acme.example/deal?token=xoxp-SECRET|the deal>? "
    "&lt;3 <!channel> see <#C_SALES|sales>"
)


def context_of(view: dict[str, Any]) -> str:
    block = next(b for b in view["blocks"] if b.get("block_id") == "conversational_context")
    return str(block["element"].get("initial_value") or "")


def test_a_message_becomes_the_context_and_the_call_lands_in_its_thread(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot: PalbotHandle = make_palbot(public=True)
    palbot.connect_key()
    fake_slack.user_names.update({"U_ANN": "Ann", "U_BOB": "Bob"})
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    message = {"user": "U_ANN", "ts": "1700000100.000100", "text": ASKED}
    answer = palbot.slack.message_shortcut(SHORTCUT, message)
    assert answer.status_code == 200
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    assert context_of(view) == (
        "From Slack:\nAnn: @Bob can you prep me for the deal (https://acme.example/deal)? "
        "<3 @channel see #sales"
    )
    shown = render(view["blocks"])
    assert "thread of the message you picked" in shown
    assert not any(b.get("block_id") == "channel" for b in view["blocks"])  # fixed: that thread
    assert json.loads(view["private_metadata"])["thread_ts"] == "1700000100.000100"
    palbot.slack.submit(view, {"pal_id": pal_id})
    started(palbot, fake_slack)
    [sent] = sandbox.requests("POST", "/v2/conversations")
    assert sent["body"]["conversational_context"] == context_of(view)
    assert "SECRET" not in json.dumps(sent) and "U_BOB" not in json.dumps(sent)
    placeholder = fake_slack.of("chat.postMessage")[0]
    assert placeholder.args["channel"] == "C_GENERAL"
    assert placeholder.args["thread_ts"] == "1700000100.000100"
    [conv] = palbot.store.conversations.list_active("T1")
    assert conv.thread_ts == "1700000100.000100"
    # the results follow in the same thread (a reply's own thread is its parent's)
    sandbox.shutdown(conv.conversation_id, "max_call_duration reached")
    wait(lambda: "application.transcription_ready" in callbacks_of(palbot))
    palbot.settle()
    replies = [c for c in fake_slack.of("chat.postMessage") if c is not placeholder]
    replies += fake_slack.of("files.completeUploadExternal")  # the transcript
    assert len(replies) == 2  # the transcript and the perception analysis
    assert {
        (c.args.get("channel", c.args.get("channel_id")), c.args.get("thread_ts")) for c in replies
    } == {("C_GENERAL", "1700000100.000100")}


def test_a_thread_is_read_whole_oldest_first_the_latest_kept_when_long(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    fake_slack.user_names.update({"U_ANN": "Ann", "U_BOB": "Bob"})
    root = "1700000200.000200"
    thread = [
        {"user": "U_ANN", "ts": root, "text": "Shall we rehearse the pitch?", "reply_count": 3},
        {"subtype": "channel_join", "user": "U_CAL", "ts": "1700000201.0", "text": "joined"},
        {"user": "U_BOB", "ts": "1700000202.0", "text": "Yes, _objections_ 1st", "thread_ts": root},
        {
            "bot_id": "B1",
            "subtype": "bot_message",
            "bot_profile": {"name": "Deal bot"},
            "ts": "1700000203.0",
            "text": "Deal stage: negotiation",
            "thread_ts": root,
        },
    ]
    fake_slack.threads[("C_GENERAL", root)] = thread
    palbot.slack.message_shortcut(SHORTCUT, {**thread[2]})
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    assert context_of(view) == (
        "From a Slack thread:\nAnn: Shall we rehearse the pitch?\n"
        "Bob: Yes, objections 1st\nDeal bot: Deal stage: negotiation"
    )
    assert json.loads(view["private_metadata"])["thread_ts"] == root
    # a long thread: the latest messages are kept, within the form field's 3,000 characters
    fake_slack.threads[("C_GENERAL", root)] = [
        {"user": "U_ANN", "ts": f"17000003{i:02d}.0", "text": f"message {i} " + "x" * 90}
        for i in range(60)
    ]
    palbot.slack.message_shortcut(SHORTCUT, {"user": "U_ANN", "ts": root, "thread_ts": root})
    view = fake_slack.wait_for("views.open", count=2)[-1].args["view"]
    text = context_of(view)
    assert len(text) <= 3000 and text.endswith("message 59 " + "x" * 90)
    assert "message 0 " not in text


def test_an_unreadable_thread_leaves_the_message_alone(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    fake_slack.user_names["U_ANN"] = "Ann"
    fake_slack.fail_next("conversations.replies", error="missing_scope")
    message = {"user": "U_ANN", "ts": "1700000400.0", "thread_ts": "1700000300.0", "text": "hi"}
    palbot.slack.message_shortcut(SHORTCUT, message)
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    assert context_of(view) == "From Slack:\nAnn: hi"


def test_without_a_key_the_shortcut_says_so_and_opens_nothing(
    palbot: PalbotHandle, fake_slack: FakeSlack
) -> None:
    palbot.slack.message_shortcut(SHORTCUT, {"user": "U_ANN", "ts": "1.0", "text": "hi"})
    [told] = fake_slack.wait_response()
    assert "key" in render(told.args.get("blocks") or []).lower()
    assert fake_slack.of("views.open") == []


def test_plain_text_drops_what_slack_hides_and_marks() -> None:
    names = {"U1": "Ann"}
    assert to_plain("<@U1> <@U2|bob> <@U3>", names) == "@Ann @bob @someone"
    assert to_plain("<!subteam^S1|@design> <!date^1392734382^{date}|Feb 18>") == "@design Feb 18"
    assert to_plain("<https://x.example/a?sig=1#frag>") == "https://x.example/a"
    assert to_plain("<mailto:a@b.example|a@b.example>") == "a@b.example"
    assert to_plain("<javascript:alert(1)|click>") == "click"
    assert to_plain("*bold* _it_ ~gone~ `code` ```block```") == "bold it gone code block"
    assert to_plain("snake_case_name and 2*3*4") == "snake_case_name and 2*3*4"
    assert to_plain("a\u202eb\x07c") == "abc"
    assert fit_lines(["one", "two", "three"], 12, "H:") == "H:\nthree"


def test_a_private_start_from_a_message_goes_to_the_dm_not_the_thread(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    palbot.slack.message_shortcut(SHORTCUT, {"user": "U_ANN", "ts": "1700000600.0", "text": "hi"})
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    palbot.slack.submit(view, {"pal_id": pal_id, "private": True})
    started(palbot, fake_slack)
    [placeholder] = fake_slack.of("chat.postMessage")
    assert placeholder.args["channel"] == "U_USER" and "thread_ts" not in placeholder.args
    [conv] = palbot.store.conversations.list_active("T1")
    assert conv.private and conv.thread_ts is None
    [sent] = sandbox.requests("POST", "/v2/conversations")
    assert sent["body"]["conversational_context"] == "From Slack:\nu_ann: hi"  # users.info name


def test_a_crowded_thread_names_its_latest_25_speakers_only(
    palbot: PalbotHandle, fake_slack: FakeSlack
) -> None:
    palbot.connect_key()
    root = "1700000700.0"
    fake_slack.user_names.update({f"U{i:03d}": f"Person {i}" for i in range(30)})
    fake_slack.threads[("C_GENERAL", root)] = [
        {"user": f"U{i:03d}", "ts": f"17000007{i:02d}.0", "text": f"point {i}"} for i in range(30)
    ]
    palbot.slack.message_shortcut(SHORTCUT, {"user": "U000", "ts": root, "thread_ts": root})
    text = context_of(fake_slack.wait_for("views.open")[-1].args["view"])
    assert len(fake_slack.of("users.info")) == 25  # Slack's rate limits: no more look-ups
    assert "Person 29: point 29" in text and "Person 5: point 5" in text
    assert "someone: point 4" in text and "Person 4" not in text
