"""How the PostgreSQL backend sends the store's statements: translated from the SQLite dialect
(`?` numbered as `$1`, `$2`…; nothing else touched), sent as they are by one cursor per
connection, each result read before the next statement. A real server (tests/pg.py)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from palbot.store.postgres.db import PgDatabase, translate


@pytest.fixture
def db(postgres_url: str) -> Iterator[PgDatabase]:
    database = PgDatabase(postgres_url)
    yield database
    database.close()


def test_placeholders_are_numbered_and_the_rest_is_left_as_written() -> None:
    assert translate("SELECT ? || '%', ? WHERE a = ?") == "SELECT $1 || '%', $2 WHERE a = $3"
    assert translate("INSERT OR IGNORE INTO t (a) VALUES (?)") == (
        "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"
    )


def test_a_percent_sign_reaches_the_server_as_written(db: PgDatabase) -> None:
    row = db.conn.execute("SELECT ? || '%', '100%%'", ("50",)).fetchone()
    assert (row[0], row[1]) == ("50%", "100%%")


def test_a_result_read_after_the_next_statement_raises_instead_of_answering_for_it(
    db: PgDatabase,
) -> None:
    first = db.conn.execute("SELECT 1")
    second = db.conn.execute("SELECT 2")
    with pytest.raises(RuntimeError, match="after its connection's next statement"):
        first.fetchone()
    with pytest.raises(RuntimeError):
        _ = first.rowcount
    assert second.fetchone()[0] == 2


def test_a_result_reads_as_sqlite3_does(db: PgDatabase) -> None:
    conn = db.conn
    conn.execute("CREATE TEMP TABLE t (k text PRIMARY KEY, n bigint)")
    inserted = conn.execute("INSERT INTO t VALUES (?, ?), (?, ?), (?, ?)", ("a", 1, "b", 2, "c", 3))
    assert inserted.rowcount == 3
    assert [(r["k"], r["n"]) for r in conn.execute("SELECT k, n FROM t ORDER BY k")] == [
        ("a", 1),
        ("b", 2),
        ("c", 3),
    ]
    many = conn.execute("SELECT k FROM t ORDER BY k")
    assert [r[0] for r in many.fetchmany(2)] == ["a", "b"]
    assert [r[0] for r in many.fetchmany(2)] == ["c"]
    assert conn.execute("UPDATE t SET n = n + 1 WHERE n > ?", (1,)).rowcount == 2
    assert conn.execute("SELECT k FROM t WHERE k = ?", ("z",)).fetchone() is None
    assert dict(conn.execute("SELECT k, n FROM t WHERE k = ?", ("c",)).fetchone()) == {
        "k": "c",
        "n": 4,
    }


def test_a_sql_ascii_database_reads_text_back_as_text(postgres_server: object) -> None:
    """`initdb` with no locale set (a bare container, an old cluster) makes SQL_ASCII
    databases, whose text psycopg would hand back as bytes: palbot asks for UTF-8, so the
    store opens again (its canary read back), and names and keys keep every character."""
    from cryptography.fernet import Fernet

    from palbot.store.models import ConversationRecord
    from palbot.store.postgres.store import open_postgres_store
    from tests.pg import PostgresServer

    assert isinstance(postgres_server, PostgresServer)
    url = postgres_server.new_database(encoding="SQL_ASCII")
    with psycopg.connect(url) as conn:
        assert conn.info.parameter_status("server_encoding") == "SQL_ASCII"
    secret = Fernet.generate_key().decode()
    first = open_postgres_store(url, secret)
    first.workspaces.set_pal_key("T1", "pal-key-0123456789", set_by="U1")
    first.conversations.add_many(
        [
            ConversationRecord(
                conversation_id="c1",
                attempt_id="start-1",
                team_id="T1",
                pal_id="p1234567",
                conversation_name="Café ☕ — ünïcødé",
                channel_id="C1",
                started_by="U1",
                status="starting",
            )
        ]
    )
    first.audit.append("key.set", "ok", team_id="T1", user_id="U1", detail={"note": "é ☕"})
    first.close()
    again = open_postgres_store(url, secret)  # reads the canary the first one wrote
    try:
        assert again.workspaces.get_pal_key("T1") == "pal-key-0123456789"
        conversation = again.conversations.get("c1")
        assert conversation is not None
        assert conversation.conversation_name == "Café ☕ — ünïcødé"
        assert again.audit.verify().ok
    finally:
        again.close()
