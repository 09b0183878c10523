"""Guards for what a redesign of the layers could silently break: admin checks on every surface,
idempotency keys that outlive the debounce window, audit outcomes, cached authorizations, the
poller, and the redactor. Each test here was written against a bug planted in the code it guards
(see README, "Mutation testing"), and fails with that bug in place."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import httpx
from cryptography.fernet import Fernet

from palbot.logsafe import SecretFilter
from palbot.store.redact import REDACTED, redact
from palbot.store.sqlite.store import open_sqlite_store
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import ADMIN, USER, PalbotHandle
from tests.slack.test_conversations import started
from tests.slack.test_install import install
from tests.slack.test_lifecycle import on_server, start_one
from tests.slack.test_pals import make_pal


def debounce_passes(palbot: PalbotHandle) -> None:
    """Time passes beyond the start debounce window (5 s): the windowed claims are aged in the
    database, as a clock moving on would age them. One-shot claims are left as they are."""
    with palbot.store.db.write() as conn:
        conn.execute(
            "UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000000Z' "
            "WHERE key LIKE 'start:%'"
        )


def test_limits_form_refuses_a_non_admin(palbot: PalbotHandle, fake_slack: FakeSlack) -> None:
    palbot.slack.command("limits", user=ADMIN)
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    # a member submits the admin's form (a forged or stale view): refused, audited, unchanged
    body = palbot.slack.submit(view, {"max_concurrent": "7"}, user=USER).json()
    assert body["response_action"] == "errors" and "admins" in body["errors"]["max_concurrent"]
    workspace = palbot.store.workspaces.get("T1")
    assert workspace is None or workspace.limits.max_concurrent is None
    rows = palbot.audit("limits.set")
    assert [(r.outcome, r.user_id) for r in rows] == [("denied", USER)]
    ok = palbot.slack.submit(view, {"max_concurrent": "7"}, user=ADMIN)
    assert ok.status_code == 200 and ok.text in ("", "null")
    assert palbot.store.workspaces.get("T1").limits.max_concurrent == 7  # type: ignore[union-attr]
    assert [r.outcome for r in palbot.audit("limits.set")] == ["denied", "ok"]


def test_start_button_replayed_after_the_debounce_starts_once(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    palbot.slack.block_action("pal_start_button", pal_id, action_ts="1700000001.000100")
    started(palbot, fake_slack)
    palbot.settle()
    debounce_passes(palbot)
    # the very same click delivered again (Slack retries, a proxy replays): same action_ts
    palbot.slack.block_action("pal_start_button", pal_id, action_ts="1700000001.000100")
    palbot.settle()
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1
    fake_slack.wait_response(where=lambda r: "already handled" in json.dumps(r.args))
    # a new click (new action_ts) after the window is a new action
    palbot.slack.block_action("pal_start_button", pal_id, action_ts="1700000099.000100")
    started(palbot, fake_slack, count=2)
    assert len(sandbox.requests("POST", "/v2/conversations")) == 2


def test_start_form_replayed_after_the_debounce_starts_once(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    palbot.slack.command("start")
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    values = {"pal_id": pal_id, "channel": "C_GENERAL"}
    assert palbot.slack.submit(view, values).json()["response_action"] == "update"
    started(palbot, fake_slack)
    palbot.settle()
    debounce_passes(palbot)
    again = palbot.slack.submit(view, values)  # the same view submitted again
    assert again.status_code == 200 and again.text in ("", "null")
    palbot.settle()
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1
    assert [r.outcome for r in palbot.audit("conversation.start")] == ["accepted", "ok"]


def test_a_patch_that_changes_nothing_is_audited_ok(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY, pal_name="Coach"))
    same = json.dumps([{"op": "replace", "path": "/pal_name", "value": "Coach"}])
    palbot.slack.command(f"patch {pal_id} {same}")
    fake_slack.wait_response(where=lambda r: "Nothing changed" in json.dumps(r.args))
    palbot.settle()
    accepted, closed = palbot.audit("pal.patch")
    assert (accepted.outcome, closed.outcome) == ("accepted", "ok")
    assert closed.detail["changed"] is False and closed.detail["accepted_seq"] == accepted.seq


def test_a_key_refused_after_the_checking_view_is_audited_invalid(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.slack.command("key", user=ADMIN)
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    sandbox.fault(method="GET", path="/v2/pals", latency=2.6, status=401, times=1)
    body = palbot.slack.submit(view, {"api_key": "sk-refused-after-a-wait"}, user=ADMIN).json()
    assert body["response_action"] == "update" and "Checking" in json.dumps(body["view"])
    fake_slack.wait_for("views.update", where=lambda c: "not saved" in json.dumps(c.args))
    palbot.settle()
    assert palbot.store.workspaces.get_pal_key("T1") is None
    accepted, closed = palbot.audit("key.set")
    assert (accepted.outcome, closed.outcome) == ("accepted", "invalid")
    assert closed.detail["accepted_seq"] == accepted.seq


def test_an_upstream_error_during_the_key_check_is_audited_error(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.slack.command("key", user=ADMIN)
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    sandbox.fault(method="GET", path="/v2/pals", status=500, times=5)
    body = palbot.slack.submit(view, {"api_key": SANDBOX_KEY}, user=ADMIN).json()
    assert body["response_action"] == "errors" and "Could not check" in body["errors"]["api_key"]
    assert [r.outcome for r in palbot.audit("key.set")] == ["error"]
    assert palbot.store.workspaces.get_pal_key("T1") is None


def test_tokens_revoked_forgets_the_cached_authorization(
    make_palbot: Any, fake_slack: FakeSlack
) -> None:
    palbot = make_palbot(
        http=True,
        slack_bot_token=None,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
    )
    install(palbot, fake_slack, "T1", "xoxb-revoked-cached-0001")
    assert "palbot help" in palbot.slack.command("help").text  # authorized and cached
    palbot.slack.event({"type": "tokens_revoked", "tokens": {"oauth": [ADMIN], "bot": ["UBT1"]}})
    palbot.settle()
    assert palbot.store.installations.count() == (0, 0)
    refused = palbot.slack.command("help")
    assert "palbot help" not in refused.text  # not answered with the forgotten token
    fake_slack.wait_response(
        where=lambda r: "not installed in this workspace" in json.dumps(r.args)
    )


def test_the_poller_closes_a_conversation_deleted_upstream(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    conv = start_one(palbot, fake_slack, sandbox)
    gone = httpx.delete(
        f"{sandbox.url}/v2/conversations/{conv.conversation_id}",
        params={"hard": "true"},
        headers={"x-api-key": SANDBOX_KEY},
    )
    assert gone.status_code == 204
    assert on_server(palbot, palbot.bot.lifecycle.poll_once()) == 1
    update = fake_slack.wait_for(
        "chat.update", where=lambda c: "no longer exists" in json.dumps(c.args)
    )
    assert "conversation_join" not in json.dumps(update[-1].args)
    record = palbot.store.conversations.get(conv.conversation_id)
    assert record is not None and record.status == "ended"


def test_the_redactor_hides_every_secret_name() -> None:
    detail = {
        "token": "xoxb-1-2-3",
        "callback_token": "abcdefabcdef",
        "api_key": "sk-123456",
        "client_secret": "s3cr3t-value",
        "password": "hunter22",
        "Authorization": "Bearer x",
        "nested": {"private_key": "-----BEGIN", "headers": {"X-Api-Key": "k-123456"}},
        "pal_name": "Coach",
        "empty_token": "",
    }
    out = redact(detail)
    for key in ("token", "callback_token", "api_key", "client_secret", "password"):
        assert out[key] == REDACTED, key
    assert out["Authorization"] == REDACTED
    assert out["nested"]["private_key"] == REDACTED
    assert out["nested"]["headers"]["X-Api-Key"] == REDACTED
    assert out["pal_name"] == "Coach" and out["empty_token"] == ""
    assert redact("a sk-pal-key-987654 b", ["sk-pal-key-987654"]) == f"a {REDACTED} b"


def test_a_reopened_store_still_scrubs_the_stored_keys(tmp_path: Any) -> None:
    key = Fernet.generate_key().decode()
    first = open_sqlite_store(tmp_path / "p.db", key)
    first.workspaces.set_pal_key("T1", "sk-stored-before-restart-42", set_by=ADMIN)
    first.close()
    store = open_sqlite_store(tmp_path / "p.db", key)  # a restarted palbot
    try:
        assert "sk-stored-before-restart-42" in store.secrets.values()
        row = store.audit.append("pal.create", "ok", detail={"note": "sk-stored-before-restart-42"})
        assert row.detail["note"] == REDACTED
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(SecretFilter(store.secrets.values))
        logger = logging.getLogger("test.guards.reopened")
        logger.addHandler(handler)
        try:
            logger.warning("upstream echoed sk-stored-before-restart-42")
        finally:
            logger.removeHandler(handler)
        assert "sk-stored-before-restart-42" not in stream.getvalue()
    finally:
        store.close()


def test_an_inline_patch_retried_by_slack_patches_once(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY))
    rename = '[{"op":"replace","path":"/pal_name","value":"Once"}]'
    for retry in ("", "1", "2"):  # Slack retries a slow command with the same trigger_id
        headers = {"x-slack-retry-num": retry, "x-slack-retry-reason": "timeout"} if retry else {}
        palbot.slack.command(f"patch {pal_id} {rename}", trigger_id="trig-patch-1", headers=headers)
    fake_slack.wait_response(where=lambda r: "Patched" in json.dumps(r.args))
    palbot.settle()
    assert len(sandbox.requests("PATCH")) == 1
    assert [r.outcome for r in palbot.audit("pal.patch")] == ["accepted", "ok"]


def test_a_replayed_delete_click_deletes_once(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    palbot.slack.command(f"delete {pal_id}", user=ADMIN)  # the confirmation is offered
    fake_slack.wait_response(where=lambda r: "pal_delete_confirm" in json.dumps(r.args))
    for _ in range(2):  # the same click delivered twice
        palbot.slack.block_action(
            "pal_delete_confirm", pal_id, user=ADMIN, action_ts="1700000002.000200"
        )
    fake_slack.wait_response(where=lambda r: "already handled" in json.dumps(r.args))
    fake_slack.wait_response(where=lambda r: "Deleted the PAL" in json.dumps(r.args))
    palbot.settle()
    assert len(sandbox.requests("DELETE", f"/v2/pals/{pal_id}")) == 1
    assert [r.outcome for r in palbot.audit("pal.delete")] == ["accepted", "ok"]


def test_an_overwrite_confirmation_is_bound_to_who_asked(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY))
    sandbox.maker_changes(pal_id)
    rename = '[{"op":"replace","path":"/pal_name","value":"Mine"}]'
    palbot.slack.command(f"patch {pal_id} {rename}", user=USER)
    [conflict] = fake_slack.wait_response(where=lambda r: "patch_force" in json.dumps(r.args))
    button = next(
        e for b in conflict.args["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    token = button["value"]
    assert token.startswith("pf-") and len(token) > 20  # unguessable, not a view id
    palbot.slack.block_action("patch_force", token, user=ADMIN)  # someone else: refused
    palbot.slack.block_action("patch_force", token, user=USER, team="T2")  # another workspace
    fake_slack.wait_response(count=2, where=lambda r: "someone else" in json.dumps(r.args))
    palbot.settle()
    assert len(sandbox.requests("PATCH")) == 1  # only the first, refused with 409
    palbot.slack.block_action("patch_force", token, user=USER)  # the one who asked: once
    fake_slack.wait_response(where=lambda r: "discarded" in json.dumps(r.args))
    assert sandbox.requests("PATCH")[-1]["query"] == {"force": "true"}
    palbot.slack.block_action("patch_force", token, user=USER)
    fake_slack.wait_response(count=3, where=lambda r: "someone else" in json.dumps(r.args))
    palbot.settle()
    assert len(sandbox.requests("PATCH")) == 2
