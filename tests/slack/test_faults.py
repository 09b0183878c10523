"""Faults lose nothing: the PAL API and Slack misbehaving, and palbot killed mid-burst."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from palbot.store.sqlite.store import open_sqlite_store
from tests.cli import palbot as palbot_cli
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_client import SlackSender
from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, PalbotHandle
from tests.slack.test_conversations import started
from tests.slack.test_pals import make_pal

REPO = Path(__file__).resolve().parents[2]


def test_pal_api_faults_become_specific_messages(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    # a short deadline (as an operator may set): the hang is 8x past it, the test waits 1.5 s
    palbot: PalbotHandle = make_palbot(http=True, pal_api_read_timeout=1, pal_api_deadline=1.5)
    palbot.connect_key()
    cases = [
        ({"status": 503}, "not answering"),
        ({"status": 429, "headers": {"Retry-After": "0"}}, "rate-limiting"),
        ({"status": 401, "body": {"message": "Invalid access token"}}, "/pal key"),
        ({"latency": 12.0}, "did not answer in time"),
    ]
    for fault, needle in cases:
        sandbox.admin.delete("/_sandbox/faults")
        sandbox.fault(method="GET", path="/v2/pals", **fault)
        began = time.monotonic()
        resp = palbot.slack.command("list")
        assert resp.status_code == 200 and time.monotonic() - began < 1.0
        fake_slack.wait_response(where=lambda r, n=needle: n in json.dumps(r.args), timeout=20)
    sandbox.admin.delete("/_sandbox/faults")


def test_slack_rate_limit_is_retried(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    fake_slack.fail_next("chat.postMessage", status=429, headers={"Retry-After": "1"})
    palbot.slack.command(f"start {pal_id}")
    started(palbot, fake_slack)
    assert len(fake_slack.of("chat.postMessage")) == 2  # the 429, then the retry
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1


def test_slack_server_error_costs_nothing(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    fake_slack.fail_next("chat.postMessage", error="internal_error", status=500)
    palbot.slack.command(f"start {pal_id}")
    palbot.wait_audit("conversation.start", "error")
    assert sandbox.requests("POST", "/v2/conversations") == []  # nothing billed
    fake_slack.wait_response(where=lambda r: "Slack refused" in json.dumps(r.args))
    # Slack failing on the modal itself: the user is told to retry
    fake_slack.fail_next("views.open", error="expired_trigger_id")
    palbot.slack.command("create")
    fake_slack.wait_response(where=lambda r: "did not open the form" in json.dumps(r.args))


def test_slack_unreachable_costs_nothing_and_crashes_nothing(
    make_palbot: Any,
    fake_slack: FakeSlack,
    sandbox: SandboxHandle,
    caplog: Any,
) -> None:
    """Slack not answering at all (a refused connection, not an error answer): the start
    stops before anything is billed, the starter is told (through the response_url, still
    reachable), and no after-ack task dies with a traceback."""
    from tests.servers import ServerThread

    doomed = FakeSlack()  # this test's own Slack, which goes away once palbot has met it
    doomed_server = ServerThread(doomed.asgi()).start()
    doomed.url = doomed_server.url
    doomed.add_workspace("T1", BOT_TOKEN)
    palbot: PalbotHandle = make_palbot(slack_api_url=doomed.url + "/api/")
    palbot.slack.command("help")  # Bolt checks the token with this Slack once
    assert doomed.of("auth.test")
    doomed_server.stop()
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    caplog.set_level("WARNING")
    palbot.slack.command(f"start {pal_id}")
    [failed] = palbot.wait_audit("conversation.start", "error")
    assert failed.detail["slack_error"] == "unreachable"
    assert sandbox.requests("POST", "/v2/conversations") == []  # nothing billed
    fake_slack.wait_response(where=lambda r: "could not reach Slack" in json.dumps(r.args))
    palbot.settle()
    assert not [r for r in caplog.records if "background task" in r.getMessage()]


def test_slow_slack_does_not_delay_acks(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    fake_slack.delays["chat.postMessage"] = 2.0
    began = time.monotonic()
    assert palbot.slack.command(f"start {pal_id}").status_code == 200
    assert time.monotonic() - began < 1.0
    started(palbot, fake_slack)


BURST = 60


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "palbot", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("palbot serve did not start")


def test_sigkill_in_a_burst_loses_no_acknowledged_action(
    tmp_path: Path, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    db = tmp_path / "palbot.db"
    secret = Fernet.generate_key().decode()
    store = open_sqlite_store(db, secret)
    store.workspaces.set_pal_key("T1", SANDBOX_KEY, set_by="U_ADMIN")
    store.close()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    sandbox.configure(concurrency_cap=1000)
    sandbox.fault(method="POST", path="/v2/conversations", latency=0.3)
    from tests.slack.serving import free_port, serve_env

    port = free_port()
    env = serve_env(fake_slack, sandbox, PALBOT_DATABASE=str(db), PALBOT_SECRET_KEY=secret)
    proc = _serve(env, port)
    sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack.response_url)
    from tests.slack.serving import fire_burst

    acked: list[str] = []
    threads = fire_burst([sender], pal_id, BURST, acked)
    deadline = time.monotonic() + 30
    while len(acked) < BURST // 3:
        assert time.monotonic() < deadline, f"only {len(acked)} starts were acked in 30 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    for t in threads:
        t.join(timeout=30)
    assert 0 < len(acked) < BURST

    check = open_sqlite_store(db, secret)
    assert check.db.integrity_check() == "ok"
    assert check.audit.verify().ok
    accepted = {
        e.detail.get("conversation_name")
        for e in check.audit.iter_entries(action="conversation.start")
        if e.outcome == "accepted"
    }
    missing = [name for name in acked if name not in accepted]
    assert missing == [], f"acknowledged without an audit row: {missing}"
    check.close()
    verify = palbot_cli("audit", "verify", env=env, cwd=REPO)
    assert verify.returncode == 0 and "audit log OK" in verify.stdout

    restarted = _serve(env, port)  # and it comes back, on the same file
    try:
        again = sender.command("help")
        assert again.status_code == 200 and "palbot help" in again.text
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)
    sandbox.admin.delete("/_sandbox/faults")
