"""Every pure Block Kit builder, called directly: valid for Slack (slack_sdk.models), within Block
Kit's limits, and never letting user-given text ping anyone. No server, no network."""

from __future__ import annotations

import json
from typing import Any

import pytest

from palbot.services.errors import Invalid
from palbot.services.pals import PatchReport
from palbot.slack.blocks import admin, common, conversations, help, home, keys, pals
from palbot.slack.metadata import ModalMetadata
from palbot.store.models import AuditEntry, ConversationRecord, Limits, Workspace
from tests.slack.blockkit import check_message, check_view
from tests.slack.test_abuse import mrkdwn_texts

EVIL = "<!channel> *bold* <@U999> " + "x" * 5000  # a hostile, oversized name
META = ModalMetadata(pal_id="p1", channel_id="C1", response_url="https://hooks.slack/x")
PAL = {
    "pal_id": "p123",
    "pal_name": EVIL,
    "system_prompt": "Be kind. " * 2000,
    "default_face_id": "r90bbd427f71",
    "layers": {"perception": {"perception_model": "raven-1"}},
}
WS = Workspace(team_id="T1", key_last4="1234", key_set_by="U1", key_set_at="2026-11-26T01:00:00Z")


def record(**extra: Any) -> ConversationRecord:
    values: dict[str, Any] = {
        "conversation_id": "c123",
        "team_id": "T1",
        "pal_id": "p123",
        "pal_name": EVIL,
        "conversation_name": EVIL,
        "channel_id": "C1",
        "message_ts": "1.2",
        "started_by": "U1",
        "url": "https://tavus.daily.co/c123",
        "created_at": "2026-11-26T01:00:00Z",
    }
    values.update(extra)
    return ConversationRecord(**values)


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        seq=n,
        at="2026-11-26T01:00:00Z",
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        action="pal.patch",
        target=EVIL,
        outcome="ok",
        detail={"accepted_seq": n - 1},
        prev_hash="0" * 64,
        hash="1" * 64,
    )


def no_ping(payload: Any) -> None:
    """No mention smuggled through user-given text into anything Slack renders as mrkdwn
    (plain_text is shown literally: a `<!channel>` there pings nobody)."""
    for text in mrkdwn_texts(payload):
        assert "<!channel>" not in text and "<@U999>" not in text, text


REPORTS = [
    PatchReport("patched", "p123", EVIL, [{"op": "replace", "path": "/pal_name", "value": EVIL}]),
    PatchReport("unchanged", "p123", EVIL, []),
    PatchReport("conflict", "p123", EVIL, [], force_token="pf-abc"),
]

VIEWS = {
    "start_modal": lambda: conversations.start_modal(META),
    "create_modal": lambda: pals.create_modal(META),
    "create_modal_interviewer": lambda: pals.create_modal(META, "interviewer"),
    "patch_modal": lambda: pals.patch_modal(META, PAL),
    "key_modal": lambda: keys.key_modal(META, WS),
    "key_modal_none": lambda: keys.key_modal(META, None),
    "limits_modal": lambda: admin.limits_modal(META, Limits(max_concurrent=2)),
    "loading_view": lambda: common.loading_view("Patch PAL", "Loading…", metadata=META),
    "error_view": lambda: common.error_view(EVIL, "Create PAL"),
    "result_view": lambda: common.result_view("Start conversation", []),
    "patch_done_view": lambda: pals.patch_done_view("p123", PAL, [], True),
    "key_not_saved_view": lambda: keys.key_not_saved_view("Connect key", Invalid(EVIL)),
    "key_connected_view": lambda: keys.key_connected_view("Connect key", WS),
    **{
        f"patch_report_view_{r.kind}": (lambda r=r: pals.patch_report_view(r, META))
        for r in REPORTS
    },
    "home_admin": lambda: home.home_view(
        workspace=WS,
        pals=[PAL] * 12,
        pals_error=None,
        conversations=[record(), record(status="ended", ended_by="U2")],
        is_admin=True,
        audit=[entry(i) for i in range(1, 11)],
    ),
    "home_member": lambda: home.home_view(
        workspace=None, pals=None, pals_error=EVIL, conversations=[], is_admin=False
    ),
}

MESSAGES = {
    "help": help.help_message,
    "key_status": lambda: keys.key_status_message(WS),
    "key_status_none": lambda: keys.key_status_message(None),
    "no_key": keys.no_key_message,
    "error": lambda: common.error_message(EVIL, "a hint"),
    "ok": lambda: common.ok_message("done"),
    "pal_list": lambda: pals.pal_list_message([PAL] * 40, 40),
    "pal_list_empty": lambda: pals.pal_list_message([], 0),
    "pal_show": lambda: pals.pal_show_message(PAL),
    "delete_confirm": lambda: pals.delete_confirm_message(PAL),
    "audit": lambda: admin.audit_message([entry(i) for i in range(1, 101)], 100),
    "starting": lambda: conversations.starting_message(EVIL, "U1"),
    "join": lambda: conversations.join_message(record()),
    "joined": lambda: conversations.join_message(record(), pal_joined=True),
    "ended": lambda: conversations.ended_message(
        record(status="ended", ended_at="2026-11-26T01:09:00Z", end_reason=EVIL)
    ),
    "not_started": lambda: conversations.not_started_message(EVIL),
    "unconfirmed_start": lambda: conversations.unconfirmed_start_message(EVIL, "U1"),
    "active_list": lambda: conversations.active_list_message(EVIL, [record()] * 30),
    "active_list_empty": lambda: conversations.active_list_message("capped", []),
    "transcript_inline": lambda: conversations.transcript_inline_message([f"{EVIL[:30]}: hi"] * 20),
    "transcript_inline_long": lambda: conversations.transcript_inline_message(
        ["PAL: " + "y" * 3000] * 5
    ),
    "transcript_empty": lambda: conversations.empty_transcript_message(),
    "ended_with_results": lambda: conversations.ended_message(
        record(status="ended", ended_at="2026-11-26T01:09:00Z"),
        {
            "application.transcription_ready": "https://fake.slack.com/files/F1",
            "application.recording_ready": "https://x|<!channel>",  # never a link
        },
    ),
    "recording": lambda: conversations.recording_message(EVIL, 42.0),
    "recording_link": lambda: conversations.recording_message(
        "https://recordings.example/c1.mp4", 42.0
    ),
    "recording_not_a_link": lambda: conversations.recording_message(
        "https://x.example/a|<!channel>", None
    ),
    "perception": lambda: conversations.perception_message(EVIL),
    "unfamiliar_note": lambda: common.message(
        "note", pals.unfamiliar_note([("pipeline_mode", EVIL), ("layers.stt.stt_engine", "x")])
    ),
    **{f"patch_report_{r.kind}": (lambda r=r: pals.patch_report_message(r)) for r in REPORTS},
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_every_view_is_valid_and_safe(name: str) -> None:
    view = VIEWS[name]()
    check_view(view)
    no_ping(view)
    if view["type"] == "modal":
        assert len(view["title"]["text"]) <= 24


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_message_is_valid_and_safe(name: str) -> None:
    message = MESSAGES[name]()
    assert message is not None
    check_message(message)
    no_ping(message)


def test_a_transcript_file_is_readable_text_and_an_inline_one_says_it_was_cut() -> None:
    done = record(pal_name="Coach", status="ended", ended_at="2026-11-26T01:09:00Z")
    upload = conversations.transcript_file(
        done.model_copy(update={"conversation_name": None}),
        ["Coach: Hello?", "Participant: *Hi* <!here>"],
    )
    assert upload.filename == "transcript-c123.txt"
    assert upload.content.startswith("Conversation with Coach\n")
    assert "lasted 9 min 0 s" in upload.content
    assert "\n\nCoach: Hello?\n\nParticipant: *Hi* <!here>\n" in upload.content  # as said
    assert "2 turns" in upload.comment
    cut_short = json.dumps(MESSAGES["transcript_inline_long"]())
    assert "Cut short" in cut_short and "files:write" in cut_short
    assert "<https://recordings.example/c1.mp4|open the recording>" in json.dumps(
        MESSAGES["recording_link"]()
    )
    assert "open the recording" not in json.dumps(MESSAGES["recording_not_a_link"]())
    linked = json.dumps(MESSAGES["ended_with_results"]())
    assert "<https://fake.slack.com/files/F1|Transcript>" in linked and "Recording" not in linked


def test_text_builders_say_what_happened() -> None:
    assert conversations.ended_text(record(), True) == "That conversation has already ended."
    ended = conversations.ended_text(record(pal_name="Coach"), False)
    assert ended == "Ended the conversation with Coach."
    started = conversations.started_text(record(pal_name="Coach <!here>"))
    assert "<!here>" not in started and "<#C1>" in started
    assert "1234" in keys.connected_text(WS)
    assert "lasted" in json.dumps(MESSAGES["ended"]())
    assert "9 min 0 s" in json.dumps(MESSAGES["ended"]())
    assert conversations.start_failed_blocks("no", [record()], capped=True)[1]["accessory"]


def test_field_errors_are_cut_at_a_sentence_never_inside_one() -> None:
    from palbot.slack.failures import FIELD_ERROR_CHARS, field_errors, whole_sentences

    short = "Give the PAL a name."
    assert field_errors("pal_name", short) == {
        "response_action": "errors",
        "errors": {"pal_name": short},
    }
    first = "The first sentence says what went wrong, and which field, in plain words " * 2
    long = first.strip() + ". " + "Then a very long second one " * 20 + "ends."
    cut = whole_sentences(long)
    assert cut == first.strip() + "." and len(cut) <= FIELD_ERROR_CHARS
    words = "word " * 100
    cut = whole_sentences(words)
    assert cut.endswith("word…") and len(cut) <= FIELD_ERROR_CHARS
    exact = "x" * FIELD_ERROR_CHARS
    assert (
        whole_sentences(exact) == exact and len(whole_sentences(exact + "y")) <= FIELD_ERROR_CHARS
    )


def test_whole_sentences_keeps_every_whole_sentence_that_fits() -> None:
    from palbot.slack.failures import whole_sentences

    one = "A" * 99 + ". "  # sentence 1 ends at 99
    two = "B" * 99 + ". "  # sentence 2 ends at 200
    three = "C" * 100
    assert whole_sentences(one + two + three, 250) == one + "B" * 99 + "."
    # a first sentence ending exactly at a third of the limit is still kept
    edge = "x" * 82 + ". " + "y " * 200
    assert whole_sentences(edge, 246) == "x" * 82 + "."  # 82 == 246 // 3
    # else whole words, the trailing punctuation dropped, marked …
    words = ("alpha, " * 60).strip()
    cut = whole_sentences(words, 50)
    assert cut == "alpha, alpha, alpha, alpha, alpha, alpha, alpha…" and len(cut) <= 50


def test_the_redactor_replaces_the_longest_secret_first_and_only_real_ones() -> None:
    from palbot.store.redact import REDACTED, redact

    text = "key sk-123456-extra and sk-123456 and tiny abcde"
    out = redact(text, ["sk-123456", "sk-123456-extra", "abcde"])
    assert out == f"key {REDACTED} and {REDACTED} and tiny abcde"  # 5 characters: not a secret
    assert redact("abcdef", ["abcdef"]) == REDACTED  # 6 characters: a secret
