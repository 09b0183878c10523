"""Start modal, the join message in its states, and lists of conversations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from palbot.services.conversations import started_outside_slack
from palbot.slack import ids
from palbot.slack.blocks.common import input_block, message, text_input
from palbot.slack.metadata import ModalMetadata
from palbot.slack.text import (
    actions,
    button,
    confirm_dialog,
    context,
    cut,
    divider,
    escape,
    header,
    inline_code,
    mrkdwn,
    option,
    plain,
    section,
)
from palbot.store.models import ConversationRecord, utc_now


def end_button(conversation_id: str) -> dict[str, Any]:
    """The End button: ends the call for everyone, so it asks first."""
    return button(
        "End",
        ids.CONVERSATION_END,
        conversation_id,
        confirm=confirm_dialog(
            "End this conversation?", "Everyone in the call is disconnected.", "End", danger=True
        ),
    )


LANGUAGES = (
    "english",
    "spanish",
    "french",
    "german",
    "italian",
    "portuguese",
    "dutch",
    "japanese",
    "korean",
    "chinese",
    "hindi",
    "arabic",
)
MULTILINGUAL = "multilingual"
FORM_CONTEXT_CHARS = 3000  # a Slack text input's most; upstream publishes no smaller limit
RECORDING_NOTE = (
    "Recording is not offered here: it needs a place to keep recordings, which palbot's "
    "operator has not set up (`PALBOT_RECORDING_STORAGE`)."
)


def _checkbox(block_id: str, label: str, text: str, description: str) -> dict[str, Any]:
    choice = {"text": mrkdwn(text), "value": "yes", "description": mrkdwn(description)}
    return input_block(block_id, label, {"type": "checkboxes", "options": [choice]}, optional=True)


def start_modal(
    metadata: ModalMetadata,
    *,
    max_minutes: int | None = None,
    context_text: str | None = None,
    thread_note: str | None = None,
    recording: bool = False,
) -> dict[str, Any]:
    """The Start form: the PAL and where its Join link goes, then every start option, each
    block named after the API field it fills. `max_minutes` is the workspace's limit on a
    call's length; `context_text` pre-fills the PAL's context (a start from a message, whose
    thread the join message then goes to: `thread_note` says so in place of the channel);
    `recording`: recording storage is set up, so recording is offered."""
    pal_select: dict[str, Any] = {
        "type": "external_select",
        "min_query_length": 0,
        "placeholder": plain("Choose a PAL", 150),
    }
    blocks: list[dict[str, Any]] = [
        input_block(ids.PAL_ID, "PAL", pal_select),
        text_input(ids.CONVERSATION_NAME, "Conversation name", optional=True, max_length=200),
    ]
    if thread_note:
        blocks.append(context(thread_note))
    else:
        channel = {
            "type": "conversations_select",
            "default_to_current_conversation": True,
            "filter": {"include": ["public", "private"], "exclude_bot_users": True},
        }
        blocks.append(input_block(ids.CHANNEL, "Post the Join link in", channel))
    context_input = text_input(
        ids.CONVERSATIONAL_CONTEXT,
        "Context for the PAL",
        multiline=True,
        optional=True,
        initial=context_text,
        max_length=FORM_CONTEXT_CHARS,
        hint="What the PAL should know about this call: who joins, what it is about.",
    )
    languages = [option("Multilingual (follows the speaker)", MULTILINGUAL)] + [
        option(name.capitalize(), name) for name in LANGUAGES
    ]
    limit = f" This workspace allows {max_minutes} at most." if max_minutes else ""
    duration: dict[str, Any] = {"type": "number_input", "is_decimal_allowed": False}
    duration["min_value"] = "1"
    duration["max_value"] = str(max_minutes or 60)
    blocks += [
        context_input,
        text_input(
            ids.CUSTOM_GREETING,
            "Greeting",
            optional=True,
            max_length=500,
            hint="The PAL's first words, instead of its own greeting.",
        ),
        input_block(
            ids.LANGUAGE,
            "Language",
            {"type": "static_select", "options": languages},
            optional=True,
            hint="Empty: the PAL's own. Multilingual follows whoever speaks.",
        ),
        input_block(
            ids.CALL_DURATION,
            "Maximum length (minutes)",
            duration,
            optional=True,
            hint=f"The call ends by itself after this long (60 at most).{limit}",
        ),
        _checkbox(ids.AUDIO_ONLY, "Audio", "Audio only", "No video: the PAL speaks, unseen."),
        _checkbox(
            ids.CLOSED_CAPTIONS,
            "Captions",
            "Closed captions",
            "What is said is shown as text in the call.",
        ),
        *(
            [
                _checkbox(
                    ids.RECORDING,
                    "Recording",
                    "Allow recording",
                    "The call may be recorded, into the PAL account's recording storage; its "
                    "link is posted in the thread when it is ready.",
                )
            ]
            if recording
            else []
        ),
        _checkbox(
            ids.PRIVATE,
            "Private",
            "Only me",
            "The Join link comes to you alone, in a direct message, and the room asks for the "
            "token it carries: nothing is posted in a channel.",
        ),
        _checkbox(
            ids.TEST_MODE,
            "Test",
            "Test conversation",
            "Nobody joins and nothing is billed: to check the setup.",
        ),
        context(
            "Starting a conversation bills the workspace's PAL account at once."
            + ("" if recording else " " + RECORDING_NOTE)
        ),
    ]
    return {
        "type": "modal",
        "callback_id": ids.START_MODAL,
        "title": plain("Start conversation", 24),
        "submit": plain("Start", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def duration_seconds(start: str | None, end: str | None) -> int:
    """Whole seconds between two ISO-8601 times (0 when either is unknown)."""
    try:
        began = datetime.fromisoformat((start or "").replace("Z", "+00:00"))
        ended = datetime.fromisoformat((end or "").replace("Z", "+00:00"))
    except ValueError:
        return 0
    return max(0, int((ended - began).total_seconds()))


def duration_text(start: str | None, end: str | None) -> str | None:
    a, b = _parse_time(start), _parse_time(end)
    if a is None or b is None:
        return None
    seconds = max(0, int((b - a).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


REASONS = (
    ("max_call_duration", "it reached its maximum call duration"),
    ("participant_left", "everyone left the call"),
    ("participant_absent", "nobody joined in time"),
    ("end_conversation_endpoint", "it was ended from Slack"),
    ("deleted", "it was deleted"),
)


def reason_text(reason: str | None) -> str:
    """Upstream's shutdown reason in plain words (matched loosely)."""
    if not reason:
        return "it ended"
    low = reason.lower().replace(" ", "_")
    for needle, words in REASONS:
        if needle in low:
            return words
    return f"it ended ({cut(reason, 100)})"


def _title(record: ConversationRecord) -> str:
    pal_name = record.pal_name or record.pal_id or "a PAL"
    pal = escape(cut(pal_name, 150))
    given = record.conversation_name or ""
    if given.strip().lower() == f"conversation with {pal_name}".strip().lower():
        given = ""  # upstream's default name says nothing the PAL's name does not
    name = escape(cut(given, 150))
    return f"*{pal}*" + (f" · {name}" if name else "")


TEST_LABEL = "Test — nobody joins, nothing is billed"


def test_message(record: ConversationRecord) -> dict[str, Any]:
    """A test conversation (`--test`): said as such, no Join button, ended at once."""
    blocks = [
        section(
            f":test_tube: <@{escape(record.started_by)}> ran a test conversation with "
            f"{_title(record)}"
        ),
        context(f"{TEST_LABEL} · conversation {inline_code(record.conversation_id)}"),
    ]
    pal = escape(record.pal_name or record.pal_id)
    return {"text": f"Test conversation with {pal} ({TEST_LABEL})", "blocks": blocks}


def starting_message(pal_name: str, user_id: str) -> dict[str, Any]:
    text = f"<@{escape(user_id)}> is starting a conversation with {escape(cut(pal_name, 150))}…"
    return {"text": text, "blocks": [section(f":hourglass_flowing_sand: {text}")]}


PRIVATE_NOTE = (
    ":lock: Private: this Join link is for you alone (the room asks for the token it carries); "
    "palbot posted it nowhere else."
)
KEY_GONE = (
    ":warning: The workspace's PAL API key was removed: palbot can no longer end this call. "
    "End it from the PAL account, or reconnect a key with `/pal key`."
)


def join_message(
    record: ConversationRecord, *, pal_joined: bool = False, key_removed: bool = False
) -> dict[str, Any]:
    if record.test_mode:
        return test_message(record)
    state = (
        ":large_green_circle: PAL joined — the call is live"
        if pal_joined
        else (":hourglass_flowing_sand: Waiting for the PAL to join")
    )
    blocks: list[dict[str, Any]] = [
        section(
            f":movie_camera: <@{escape(record.started_by)}> started a conversation with "
            f"{_title(record)}"
        ),
        context(f"{state} · conversation {inline_code(record.conversation_id)}"),
    ]
    if record.slack_call_id:  # Slack's own call card: Join, who is in, how long
        blocks.append({"type": "call", "call_id": record.slack_call_id})
    if record.private:
        blocks.append(context(PRIVATE_NOTE))
    if key_removed:
        blocks.append(context(KEY_GONE))
    elements = []
    if record.url:
        elements.append(
            button(
                "Join",
                ids.CONVERSATION_JOIN,
                record.conversation_id,
                style="primary",
                url=record.url,
            )
        )
    if not key_removed:
        elements.append(end_button(record.conversation_id))
    if elements:
        blocks.append(actions(*elements))
    pal = record.pal_name or record.pal_id
    return {"text": f"Conversation with {escape(pal)}: join at {record.url}", "blocks": blocks}


RESULTS = (
    ("application.transcription_ready", "Transcript"),
    ("application.perception_analysis", "Perception analysis"),
    ("application.recording_ready", "Recording"),
)


def _results_line(links: dict[str, str]) -> str | None:
    """ "Results in the thread: Transcript · Recording", each a link to itself."""
    shown = [
        f"<{links[kind]}|{label}>"
        for kind, label in RESULTS
        if links.get(kind, "").startswith("https://") and not set("|<> ") & set(links[kind])
    ]
    return f":paperclip: Results in the thread: {' · '.join(shown)}" if shown else None


def ended_message(
    record: ConversationRecord, links: dict[str, str] | None = None
) -> dict[str, Any]:
    """The conversation's message once it ended: who started it, why it ended, how long it
    lasted, and (`links`, as they are posted) its results in the thread."""
    if record.test_mode:
        return test_message(record)
    if record.ended_by:
        why = f"ended by <@{escape(record.ended_by)}>"
    else:
        why = f"ended because {escape(reason_text(record.end_reason))}"
    lasted = duration_text(record.created_at, record.ended_at)
    tail = f" · lasted {lasted}" if lasted else ""
    blocks: list[dict[str, Any]] = [
        section(f":white_check_mark: Conversation with {_title(record)} — {why}{tail}"),
        context(
            f"Started by <@{escape(record.started_by)}> · conversation "
            f"{inline_code(record.conversation_id)}"
        ),
    ]
    results = _results_line(links or {})
    if results:
        blocks.append(context(results))
    if record.slack_call_id:  # the call card shows it ended, and its length
        blocks.append({"type": "call", "call_id": record.slack_call_id})
    return {
        "text": f"Conversation with {escape(record.pal_name or record.pal_id)} ended",
        "blocks": blocks,
    }


def not_started_message(pal_name: str) -> dict[str, Any]:
    """In the channel, where a failed start's placeholder could not be deleted: that nothing
    started, never why (the starter was told privately)."""
    text = f"A conversation with {escape(cut(pal_name, 150))} was not started."
    return {"text": text, "blocks": [context(text)]}


def unconfirmed_start_message(pal_name: str, user_id: str) -> dict[str, Any]:
    text = (
        f"<@{escape(user_id)}> is starting a conversation with {escape(cut(pal_name, 150))}: "
        "the PAL API has not confirmed it yet, palbot is checking."
    )
    return {"text": text, "blocks": [section(f":hourglass_flowing_sand: {text}")]}


def active_list_message(
    intro: str, records: list[ConversationRecord], may_end: set[str] | None = None
) -> dict[str, Any]:
    """Active conversations, with End where the person may end them (`may_end`: ids; None:
    all, and Slack's End asks palbot, which checks again)."""
    intro = escape(intro)  # often upstream's words: never markup
    blocks: list[dict[str, Any]] = [section(f":warning: {intro}")]
    for record in records[:20]:
        line: dict[str, Any] = section(
            cut(f"{live_line(record)} · {inline_code(record.conversation_id)}", 3000)
        )
        if may_end is None or record.conversation_id in may_end:
            line["accessory"] = end_button(record.conversation_id)
        blocks.append(line)
    if not records:
        blocks.append(
            context(
                "Neither palbot nor the PAL API lists an active conversation for this "
                "workspace's account right now."
            )
        )
    return message(intro, blocks)


def live_line(record: ConversationRecord, now: str | None = None) -> str:
    """One live conversation in a list: the PAL and name, who started it where (or that it
    was started outside Slack), how long it has run, and whether it is private."""
    if started_outside_slack(record):
        who = ":globe_with_meridians: started outside Slack"
    else:
        who = f"started by <@{escape(record.started_by)}>"
        if record.channel_id and not record.private:
            who += f" in <#{escape(record.channel_id)}>"
    running = duration_text(record.created_at, now or utc_now()) if record.created_at else None
    return (
        f"{_title(record)} · {who}"
        + (f" · {running} so far" if running else "")
        + (" · :lock: private" if record.private else "")
    )


def unfurl_card(record: ConversationRecord, now: str | None = None) -> dict[str, Any]:
    """A conversation link pasted in Slack, unfurled: the PAL, whether the call is live, and
    End (Slack shows the card to everyone; palbot checks who clicks)."""
    if record.status == "active":
        state = f":large_green_circle: *Live* · {live_line(record, now)}"
    else:
        lasted = duration_text(record.created_at, record.ended_at)
        how = f" · lasted {lasted}" if lasted else ""
        state = f":white_circle: *Ended* · {_title(record)}{how}"
    blocks: list[dict[str, Any]] = [
        section(cut(state, 3000)),
        context(f"PAL conversation {inline_code(record.conversation_id)} · palbot"),
    ]
    if record.status == "active":
        blocks.append(actions(end_button(record.conversation_id)))
    return {"blocks": blocks}


def joinable(record: ConversationRecord) -> bool:
    """Whether a list offers Join: palbot's own, open rooms (a private room's link is its
    starter's alone, in their DM; a call started elsewhere is not palbot's to hand out)."""
    return bool(record.url) and not record.private and not started_outside_slack(record)


def conversations_message(
    active: list[ConversationRecord],
    recent: list[ConversationRecord],
    may_end: set[str],
    now: str | None = None,
    unchecked: str | None = None,
) -> dict[str, Any]:
    """`/pal conversations`: the account's live ones, from Slack or not (Join, End where the
    person may end them), and the recent ones; each id copyable for `/pal end`. `unchecked`:
    why the PAL API could not be asked (then only palbot's own are listed)."""
    live = [r for r in active if not r.test_mode][:20]
    blocks: list[dict[str, Any]] = [header(f"Live conversations ({len(live)})")]
    if unchecked:
        blocks.append(
            context(
                f":warning: The PAL API could not be asked ({escape(cut(unchecked, 200))}): "
                "only conversations started from Slack are listed."
            )
        )
    for record in live:
        line = f"{live_line(record, now)}\n{inline_code(record.conversation_id)}"
        blocks.append(section(cut(line, 3000)))
        buttons = []
        if joinable(record):
            buttons.append(
                button(
                    "Join",
                    ids.CONVERSATION_JOIN,
                    record.conversation_id,
                    url=record.url,
                    style="primary",
                )
            )
        if record.conversation_id in may_end:
            buttons.append(end_button(record.conversation_id))
        if buttons:
            blocks.append(actions(*buttons))
    if not live:
        blocks.append(context("No live conversation right now."))
    ended = [r for r in recent if r.status in ("ended", "failed") or r.test_mode][:10]
    if ended:
        blocks.append(divider())
        blocks.append(header("Recent"))
        lines = []
        for record in ended:
            lasted = duration_text(record.created_at, record.ended_at)
            how = (
                "test"
                if record.test_mode
                else (
                    "not started"
                    if record.status == "failed"
                    else (f"lasted {lasted}" if lasted else "ended")
                )
            )
            lines.append(
                f"{_title(record)} · <@{escape(record.started_by)}> · {how} · "
                f"{inline_code(record.conversation_id)}"
            )
        blocks.append(section(cut("\n".join(lines), 3000)))
    blocks.append(context("End one with `/pal end <conversation_id>` or its End button."))
    return message(f"{len(live)} live conversations", blocks)


INLINE_TRANSCRIPT_CHARS = 2800 * 4  # as thread messages (no files:write): cut past this


@dataclass(frozen=True)
class TranscriptFile:
    filename: str
    title: str
    content: str
    comment: str


def transcript_file(record: ConversationRecord, lines: list[str]) -> TranscriptFile:
    """The whole transcript as a readable text file: a heading, then each turn as
    "Speaker: words", a blank line between turns. Plain text: nothing in it is markup."""
    pal = record.pal_name or record.pal_id
    heading = [f"Conversation with {pal}"]
    if record.conversation_name:
        heading.append(record.conversation_name)
    when = (record.created_at or "")[:16].replace("T", " ")
    lasted = duration_text(record.created_at, record.ended_at)
    facts = [f"started {when} UTC" if when else "", f"lasted {lasted}" if lasted else ""]
    facts.append(f"conversation {record.conversation_id}")
    content = "\n".join(
        [" · ".join(heading), " · ".join(f for f in facts if f), "", "\n\n".join(lines), ""]
    )
    turns = f"{len(lines)} turn{'s' if len(lines) != 1 else ''}"
    return TranscriptFile(
        filename=f"transcript-{record.conversation_id}.txt",
        title=cut(f"Transcript: {pal}", 250),
        content=content,
        comment=f":memo: Transcript ({turns}, {len(content):,} characters).",
    )


def empty_transcript_message() -> dict[str, Any]:
    """An empty transcript, said in one line (no file for nothing)."""
    text = ":memo: The transcript is ready, but it is empty."
    return message(text, [section(text)])


def transcript_inline_message(lines: list[str]) -> dict[str, Any]:
    """The transcript as thread messages' blocks, where no file can be uploaded (no
    files:write scope): cut past INLINE_TRANSCRIPT_CHARS, and says so."""
    blocks: list[dict[str, Any]] = [section(":memo: *Transcript*")]
    chunk, total, cut_short = "", 0, False
    for line in lines:
        speaker, _, said = line.partition(": ")
        entry = f"*{escape(speaker)}:* {escape(said)}\n"
        if total + len(entry) > INLINE_TRANSCRIPT_CHARS:
            cut_short = True
            break
        if len(chunk) + len(entry) > 2900:
            blocks.append(section(chunk))
            chunk = ""
        chunk += cut(entry, 2900)
        total += len(entry)
    if chunk:
        blocks.append(section(chunk))
    if cut_short:
        blocks.append(context("Cut short: palbot needs the `files:write` scope to post it whole."))
    return message(f"Transcript ({len(lines)} turns)", blocks)


def recording_message(where: str, duration: float | None) -> dict[str, Any]:
    """Where the recording is: a link when upstream gives a web address, else its place in
    the account's storage (an `s3://…` key is nothing Slack can open)."""
    tail = f" ({int(duration)} s)" if duration is not None else ""
    if where.startswith("https://") and len(where) <= 2000 and not set("|<> ") & set(where):
        text = f":film_frames: The recording is ready{tail}: <{where}|open the recording>."
    else:
        text = (
            f":film_frames: The recording is ready{tail}: `{escape(cut(where, 500))}` (in the "
            "PAL account's recording storage)."
        )
    return message(text, [section(text)])


def perception_message(analysis: str) -> dict[str, Any]:
    text = ":eyes: *Perception analysis*\n" + escape(cut(analysis, 2800))
    return message(text, [section(text)])


def started_text(record: ConversationRecord) -> str:
    pal = escape(record.pal_name or record.pal_id)
    if record.test_mode:
        return f"Ran a test conversation with {pal} in <#{record.channel_id}> ({TEST_LABEL})."
    if record.private:
        return (
            f"Started a private conversation with {pal}: its Join link is in your direct "
            "messages with palbot, and nowhere else."
        )
    return f"Started a conversation with {pal}; its Join link is posted in <#{record.channel_id}>."


def ended_text(record: ConversationRecord, already_ended: bool) -> str:
    if already_ended:
        return "That conversation has already ended."
    return f"Ended the conversation with {escape(record.pal_name or record.pal_id or 'a PAL')}."


def start_failed_blocks(
    text: str,
    active: list[ConversationRecord],
    capped: bool,
    may_end: set[str] | None = None,
) -> list[dict[str, Any]]:
    if capped:
        blocks: list[dict[str, Any]] = active_list_message(text, active, may_end)["blocks"]
        return blocks
    return [section(f":warning: {escape(text)}")]


def start_settled_message(record: ConversationRecord, started: bool) -> dict[str, Any]:
    """To the starter, once a start whose outcome was unknown is settled."""
    pal = escape(cut(record.pal_name or record.pal_id, 150))
    if started:
        text = (
            f":white_check_mark: Your conversation with {pal} did start: its Join and End "
            f"buttons are in <#{escape(record.channel_id or '')}>."
        )
    else:
        why = escape(cut(record.end_reason or "it was not created", 300))
        text = (
            f":information_source: Your conversation with {pal} was not started: {why}. "
            f"Start it again with `/pal start {escape(record.pal_id)}`."
        )
    return message(text, [section(text)])


def notice_message(text: str) -> dict[str, Any]:
    """A private notice from the domain, in plain words (escaped: it may quote user text)."""
    body = f":information_source: {escape(cut(text, 2900))}"
    return message(body, [section(body)])


def key_remove_confirm_message(
    last4: str | None, live: list[ConversationRecord], may_end: set[str]
) -> dict[str, Any]:
    """`/pal key remove`: what removing the key does to the live conversations, and the
    button that does it (bound to the admin who asked)."""
    key = f"ending in `{escape(last4)}`" if last4 else ""
    blocks: list[dict[str, Any]] = [
        section(
            f":warning: Remove the workspace's PAL API key {key}? Nobody can start, change "
            "or end PALs' conversations from Slack until one is connected again."
        )
    ]
    real = [r for r in live if not r.test_mode]
    if real:
        count = len(real)
        noun = "conversation is" if count == 1 else "conversations are"
        blocks.append(
            section(
                f"*{count} {noun} live.* Without the key palbot cannot end them: end them first "
                "(below), or end them later from the PAL account."
            )
        )
        for record in real[:10]:
            line: dict[str, Any] = section(
                cut(
                    f"{_title(record)} · started by <@{escape(record.started_by)}> · "
                    f"{inline_code(record.conversation_id)}",
                    3000,
                )
            )
            if record.conversation_id in may_end:
                line["accessory"] = end_button(record.conversation_id)
            blocks.append(line)
    blocks.append(
        actions(
            button(
                "Remove key",
                ids.KEY_REMOVE_CONFIRM,
                "remove",
                style="danger",
                confirm=confirm_dialog(
                    "Remove the PAL API key?",
                    "palbot stops acting for this workspace until a key is connected again.",
                    "Remove",
                    danger=True,
                ),
            )
        )
    )
    return message("Remove the PAL API key?", blocks)
