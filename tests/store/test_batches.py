"""Batches as wide as a burst's (a group commit writes every start waiting at that moment in a
few multi-row statements): each row keeps its own values, on both backends. On PostgreSQL such
a statement carries hundreds of parameters, numbered `$1`… by the store's translation."""

from __future__ import annotations

from palbot.store import Store
from palbot.store.models import ConversationRecord, NewEntry

WIDE = 60  # a burst's batch: 60 audit rows carry 660 parameters, 60 conversations 1,380


def test_wide_multi_row_writes_keep_each_rows_own_values(store: Store) -> None:
    entries = [
        NewEntry(
            "conversation.start",
            "accepted",
            team_id="T1",
            user_id=f"U{i:03}",
            channel_id=f"C{i:03}",
            target=f"p{i:07}",
            detail={"i": i},
        )
        for i in range(WIDE)
    ]
    written = store.audit.append_many(entries)
    assert [e.seq for e in written] == list(range(1, WIDE + 1))
    listed = sorted(store.audit.recent("T1", limit=WIDE), key=lambda e: e.seq)
    assert [(e.user_id, e.channel_id, e.target, e.detail) for e in listed] == [
        (f"U{i:03}", f"C{i:03}", f"p{i:07}", {"i": i}) for i in range(WIDE)
    ]
    assert store.audit.verify().ok

    store.conversations.add_many(
        [
            ConversationRecord(
                conversation_id=f"start-{i:03}",
                attempt_id=f"start-{i:03}",
                team_id="T1",
                pal_id=f"p{i:07}",
                started_by=f"U{i:03}",
                channel_id=f"C{i:03}",
                status="active",
                accepted_seq=i + 1,
                private=i % 2 == 1,
            )
            for i in range(WIDE)
        ]
    )
    for i in (0, 1, WIDE // 2, WIDE - 1):
        got = store.conversations.get(f"start-{i:03}")
        assert got is not None
        assert (got.pal_id, got.started_by, got.channel_id, got.accepted_seq, got.private) == (
            f"p{i:07}",
            f"U{i:03}",
            f"C{i:03}",
            i + 1,
            i % 2 == 1,
        )
    store.conversations.mark_delivered(*(f"start-{i:03}" for i in range(0, WIDE, 2)))
    undelivered = {c.conversation_id for c in store.conversations.undelivered()}
    assert undelivered == {f"start-{i:03}" for i in range(1, WIDE, 2)}


def test_wide_claims_answer_key_by_key(store: Store) -> None:
    idem = store.idempotency
    keys = [(f"k{i:03}", f"T{i % 3}") for i in range(3 * WIDE)]
    assert idem.claim_many(keys[::2]) == {k for k, _ in keys[::2]}
    assert idem.claim_many(keys) == {k for k, _ in keys[1::2]}  # only those not yet held
    idem.unclaim([k for k, _ in keys[:WIDE]])
    assert idem.claim_many(keys) == {k for k, _ in keys[:WIDE]}
