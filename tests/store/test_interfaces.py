"""Behaviour every store backend must have, through the Protocols only."""

from __future__ import annotations

import pytest

from palbot.store import Store
from palbot.store.crypto import hash_token
from palbot.store.interfaces import AuditLog, ConversationStore, IdempotencyStore, WorkspaceStore
from palbot.store.models import ConversationRecord, Limits, NewEntry


def test_workspace_key_round_trip(store: Store) -> None:
    workspaces: WorkspaceStore = store.workspaces
    assert workspaces.get("T1") is None and workspaces.get_pal_key("T1") is None
    ws = workspaces.set_pal_key("T1", "  sk-live-abcdef987654  ", set_by="U1", enterprise_id="E1")
    assert ws.key_last4 == "7654" and ws.key_set_by == "U1" and ws.enterprise_id == "E1"
    assert ws.key_set_at and ws.has_key
    assert workspaces.get_pal_key("T1") == "sk-live-abcdef987654"
    workspaces.set_pal_key("T1", "sk-live-second-1111", set_by="U2")
    assert workspaces.get_pal_key("T1") == "sk-live-second-1111"
    assert workspaces.get("T1").enterprise_id == "E1"  # type: ignore[union-attr]
    assert workspaces.remove_pal_key("T1") is True
    assert workspaces.remove_pal_key("T1") is False
    assert workspaces.get_pal_key("T1") is None
    assert workspaces.get("T1").has_key is False  # type: ignore[union-attr]


def test_workspaces_are_isolated(store: Store) -> None:
    store.workspaces.set_pal_key("TA", "sk-aaaa-aaaa-1111", set_by="U1")
    store.workspaces.set_pal_key("TB", "sk-bbbb-bbbb-2222", set_by="U2")
    assert store.workspaces.get_pal_key("TA") == "sk-aaaa-aaaa-1111"
    assert store.workspaces.get_pal_key("TB") == "sk-bbbb-bbbb-2222"
    store.audit.append("key.set", "ok", team_id="TA", user_id="U1")
    store.audit.append("key.set", "ok", team_id="TB", user_id="U2")
    assert [e.team_id for e in store.audit.recent("TA")] == ["TA"]


def test_limits(store: Store) -> None:
    ws = store.workspaces.set_limits("T1", Limits(max_concurrent=2, max_per_day=10), set_by="U1")
    assert ws.limits == Limits(max_concurrent=2, max_per_day=10, max_call_duration=None)
    assert ws.limits_set_by == "U1" and ws.has_key is False
    ws = store.workspaces.set_limits("T1", Limits(), set_by="U2")
    assert ws.limits.max_concurrent is None and ws.limits_set_by == "U2"


def test_audit_append_and_read(store: Store) -> None:
    audit: AuditLog = store.audit
    first = audit.append(
        "conversation.start",
        "accepted",
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        target="p123",
        detail={"name": "Demo"},
    )
    second = audit.append(
        "conversation.start",
        "ok",
        team_id="T1",
        user_id="U1",
        target="c999",
        detail={"accepted_seq": first.seq},
    )
    assert (first.seq, second.seq) == (1, 2)
    assert second.prev_hash == first.hash
    assert [e.seq for e in audit.recent("T1", 10)] == [2, 1]
    assert [e.seq for e in audit.iter_entries(action="conversation.start")] == [1, 2]
    assert list(audit.iter_entries(team_id="T2")) == []
    assert audit.head() == f"2:{second.hash}"
    assert audit.verify().ok


def test_audit_refuses_unknown_names(store: Store) -> None:
    with pytest.raises(ValueError, match="action"):
        store.audit.append("pal.explode", "ok")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outcome"):
        store.audit.append("pal.create", "maybe")  # type: ignore[arg-type]


def test_audit_redacts_secrets(store: Store) -> None:
    store.workspaces.set_pal_key("T1", "sk-secret-value-4242", set_by="U1")
    entry = store.audit.append(
        "pal.create",
        "ok",
        team_id="T1",
        target="sk-secret-value-4242",
        detail={
            "layers": {
                "llm": {"api_key": "openai-xyz", "model": "m"},
                "tts": {"API-KEY": "tts-secret"},
            },
            "headers": {"Authorization": "Bearer x"},
            "password": "hunter2",
            "note": ["the key is sk-secret-value-4242!"],
        },
    )
    assert entry.detail["layers"]["llm"] == {"api_key": "[redacted]", "model": "m"}
    assert entry.detail["layers"]["tts"]["API-KEY"] == "[redacted]"
    assert entry.detail["headers"]["Authorization"] == "[redacted]"
    assert entry.detail["password"] == "[redacted]"
    assert entry.detail["note"] == ["the key is [redacted]!"]
    assert entry.target == "[redacted]"


def test_conversations(store: Store) -> None:
    convs: ConversationStore = store.conversations
    rec = ConversationRecord(
        conversation_id="c1",
        team_id="T1",
        pal_id="p1",
        pal_name="Ann",
        started_by="U1",
        callback_token_hash=hash_token("tok-1"),
        url="https://x/c1",
    )
    convs.add(rec)
    convs.add(
        ConversationRecord(
            conversation_id="c2",
            team_id="T2",
            pal_id="p2",
            started_by="U9",
            callback_token_hash=hash_token("tok-2"),
            test_mode=True,
        )
    )
    assert convs.get("c1") == rec
    assert convs.by_callback_token("tok-1") == rec
    assert convs.by_callback_token("") is None and convs.by_callback_token("nope") is None
    assert convs.by_callback_token(hash_token("tok-1")) is None  # the stored hash is no token
    convs.set_message("c1", "C1", "1700000000.000100")
    assert convs.by_message("C1", "1700000000.000100").conversation_id == "c1"  # type: ignore
    assert [c.conversation_id for c in convs.list_active("T1")] == ["c1"]
    assert {c.conversation_id for c in convs.list_active()} == {"c1", "c2"}
    assert convs.count_started_since("T1", "2000-01-01") == 1
    assert convs.count_started_since("T2", "2000-01-01") == 0  # test_mode costs nothing
    assert convs.mark_ended("c1", ended_by="U1", reason="ended from Slack") is True
    assert convs.mark_ended("c1", ended_by="U2", reason="again") is False
    ended = convs.get("c1")
    assert ended and ended.status == "ended" and ended.ended_by == "U1" and ended.ended_at
    assert convs.list_active("T1") == []
    assert [c.conversation_id for c in convs.recent("T1")] == ["c1"]
    assert convs.first_event("c1", "system.shutdown") is True
    assert convs.first_event("c1", "system.shutdown") is False
    assert convs.first_event("c1", "application.transcription_ready") is True


def test_idempotency(store: Store) -> None:
    idem: IdempotencyStore = store.idempotency
    assert idem.claim("view:V1:abc", team_id="T1") is True
    assert idem.claim("view:V1:abc", team_id="T1") is False
    assert idem.claim("view:V1:abd", team_id="T1") is True
    assert idem.claim("debounce", window=30) is True
    assert idem.claim("debounce", window=30) is False
    assert idem.claim("debounce", window=0) is True  # the window has passed


def test_claims_in_one_statement_say_which_are_new_and_can_be_given_back(store: Store) -> None:
    idem: IdempotencyStore = store.idempotency
    assert idem.claim("a", team_id="T1") is True
    assert idem.claim_many([("a", "T1"), ("b", "T1"), ("c", "T2")]) == {"b", "c"}
    assert idem.claim_many([("b", "T1")]) == set()
    assert idem.claim_many([]) == set()
    assert idem.claim_many([("d", "T1")], window=30) == {"d"}
    assert idem.claim_many([("d", "T1"), ("e", "T1")], window=30) == {"e"}
    assert idem.claim_many([("d", "T1")], window=0) == {"d"}  # its window has passed
    idem.unclaim(["b", "d", "never-claimed"])
    assert idem.claim_many([("b", "T1"), ("c", "T2"), ("d", "T1")]) == {"b", "d"}


def test_a_windowed_claim_renews_only_the_keys_named_renewable(store: Store) -> None:
    """One statement claims a start's one-shot keys and its debounce key: with `renewable`,
    the window lets only those keys be claimed again, never a one-shot key however old."""
    idem: IdempotencyStore = store.idempotency
    assert idem.claim_many([("once", "T1"), ("debounce", "T1")]) == {"once", "debounce"}
    both = [("once", "T1"), ("debounce", "T1"), ("new", "T1")]
    assert idem.claim_many(both, window=30, renewable=["debounce"]) == {"new"}  # in its window
    assert idem.claim_many(both, window=0, renewable=["debounce"]) == {"debounce"}  # passed
    assert idem.claim_many(both, window=0, renewable=[]) == set()  # nothing renewable
    assert idem.claim_many(both, window=0) == {"once", "debounce", "new"}  # every key


def test_audit_rows_appended_together_form_one_chain(store: Store) -> None:
    audit: AuditLog = store.audit
    first = audit.append("key.set", "ok", team_id="T1", user_id="U1")
    rows = audit.append_many(
        [
            NewEntry("conversation.start", "accepted", "T1", "U1", "C1", "p1", {"n": 1}),
            NewEntry("conversation.start", "accepted", "T2", "U2", "C2", "p2", {"n": 2}),
        ]
    )
    assert [r.seq for r in rows] == [first.seq + 1, first.seq + 2]
    assert rows[0].prev_hash == first.hash and rows[1].prev_hash == rows[0].hash
    assert (rows[1].team_id, rows[1].channel_id, rows[1].detail) == ("T2", "C2", {"n": 2})
    assert audit.append_many([]) == []
    last = audit.append("key.set", "ok", team_id="T1")
    assert last.prev_hash == rows[1].hash
    assert audit.verify().ok and audit.verify().rows == 4
    with pytest.raises(ValueError):  # one bad row refuses them all
        audit.append_many([NewEntry("key.set", "ok"), NewEntry("no.such", "ok")])
    assert audit.verify().rows == 4


def test_conversations_added_together(store: Store) -> None:
    convs: ConversationStore = store.conversations
    convs.add_many(
        [
            ConversationRecord(
                conversation_id=f"c{i}",
                team_id="T1",
                pal_id="p1",
                started_by="U1",
                private=i == 1,
                thread_ts="1.2" if i == 2 else None,
            )
            for i in range(3)
        ]
    )
    got = [convs.get(f"c{i}") for i in range(3)]
    assert [(g.private, g.thread_ts) for g in got if g] == [
        (False, None),
        (True, None),
        (False, "1.2"),
    ]
    convs.add_many([])


def test_one_lease_holder_at_a_time_and_it_passes_on(store: Store) -> None:
    import time

    assert store.leases.acquire("poller", "host-a:1", ttl=0.3)
    assert not store.leases.acquire("poller", "host-b:2", ttl=0.3)  # held elsewhere
    assert store.leases.acquire("poller", "host-a:1", ttl=0.3)  # renewed by its holder
    assert store.leases.acquire("reconcile", "host-b:2", ttl=0.3)  # another duty
    time.sleep(0.35)  # host-a stopped renewing (it died)
    assert store.leases.acquire("poller", "host-b:2", ttl=30)
    assert not store.leases.acquire("poller", "host-a:1", ttl=30)
    store.leases.release("poller", "host-b:2")
    assert store.leases.acquire("poller", "host-a:1", ttl=30)


def test_form_sessions_are_shared_encrypted_single_use_and_expire(store: Store) -> None:
    import time

    doc = {"pal_id": "p1", "doc": {"layers": {"llm": {"api_key": "sk-session-secret-99"}}}}
    store.sessions.put("V123", doc, ttl=60, team_id="T1")
    assert store.sessions.get("V123") == doc and store.sessions.get("V123") == doc
    raw = store.db.conn.execute("SELECT data_enc FROM form_sessions").fetchone()[0]
    assert "sk-session-secret-99" not in raw  # encrypted at rest
    assert store.sessions.pop("V123") == doc and store.sessions.pop("V123") is None
    store.sessions.put("V-short", {"x": 1}, ttl=0.05)
    time.sleep(0.1)
    assert store.sessions.get("V-short") is None and store.sessions.pop("V-short") is None


def test_permissions_and_pal_creators(store: Store) -> None:
    from palbot.store.models import Permissions

    ws = store.workspaces
    assert ws.get("T1") is None
    ws.set_permissions("T1", Permissions(create="admins", edit="everyone"), set_by="U_A")
    got = ws.get("T1")
    assert got is not None
    assert got.permissions == Permissions(
        create="admins", edit="everyone", delete="creator_and_admins"
    )
    assert ws.get("T2") is None  # another workspace sees nothing
    assert ws.creator_of("T1", "p1") is None
    ws.record_creator("T1", "p1", "U_1")
    ws.record_creator("T1", "p1", "U_2")  # a PAL's creator is recorded once
    assert ws.creator_of("T1", "p1") == "U_1"
    assert ws.creator_of("T2", "p1") is None


def test_who_ended_it_is_kept_whoever_records_the_end(store: Store) -> None:
    convs = store.conversations
    convs.add(ConversationRecord(conversation_id="c9", team_id="T1", pal_id="p1", started_by="U1"))
    convs.note_ending("c9", "U_ENDER")  # the End from Slack, before asking upstream
    assert convs.mark_ended("c9", ended_by=None, reason="end_conversation_endpoint_hit")
    ended = convs.get("c9")
    assert ended is not None and ended.ended_by == "U_ENDER" and ended.status == "ended"
    convs.add(ConversationRecord(conversation_id="c10", team_id="T1", pal_id="p1", started_by="U1"))
    convs.note_ending("c10", "U_ENDER")
    convs.note_ending("c10", None)  # the End failed upstream: nobody ended it
    assert convs.mark_ended("c10", ended_by=None, reason="max_call_duration reached")
    later = convs.get("c10")
    assert later is not None and later.ended_by is None


def test_running_servers_are_seen_by_their_leases(store: Store) -> None:
    assert store.running_servers() == []
    store.leases.acquire("reconcile", "host:1:abc", ttl=30)
    assert store.running_servers() == ["host:1:abc"]


def test_a_dropped_postgresql_connection_is_replaced_without_failing_a_call(
    postgres_server: object, postgres_url: str
) -> None:
    """A restart or failover drops every idle connection: the next read, and the next write,
    still succeed (a statement that changed nothing is sent again on a new connection)."""
    import psycopg
    from cryptography.fernet import Fernet

    from palbot.store.postgres.store import open_postgres_store
    from tests.pg import PostgresServer

    assert isinstance(postgres_server, PostgresServer)
    store = open_postgres_store(postgres_url, Fernet.generate_key().decode())
    try:
        store.workspaces.set_pal_key("T1", "sk-test-dropped-01", set_by="U1")
        database = postgres_url.rsplit("/", 1)[1]
        for attempt in range(2):  # a read first, then a write first
            with psycopg.connect(postgres_server.admin_url, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )
            if attempt == 0:
                assert store.workspaces.get("T1").has_key  # type: ignore[union-attr]
            row = store.audit.append("key.set", "ok", team_id="T1")
            assert row.seq >= 1
        assert store.audit.verify().ok
    finally:
        store.close()


def test_results_links_and_conversations_awaiting_results(store: Store) -> None:
    convs: ConversationStore = store.conversations
    for cid, test_mode in (("c-res", False), ("c-none", False), ("c-test", True)):
        convs.add(
            ConversationRecord(
                conversation_id=cid, team_id="T1", pal_id="p1", started_by="U1", test_mode=test_mode
            )
        )
        assert convs.mark_ended(cid, ended_by=None, reason="done")
    transcript = "application.transcription_ready"
    assert convs.first_event("c-res", transcript)
    convs.event_delivered("c-res", transcript, "https://slack.example/files/F1")
    assert convs.first_event("c-res", "application.perception_analysis")  # not delivered yet
    assert convs.result_links("c-res") == {transcript: "https://slack.example/files/F1"}
    assert convs.result_links("c-none") == {}
    far_past, far_future = "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"
    waiting = convs.awaiting_results(transcript, far_future, far_past)
    assert [c.conversation_id for c in waiting] == ["c-none"]  # not c-res, never a test
    assert convs.awaiting_results(transcript, far_past, far_past) == []  # ended too recently
