"""Issue 17, item 5: a conversation's link pasted in Slack (`link_shared`) unfurls into a card
with the PAL and whether the call is live, and End while it is (checked on click). Links palbot
cannot place, private rooms and other workspaces' conversations get no card."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import check_message, render
from tests.slack.conftest import ADMIN, PalbotHandle
from tests.slack.test_lifecycle import start_one
from tests.slack.test_live_calls import start_outside_slack
from tests.slack.test_pals import make_pal


def share(palbot: PalbotHandle, *urls: str, **extra: Any) -> None:
    palbot.slack.event(
        {
            "type": "link_shared",
            "channel": "C_GENERAL",
            "user": "U_USER",
            "message_ts": "1700000500.000500",
            "links": [{"domain": "tavus.daily.co", "url": u} for u in urls],
            **extra,
        }
    )


def cards(call: Any) -> dict[str, Any]:
    unfurls = call.args["unfurls"]
    return dict(json.loads(unfurls) if isinstance(unfurls, str) else unfurls)


def test_a_live_call_unfurls_with_end_then_says_it_ended(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    conv = start_one(palbot, fake_slack, sandbox, "Weekly", pal_name="Coach")
    pal_id = conv.pal_id
    assert conv.url is not None
    kiosk = start_outside_slack(sandbox, pal_id, "Lobby kiosk")
    kiosk_url = f"{sandbox.url}/rooms/{kiosk}"
    share(palbot, conv.url, kiosk_url, "https://tavus.daily.co/not-a-known-room")
    [unfurl] = fake_slack.wait_for("chat.unfurl")
    assert (unfurl.args["channel"], unfurl.args["ts"]) == ("C_GENERAL", "1700000500.000500")
    found = cards(unfurl)
    assert set(found) == {conv.url, kiosk_url}  # the unknown room gets no card
    mine = found[conv.url]
    check_message({"text": "card", **mine})
    text = render(mine["blocks"])
    assert "Live" in text and "Coach" in text and "started by <@U_USER>" in text
    assert conv.conversation_id in json.dumps(mine) and "conversation_end" in json.dumps(mine)
    assert "started outside Slack" in render(found[kiosk_url]["blocks"])
    # End from the card: checked like any End (an admin may end one started elsewhere)
    palbot.slack.block_action("conversation_end", kiosk, user=ADMIN)
    palbot.wait_audit("conversation.end", "ok")
    palbot.slack.command(f"end {conv.conversation_id}")
    palbot.wait_audit("conversation.end", "ok", count=2)
    share(palbot, conv.url, kiosk_url)
    again = cards(fake_slack.wait_for("chat.unfurl", count=2)[-1])
    for card in again.values():
        assert "Ended" in render(card["blocks"]) and "conversation_end" not in json.dumps(card)


def test_private_rooms_tests_and_other_workspaces_get_no_card(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    private = start_one(palbot, fake_slack, sandbox, "Secret --private", pal_name="Coach")
    pal_id = private.pal_id
    assert private.url is not None
    share(palbot, private.url)
    outside = start_outside_slack(sandbox, pal_id, "Kiosk")
    palbot.slack.event(  # from a workspace that has no key of its own: nothing to show
        {
            "type": "link_shared",
            "channel": "C_T2",
            "user": "U_T2",
            "message_ts": "1.2",
            "links": [{"domain": "tavus.daily.co", "url": f"{sandbox.url}/rooms/{outside}"}],
        },
        team="T2",
    )
    palbot.settle()
    assert fake_slack.of("chat.unfurl") == []


def test_a_link_being_composed_unfurls_by_its_unfurl_id(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Coach")
    kiosk = start_outside_slack(sandbox, pal_id, "Kiosk")
    share(palbot, f"{sandbox.url}/rooms/{kiosk}", unfurl_id="Uf123", source="composer")
    [unfurl] = fake_slack.wait_for("chat.unfurl")
    assert (unfurl.args["unfurl_id"], unfurl.args["source"]) == ("Uf123", "composer")
    assert "channel" not in unfurl.args
