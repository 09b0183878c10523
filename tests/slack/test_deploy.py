"""Operating palbot beyond one process: `palbot migrate`, `palbot db copy` between SQLite and
PostgreSQL (secrets still encrypted, the audit chain still verifying), `palbot serve --workers`."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation

from palbot.slack.installation_store import SlackInstallationStore
from palbot.store.postgres.store import open_postgres_store
from palbot.store.sqlite.store import open_sqlite_store
from tests.cli import palbot as palbot_cli
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_client import SlackSender
from tests.slack.conftest import SIGNING_SECRET
from tests.slack.serving import free_port, serve_env, start_serve

REPO = Path(__file__).resolve().parents[2]


def test_db_copy_sqlite_to_postgresql_and_back(tmp_path: Path, postgres_url: str) -> None:
    secret = Fernet.generate_key().decode()
    src = open_sqlite_store(tmp_path / "palbot.db", secret)
    src.workspaces.set_pal_key("T1", "sk-copied-key-1234", set_by="U1")
    SlackInstallationStore(src.installations).save(
        Installation(app_id="A1", team_id="T1", user_id="U1", bot_token="xoxb-copied-0001")
    )
    for i in range(5):
        src.audit.append("audit.read", "ok", team_id="T1", user_id="U1", detail={"i": i})
    head = src.audit.head()
    src.close()
    env = {**os.environ, "PALBOT_SECRET_KEY": secret}
    env.pop("DATABASE_URL", None)
    done = palbot_cli(
        "db", "copy", "--from", f"sqlite:///{tmp_path / 'palbot.db'}", "--to", postgres_url,
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "rows copied" in done.stdout
    pg = open_postgres_store(postgres_url, secret)
    try:
        assert pg.workspaces.get_pal_key("T1") == "sk-copied-key-1234"  # same key opens it
        bot = SlackInstallationStore(pg.installations).find_bot(None, "T1")
        assert bot is not None and bot.bot_token == "xoxb-copied-0001"
        raw = pg.db.conn.execute("SELECT pal_key_enc FROM workspaces").fetchone()[0]
        assert "sk-copied-key-1234" not in raw  # still encrypted
        result = pg.audit.verify(head=head)
        assert result.ok and result.rows == 5
    finally:
        pg.close()
    verify = palbot_cli("audit", "verify", env={**env, "DATABASE_URL": postgres_url}, cwd=tmp_path)
    assert verify.returncode == 0 and "audit log OK: 5 rows" in verify.stdout
    # into a target that is not empty: refused, nothing written
    again = palbot_cli(
        "db", "copy", "--from", f"sqlite:///{tmp_path / 'palbot.db'}", "--to", postgres_url,
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 2 and "not empty" in again.stderr
    # and back, into a new SQLite file
    back = palbot_cli(
        "db", "copy", "--from", postgres_url, "--to", f"sqlite:///{tmp_path / 'back.db'}",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert back.returncode == 0, back.stderr
    copy = open_sqlite_store(tmp_path / "back.db", secret)
    try:
        assert copy.workspaces.get_pal_key("T1") == "sk-copied-key-1234"
        assert copy.audit.verify(head=head).ok
    finally:
        copy.close()


def test_migrate_says_where_the_schema_is(tmp_path: Path, postgres_url: str) -> None:
    secret = Fernet.generate_key().decode()
    env = {**os.environ, "PALBOT_SECRET_KEY": secret, "DATABASE_URL": postgres_url}
    done = palbot_cli("migrate", env=env, cwd=tmp_path)
    assert done.returncode == 0 and "schema version 7" in done.stdout
    bad = palbot_cli("migrate", env={**env, "DATABASE_URL": "mysql://x"}, cwd=tmp_path)
    assert bad.returncode != 0 and "postgres://" in (bad.stderr + bad.stdout)


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc: no procps needed)."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def test_serve_with_two_workers_on_postgresql(
    tmp_path: Path, fake_slack: FakeSlack, postgres_url: str
) -> None:
    port = free_port()
    secret = Fernet.generate_key().decode()
    env = serve_env(fake_slack, None, PALBOT_SECRET_KEY=secret, DATABASE_URL=postgres_url)
    proc = start_serve(env, tmp_path, port, "--workers", "2")
    try:
        assert len(children_of(proc.pid)) >= 2  # two worker processes
        sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack.response_url)
        for _ in range(10):
            assert "palbot help" in sender.command("help").text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for whoever adopted it to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_stop_when_their_supervisor_is_killed(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """`palbot serve --workers 2` killed outright (SIGKILL, as the OOM killer does) leaves no
    worker serving behind: each notices that its supervisor is gone and shuts down as on
    SIGTERM, so nothing answers on the port and the next palbot can take it."""
    port = free_port()
    env = serve_env(fake_slack, None, PALBOT_DATABASE=str(tmp_path / "palbot.db"))
    log_file = (tmp_path / "serve.log").open("w")
    proc = start_serve(env, tmp_path, port, "--workers", "2", out=log_file)
    try:
        children = children_of(proc.pid)  # the two workers (and multiprocessing's tracker)
        assert len(children) >= 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in children if _alive(pid)]
        assert not left, f"still running after their supervisor died: {left}"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        assert "supervisor" in (tmp_path / "serve.log").read_text()  # said why it stopped
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
        log_file.close()


def test_the_deploy_files_name_what_palbot_knows() -> None:
    """The Dockerfile, compose.yaml and Procfile run commands the CLI accepts and set only
    variables palbot reads (a typo there would be a silent misconfiguration on deploy), and
    .dockerignore lets through everything the Dockerfile copies. Building and running the image
    and compose.yaml needs root and a container engine: `.ci/container-check` does that (see the
    README); this test runs everywhere."""
    import fnmatch
    import re
    import shlex

    import yaml

    from palbot.cli import build_parser
    from palbot.config import Settings

    repo = Path(__file__).resolve().parents[2]
    known = {name.upper() for name in Settings.model_fields} | {"PALBOT_WORKERS"}
    compose = yaml.safe_load((repo / "compose.yaml").read_text())
    palbot_env = set(compose["services"]["palbot"]["environment"])
    assert palbot_env <= known, palbot_env - known
    dockerfile = (repo / "Dockerfile").read_text()
    ignore = [
        line.strip()
        for line in (repo / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            assert (repo / path).exists(), path
            excluded = False  # as Docker reads it: the last pattern that matches decides
            for pattern in ignore:
                if fnmatch.fnmatchcase(path, pattern.removeprefix("!")):
                    excluded = not pattern.startswith("!")
            assert not excluded, f"{path} is copied by the Dockerfile but left out by .dockerignore"
    env_lines = re.findall(r"^ENV (.+?)(?:\n(?!\s)|\Z)", dockerfile, re.MULTILINE | re.DOTALL)
    set_in_image = set(re.findall(r"([A-Z_]+)=", " ".join(env_lines)))
    assert set_in_image <= known, set_in_image - known
    [cmd] = re.findall(r"^CMD \[.*\"(palbot migrate.*)\"\]$", dockerfile, re.MULTILINE)
    procfile = (repo / "Procfile").read_text()
    commands = [c.strip() for c in cmd.split("&& exec")] + [
        line.split(":", 1)[1].strip() for line in procfile.splitlines() if line.strip()
    ]
    values = {"${PORT}": "3000", "$PORT": "3000", "${PALBOT_WORKERS:-2}": "2"}
    for command in commands:
        for var, value in values.items():
            command = command.replace(var, value)
        words = shlex.split(command)
        assert words[0] == "palbot", command
        build_parser().parse_args(words[1:])  # exits (fails the test) on an unknown option


def test_compose_environment_runs_one_workspace_as_configured(
    tmp_path: Path, fake_slack: FakeSlack, postgres_url: str
) -> None:
    """compose.yaml passes every variable it names, those left out of `.env` as empty
    strings: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET empty beside a bot token is one
    workspace. Bolt, reading the environment itself, took two empty OAuth values as its
    cue to switch on its own file-based OAuth and drop the bot token: every request
    answered "not installed". palbot's settings alone decide."""
    import re

    import yaml

    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    left_empty = {
        name: ""
        for name, value in compose["services"]["palbot"]["environment"].items()
        if re.fullmatch(r"\$\{\w+:-\}", str(value)) and name != "SLACK_BOT_TOKEN"  # in .env
    }
    assert {"SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"} <= set(left_empty)
    port = free_port()
    secret = Fernet.generate_key().decode()
    env = serve_env(fake_slack, None, PALBOT_SECRET_KEY=secret, DATABASE_URL=postgres_url)
    env.update(left_empty, HOME=str(tmp_path))  # compose's empties; Bolt's file store's home
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = start_serve(env, tmp_path, port, out=out)
    try:
        sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack.response_url)
        assert "palbot help" in sender.command("help").text
        assert httpx.get(f"http://127.0.0.1:{port}/slack/install").status_code == 404
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert not (tmp_path / ".bolt-app-installation").exists()
    printed = log.read_text()
    assert "(single mode" in printed
    assert "InstallationStore" not in printed and "will be unused" not in printed, printed
