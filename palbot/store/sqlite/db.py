"""One SQLite file, a connection per thread, WAL mode, migrations by PRAGMA user_version."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from palbot.store.errors import StoreBusy
from palbot.store.offloop import LoopGuard, urgent_here
from palbot.store.sqlite.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 10_000  # threads that may wait (CLI, checkpoints, tests)
SERVING_BUSY_TIMEOUT_MS = 50  # the event loop's connection waits this long for a write lock
FAIL_FAST_SECONDS = 0.5  # after a lock was met there, its writes fail at once for this long
CHECKPOINT_SECONDS = 0.05
WAL_TRUNCATE_BYTES = 64 * 1024 * 1024  # a WAL file this big is cut back once caught up
log = logging.getLogger("palbot.store")


def private_file(path: Path) -> None:
    """The database (its encrypted tokens, its audit log) readable by its owner only. SQLite
    creates the -wal and -shm files with the database file's permissions, so they follow."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(part.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            log.warning("%s was readable by others (mode %o); made private (0600)", part, mode)
            part.chmod(0o600)


class DatabaseError(Exception):
    """The database file cannot be used (too new, unreadable…); the message says why."""


class Database:
    def __init__(
        self,
        path: Path | str,
        *,
        synchronous: str = "NORMAL",
        checkpoint_interval: float | None = CHECKPOINT_SECONDS,
        schema_version: int | None = None,
    ) -> None:
        """Open (creating or migrating) the database; `schema_version` stops the migrations
        at that version (for tests of the upgrade path)."""
        self.path = Path(path)
        self.synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self.checkpoints_run = 0  # by the background checkpointer
        self._serving: set[int] = set()
        self.loop_guard = LoopGuard()  # the serving event loop's thread: no store calls there
        self._fail_fast_until = 0.0
        in_memory = str(self.path) == ":memory:"
        # WAL checkpoints (which fsync) run on a thread of their own, never inside a request:
        # SQLite's automatic checkpoint would run in whichever commit crosses the threshold.
        self.background_checkpoints = bool(checkpoint_interval) and not in_memory
        if not in_memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            private_file(self.path)
        self.migrate(schema_version)
        if self.background_checkpoints:
            assert checkpoint_interval is not None
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop,
                args=(checkpoint_interval,),
                daemon=True,
                name="palbot-wal-checkpoint",
            )
            self._checkpointer.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(self.path),
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal" and str(self.path) != ":memory:":
            raise DatabaseError(f"{self.path}: could not switch to WAL mode (got {mode})")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        if self.background_checkpoints:
            conn.execute("PRAGMA wal_autocheckpoint=0")
        with self._lock:
            self._all.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        self.loop_guard.check()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @property
    def utils(self) -> sqlite_utils.Database:
        """sqlite-utils over this thread's connection (schema work and simple queries)."""
        db = getattr(self._local, "utils", None)
        if db is None:
            db = sqlite_utils.Database(self.conn)
            self._local.utils = db
        return db

    def release_thread(self) -> None:
        """As PostgreSQL's, where a connection is a server's process: here it is a file handle,
        and an in-memory database lives in it, so it stays."""

    def serve_from_this_thread(self, busy_ms: int = SERVING_BUSY_TIMEOUT_MS) -> None:
        """This thread does store work for Slack's requests (a store thread): it waits at most
        `busy_ms` for another process's write lock, then the write fails as StoreBusy (and the
        person is told); and for FAIL_FAST_SECONDS after that its writes fail at once, so a
        burst of requests does not queue up `busy_ms` each behind a lock still held."""
        self.conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        self._local.busy_ms = int(busy_ms)
        self._serving.add(threading.get_ident())

    def _wait_for_lock(self, conn: sqlite3.Connection, ms: int) -> None:
        """A request's write waits briefly for another process's lock; after-ack work longer."""
        if getattr(self._local, "busy_ms", None) != ms:
            conn.execute(f"PRAGMA busy_timeout={int(ms)}")
            self._local.busy_ms = ms

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once (BEGIN IMMEDIATE), so writers queue, never fork."""
        conn = self.conn
        if conn.in_transaction:  # nested: join the outer transaction
            yield conn
            return
        on_store_thread = threading.get_ident() in self._serving
        serving = on_store_thread and urgent_here()  # a request waits for this write
        if on_store_thread:
            self._wait_for_lock(conn, SERVING_BUSY_TIMEOUT_MS if serving else BUSY_TIMEOUT_MS)
        if serving and time.monotonic() < self._fail_fast_until:
            raise StoreBusy()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                if serving:
                    self._fail_fast_until = time.monotonic() + FAIL_FAST_SECONDS
                raise StoreBusy() from None
            raise
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @property
    def user_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, target: int | None = None) -> int:
        """Bring the schema up to `target` (default: the newest), one transaction per step."""
        target = len(MIGRATIONS) if target is None else target
        try:
            version = self.user_version
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"{self.path} is not a palbot database: {exc}") from None
        if version > len(MIGRATIONS):
            raise DatabaseError(
                f"{self.path} has schema version {version}, newer than this palbot "
                f"understands ({len(MIGRATIONS)}): upgrade palbot"
            )
        while version < target:
            step = MIGRATIONS[version]
            with self.write() as conn:
                step(sqlite_utils.Database(conn))
                conn.execute(f"PRAGMA user_version={version + 1}")
            version += 1
        return version

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """Copy the WAL into the database file: (busy, wal pages, pages checkpointed)."""
        row = self.conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def _wal_bytes(self) -> int:
        try:
            return Path(str(self.path) + "-wal").stat().st_size
        except OSError:
            return 0

    def _checkpoint_loop(self, interval: float) -> None:
        """Copy the WAL back often (PASSIVE: a writer never waits for it), so it stays short and
        reads stay fast. Writes that never pause keep SQLite from starting the WAL file over;
        once it is big and caught up, a TRUNCATE (which holds writers for a moment) cuts it.
        Once caught up, it waits for a commit (`data_version` changes with any other
        connection's, in any process) instead of checkpointing an unchanged WAL."""
        caught_up_at: int | None = None  # the data_version when the WAL was last all copied
        while not self._stop.wait(interval):
            try:
                version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
                if version == caught_up_at:
                    continue
                busy, frames, copied = self.checkpoint()
                self.checkpoints_run += 1
                caught_up = not busy and frames == copied
                if caught_up and self._wal_bytes() >= WAL_TRUNCATE_BYTES:
                    caught_up = self.checkpoint("TRUNCATE")[0] == 0
                caught_up_at = version if caught_up else None
            except sqlite3.Error as exc:
                log.warning("WAL checkpoint failed: %s", exc)

    def integrity_check(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def ping(self) -> bool:
        """The database answers a read (WAL: even while another process holds the write lock)."""
        try:
            self.conn.execute("SELECT COUNT(*) FROM meta").fetchone()
            return True
        except sqlite3.Error:
            return False

    def health(self) -> str:
        """`ok`, `write-locked` (reads answer; writes wait for another process), or
        `unreachable`. Probed on a connection of its own, never waiting for a lock."""
        if not self.ping():
            return "unreachable"
        if str(self.path) == ":memory:":
            return "ok"
        probe = sqlite3.connect(str(self.path), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return "ok"
        except sqlite3.OperationalError:
            return "write-locked"
        finally:
            probe.close()

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=10)
            self._checkpointer = None
        if self.background_checkpoints:
            with contextlib.suppress(sqlite3.Error):
                self.checkpoint("TRUNCATE")
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
