"""Signatures, help, parsing errors, health."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import check_message
from tests.slack.conftest import PalbotHandle


def test_help_in_the_ack(palbot: PalbotHandle) -> None:
    for text in ("", "help", "  HELP "):
        resp = palbot.slack.command(text)
        assert resp.status_code == 200
        body = resp.json()
        assert body["response_type"] == "ephemeral"
        assert "/pal create" in str(body["blocks"]) and "/pal start" in str(body["blocks"])
        check_message(body)


def test_forged_and_stale_signatures_refused(palbot: PalbotHandle, fake_slack: FakeSlack) -> None:
    forged = palbot.slack.command("help", signature="v0=" + "0" * 64)
    assert forged.status_code == 401
    stale = palbot.slack.command("help", timestamp=int(time.time()) - 600)
    assert stale.status_code == 401
    assert fake_slack.calls == []


def test_unknown_subcommand_and_bad_arguments(palbot: PalbotHandle) -> None:
    body = palbot.slack.command("frobnicate now").json()
    assert "Unknown subcommand `frobnicate`" in str(body) and "/pal help" in str(body)
    for text, needle in (
        ("show", "/pal show <pal_id>"),
        ("show ../etc", "/pal show <pal_id>"),
        ("patch", "/pal patch <pal_id>"),
        ("end", "/pal end <conversation_id>"),
        ("audit lots", "/pal audit [N]"),
        ("create wizard", "templates"),
        ("key rotate", "/pal key status"),
    ):
        answer = palbot.slack.command(text).json()
        assert needle in str(answer), (text, answer)
        check_message(answer)


def test_pal_actions_without_a_key_say_how_to_connect(
    palbot: PalbotHandle, fake_slack: FakeSlack
) -> None:
    for text in ("list", "show p123", "create", "start p123", "patch p123", "start"):
        body = palbot.slack.command(text).json()
        assert "/pal key" in str(body), text
    assert fake_slack.of("views.open") == []


def test_healthz(make_palbot: Any) -> None:
    import httpx

    palbot = make_palbot(http=True)  # over the network, as a load balancer asks
    resp = httpx.get(palbot.url + "/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"ok": True, "database": {"backend": "sqlite", "state": "ok"}}


def test_key_status(palbot: PalbotHandle) -> None:
    assert "No PAL API key" in str(palbot.slack.command("key status").json())
    palbot.connect_key()
    body = palbot.slack.command("key status").json()
    assert "`1111`" in str(body) and "U_ADMIN" in str(body)
    assert "sk-test-aaaaaaaa" not in str(body)
