"""Nothing accepted is ever lost (issue 12): a start is written down before money is spent, and
whatever happens next — a lost or unreadable answer, a late create, a callback before the answer,
kill -9 or SIGTERM in a burst — it ends recorded and shown, or failed and said, with every
`accepted` audit row closed once."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from palbot.store.sqlite.store import open_sqlite_store
from tests.cli import palbot as palbot_cli
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_client import SlackSender
from tests.slack.conftest import SIGNING_SECRET, USER, PalbotHandle
from tests.slack.serving import fire_burst, free_port, serve_env
from tests.slack.test_conversations import started
from tests.slack.test_faults import REPO, _serve
from tests.slack.test_lifecycle import on_server, post_callback
from tests.slack.test_pals import make_pal


def wait(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.05)


def closings(rows: list[Any]) -> Counter[int]:
    """How many closing rows each `accepted` row of the given audit rows has."""
    return Counter(r.detail["accepted_seq"] for r in rows if r.outcome != "accepted")


def sandbox_active(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    resp = httpx.get(
        f"{sandbox.url}/v2/conversations",
        params={"status": "active", "limit": 100},
        headers={"x-api-key": SANDBOX_KEY},
    )
    resp.raise_for_status()
    return list(resp.json()["data"])


def test_a_create_answered_after_the_deadline_is_adopted(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot: PalbotHandle = make_palbot(
        http=True,
        pal_api_read_timeout=0.5,
        palbot_reconcile_grace=6.0,  # longer than upstream takes (5 s)
        palbot_reconcile_interval=0.3,
    )
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    # upstream creates it 5 s later: after palbot's deadline and its three quick looks (which
    # end about 2.5 s in; the margin keeps a loaded machine from finding it among them)
    sandbox.fault(method="POST", path="/v2/conversations", latency=5.0, times=1)
    palbot.slack.command(f"start {pal_id} late one")
    fake_slack.wait_response(where=lambda r: "keeps checking" in json.dumps(r.args))
    [open_start] = palbot.store.conversations.open_starts()
    assert open_start.status == "unknown" and open_start.message_ts  # not failed, not forgotten
    # reconciliation adopts it: the same message now offers Join and End; the starter is told
    [update] = started(palbot, fake_slack)
    assert update.args["ts"] == open_start.message_ts
    palbot.settle()  # the delivery mark is written in a batch, a moment later
    [conv] = palbot.store.conversations.list_active("T1")
    assert conv.conversation_name == "late one" and conv.delivered
    assert [c["conversation_id"] for c in sandbox_active(sandbox)] == [conv.conversation_id]
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1  # never created twice
    fake_slack.wait_for(
        "chat.postMessage",
        where=lambda c: c.args.get("channel") == USER and "did start" in json.dumps(c.args),
    )
    rows = palbot.audit("conversation.start")
    assert [r.outcome for r in rows] == ["accepted", "ok"] and closings(rows) == {rows[0].seq: 1}
    [note] = palbot.audit("conversation.reconcile")
    assert note.detail["found"] is True and note.target == conv.conversation_id
    # and it can be ended from Slack like any other
    palbot.slack.command(f"end {conv.conversation_id}")
    fake_slack.wait_response(where=lambda r: "Ended the conversation with Coach" in str(r.args))


def test_an_unreadable_create_answer_is_checked_and_the_starter_told(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot: PalbotHandle = make_palbot(palbot_reconcile_grace=0.1, palbot_reconcile_interval=0.3)
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    sandbox.fault(method="POST", path="/v2/conversations", status=200, body={}, times=1)
    palbot.slack.command(f"start {pal_id}")
    fake_slack.wait_response(where=lambda r: "keeps checking" in json.dumps(r.args))
    # nothing was created upstream: reconciliation takes the placeholder out of the channel
    # and tells the starter (privately) why
    [placeholder] = fake_slack.of("chat.postMessage")
    [deleted] = fake_slack.wait_for("chat.delete", timeout=15)
    assert deleted.args["ts"] == placeholder.result["ts"]  # type: ignore[index]
    fake_slack.wait_for(
        "chat.postMessage",
        where=lambda c: c.args.get("channel") == USER and "was not started" in json.dumps(c.args),
    )
    palbot.settle()
    [record] = palbot.store.conversations.recent("T1")
    assert record.status == "failed" and palbot.store.conversations.open_starts() == []
    rows = palbot.audit("conversation.start")
    assert [r.outcome for r in rows] == ["accepted", "error"]
    assert rows[1].detail["error"] == "NotCreated" and closings(rows) == {rows[0].seq: 1}
    assert palbot.audit("conversation.reconcile")[0].detail["found"] is False


def test_a_callback_before_the_answer_completes_the_start(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    # the create's answer is lost (read timeout 0.5 s); upstream creates it at 1 s and calls
    # back at once: the callback for the open start's token records the conversation (or
    # palbot's own look finds it first: either way, once)
    palbot: PalbotHandle = make_palbot(
        public=True, pal_api_read_timeout=0.5, palbot_reconcile_grace=600
    )
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    sandbox.fault(method="POST", path="/v2/conversations", latency=1.0, times=1)
    palbot.slack.command(f"start {pal_id}")
    wait(lambda: sandbox.callbacks(), what="the sandbox's first callback")
    fake_slack.wait_for("chat.update", where=lambda c: "PAL joined" in json.dumps(c.args))
    palbot.settle()
    [conv] = palbot.store.conversations.list_active("T1")
    assert conv.attempt_id and conv.attempt_id != conv.conversation_id and conv.delivered
    [sent] = sandbox.callbacks()[:1]
    assert sent["status"] == 200 and sent["event"]["conversation_id"] == conv.conversation_id
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1
    rows = palbot.audit("conversation.start")
    assert closings(rows) == {rows[0].seq: 1} and rows[-1].outcome == "ok"
    # forged: the token of a recorded conversation cannot name another conversation
    forged = {**sent["event"], "conversation_id": "c-someone-else"}
    token = sandbox.callback_token(conv.conversation_id)
    assert post_callback(palbot, token, forged).status_code == 404


def test_the_join_message_moves_when_slack_refuses_the_update(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    fake_slack.fail_next("chat.update", error="message_not_found")
    palbot.slack.command(f"start {pal_id}")
    palbot.wait_audit("conversation.start", "ok")
    posted = fake_slack.wait_for(
        "chat.postMessage", count=2, where=lambda c: c.args.get("channel") == "C_GENERAL"
    )
    assert "conversation_join" in json.dumps(posted[1].args)  # the join message, anew
    palbot.settle()
    [conv] = palbot.store.conversations.list_active("T1")
    assert posted[1].result is not None and conv.message_ts == posted[1].result["ts"]
    assert conv.delivered


def test_a_transcript_whose_first_post_fails_is_still_delivered(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot: PalbotHandle = make_palbot(public=True)
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    palbot.slack.command(f"start {pal_id}")
    started(palbot, fake_slack)
    [conv] = palbot.store.conversations.list_active("T1")
    token = sandbox.callback_token(conv.conversation_id)
    palbot.settle()
    transcript = {
        "conversation_id": conv.conversation_id,
        "event_type": "application.transcription_ready",
        "message_type": "application",
        "timestamp": "2026-11-26T01:00:00Z",
        "properties": {"transcript": [{"role": "user", "content": "hello there"}]},
    }
    fake_slack.fail_next("files.getUploadURLExternal", error="internal_error", status=500)
    assert post_callback(palbot, token, transcript).json()["result"] == "accepted"
    palbot.settle()
    assert fake_slack.of("files.completeUploadExternal") == []  # not posted
    # upstream retries: processed, not answered "duplicate", and the transcript is posted
    assert post_callback(palbot, token, transcript).json()["result"] == "accepted"
    [done] = fake_slack.wait_for("files.completeUploadExternal")
    assert done.result is not None
    assert "Participant: hello there" in b"".join(fake_slack.uploads.values()).decode()
    palbot.settle()
    assert post_callback(palbot, token, transcript).json()["result"] == "duplicate"


# ---- killed or stopped in a burst --------------------------------------------------------

BURST = 30


def _burst_env(
    tmp_path: Path, fake: FakeSlack, sandbox: SandboxHandle
) -> tuple[dict[str, str], int, str]:
    db = tmp_path / "palbot.db"
    secret = Fernet.generate_key().decode()
    store = open_sqlite_store(db, secret)
    store.workspaces.set_pal_key("T1", SANDBOX_KEY, set_by="U_ADMIN")
    store.close()
    env = serve_env(
        fake,
        sandbox,
        PALBOT_DATABASE=str(db),
        PALBOT_SECRET_KEY=secret,
        PALBOT_RECONCILE_GRACE="2",
        PALBOT_RECONCILE_INTERVAL="0.5",
        PALBOT_SHUTDOWN_GRACE="10",
    )
    return env, free_port(), secret


def _stopped_in_a_burst(
    how: signal.Signals, tmp_path: Path, fake: FakeSlack, sandbox: SandboxHandle
) -> None:
    env, port, secret = _burst_env(tmp_path, fake, sandbox)
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Burst")
    sandbox.configure(concurrency_cap=1000)
    sandbox.fault(method="POST", path="/v2/conversations", latency=1.0)  # many in flight
    proc = _serve(env, port)
    sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake.response_url)
    acked: list[str] = []
    threads = fire_burst([sender], pal_id, BURST, acked)
    wait(lambda: len(acked) >= BURST // 2, what="half of the burst acked")
    # stopped while creates are in flight upstream (each takes 1 s there)
    wait(lambda: len(sandbox.requests("POST", "/v2/conversations")) >= 3, what="creates sent")
    proc.send_signal(how)
    proc.wait(timeout=30)
    for t in threads:
        t.join(timeout=30)
    time.sleep(1.2)  # creates already sent finish upstream, as they would at Tavus
    sandbox.admin.delete("/_sandbox/faults")

    restarted = _serve(env, port)  # reconciliation runs at start-up and then every 0.5 s
    try:
        db = Path(env["PALBOT_DATABASE"])

        def settled() -> bool:
            check = open_sqlite_store(db, secret)
            try:
                convs = check.conversations
                return not convs.open_starts() and not convs.undelivered()
            finally:
                check.close()

        wait(settled, timeout=40, what="every open start settled and shown")
        upstream = {c["conversation_id"] for c in sandbox_active(sandbox)}
        check = open_sqlite_store(db, secret)
        recorded = {c.conversation_id: c for c in check.conversations.list_active("T1")}
        # every conversation the PAL API created is recorded (none orphaned), and shown
        assert upstream and upstream == set(recorded), (upstream, set(recorded))
        assert all(c.delivered and c.message_ts for c in recorded.values())
        shown = json.dumps([c.args for c in fake.calls if c.method.startswith("chat.")])
        assert all(cid in shown for cid in upstream)
        # every acked start has its accepted row, each closed exactly once
        rows = list(check.audit.iter_entries(action="conversation.start"))
        accepted = {r.seq: r for r in rows if r.outcome == "accepted"}
        names = {r.detail.get("conversation_name") for r in accepted.values()}
        assert all(name in names for name in acked)
        assert closings(rows) == dict.fromkeys(accepted, 1)
        notes = list(check.audit.iter_entries(action="conversation.reconcile"))
        adopted = [n for n in notes if n.detail["found"]]
        if how is signal.SIGKILL:  # creates in flight when it died: found and recorded
            assert adopted, "kill -9 left nothing for reconciliation to adopt"
        else:  # SIGTERM: in-flight creates finished before the process exited
            assert adopted == [], [n.target for n in adopted]
        assert check.audit.verify().ok
        check.close()
        verify = palbot_cli("audit", "verify", env=env, cwd=REPO)
        assert verify.returncode == 0 and "audit log OK" in verify.stdout
        # and each can be ended from Slack
        some = next(iter(recorded.values()))
        resp = sender.command(f"end {some.conversation_id}", user=some.started_by)
        assert resp.status_code == 200
        wait(
            lambda: (
                some.conversation_id not in {c["conversation_id"] for c in sandbox_active(sandbox)}
            ),
            what="ended upstream",
        )
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)


def test_kill_9_in_a_burst_of_starts_orphans_nothing(
    tmp_path: Path, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    _stopped_in_a_burst(signal.SIGKILL, tmp_path, fake_slack, sandbox)


def test_sigterm_in_a_burst_of_starts_orphans_nothing(
    tmp_path: Path, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    _stopped_in_a_burst(signal.SIGTERM, tmp_path, fake_slack, sandbox)


def test_reconciliation_settles_a_start_left_open_by_a_dead_process(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from palbot.services.conversations import StartRequest
    from palbot.services.runtime import Actor

    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    # accepted (audited, written down) and then the process died: no placeholder, no create
    accepted = on_server(
        palbot,
        palbot.bot.convs.accept(
            StartRequest(Actor("T1", USER, "C_GENERAL"), pal_id, "C_GENERAL", "orphan")
        ),
    )
    report = on_server(palbot, palbot.bot.reconciler.run_once(grace=0))
    assert (report.found, report.failed) == (0, 1)
    record = palbot.store.conversations.by_attempt(accepted.attempt_id)
    assert record is not None and record.status == "failed"
    fake_slack.wait_for(
        "chat.postMessage",
        where=lambda c: c.args.get("channel") == USER and "was not started" in json.dumps(c.args),
    )
    assert sandbox.requests("POST", "/v2/conversations") == []
    rows = palbot.audit("conversation.start")
    assert [r.outcome for r in rows] == ["accepted", "error"]
    again = on_server(palbot, palbot.bot.reconciler.run_once(grace=0))  # idempotent
    assert (again.found, again.failed, again.redelivered) == (0, 0, 0)
    assert len(palbot.audit("conversation.start")) == 2


def test_a_database_locked_by_another_process_never_stalls_slack(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    import sys

    palbot: PalbotHandle = make_palbot(http=True)
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    db = palbot.bot.settings.palbot_database
    holder = subprocess.Popen(  # a backup, `palbot audit`, a second palbot: holds the lock 4 s
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(4)\n"
            "c.execute('ROLLBACK')\n",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        timings = {}
        for what, call in (
            ("healthz", lambda: httpx.get(palbot.url + "/healthz", timeout=5)),
            ("help", lambda: palbot.slack.command("help")),
            ("start", lambda: palbot.slack.command(f"start {pal_id} while locked")),
            ("list", lambda: palbot.slack.command("list")),
        ):
            began = time.monotonic()
            resp = call()
            timings[what] = time.monotonic() - began
            assert resp.status_code == 200, (what, resp.status_code, resp.text)
            if what == "healthz":  # up, and saying why writes wait
                assert resp.json()["database"] == {"backend": "sqlite", "state": "write-locked"}
            if what == "start":  # refused in words, nothing accepted, nothing billed
                assert "palbot is busy" in resp.text
        assert max(timings.values()) < 1.0, timings
        assert palbot.audit("conversation.start") == []
        assert sandbox.requests("POST", "/v2/conversations") == []
        fake_slack.wait_response(where=lambda r: "Coach" in json.dumps(r.args))  # list answered
    finally:
        holder.wait(timeout=10)
    # the lock released: the same start goes through
    palbot.slack.command(f"start {pal_id} while locked")
    started(palbot, fake_slack)


def test_other_actions_left_open_by_a_dead_process_are_closed_and_said(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from palbot.services.runtime import Actor

    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    palbot.slack.command(f"start {pal_id}")
    started(palbot, fake_slack)
    [conv] = palbot.store.conversations.list_active("T1")
    palbot.settle()
    services = palbot.bot.services
    me = Actor("T1", USER, "C_GENERAL")
    # accepted before their acks, then the process died: a patch and an End
    ops = [{"op": "remove", "path": "/context"}]
    patch = on_server(palbot, services.pals.accept_patch(me, pal_id, ops))
    end = on_server(palbot, services.conversations.accept_end(me, conv.conversation_id))
    report = on_server(palbot, palbot.bot.reconciler.run_once(grace=0))
    assert report.interrupted == 2
    # the End was finished: ended upstream and in Slack, audited ok, the person told
    assert palbot.store.conversations.get(conv.conversation_id).status == "ended"  # type: ignore[union-attr]
    assert sandbox_active(sandbox) == []
    fake_slack.wait_for("chat.update", where=lambda c: "ended by" in json.dumps(c.args))
    closes = {r.detail.get("accepted_seq"): r for r in palbot.audit() if r.outcome != "accepted"}
    assert closes[end.seq].outcome == "ok" and closes[end.seq].detail["reconciled"] is True
    # the patch: closed `error`, and the person is told what to check
    assert closes[patch.seq].outcome == "error"
    assert closes[patch.seq].detail["error"] == "Interrupted"
    assert (closes[patch.seq].target, closes[patch.seq].channel_id) == (pal_id, "C_GENERAL")
    assert (closes[end.seq].target, closes[end.seq].channel_id) == (
        conv.conversation_id,
        "C_GENERAL",
    )
    fake_slack.wait_for(
        "chat.postMessage",
        where=lambda c: (
            c.args.get("channel") == USER and f"/pal show {pal_id}" in json.dumps(c.args)
        ),
    )
    assert sandbox.requests("PATCH") == []
    again = on_server(palbot, palbot.bot.reconciler.run_once(grace=0))  # each once
    assert again.interrupted == 0


def test_a_long_slack_retry_after_is_not_waited_out_holding_a_slot(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    fake_slack.fail_next("chat.postMessage", status=429, headers={"Retry-After": "40"})
    began = time.monotonic()
    palbot.slack.command(f"start {pal_id} first")
    fake_slack.wait_response(where=lambda r: "rate-limiting" in json.dumps(r.args))
    assert time.monotonic() - began < 5  # not 40 s
    assert sandbox.requests("POST", "/v2/conversations") == []  # nothing billed
    rows = palbot.audit("conversation.start")
    assert [r.outcome for r in rows] == ["accepted", "error"]
    palbot.slack.command(f"start {pal_id} second")  # the next start is not held up
    started(palbot, fake_slack)
    assert time.monotonic() - began < 8


def test_a_passing_slack_failure_on_the_join_message_is_retried_in_place(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    fake_slack.fail_next("chat.update", error="internal_error")
    palbot.slack.command(f"start {pal_id}")
    [update] = started(palbot, fake_slack)
    palbot.settle()
    placeholder = fake_slack.of("chat.postMessage")[0]
    assert placeholder.result is not None and update.args["ts"] == placeholder.result["ts"]
    assert len(fake_slack.of("chat.postMessage")) == 1  # the same message, not a new one


def test_no_store_call_runs_on_the_serving_event_loop(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """Store work runs on the store's threads: a store call made on the loop itself raises
    (so every end-to-end test catches one creeping back), and the same call through `rt.db`
    answers."""
    import threading

    palbot.connect_key()

    async def on_the_loop() -> str:
        try:
            palbot.store.workspaces.get("T1")
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    assert "store call on the event loop" in on_server(palbot, on_the_loop())

    async def through_the_store_threads() -> tuple[bool, str]:
        def read() -> tuple[bool, str]:
            workspace = palbot.store.workspaces.get("T1")
            return workspace is not None and workspace.has_key, threading.current_thread().name

        return await palbot.bot.rt.db(read)

    has_key, thread = on_server(palbot, through_the_store_threads())
    assert has_key and thread.startswith("palbot-store")
    # and a whole start, end to end, with the guard on
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    palbot.slack.command(f"start {pal_id}")
    started(palbot, fake_slack)
