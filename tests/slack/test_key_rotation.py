"""Issue 16, item 4: `palbot rotate-secret` while `palbot serve` runs never locks palbot out.

The server (a real subprocess, key file mode) keeps answering through the rotation and after
`--finish`: it re-reads the key file when a stored secret will not open, and encrypts under the
new key from then on. A restart after the rotation starts; the old key alone no longer opens the
database. With PALBOT_SECRET_KEY (which a running server cannot re-read) the rotation is refused
while a server runs, and says how to do it safely."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from palbot.store import SecretKeyError
from palbot.store.sqlite.store import open_sqlite_store
from tests.cli import palbot as palbot_cli
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_client import SlackSender
from tests.slack.conftest import SIGNING_SECRET
from tests.slack.serving import free_port, serve_env
from tests.slack.test_faults import _serve
from tests.slack.test_pals import make_pal


def lists_the_pal(sender: SlackSender, fake_slack: FakeSlack, pal_name: str, n: int) -> None:
    """`/pal list` answers with the PAL (the PAL API key was decrypted to ask for it)."""
    assert sender.command("list").status_code == 200
    fake_slack.wait_response(count=n, where=lambda r: pal_name in json.dumps(r.args))


def test_rotating_the_key_file_while_a_server_runs_keeps_it_serving(
    tmp_path: Path, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    db = tmp_path / "palbot.db"
    key_file = tmp_path / "palbot.db.key"
    seed = open_sqlite_store(db, None)  # key file mode: <database>.key is created
    seed.workspaces.set_pal_key("T1", SANDBOX_KEY, set_by="U_ADMIN")
    seed.close()
    old = key_file.read_bytes().strip()
    make_pal(sandbox, SANDBOX_KEY, pal_name="Rotating Rita")
    env = serve_env(fake_slack, sandbox, PALBOT_DATABASE=str(db), PALBOT_RECONCILE_INTERVAL="1")
    env.pop("PALBOT_SECRET_KEY", None)
    port = free_port()
    server = _serve(env, port)
    sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack.response_url)
    try:
        lists_the_pal(sender, fake_slack, "Rotating Rita", 1)
        done = palbot_cli("rotate-secret", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "palbot is running against this database" in done.stdout
        new = key_file.read_bytes().strip().split(b",")[0]
        # the server holds only the old key: the re-encrypted PAL API key makes it re-read
        lists_the_pal(sender, fake_slack, "Rotating Rita", 2)
        # what it writes now is under the new key (a Patch form's stored document)
        sender.command(f"patch {make_pal(sandbox, SANDBOX_KEY)}", user="U_ADMIN")
        fake_slack.wait_for("views.update", where=lambda c: "pal_patch" in json.dumps(c.args))
        done = palbot_cli("rotate-secret", "--finish", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert key_file.read_bytes().strip() == new
        lists_the_pal(sender, fake_slack, "Rotating Rita", 3)
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=30)
    # a restart after the rotation starts and serves; the old key alone opens nothing
    port = free_port()
    server = _serve(env, port)
    try:
        sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack.response_url)
        lists_the_pal(sender, fake_slack, "Rotating Rita", 4)
    finally:
        server.terminate()
        server.wait(timeout=30)
    with pytest.raises(SecretKeyError):
        open_sqlite_store(db, old.decode())
    check = open_sqlite_store(db, new.decode())
    try:
        assert check.workspaces.get_pal_key("T1") == SANDBOX_KEY
        assert check.audit.verify().ok
        stages = [r.detail["stage"] for r in check.audit.iter_entries(action="secret.rotate")]
        assert stages == ["start", "finish"]
    finally:
        check.close()


def test_an_env_key_rotation_is_refused_while_a_server_runs(
    tmp_path: Path, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from cryptography.fernet import Fernet

    db = tmp_path / "palbot.db"
    old = Fernet.generate_key().decode()
    seed = open_sqlite_store(db, old)
    seed.workspaces.set_pal_key("T1", SANDBOX_KEY, set_by="U_ADMIN")
    seed.close()
    env = serve_env(fake_slack, sandbox, PALBOT_DATABASE=str(db), PALBOT_SECRET_KEY=old)
    port = free_port()
    server = _serve(env, port)
    try:
        cli_env = {**os.environ, "PALBOT_DATABASE": str(db), "PALBOT_SECRET_KEY": old}
        refused = palbot_cli("rotate-secret", env=cli_env, cwd=tmp_path)
        assert refused.returncode == 2
        assert "PALBOT_SECRET_KEY=<new>,<old>" in refused.stdout
        # the safe way: the new key staged first, as new,old (what every process now runs with)
        staged = Fernet.generate_key().decode()
        cli_env["PALBOT_SECRET_KEY"] = f"{staged},{old}"
        done = palbot_cli("rotate-secret", env=cli_env, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
    store = open_sqlite_store(db, staged)
    try:
        assert store.workspaces.get_pal_key("T1") == SANDBOX_KEY
    finally:
        store.close()
