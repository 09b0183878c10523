"""PostgreSQL behind the same small interface as the SQLite `Database`, so the store's classes
(workspaces, audit chain, conversations, idempotency, installations) run unchanged on both.

- psycopg 3 with a psycopg-pool `ConnectionPool`: each store call run on the store's threads
  (`offloop.StoreThreads`) borrows a connection for its duration (`borrowed()`), autocommit
  outside `write()`. The pool opens connections as load needs them, up to its size
  (`PALBOT_DB_POOL_SIZE`), closes those idle for 10 minutes and renews each after an hour, so
  N workers on M hosts hold what they use, not N x M x threads. Any other thread (the CLI, a
  copy, a test) uses a connection of its own.
- `write()` is one transaction holding a transaction-level advisory lock: writers queue, as
  under SQLite's `BEGIN IMMEDIATE`, across every process and host sharing the database. So the
  audit hash chain stays one chain, idempotency claims and limits hold across processes.
- Statements are written once, in the SQLite dialect the store uses; `translate` makes the few
  differences (`INSERT OR IGNORE`, `json_extract`, and `?` numbered as PostgreSQL's own `$1`,
  `$2`…). psycopg's raw cursor sends a statement as it is: psycopg does not parse it again to
  find `%s`, a parse it does not cache for a statement of more than 50 parameters (a batch's
  multi-row inserts: about 0.3 ms of the GIL for 30 audit rows).
- One cursor per connection serves every statement: a result is read before the connection's
  next statement (as the store does), and reading it later is an error, not a wrong answer.
- The schema is versioned (`schema_version`); migrations run under an advisory lock, so several
  processes starting at once migrate once.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from palbot.store.errors import StoreBusy
from palbot.store.offloop import LoopGuard, urgent_here
from palbot.store.postgres.schema import MIGRATIONS
from palbot.store.sqlite.db import FAIL_FAST_SECONDS, DatabaseError

log = logging.getLogger("palbot.store")
WRITE_LOCK = 0x7061_6C62  # "palb": one lock for every write transaction
MIGRATE_LOCK = 0x7061_6C6D  # "palm"
# A request's write waits this long for the write lock (every process's and every store
# thread's writes queue on it), then fails as StoreBusy ("palbot is busy"), well inside Slack's
# 3 s; after-ack work waits up to BACKGROUND_LOCK_TIMEOUT_MS.
SERVING_LOCK_TIMEOUT_MS = 1000
BACKGROUND_LOCK_TIMEOUT_MS = 10_000
# The pool: connections for the store's threads (one each at most) and health checks, opened
# as needed beyond MIN, closed after MAX_IDLE. THREADS: the store threads (`offloop`).
POOL_SIZE = 8
THREADS = 1
POOL_MIN = 2
POOL_MAX_IDLE = 600.0
POOL_MAX_LIFETIME = 3600.0
# A store call waits this long for a connection when every one is in use (it then fails as
# StoreBusy, the person is told): only a pool smaller than the store's threads can wait.
POOL_WAIT_SECONDS = 2.0
# Every connection's options. palbot's text is UTF-8 whatever the database's own encoding: a
# SQL_ASCII database (`initdb` where no locale is set) would otherwise hand text back as bytes.
CONNECT_OPTIONS: dict[str, Any] = {
    "autocommit": True,
    "application_name": "palbot",
    "client_encoding": "UTF8",
}


class Row(Sequence[Any]):
    """A row read by position or by column name, like sqlite3.Row."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: list[str], values: Sequence[Any]) -> None:
        self._names = names
        self._values = tuple(values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._values[self._names.index(key)]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    result = cursor.pgresult  # its column names, without building `description`'s objects
    names = [result.fname(i).decode() for i in range(result.nfields)] if result else []
    return lambda values: Row(names, values)


class Result:
    """A statement's result, as the store reads sqlite3's: `fetchone`, `fetchall`,
    `fetchmany`, `rowcount`, iteration. Read it before the connection's next statement (its
    cursor serves that one): read after, it raises instead of answering for another."""

    __slots__ = ("_conn", "_cursor", "_number")

    def __init__(self, conn: PgConnection, cursor: psycopg.RawCursor[Any], number: int) -> None:
        self._conn = conn
        self._cursor = cursor
        self._number = number

    def _live(self) -> psycopg.RawCursor[Any]:
        if self._conn.statements != self._number:
            raise RuntimeError("a PostgreSQL result was read after its connection's next statement")
        return self._cursor

    def fetchone(self) -> Any:
        return self._live().fetchone()

    def fetchall(self) -> list[Any]:
        return self._live().fetchall()

    def fetchmany(self, size: int) -> list[Any]:
        return self._live().fetchmany(size)

    @property
    def rowcount(self) -> int:
        return self._live().rowcount

    def __iter__(self) -> Iterator[Any]:
        while (row := self.fetchone()) is not None:
            yield row


_PLACEHOLDER = re.compile(r"\?")
_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.IGNORECASE)
_JSON_EXTRACT = re.compile(r"json_extract\((\w+(?:\.\w+)?),\s*'\$\.(\w+)'\)")


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """The store's SQLite-dialect statement, for PostgreSQL (sent by a raw cursor, as it is)."""
    out = _JSON_EXTRACT.sub(r"((\1)::jsonb ->> '\2')::bigint", sql)
    if _INSERT_OR_IGNORE.match(out):
        out = _INSERT_OR_IGNORE.sub("INSERT INTO", out) + " ON CONFLICT DO NOTHING"
    number = itertools.count(1)
    return _PLACEHOLDER.sub(lambda _: f"${next(number)}", out)


_SAFE_TO_RESEND = re.compile(r"^\s*(SELECT|BEGIN)\b", re.IGNORECASE)


class PgConnection:
    """The slice of sqlite3.Connection the store uses, over a psycopg connection.

    A connection the server dropped while it sat idle (a restart, a failover, an idle timeout)
    is replaced on its next use: a statement that cannot have changed anything (a read, or the
    BEGIN of a write) is sent again once on a new connection, so the request it serves does not
    fail. Anything sent inside a transaction is never resent: its outcome is the caller's."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        revive: Callable[[psycopg.Connection[Any]], psycopg.Connection[Any]],
    ) -> None:
        self.raw = conn
        self._revive = revive
        self._cursor = psycopg.RawCursor(conn)
        self.statements = 0  # how many sent: a result is read before the next one

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        return self._send(sql, translate(sql), tuple(params))

    def execute_script(self, sql: str) -> Result:
        """Several statements, no parameters, in one round trip (BEGIN; SET …; SELECT …)."""
        return self._send(sql, sql, None)

    def end(self, raw: psycopg.Connection[Any], command: str) -> None:
        """COMMIT or ROLLBACK the transaction begun on `raw`: on that connection, never on one
        that replaced it (lost, it raises: the outcome is unknown, not committed)."""
        cursor = self._cursor if raw is self.raw else psycopg.RawCursor(raw)
        self.statements += 1
        cursor.execute(command.encode())

    def _send(self, sql: str, query: str, params: tuple[Any, ...] | None) -> Result:
        idle = not self.in_transaction
        self.statements += 1
        try:
            self._cursor.execute(query.encode(), params)
        except psycopg.OperationalError:
            if not (idle and self.raw.closed and _SAFE_TO_RESEND.match(sql)):
                raise
            log.warning("a database connection was lost while idle: reconnected")
            self.replace_lost()
            self._cursor.execute(query.encode(), params)
        return Result(self, self._cursor, self.statements)

    def replace_lost(self) -> None:
        """A new connection in place of the lost one, from where it came (the pool, or this
        thread's own)."""
        self.raw = self._revive(self.raw)
        self._cursor = psycopg.RawCursor(self.raw)


class PgDatabase:
    def __init__(
        self,
        url: str,
        *,
        schema_version: int | None = None,
        pool_size: int = POOL_SIZE,
        pool_wait: float = POOL_WAIT_SECONDS,
        threads: int = THREADS,
    ) -> None:
        self.url = url
        self.path = url  # what error messages and the CLI name
        self.is_postgres = True
        self.store_threads = threads
        self._local = threading.local()
        self._own: list[psycopg.Connection[Any]] = []  # threads' own connections (not pooled)
        self._lock = threading.Lock()
        self._serving: set[int] = set()
        self.loop_guard = LoopGuard()
        self._fail_fast_until = 0.0
        try:
            self.migrate(schema_version)  # fails at once, with libpq's reason, on a bad URL
        except psycopg.OperationalError as exc:
            raise DatabaseError(f"cannot use the PostgreSQL database: {exc}".strip()) from None
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=min(POOL_MIN, pool_size),
            max_size=pool_size,
            kwargs={**CONNECT_OPTIONS, "row_factory": _row_factory},
            name="palbot",
            timeout=pool_wait,
            max_idle=POOL_MAX_IDLE,
            max_lifetime=POOL_MAX_LIFETIME,
            open=False,  # opened by the first store call (a CLI command never needs it)
        )

    def _own_connection(
        self, dead: psycopg.Connection[Any] | None = None
    ) -> psycopg.Connection[Any]:
        """A connection of this thread's own, outside the pool (the CLI, a copy, a test)."""
        raw: psycopg.Connection[Any] = psycopg.connect(
            self.url, row_factory=_row_factory, **CONNECT_OPTIONS
        )
        with self._lock:
            if dead is not None and dead in self._own:
                self._own.remove(dead)
            self._own.append(raw)
        return raw

    def _from_pool(self, dead: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
        """A live pooled connection for one whose server went away. A restart drops all of
        them: the pool tests its idle ones first, so the next is not one more dead one."""
        self.pool.putconn(dead)  # closed: the pool discards it and opens another
        self.pool.check()
        return self._getconn()

    def _getconn(self) -> psycopg.Connection[Any]:
        if self.pool.closed:
            with self._lock:
                if self.pool.closed:  # its first connections, before this call takes one (not
                    try:  # waiting, the call would have it open one more, kept past MIN)
                        self.pool.open(wait=True, timeout=self.pool.timeout)
                    except PoolTimeout:
                        log.warning("the database's first pooled connections took too long")
                        raise StoreBusy() from None
        try:
            return self.pool.getconn()
        except PoolTimeout:
            log.warning("every pooled database connection is in use: a store call gave up")
            raise StoreBusy() from None

    @contextlib.contextmanager
    def borrowed(self) -> Iterator[None]:
        """For one store call on a store thread: a pooled connection, given back after."""
        if getattr(self._local, "conn", None) is not None:  # this thread has its own
            yield
            return
        conn = PgConnection(self._getconn(), self._from_pool)
        self._local.conn = conn
        try:
            yield
        finally:
            self._local.conn = None
            self.pool.putconn(conn.raw)  # rolled back by the pool if left in a transaction

    @property
    def conn(self) -> PgConnection:
        self.loop_guard.check()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = PgConnection(self._own_connection(), self._own_connection)
            self._local.conn = conn
        elif conn.raw.closed:  # lost: lent ones are replaced from the pool, own ones anew
            conn.replace_lost()
        return conn

    def serve_from_this_thread(self, busy_ms: int = SERVING_LOCK_TIMEOUT_MS) -> None:
        """As SQLite's: on this (store) thread a request's write waits at most
        SERVING_LOCK_TIMEOUT_MS for the write lock (set per transaction in `write()`)."""
        self._serving.add(threading.get_ident())

    @contextlib.contextmanager
    def write(self) -> Iterator[PgConnection]:
        """One write transaction; writers from every process queue on one advisory lock."""
        conn = self.conn
        if conn.in_transaction:  # nested: join the outer transaction
            yield conn
            return
        on_store_thread = threading.get_ident() in self._serving
        serving = on_store_thread and urgent_here()  # a request waits for this write
        if serving and time.monotonic() < self._fail_fast_until:
            raise StoreBusy()
        wait = SERVING_LOCK_TIMEOUT_MS if serving else BACKGROUND_LOCK_TIMEOUT_MS
        timeout = f"SET LOCAL lock_timeout = {wait}; " if on_store_thread else ""
        try:  # BEGIN, the wait and the lock in one round trip
            conn.execute_script(f"BEGIN; {timeout}SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        except pg_errors.LockNotAvailable:
            conn.end(conn.raw, "ROLLBACK")
            if serving:
                self._fail_fast_until = time.monotonic() + FAIL_FAST_SECONDS
            raise StoreBusy() from None
        raw = conn.raw  # (a new one, if the old one had been dropped)
        try:
            yield conn
        except BaseException:
            if not raw.closed:
                conn.end(raw, "ROLLBACK")
            raise
        else:
            conn.end(raw, "COMMIT")

    @property
    def user_version(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        return int(row[0])

    def migrate(self, target: int | None = None) -> int:
        """Bring the schema up to `target` (default: the newest), once, whoever starts first."""
        target = len(MIGRATIONS) if target is None else target
        raw = self.conn.raw
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
            raw.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version integer PRIMARY KEY, applied_at text NOT NULL)"
            )
            found = raw.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
            version = int(found[0]) if found is not None else 0
            if version > len(MIGRATIONS):
                raise DatabaseError(
                    f"the database has schema version {version}, newer than this palbot "
                    f"understands ({len(MIGRATIONS)}): upgrade palbot"
                )
            while version < target:
                for statement in MIGRATIONS[version]:
                    raw.execute(statement)
                version += 1
                raw.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (%s, now()::text)",
                    (version,),
                )
        return version

    def integrity_check(self) -> str:
        return "ok" if self.ping() else "unreachable"

    def ping(self) -> bool:
        try:
            self.conn.execute("SELECT COUNT(*) FROM meta").fetchone()
            return True
        except psycopg.Error:
            return False

    def health(self) -> str:
        """`ok`, `busy` (every pooled connection is in use: calls wait their turn) or
        `unreachable`. Asked on a pooled connection, given back after: a platform's health
        check, answered on whichever thread, never leaves a connection of its own behind."""
        try:
            with self.borrowed():
                return "ok" if self.ping() else "unreachable"
        except StoreBusy:
            return "busy"

    def release_thread(self) -> None:
        """This thread makes no more store calls (a server's event loop, once started up):
        its own connection, opened by the start-up's checks, is closed, not left idle for the
        process's life. Should it call again, it opens another."""
        conn = getattr(self._local, "conn", None)
        with self._lock:
            if conn is None or conn.raw not in self._own:  # none, or one borrowed from the pool
                return
            self._own.remove(conn.raw)
        self._local.conn = None
        with contextlib.suppress(psycopg.Error):
            conn.raw.close()

    def close(self) -> None:
        with self._lock:
            if not self.pool.closed:
                self.pool.close()
        with self._lock:
            for raw in self._own:
                with contextlib.suppress(psycopg.Error):
                    raw.close()
            self._own.clear()
        self._local = threading.local()
