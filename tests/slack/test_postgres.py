"""PostgreSQL: several processes, one database, one app (issue 13). A real server, started by
the tests (tests/pg.py); palbot processes and in-process servers sharing it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet

from palbot.store.postgres.store import open_postgres_store
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import ADMIN, PalbotHandle
from tests.slack.test_conversations import started
from tests.slack.test_pals import make_pal

APPENDER = """
import sys
from palbot.store.postgres.store import open_postgres_store
store = open_postgres_store(sys.argv[1], sys.argv[2])
for i in range(int(sys.argv[3])):
    store.audit.append("audit.read", "ok", team_id="T1", user_id=sys.argv[4], detail={"i": i})
store.close()
"""


def test_the_audit_chain_stays_one_chain_when_four_processes_append(postgres_url: str) -> None:
    secret = Fernet.generate_key().decode()
    open_postgres_store(postgres_url, secret).close()  # migrated once, before they start
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, postgres_url, secret, "60", f"P{n}"])
        for n in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    store = open_postgres_store(postgres_url, secret)
    try:
        result = store.audit.verify()
        assert result.ok and result.rows == 240, result
        seqs = [e.seq for e in store.audit.iter_entries()]
        assert seqs == list(range(1, 241))  # no gap, no fork
    finally:
        store.close()


def test_migrations_run_once_when_processes_start_together(postgres_url: str) -> None:
    secret = Fernet.generate_key().decode()
    opener = "import sys\nfrom palbot.store.postgres.store import open_postgres_store\n" \
        "open_postgres_store(sys.argv[1], sys.argv[2]).close()\n"  # fmt: skip
    procs = [
        subprocess.Popen([sys.executable, "-c", opener, postgres_url, secret]) for _ in range(4)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    store = open_postgres_store(postgres_url, secret)
    try:
        assert store.db.user_version == 7
    finally:
        store.close()


def test_a_missing_secret_key_is_named(postgres_url: str) -> None:
    from palbot.store import SecretKeyError

    with pytest.raises(SecretKeyError, match="PALBOT_SECRET_KEY"):
        open_postgres_store(postgres_url, None)


def two_palbots(make_palbot: Any, url: str, **overrides: Any) -> tuple[PalbotHandle, PalbotHandle]:
    secret = Fernet.generate_key().decode()
    first = make_palbot(http=True, database_url=url, palbot_secret_key=secret, **overrides)
    second = make_palbot(http=True, database_url=url, palbot_secret_key=secret, **overrides)
    return first, second


def test_two_palbots_on_one_postgresql_behave_as_one_app(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle, postgres_url: str
) -> None:
    a, b = two_palbots(make_palbot, postgres_url)
    a.connect_key()
    assert b.store.workspaces.get_pal_key("T1") == SANDBOX_KEY  # one database
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    # Slack retries a slow command, and the retry lands on the other process: one start
    a.slack.command(f"start {pal_id}", trigger_id="trig-shared-1")
    b.slack.command(f"start {pal_id}", trigger_id="trig-shared-1")
    started(a, fake_slack)
    a.settle()
    b.settle()
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1
    # what one process started, the other ends (a button or a command may land anywhere)
    [conv] = b.store.conversations.list_active("T1")
    b.slack.command(f"end {conv.conversation_id}")
    fake_slack.wait_response(where=lambda r: "Ended the conversation with Coach" in str(r.args))
    assert a.store.conversations.get(conv.conversation_id).status == "ended"  # type: ignore[union-attr]
    rows = [(r.action, r.outcome) for r in a.audit()]
    assert rows.count(("conversation.start", "ok")) == 1 and a.audit()[0].seq == 1
    assert a.store.audit.verify().ok


def test_six_starts_on_two_processes_against_a_limit_of_one_start_one(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle, postgres_url: str
) -> None:
    from palbot.store.models import Limits

    a, b = two_palbots(make_palbot, postgres_url)
    a.connect_key()
    a.store.workspaces.set_limits("T1", Limits(max_concurrent=1), set_by=ADMIN)
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    sandbox.configure(concurrency_cap=100)
    threads = [
        threading.Thread(
            target=(a, b)[i % 2].slack.command,
            args=(f"start {pal_id} race-{i}",),
            kwargs={"user": f"U{i}", "channel": f"C{i}"},
        )
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a.wait_audit("conversation.start", "ok")
    b.wait_audit("conversation.start", "denied", count=5)
    a.settle()
    b.settle()
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1
    assert len(a.store.conversations.list_active("T1")) == 1
    refusals = [r for r in fake_slack.responses if "at most 1 concurrent" in json.dumps(r.args)]
    assert len(refusals) == 5


def test_reconciliation_runs_in_one_process_and_moves_when_it_dies(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle, postgres_url: str
) -> None:
    import time

    a, b = two_palbots(make_palbot, postgres_url, palbot_reconcile_interval=0.3)

    def holder() -> str | None:
        row = a.store.db.conn.execute(
            "SELECT holder FROM leases WHERE name = 'reconcile' AND expires_at > ?",
            (time.time(),),
        ).fetchone()
        return row[0] if row else None

    deadline = time.monotonic() + 10
    while holder() is None:
        assert time.monotonic() < deadline, "no process took the reconcile lease"
        time.sleep(0.05)
    first = holder()
    assert first in (a.bot.rt.holder, b.bot.rt.holder)
    leader, other = (a, b) if first == a.bot.rt.holder else (b, a)
    for _ in range(5):  # it keeps it while it lives
        time.sleep(0.2)
        assert holder() == first
    leader.server.stop()  # the leader stops (a deploy): it gives its lease up on the way out
    row = a.store.db.conn.execute("SELECT holder FROM leases WHERE name = 'reconcile'").fetchone()
    assert row is None or row[0] != first  # released, not left to run out
    deadline = time.monotonic() + 10
    while holder() != other.bot.rt.holder:
        assert time.monotonic() < deadline, "the lease did not move to the live process"
        time.sleep(0.05)
    assert not other.bot.rt.store.leases.acquire("reconcile", "another-process", ttl=0.5)
    assert holder() == other.bot.rt.holder  # a live holder keeps it


def test_two_serve_processes_one_killed_mid_burst_lose_nothing(
    fake_slack: FakeSlack, sandbox: SandboxHandle, postgres_url: str
) -> None:
    import signal
    import time
    from collections import Counter

    from tests.fakes.slack_client import SlackSender
    from tests.slack.conftest import SIGNING_SECRET
    from tests.slack.serving import fire_burst, free_port, serve_env
    from tests.slack.test_durability import sandbox_active, wait
    from tests.slack.test_faults import _serve

    secret = Fernet.generate_key().decode()
    seed = open_postgres_store(postgres_url, secret)
    seed.workspaces.set_pal_key("T1", SANDBOX_KEY, set_by=ADMIN)
    seed.close()
    env = serve_env(
        fake_slack,
        sandbox,
        DATABASE_URL=postgres_url,
        PALBOT_SECRET_KEY=secret,
        PALBOT_RECONCILE_GRACE="2",
        PALBOT_RECONCILE_INTERVAL="0.5",
    )
    ports = [free_port(), free_port()]
    procs = [_serve(env, port) for port in ports]
    senders = [
        SlackSender(f"http://127.0.0.1:{p}", SIGNING_SECRET, fake_slack.response_url) for p in ports
    ]
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    sandbox.configure(concurrency_cap=1000)
    sandbox.fault(method="POST", path="/v2/conversations", latency=1.0)
    acked: list[str] = []
    threads = fire_burst(senders, pal_id, 24, acked, name="spread")
    try:
        wait(lambda: len(acked) >= 12, what="half the burst acked")
        wait(lambda: len(sandbox.requests("POST", "/v2/conversations")) >= 3, what="creates")
        procs[0].send_signal(signal.SIGKILL)  # one process dies mid-burst
        procs[0].wait(timeout=10)
        for t in threads:
            t.join(timeout=30)
        time.sleep(1.2)  # creates already sent finish upstream
        sandbox.admin.delete("/_sandbox/faults")
        check = open_postgres_store(postgres_url, secret)
        try:

            def settled() -> bool:
                convs = check.conversations
                return not convs.open_starts() and not convs.undelivered()

            wait(settled, timeout=40, what="the live process settled the dead one's starts")
            upstream = {c["conversation_id"] for c in sandbox_active(sandbox)}
            recorded = {c.conversation_id for c in check.conversations.list_active("T1")}
            assert upstream and upstream == recorded
            rows = list(check.audit.iter_entries(action="conversation.start"))
            accepted = [r.seq for r in rows if r.outcome == "accepted"]
            closes = Counter(r.detail["accepted_seq"] for r in rows if r.outcome != "accepted")
            assert closes == dict.fromkeys(accepted, 1)
            names = {r.detail.get("conversation_name") for r in rows if r.outcome == "accepted"}
            assert all(name in names for name in acked)
            assert check.audit.verify().ok
        finally:
            check.close()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


def test_a_form_opened_on_one_process_is_submitted_to_the_other(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle, postgres_url: str
) -> None:
    a, b = two_palbots(make_palbot, postgres_url)
    a.connect_key()
    pal_id = a.created_by(make_pal(sandbox, SANDBOX_KEY, pal_name="Coach"))
    a.slack.command(f"patch {pal_id}")  # the form opens on A (its document kept in the store)
    filled = fake_slack.wait_for(
        "views.update", where=lambda c: c.args["view"].get("callback_id") == "pal_patch"
    )[-1]
    view = {**filled.args["view"], "id": filled.args["view_id"]}
    gets = len(sandbox.requests("GET", f"/v2/pals/{pal_id}"))
    patch = json.dumps([{"op": "replace", "path": "/pal_name", "value": "Shared"}])
    answer = b.slack.submit(view, {"patch_json": patch}).json()  # ...and is submitted to B
    assert answer["response_action"] == "update"
    fake_slack.wait_for("views.update", where=lambda c: "Patched" in json.dumps(c.args))
    assert len(sandbox.requests("GET", f"/v2/pals/{pal_id}")) == gets  # B had the document
    assert len(sandbox.requests("PATCH")) == 1


def test_a_private_call_and_its_results_on_postgresql(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle, postgres_server: Any
) -> None:
    """Issue 17's call on PostgreSQL: a private start (its meeting token kept encrypted, shown
    only in the DM), then the results in its thread and the ended message linking to them."""
    url = postgres_server.new_database()
    palbot: PalbotHandle = make_palbot(
        public=True, database_url=url, palbot_secret_key=Fernet.generate_key().decode()
    )
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    palbot.slack.command(f"start {pal_id} 1:1 --private")
    [join] = started(palbot, fake_slack)
    [conv] = palbot.store.conversations.list_active("T1")
    token = sandbox.admin.get(
        f"/v2/conversations/{conv.conversation_id}", headers={"x-api-key": SANDBOX_KEY}
    ).json()["meeting_token"]
    assert join.args["channel"] == "D_USER" and f"?t={token}" in json.dumps(join.args)
    with psycopg.connect(url) as raw:  # the token is in the database only encrypted
        dump = json.dumps(raw.execute("SELECT * FROM form_sessions").fetchall(), default=str)
    assert token not in dump and "meeting:" in dump
    sandbox.shutdown(conv.conversation_id, "max_call_duration reached")
    [upload] = fake_slack.wait_for("files.completeUploadExternal")
    assert upload.args.get("thread_ts") == conv.message_ts
    fake_slack.wait_for(
        "chat.update",
        where=lambda c: "|Transcript>" in json.dumps(c.args) and "Perception" in json.dumps(c.args),
    )
    assert not [c for c in fake_slack.calls if str(c.args.get("channel", "")).startswith("C")]


def _serve_on(
    postgres_url: str, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> tuple[subprocess.Popen[bytes], int]:
    """`palbot serve` on this database, answering /healthz: the process and its port."""
    from tests.slack.serving import free_port, serve_env
    from tests.slack.test_faults import _serve

    secret = Fernet.generate_key().decode()
    env = serve_env(fake_slack, sandbox, DATABASE_URL=postgres_url, PALBOT_SECRET_KEY=secret)
    port = free_port()
    return _serve(env, port), port


def _palbot_sessions(postgres_url: str, where: str = "TRUE") -> int:
    """palbot's connections to this database (those matching `where`), as the server sees."""
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
            f"AND application_name = 'palbot' AND {where}"
        ).fetchone()
    return int(row[0]) if row else -1


def test_health_checks_of_a_silent_database_do_not_pile_up(
    fake_slack: FakeSlack, sandbox: SandboxHandle, postgres_url: str
) -> None:
    """A platform asks /healthz every few seconds, and gives up on each after a while. When
    the database stops answering, each ask says so (503 within a second), but they share the
    one check still waiting: a thread and a pooled connection, not one more of each per ask.
    When the database answers again, so does /healthz."""
    import httpx

    proc, port = _serve_on(postgres_url, fake_slack, sandbox)
    try:
        with psycopg.connect(postgres_url) as locker:  # the database goes silent for /healthz
            locker.execute("LOCK TABLE meta IN ACCESS EXCLUSIVE MODE")
            for _ in range(4):
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                assert answer.status_code == 503
                assert "no answer within" in answer.json()["database"]["state"]
            waiting = "state = 'active' AND query LIKE 'SELECT COUNT(*) FROM meta%'"
            assert _palbot_sessions(postgres_url, waiting) == 1
            locker.rollback()
        answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert answer.status_code == 200, answer.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_serving_process_holds_only_its_pools_connections(
    fake_slack: FakeSlack, sandbox: SandboxHandle, postgres_url: str
) -> None:
    """Its start-up checks ran on the thread that then runs the event loop, which makes no
    store call after: that connection is closed, not kept idle for the process's life. What
    stays is the pool's two (one store thread, and a spare for /healthz), whatever the load."""
    import time

    import httpx

    proc, port = _serve_on(postgres_url, fake_slack, sandbox)

    def held() -> int:
        return _palbot_sessions(postgres_url)

    try:
        for _ in range(20):  # health checks from the platform, and the poller's first rounds
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and held() != 2:
            time.sleep(0.1)
        assert held() == 2
        time.sleep(0.5)
        assert held() == 2
    finally:
        proc.terminate()
        proc.wait(timeout=30)
