"""Starting and ending conversations: one user action, one conversation; the message tells the
truth; limits protect the bill."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from palbot.slack.installation_store import SlackInstallationStore
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import check_message, check_view, render
from tests.slack.conftest import ADMIN, USER, PalbotHandle
from tests.slack.test_pals import make_pal


def join_messages(fake: FakeSlack) -> list[Any]:
    return fake.of("chat.update")


def started(palbot: PalbotHandle, fake: FakeSlack, count: int = 1) -> list[Any]:
    palbot.wait_audit("conversation.start", "ok", count=count)
    return fake.wait_for(
        "chat.update", count=count, where=lambda c: "conversation_join" in json.dumps(c.args)
    )


def test_start_posts_join_message(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Ann <!channel>")
    resp = palbot.slack.command(f"start {pal_id} Weekly *sync* <@U999>")
    assert resp.status_code == 200
    [update] = started(palbot, fake_slack)
    placeholder = fake_slack.of("chat.postMessage")[0]
    assert placeholder.args["channel"] == "C_GENERAL"
    assert placeholder.result is not None  # the join message replaces the placeholder itself
    assert update.args["ts"] == placeholder.result["ts"]
    assert update.args["channel"] == placeholder.result["channel"]
    message = update.args
    check_message(message)
    text = json.dumps(message)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # no ping through a name
    assert "<@U999>" not in text
    join = next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "conversation_join"
    )
    end = next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "conversation_end"
    )
    [conv] = palbot.store.conversations.list_active("T1")
    assert join["url"] == conv.url and end["value"] == conv.conversation_id and "confirm" in end
    assert conv.started_by == USER and conv.conversation_name == "Weekly *sync* <@U999>"
    assert conv.message_ts == update.args["ts"] and conv.channel_id == "C_GENERAL"
    sent = sandbox.requests("POST", "/v2/conversations")[0]["body"]
    assert sent == {"pal_id": pal_id, "conversation_name": "Weekly *sync* <@U999>"}
    rows = palbot.audit("conversation.start")
    assert [r.outcome for r in rows] == ["accepted", "ok"]
    assert rows[1].detail["accepted_seq"] == rows[0].seq and rows[1].target == conv.conversation_id


def test_test_mode_flag(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Tess")
    palbot.slack.command(f"start {pal_id} --test")
    palbot.wait_audit("conversation.start", "ok")
    assert sandbox.requests("POST", "/v2/conversations")[0]["body"] == {
        "pal_id": pal_id,
        "test_mode": True,
    }
    # it looks like a test: labelled, no Join (nobody joins), ended at once, never active
    [shown] = fake_slack.wait_for("chat.update", where=lambda c: "test_tube" in json.dumps(c.args))
    text = render(shown.args["blocks"])
    assert "ran a test conversation with *Tess*" in text
    assert "Test — nobody joins, nothing is billed" in text
    assert "conversation_join" not in json.dumps(shown.args) and "Join" not in text
    assert "Conversation with Tess" not in text  # upstream's default name is not repeated
    assert palbot.store.conversations.list_active("T1") == []
    [record] = palbot.store.conversations.recent("T1")
    assert record.test_mode and record.status == "ended"
    told = fake_slack.wait_response(where=lambda r: "test conversation" in json.dumps(r.args))
    assert "nothing is billed" in json.dumps(told[-1].args)


def test_join_button_is_only_acked(palbot: PalbotHandle, fake_slack: FakeSlack) -> None:
    resp = palbot.slack.block_action("conversation_join", "c123", url="https://x/c123")
    assert resp.status_code == 200
    palbot.settle()
    assert [c.method for c in fake_slack.calls if c.method != "auth.test"] == []


def test_retried_command_and_double_click_start_once(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    # Slack retries a slow command with the same trigger_id
    palbot.slack.command(f"start {pal_id}", trigger_id="trig-1")
    palbot.slack.command(
        f"start {pal_id}",
        trigger_id="trig-1",
        headers={"x-slack-retry-num": "1", "x-slack-retry-reason": "timeout"},
    )
    # a double click on a Start button: two clicks, two action_ts, in a burst
    clicks = [
        threading.Thread(
            target=palbot.slack.block_action,
            args=("pal_start_button", pal_id),
            kwargs={"channel": "C_OTHER"},
        )
        for _ in range(3)
    ]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    started(palbot, fake_slack, count=2)
    palbot.settle()
    assert len(sandbox.requests("POST", "/v2/conversations")) == 2  # one per user action
    fake_slack.wait_response(
        where=lambda r: (
            "did not start a second" in json.dumps(r.args)
            or "already handled" in json.dumps(r.args)
        )
    )


def test_start_modal(palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    palbot.slack.command("start")
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    check_view(view)
    assert view["callback_id"] == "pal_start"
    channel_block = next(b for b in view["blocks"] if b.get("block_id") == "channel")
    assert channel_block["element"]["default_to_current_conversation"] is True
    view = {**view, "id": "V_START"}
    assert (
        palbot.slack.submit(view, {"pal_id": None, "channel": "C1"}).json()["response_action"]
        == "errors"
    )
    first = palbot.slack.submit(
        view, {"pal_id": pal_id, "conversation_name": "From modal", "channel": "C_TEAM"}
    )
    assert first.json()["response_action"] == "update"
    palbot.slack.submit(
        view, {"pal_id": pal_id, "conversation_name": "From modal", "channel": "C_TEAM"}
    )  # a repeated submission
    [msg] = started(palbot, fake_slack)
    assert msg.args["channel"] == "C_TEAM"
    fake_slack.wait_for("views.update", where=lambda c: "Started" in json.dumps(c.args))
    palbot.settle()
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1


def test_end_by_starter_admin_and_refusal(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    palbot.slack.command(f"start {pal_id} One")
    started(palbot, fake_slack)
    [conv] = palbot.store.conversations.list_active("T1")
    palbot.slack.block_action("conversation_end", conv.conversation_id, user="U_STRANGER")
    fake_slack.wait_response(where=lambda r: "Only the person who started" in json.dumps(r.args))
    assert palbot.audit("conversation.end")[-1].outcome == "denied"
    assert sandbox.requests("POST", f"/v2/conversations/{conv.conversation_id}/end") == []
    palbot.slack.command(f"end {conv.conversation_id}", user=USER)
    fake_slack.wait_response(where=lambda r: "Ended the conversation" in json.dumps(r.args))
    ended = fake_slack.wait_for("chat.update", where=lambda c: "ended by" in json.dumps(c.args))
    text = json.dumps(ended[-1].args)
    assert "conversation_join" not in text and "lasted" in text
    check_message(ended[-1].args)
    assert palbot.store.conversations.get(conv.conversation_id).status == "ended"  # type: ignore
    palbot.slack.command(f"end {conv.conversation_id}", user=USER)
    fake_slack.wait_response(where=lambda r: "already ended" in json.dumps(r.args))
    # an admin may end anyone's conversation
    palbot.slack.command(f"start {pal_id} Two")
    started(palbot, fake_slack, count=2)
    [second] = palbot.store.conversations.list_active("T1")
    palbot.slack.block_action("conversation_end", second.conversation_id, user=ADMIN)
    fake_slack.wait_response(
        count=2, where=lambda r: "Ended the conversation" in json.dumps(r.args)
    )
    palbot.slack.command("end cunknown123")
    fake_slack.wait_response(where=lambda r: "No conversation" in json.dumps(r.args))


def test_not_in_channel_costs_nothing(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    fake_slack.channel_errors["G_PRIVATE"] = "not_in_channel"
    palbot.slack.command(f"start {pal_id}", channel="G_PRIVATE")
    fake_slack.wait_response(where=lambda r: "/invite @palbot" in json.dumps(r.args))
    assert sandbox.requests("POST", "/v2/conversations") == []
    assert [e.outcome for e in palbot.audit("conversation.start")] == ["accepted", "error"]
    fake_slack.channel_errors["D_DM"] = "channel_not_found"
    palbot.slack.command(f"start {pal_id}", channel="D_DM")
    fake_slack.wait_response(where=lambda r: "cannot see that channel" in json.dumps(r.args))
    assert sandbox.requests("POST", "/v2/conversations") == []


def test_unknown_pal_and_upstream_errors(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    palbot.slack.command("start pnothere")
    fake_slack.wait_response(where=lambda r: "No PAL `pnothere`" in json.dumps(r.args))
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    sandbox.fault(
        method="POST",
        path="/v2/conversations",
        status=402,
        body={"message": "The user is out of conversational credits"},
    )
    palbot.slack.command(f"start {pal_id}")
    # the starter alone is told why (ephemeral); the channel's placeholder goes away
    fake_slack.wait_response(where=lambda r: "out of conversational credits" in json.dumps(r.args))
    [placeholder] = [
        c for c in fake_slack.of("chat.postMessage") if "is starting" in json.dumps(c.args)
    ]
    [deleted] = fake_slack.wait_for("chat.delete")
    assert deleted.args["ts"] == placeholder.result["ts"]
    channel_said = json.dumps([c.args for c in fake_slack.calls if c.method.startswith("chat.")])
    assert "credits" not in channel_said and "could not start" not in channel_said
    assert palbot.store.conversations.list_active("T1") == []


def test_upstream_concurrency_cap_lists_active_with_end_buttons(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    sandbox.configure(concurrency_cap=1)
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    palbot.slack.command(f"start {pal_id} first")
    started(palbot, fake_slack)
    palbot.slack.command(f"start {pal_id} second", channel="C_OTHER")
    answer = fake_slack.wait_response(
        where=lambda r: "maximum of concurrent" in json.dumps(r.args)
    )[-1].args
    check_message(answer)
    [active] = palbot.store.conversations.list_active("T1")
    assert active.conversation_id in json.dumps(answer) and "conversation_end" in json.dumps(answer)


def test_workspace_limits(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    palbot.slack.command("limits", user=USER)
    fake_slack.wait_response(where=lambda r: "Only workspace admins" in json.dumps(r.args))
    palbot.slack.command("limits", user=ADMIN)
    view = {**fake_slack.wait_for("views.open")[-1].args["view"], "id": "V_LIM"}
    check_view(view)
    bad = palbot.slack.submit(view, {"max_concurrent": "0"}, user=ADMIN).json()
    assert bad["response_action"] == "errors" and "max_concurrent" in bad["errors"]
    bad = palbot.slack.submit(view, {"max_call_duration": "5"}, user=ADMIN).json()
    assert "max_call_duration" in bad["errors"]
    ok = palbot.slack.submit(
        view, {"max_concurrent": "1", "max_per_day": "2", "max_call_duration": "600"}, user=ADMIN
    )
    assert ok.status_code == 200 and ok.text in ("", "{}")
    limits = palbot.store.workspaces.get("T1").limits  # type: ignore[union-attr]
    assert (limits.max_concurrent, limits.max_per_day, limits.max_call_duration) == (1, 2, 600)
    palbot.slack.command(f"start {pal_id} a")
    started(palbot, fake_slack)
    assert sandbox.requests("POST", "/v2/conversations")[0]["body"]["properties"] == {
        "max_call_duration": 600
    }
    palbot.slack.command(f"start {pal_id} b", channel="C_B")
    refusal = fake_slack.wait_response(where=lambda r: "at most 1 concurrent" in json.dumps(r.args))
    assert "/pal limits" in json.dumps(refusal[-1].args)
    assert palbot.audit("conversation.start")[-1].outcome == "denied"
    [conv] = palbot.store.conversations.list_active("T1")
    palbot.slack.command(f"end {conv.conversation_id}")
    fake_slack.wait_response(where=lambda r: "Ended the conversation" in json.dumps(r.args))
    palbot.slack.command(f"start {pal_id} c", channel="C_C")
    started(palbot, fake_slack, count=2)
    [conv] = palbot.store.conversations.list_active("T1")
    palbot.slack.command(f"end {conv.conversation_id}")
    fake_slack.wait_response(
        count=2, where=lambda r: "Ended the conversation" in json.dumps(r.args)
    )
    palbot.slack.command(f"start {pal_id} d", channel="C_D")
    fake_slack.wait_response(
        where=lambda r: "at most 2 conversations per day" in json.dumps(r.args)
    )
    palbot.slack.command(f"start {pal_id} free --test", channel="C_E")  # test mode is free
    palbot.wait_audit("conversation.start", "ok", count=3)
    assert len(sandbox.requests("POST", "/v2/conversations")) == 3


def test_create_timeout_is_never_retried_and_is_looked_up(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot = make_palbot(http=True, pal_api_read_timeout=0.5)
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    sandbox.fault(method="POST", path="/v2/conversations", latency=1.0, times=1)
    palbot.slack.command(f"start {pal_id} slow")
    [update] = started(palbot, fake_slack)
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1
    assert len(sandbox.requests("GET", "/v2/conversations")) >= 1  # it looked among the active
    [conv] = palbot.store.conversations.list_active("T1")
    assert conv.conversation_id in json.dumps(update.args)


def test_ack_is_fast_while_the_pal_api_hangs(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot: PalbotHandle = make_palbot(http=True, pal_api_read_timeout=1, pal_api_deadline=1.5)
    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY))  # theirs: they may patch it
    sandbox.fault(latency=2.5, times=20)  # past the 1 s the acks are held to, and Slack's 2 s+
    for text in (f"start {pal_id}", "list", f"show {pal_id}", f"patch {pal_id}", "create"):
        began = time.monotonic()
        resp = palbot.slack.command(text)
        assert resp.status_code == 200
        assert time.monotonic() - began < 1.0, text
    began = time.monotonic()
    assert fake_slack.wait_for("views.open", count=2, timeout=3)
    assert time.monotonic() - began < 1.0  # modals opened at once, not after the PAL API


def test_two_workspaces_never_see_each_other(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from tests.conftest import SANDBOX_KEY_2

    palbot = make_palbot(
        http=True,
        slack_bot_token=None,
        slack_client_id="111.222",
        slack_client_secret="client-secret-xyz",
    )
    fake_slack.add_workspace("T2", "xoxb-T2-bot-token")
    for team, token in (("T1", "xoxb-T1-bot-token-test"), ("T2", "xoxb-T2-bot-token")):
        SlackInstallationStore(palbot.store.installations).save(
            Installation(
                app_id="A1",
                team_id=team,
                user_id=ADMIN,
                bot_token=token,
                bot_id="B" + team,
                bot_user_id="UB" + team,
                bot_scopes="commands,chat:write",
            )
        )
    palbot.connect_key("T1", SANDBOX_KEY)
    palbot.connect_key("T2", SANDBOX_KEY_2)
    pal_1 = make_pal(sandbox, SANDBOX_KEY, pal_name="Team one PAL")
    pal_2 = make_pal(sandbox, SANDBOX_KEY_2, pal_name="Team two PAL")
    palbot.slack.command("list", team="T1")
    palbot.slack.command("list", team="T2")
    answers = fake_slack.wait_response(count=2)
    one = next(a for a in answers if pal_1 in json.dumps(a.args))
    assert pal_2 not in json.dumps(one.args)
    two = next(a for a in answers if pal_2 in json.dumps(a.args))
    assert pal_1 not in json.dumps(two.args)
    # T2 cannot start, show or end T1's things
    palbot.slack.command(f"show {pal_1}", team="T2")
    fake_slack.wait_response(where=lambda r: "Not found" in json.dumps(r.args))
    palbot.slack.command(f"start {pal_1}", team="T1")
    palbot.wait_audit("conversation.start", "ok")
    [conv] = palbot.store.conversations.list_active("T1")
    palbot.slack.command(f"end {conv.conversation_id}", team="T2", user=ADMIN)
    fake_slack.wait_response(where=lambda r: "No conversation" in json.dumps(r.args))
    assert palbot.store.conversations.get(conv.conversation_id).status == "active"  # type: ignore
    # each workspace's requests used its own bot token
    posts = fake_slack.of("chat.postMessage")
    assert {c.token for c in posts} == {"xoxb-T1-bot-token-test"}
    # and audit rows stay in their workspace
    palbot.slack.command("audit", team="T2", user=ADMIN)
    audit = fake_slack.wait_response(where=lambda r: "Audit log" in json.dumps(r.args))
    assert "conversation.start" not in json.dumps(audit[-1].args)
    key_status = palbot.slack.command("key status", team="T2").json()
    assert "2222" in json.dumps(key_status) and "1111" not in json.dumps(key_status)
    assert httpx.get(palbot.url + "/healthz").status_code == 200


def test_audit_command(palbot: PalbotHandle, fake_slack: FakeSlack) -> None:
    palbot.connect_key()
    palbot.slack.command("key status")
    palbot.slack.command("audit 5", user=USER)
    fake_slack.wait_response(where=lambda r: "Only workspace admins" in json.dumps(r.args))
    palbot.slack.command("audit 5", user=ADMIN)
    shown = fake_slack.wait_response(where=lambda r: "Audit log" in json.dumps(r.args))
    check_message(shown[-1].args)
    assert "audit.read" in json.dumps(shown[-1].args)  # the denied read is listed
    assert [e.outcome for e in palbot.audit("audit.read")] == ["denied", "ok"]


def test_concurrent_starts_cannot_both_pass_a_limit(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from palbot.store.models import Limits

    palbot.connect_key()
    palbot.store.workspaces.set_limits("T1", Limits(max_concurrent=1), set_by=ADMIN)
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    sandbox.fault(method="POST", path="/v2/conversations", latency=0.5)
    threads = [
        threading.Thread(
            target=palbot.slack.command, args=(f"start {pal_id} n{i}",), kwargs={"channel": f"C{i}"}
        )
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started(palbot, fake_slack)
    palbot.wait_audit("conversation.start", "denied", count=3)
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1


def conversations_answer(palbot: PalbotHandle, fake: FakeSlack, user: str = USER) -> Any:
    """`/pal conversations` as `user` sees it: "Looking up…" at once, then the list."""
    before = len(fake.responses)
    ack = palbot.slack.command("conversations", user=user).json()
    assert "Looking up the live conversations" in render(ack["blocks"])
    answer = fake.wait_response(count=before + 1)[-1]
    return answer.args


def test_conversations_lists_live_and_recent_with_join_and_end_where_allowed(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    palbot.slack.command(f"start {pal_id} Mine", channel="C_A")
    started(palbot, fake_slack)
    palbot.slack.command(f"start {pal_id} Theirs", user="U_OTHER", channel="C_B")
    started(palbot, fake_slack, count=2)
    palbot.slack.command(f"start {pal_id} Trial --test", channel="C_A")
    palbot.wait_audit("conversation.start", "ok", count=3)
    mine, theirs = sorted(
        palbot.store.conversations.list_active("T1"), key=lambda r: r.conversation_name or ""
    )
    body = conversations_answer(palbot, fake_slack)
    check_message(body)
    text = render(body["blocks"])
    assert "Live conversations (2)" in text
    assert "*Coach* · Mine · started by <@U_USER> in <#C_A>" in text
    assert f"`{mine.conversation_id}`" in text and f"`{theirs.conversation_id}`" in text
    ends = [
        e["value"]
        for b in body["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == "conversation_end"
    ]
    assert ends == [mine.conversation_id]  # a member may end their own only
    joins = [
        e["url"]
        for b in body["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == "conversation_join"
    ]
    assert joins == [mine.url, theirs.url] or joins == [theirs.url, mine.url]
    assert "Recent" in text and "Trial · <@U_USER> · test" in text
    admin = conversations_answer(palbot, fake_slack, ADMIN)
    admin_ends = {
        e["value"]
        for b in admin["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == "conversation_end"
    }
    assert admin_ends == {mine.conversation_id, theirs.conversation_id}
    assert "/pal conversations" in str(palbot.slack.command("help").json())


def test_starts_written_together_each_get_their_own_answer(palbot: PalbotHandle) -> None:
    """A group commit's batch: each start is refused or written on its own, and a refused one
    gives back what it claimed (so its action can be tried again), in one commit."""
    from palbot.services.conversations import AcceptedStart, StartRequest
    from palbot.services.errors import Duplicate, NoKey
    from palbot.services.runtime import Actor

    palbot.connect_key()

    def req(user: str, key: str, team: str = "T1", name: str = "x") -> StartRequest:
        return StartRequest(
            actor=Actor(team, user, "C1"),
            pal_id="p1234567",
            channel_id="C1",
            conversation_name=name,
            dedupe_keys=(key,),
        )

    batch = [
        (req("U1", "k1"), "start-a", None),
        (req("U2", "k2", team="T_NOKEY"), "start-b", None),
        (req("U3", "k1"), "start-c", None),  # the same request again, in the same batch
        (req("U1", "k4"), "start-d", None),  # U1's same start again, another key: debounced
        (req("U5", "k5", name="y"), "start-e", None),
    ]
    out = palbot.bot.convs._write_starts(batch)
    assert [type(o).__name__ for o in out] == [
        "AcceptedStart",
        "NoKey",
        "Duplicate",
        "Duplicate",
        "AcceptedStart",
    ]
    assert isinstance(out[1], NoKey) and isinstance(out[2], Duplicate)
    assert "already handled" in out[2].message and "just started" in str(out[3])
    first, last = out[0], out[4]
    assert isinstance(first, AcceptedStart) and isinstance(last, AcceptedStart)
    assert last.seq == first.seq + 1  # the accepted rows, in order, one chain
    assert palbot.store.audit.verify().ok
    rows = [palbot.store.conversations.get(a) for a in ("start-a", "start-d", "start-e")]
    assert [r.status if r else None for r in rows] == ["starting", None, "starting"]
    assert palbot.store.idempotency.claim("k1", team_id="T1") is False  # k1 stays claimed
    # the next batch: U1 again at once (debounced by the store this time) gives back the key
    # it had claimed, so the same action may be tried again once the debounce has passed
    [again] = palbot.bot.convs._write_starts([(req("U1", "k6"), "start-f", None)])
    assert isinstance(again, Duplicate) and "just started" in again.message
    assert palbot.store.idempotency.claim("k6", team_id="T1") is True
    assert palbot.store.conversations.get("start-f") is None


def test_a_start_replayed_long_after_is_still_handled_once(palbot: PalbotHandle) -> None:
    """The start's action key and its debounce key are claimed in one statement: once the
    debounce has passed, the debounce key is claimed again, but the action key never is, so
    the same action (same key), however late it comes back, starts nothing."""
    from palbot.services.conversations import AcceptedStart, StartRequest
    from palbot.services.errors import Duplicate
    from palbot.services.runtime import Actor

    palbot.connect_key()

    def start(key: str, attempt: str) -> object:
        req = StartRequest(
            actor=Actor("T1", "U1", "C1"),
            pal_id="p1234567",
            channel_id="C1",
            conversation_name="x",
            dedupe_keys=(key,),
        )
        [out] = palbot.bot.convs._write_starts([(req, attempt, None)])
        return out

    assert isinstance(start("view:V1", "start-a"), AcceptedStart)
    with palbot.store.db.write() as conn:  # every claim ages a day: the debounce has passed
        conn.execute("UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000000Z'")
    again = start("view:V1", "start-b")
    assert isinstance(again, Duplicate) and "already handled" in again.message
    assert palbot.store.conversations.get("start-b") is None
    # the debounce key this refused start renewed is given back with it: another action goes
    assert isinstance(start("view:V2", "start-c"), AcceptedStart)
    assert [r.outcome for r in palbot.audit("conversation.start")] == ["accepted", "accepted"]
