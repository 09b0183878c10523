"""SQLite-specific guarantees: encryption at rest, tamper evidence, concurrency, crash safety."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation

from palbot.slack.installation_store import SlackInstallationStore
from palbot.store import SecretKeyError
from palbot.store.crypto import hash_token
from palbot.store.models import Permissions
from palbot.store.sqlite import db as db_module
from palbot.store.sqlite.db import Database, DatabaseError
from palbot.store.sqlite.store import open_sqlite_store
from tests.cli import palbot as palbot_cli

REPO = Path(__file__).resolve().parents[2]


def _raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def _all_bytes(db_path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(db_path) + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


# ---- encryption --------------------------------------------------------------------------


def test_generated_key_file_is_0600_and_reused(tmp_path: Path) -> None:
    db = tmp_path / "palbot.db"
    store = open_sqlite_store(db, None)
    store.workspaces.set_pal_key("T1", "sk-roundtrip-123456", set_by="U1")
    store.close()
    key_file = tmp_path / "palbot.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = open_sqlite_store(db, None)
    assert again.workspaces.get_pal_key("T1") == "sk-roundtrip-123456"
    again.close()


def test_wrong_secret_key_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "palbot.db"
    open_sqlite_store(db, Fernet.generate_key().decode()).close()
    with pytest.raises(SecretKeyError, match="not the key this database was encrypted with"):
        open_sqlite_store(db, Fernet.generate_key().decode())
    with pytest.raises(SecretKeyError, match="not a valid Fernet key"):
        open_sqlite_store(db, "not-a-key")


def test_cli_wrong_key_no_traceback(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PALBOT_DATABASE": str(tmp_path / "x.db"),
        "PALBOT_SECRET_KEY": Fernet.generate_key().decode(),
    }
    palbot_cli("audit", "verify", env=env, cwd=tmp_path)
    env["PALBOT_SECRET_KEY"] = Fernet.generate_key().decode()
    done = palbot_cli("audit", "verify", env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert "not the key this database was encrypted with" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_clear_text_secret_in_database_or_wal(tmp_path: Path) -> None:
    db = tmp_path / "palbot.db"
    store = open_sqlite_store(db, Fernet.generate_key().decode())
    pal_key = "sk-cleartext-canary-7777"
    bot_token = "xoxb-bot-canary-123456789"
    user_token = "xoxp-user-canary-987654321"
    store.workspaces.set_pal_key("T1", pal_key, set_by="U1")
    SlackInstallationStore(store.installations).save(
        Installation(
            app_id="A1",
            team_id="T1",
            user_id="U1",
            bot_token=bot_token,
            bot_id="B1",
            bot_user_id="UB",
            user_token=user_token,
        )
    )
    store.audit.append(
        "key.set", "ok", team_id="T1", detail={"api_key": pal_key, "echo": f"key={pal_key}"}
    )
    data = _all_bytes(db)
    assert len(data) > 0 and Path(str(db) + "-wal").exists()
    for secret in (pal_key, bot_token, user_token):
        assert secret.encode() not in data
    store.close()


def test_rotate_secret_with_key_file(tmp_path: Path) -> None:
    db = tmp_path / "palbot.db"
    env = {**os.environ, "PALBOT_DATABASE": str(db)}
    env.pop("PALBOT_SECRET_KEY", None)
    store = open_sqlite_store(db, None)
    store.workspaces.set_pal_key("T1", "sk-rotate-me-0001", set_by="U1")
    store.audit.append("key.set", "ok", team_id="T1")
    store.close()
    key_file = tmp_path / "palbot.db.key"
    old = key_file.read_bytes().strip()
    done = palbot_cli("rotate-secret", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--finish" in done.stdout
    # meanwhile the file holds new,old: a restart (or another process) opens everything
    new, kept = key_file.read_bytes().strip().split(b",")
    assert new != old and kept == old
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    store = open_sqlite_store(db, None)
    assert store.workspaces.get_pal_key("T1") == "sk-rotate-me-0001"
    store.close()
    done = palbot_cli("rotate-secret", "--finish", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "rotation is complete" in done.stdout
    assert key_file.read_bytes().strip() == new
    with pytest.raises(SecretKeyError):
        open_sqlite_store(db, old.decode())
    store = open_sqlite_store(db, None)
    assert store.workspaces.get_pal_key("T1") == "sk-rotate-me-0001"
    assert store.audit.verify().ok  # the chain survives a rotation
    rows = list(store.audit.iter_entries())
    assert [e.action for e in rows] == ["key.set", "secret.rotate", "secret.rotate"]
    assert [e.detail["stage"] for e in rows[1:]] == ["start", "finish"]
    store.close()
    again = palbot_cli("rotate-secret", "--finish", env=env, cwd=tmp_path)
    assert again.returncode == 0 and "No rotation in progress" in again.stdout


def test_rotate_secret_with_env_key(tmp_path: Path) -> None:
    db = tmp_path / "palbot.db"
    old = Fernet.generate_key().decode()
    store = open_sqlite_store(db, old)
    store.workspaces.set_pal_key("T1", "sk-rotate-env-0002", set_by="U1")
    store.close()
    env = {**os.environ, "PALBOT_DATABASE": str(db), "PALBOT_SECRET_KEY": old}
    done = palbot_cli("rotate-secret", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    new = next(
        line.strip()
        for line in done.stdout.splitlines()
        if line.startswith("  ") and len(line.strip()) == 44
    )
    assert not (tmp_path / "palbot.db.key").exists()
    both = open_sqlite_store(db, f"{new},{old}")  # the meanwhile list works
    assert both.workspaces.get_pal_key("T1") == "sk-rotate-env-0002"
    both.close()
    only_new = open_sqlite_store(db, new)
    assert only_new.workspaces.get_pal_key("T1") == "sk-rotate-env-0002"
    only_new.close()
    with pytest.raises(SecretKeyError):
        open_sqlite_store(db, old)
    env["PALBOT_SECRET_KEY"] = f"{new},{old}"
    done = palbot_cli("rotate-secret", "--finish", env=env, cwd=tmp_path)
    assert done.returncode == 0 and "set it to that key alone" in done.stdout


# ---- tamper evidence ---------------------------------------------------------------------


def _filled(tmp_path: Path, n: int = 10) -> tuple[Path, str]:
    db = tmp_path / "palbot.db"
    key = Fernet.generate_key().decode()
    store = open_sqlite_store(db, key)
    for i in range(n):
        store.audit.append("pal.create", "ok", team_id="T1", user_id=f"U{i}", target=f"p{i}")
    store.close()
    return db, key


def _attack(db: Path, sql: str, *args: object) -> None:
    conn = _raw(db)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    conn.execute(sql, args)
    conn.close()


def test_append_only_triggers(tmp_path: Path) -> None:
    db, _ = _filled(tmp_path, 2)
    conn = _raw(db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit_log SET outcome = 'denied' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit_log WHERE seq = 2")


def test_verify_names_an_edited_row(tmp_path: Path) -> None:
    db, key = _filled(tmp_path)
    _attack(db, "UPDATE audit_log SET user_id = 'UEVIL' WHERE seq = 4")
    result = open_sqlite_store(db, key).audit.verify()
    assert not result.ok and result.first_bad_seq == 4 and "changed" in (result.problem or "")


def test_verify_names_a_deleted_row(tmp_path: Path) -> None:
    db, key = _filled(tmp_path)
    _attack(db, "DELETE FROM audit_log WHERE seq = 6")
    result = open_sqlite_store(db, key).audit.verify()
    assert not result.ok and result.first_bad_seq == 6 and "removed" in (result.problem or "")


def test_verify_names_an_inserted_row(tmp_path: Path) -> None:
    db, key = _filled(tmp_path)
    conn = _raw(db)
    row = conn.execute("SELECT * FROM audit_log WHERE seq = 3").fetchone()
    conn.close()
    # Shift rows 3..10 up by one and slip a forged row in at 3, copying a real hash.
    _attack(db, "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3")
    _attack(db, "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100")
    _attack(
        db,
        "INSERT INTO audit_log VALUES (3, ?, 'T1', 'UFORGED', NULL, 'key.remove', NULL, "
        "'ok', '{}', ?, ?)",
        row[1],
        row[9],
        row[10],
    )
    result = open_sqlite_store(db, key).audit.verify()
    assert not result.ok and result.first_bad_seq == 3


def test_verify_head_detects_rows_cut_from_the_end(tmp_path: Path) -> None:
    db, key = _filled(tmp_path)
    store = open_sqlite_store(db, key)
    head = store.audit.head()
    assert head and store.audit.verify(head=head).ok
    store.close()
    _attack(db, "DELETE FROM audit_log WHERE seq >= 9")
    store = open_sqlite_store(db, key)
    assert store.audit.verify().ok  # a clean cut is invisible without the head…
    result = store.audit.verify(head=head)
    assert not result.ok and result.first_bad_seq == 9 and "cut" in (result.problem or "")


def test_cli_verify_and_export(tmp_path: Path) -> None:
    db, key = _filled(tmp_path, 5)
    env = {**os.environ, "PALBOT_DATABASE": str(db), "PALBOT_SECRET_KEY": key}
    ok = palbot_cli("audit", "verify", env=env, cwd=tmp_path)
    assert ok.returncode == 0 and "audit log OK: 5 rows" in ok.stdout
    jsonl = palbot_cli(
        "audit",
        "--format",
        "jsonl",
        "--team",
        "T1",
        "--action",
        "pal.create",
        env=env,
        cwd=tmp_path,
    )
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    csv_out = palbot_cli("audit", "--format", "csv", "--since", "2000-01-01", env=env, cwd=tmp_path)
    lines = csv_out.stdout.strip().splitlines()
    assert lines[0].startswith("seq,at,team_id") and len(lines) == 6
    _attack(db, "UPDATE audit_log SET target = 'x' WHERE seq = 2")
    bad = palbot_cli("audit", "verify", env=env, cwd=tmp_path)
    assert bad.returncode == 1 and "BROKEN at row 2" in bad.stdout


def test_export_streams(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    store = open_sqlite_store(db, Fernet.generate_key().decode())
    with store.db.write():
        for i in range(20_000):
            store.audit.append(
                "conversation.callback",
                "ok",
                team_id="T1",
                target=f"c{i}",
                detail={"event": "system.replica_joined", "i": i},
            )
    tracemalloc.start()
    count = sum(1 for _ in store.audit.iter_entries())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 20_000
    assert peak < 8_000_000, f"export held {peak} bytes: rows are not streamed"
    store.close()


# ---- concurrency and crashes -------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys, threading
    from palbot.store.sqlite.store import open_sqlite_store
    db, key, name, threads, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
        int(sys.argv[5])
    store = open_sqlite_store(db, key)
    def work(t):
        for i in range(rows):
            store.audit.append("conversation.callback", "ok", team_id=name, target=f"{t}-{i}")
            store.idempotency.claim(f"{name}-{t}-{i}")
    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]
""")


def test_two_processes_and_many_threads_lose_no_row(tmp_path: Path) -> None:
    db = tmp_path / "palbot.db"
    key = Fernet.generate_key().decode()
    open_sqlite_store(db, key).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db), key, name, "6", "60"], cwd=REPO)
        for name in ("P1", "P2")
    ]
    store = open_sqlite_store(db, key)
    local = [
        threading.Thread(
            target=lambda t=t: [
                store.audit.append("conversation.callback", "ok", team_id="P0", target=f"{t}-{i}")
                for i in range(60)
            ]
        )
        for t in range(4)
    ]
    for t in local:
        t.start()
    for t in local:
        t.join()
    assert all(p.wait(timeout=120) == 0 for p in procs)
    result = store.audit.verify()
    assert result.ok and result.rows == 2 * 6 * 60 + 4 * 60
    conn = store.db.conn
    assert conn.execute("SELECT COUNT(*) FROM idempotency_keys").fetchone()[0] == 2 * 6 * 60
    for name, expected in (("P0", 240), ("P1", 360), ("P2", 360)):
        assert sum(1 for _ in store.audit.iter_entries(team_id=name)) == expected
    store.close()


KILLED = textwrap.dedent("""
    import sys, time
    from palbot.store.sqlite.store import open_sqlite_store
    store = open_sqlite_store(sys.argv[1], sys.argv[2])
    for i in range(50):
        store.audit.append("pal.create", "ok", team_id="T1", target=f"p{i}")
    with store.db.write():
        for i in range(500):
            store.audit.append("pal.patch", "ok", team_id="T1", target=f"x{i}")
        print("in-transaction", flush=True)
        time.sleep(60)
""")


def test_writer_killed_mid_transaction(tmp_path: Path) -> None:
    db = tmp_path / "palbot.db"
    key = Fernet.generate_key().decode()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(db), key], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "in-transaction"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    store = open_sqlite_store(db, key)
    assert store.db.integrity_check() == "ok"
    result = store.audit.verify()
    assert result.ok and result.rows == 50  # the uncommitted 500 are gone, nothing half-done
    store.audit.append("pal.delete", "ok", team_id="T1")
    assert store.audit.verify().rows == 51
    store.close()


def test_killed_in_a_burst_of_appends(tmp_path: Path) -> None:
    db = tmp_path / "palbot.db"
    key = Fernet.generate_key().decode()
    open_sqlite_store(db, key).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), key, "P1", "4", "100000"], cwd=REPO
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    store = open_sqlite_store(db, key)
    assert store.db.integrity_check() == "ok"
    result = store.audit.verify()
    assert result.ok and result.rows > 0
    store.close()


# ---- migrations --------------------------------------------------------------------------


def test_v1_database_migrates_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    v1 = Database(path, schema_version=1)
    assert v1.user_version == 1
    v1.conn.execute("INSERT INTO workspaces (team_id, created_at) VALUES ('T1', 'then')")
    v1.conn.execute(
        "INSERT INTO conversations (conversation_id, team_id, pal_id, started_by, status, "
        "created_at, callback_token) VALUES ('c1', 'T1', 'p1', 'U1', 'active', '2026-01-01', "
        "'clear-token-from-before-0123456789')"
    )
    v1.close()
    store = open_sqlite_store(path, Fernet.generate_key().decode())
    # v1 → … → v5 (hashed tokens, permissions) → v6 (Slack call cards) → v7 (private, threads)
    assert store.db.user_version == 7
    # the clear token of before is a hash now, and still finds its conversation
    assert store.conversations.by_callback_token("clear-token-from-before-0123456789")
    rows = store.db.conn.execute("SELECT callback_token_hash FROM conversations").fetchall()
    assert [r[0] for r in rows] == [hash_token("clear-token-from-before-0123456789")]
    assert store.workspaces.get("T1").permissions == Permissions()  # type: ignore[union-attr]
    assert store.workspaces.get("T1") is not None
    migrated = store.conversations.get("c1")
    assert migrated is not None and migrated.pal_id == "p1"
    assert migrated.delivered and migrated.attempt_id is None  # shown before: not re-sent
    assert store.conversations.first_event("c1", "system.shutdown") is True
    assert store.conversations.open_starts() == [] and store.conversations.undelivered() == []
    store.close()


def test_newer_database_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(DatabaseError, match="newer than this palbot"):
        Database(path)


def test_wal_mode_and_busy_timeout(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    db.close()


def test_checkpoints_run_in_the_background_not_in_commits(tmp_path: Path) -> None:
    db = Database(tmp_path / "cp.db", checkpoint_interval=0.1)
    assert db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    with db.write() as conn:
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [(f"k{i}", "x" * 500) for i in range(3000)],
        )
    wal = Path(str(tmp_path / "cp.db") + "-wal")
    assert wal.stat().st_size > 1_000_000  # the commit itself did not checkpoint
    main_file = tmp_path / "cp.db"
    deadline = time.monotonic() + 5
    while main_file.stat().st_size < 1_000_000:  # the checkpointer thread copies them over
        assert time.monotonic() < deadline, "no background checkpoint happened"
        time.sleep(0.05)
    db.close()
    assert not wal.exists() or wal.stat().st_size == 0  # closed cleanly, WAL truncated


def test_an_idle_database_is_not_checkpointed_over_and_over(tmp_path: Path) -> None:
    """The checkpointer copies the WAL back when something was committed since it last caught
    up, by this process or another; an idle palbot does not wake SQLite twenty times a second
    for nothing."""
    import sqlite3

    db = Database(tmp_path / "idle.db", checkpoint_interval=0.02)
    with db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('a', 'x')")
    deadline = time.monotonic() + 10
    while True:  # caught up: no checkpoint for ten intervals (however slow this machine is)
        idle_from = db.checkpoints_run
        time.sleep(0.2)
        if idle_from and db.checkpoints_run == idle_from:
            break
        assert time.monotonic() < deadline, "checkpoints never stopped while nothing changed"
    time.sleep(0.4)  # twenty intervals more with nothing committed
    assert db.checkpoints_run == idle_from
    other = sqlite3.connect(str(tmp_path / "idle.db"), isolation_level=None)  # another process
    other.execute("INSERT INTO meta (key, value) VALUES ('b', 'y')")
    other.close()
    deadline = time.monotonic() + 5
    while db.checkpoints_run == idle_from:
        assert time.monotonic() < deadline, "a commit from elsewhere was never checkpointed"
        time.sleep(0.02)
    db.close()


def test_a_big_wal_is_cut_back_once_caught_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes that never pause keep SQLite from starting its WAL over: the checkpointer
    truncates a big one once it has copied everything back."""
    monkeypatch.setattr(db_module, "WAL_TRUNCATE_BYTES", 500_000)
    db = Database(tmp_path / "big.db", checkpoint_interval=0.05)
    wal = Path(str(tmp_path / "big.db") + "-wal")
    with db.write() as conn:
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [(f"k{i}", "x" * 500) for i in range(3000)],
        )
    assert wal.stat().st_size > 1_000_000
    deadline = time.monotonic() + 5
    while wal.stat().st_size >= 500_000:
        assert time.monotonic() < deadline, "the WAL was never cut back"
        time.sleep(0.02)
    assert db.conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'k%'").fetchone()[0] == 3000
    db.close()


def test_database_files_are_private(tmp_path: Path) -> None:
    import os
    import stat

    key = Fernet.generate_key().decode()
    old = os.umask(0o022)  # the usual umask: new files world-readable by default
    try:
        store = open_sqlite_store(tmp_path / "p.db", key)
        store.workspaces.set_pal_key("T1", "sk-private-file-01", set_by="U1")
        for name in ("p.db", "p.db-wal", "p.db-shm"):
            mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
            assert mode == 0o600, (name, oct(mode))
        store.close()
        (tmp_path / "p.db").chmod(0o644)  # loosened by hand: made private again at start
        open_sqlite_store(tmp_path / "p.db", key).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "p.db").stat().st_mode) == 0o600
