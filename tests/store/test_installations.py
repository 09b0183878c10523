"""Slack installations and OAuth states in palbot's own encrypted store (through the adapter
Bolt's OAuth flow uses)."""

from __future__ import annotations

from slack_sdk.oauth.installation_store.models.installation import Installation

from palbot.slack.installation_store import SlackInstallationStore, SlackOAuthStateStore
from palbot.store import Store


def _install(
    team: str,
    user: str,
    bot_token: str,
    *,
    enterprise: str | None = None,
    org: bool = False,
    user_token: str | None = None,
) -> Installation:
    return Installation(
        app_id="A1",
        enterprise_id=enterprise,
        team_id=None if org else team,
        user_id=user,
        bot_token=bot_token,
        bot_id="B" + team,
        bot_user_id="UB" + team,
        bot_scopes="commands,chat:write",
        user_token=user_token,
        is_enterprise_install=org,
    )


async def test_one_row_per_user_updated_in_place(store: Store) -> None:
    inst = SlackInstallationStore(store.installations)  # as Bolt's OAuth flow sees it
    await inst.async_save(_install("T1", "U1", "xoxb-first-000001"))
    await inst.async_save(_install("T1", "U1", "xoxb-second-00002"))
    await inst.async_save(_install("T1", "U2", "xoxb-third-000003", user_token="xoxp-u2-0001"))
    assert inst.count() == (1, 2)
    found = await inst.async_find_installation(enterprise_id=None, team_id="T1")
    assert found is not None and found.bot_token == "xoxb-third-000003"
    u1 = await inst.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert u1 is not None and u1.user_id == "U1"
    assert u1.bot_token == "xoxb-third-000003"  # never a stale bot token
    u2 = await inst.async_find_installation(enterprise_id=None, team_id="T1", user_id="U2")
    assert u2 is not None and u2.user_token == "xoxp-u2-0001"
    bot = await inst.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-third-000003"
    assert bot.bot_scopes == ["commands", "chat:write"]


async def test_saves_in_the_same_second_never_return_a_stale_token(store: Store) -> None:
    inst = SlackInstallationStore(store.installations)  # as Bolt's OAuth flow sees it
    for i in range(20):
        await inst.async_save(_install("T1", "U1", f"xoxb-burst-{i:06d}"))
        bot = await inst.async_find_bot(enterprise_id=None, team_id="T1")
        assert bot is not None and bot.bot_token == f"xoxb-burst-{i:06d}"


async def test_workspaces_do_not_mix(store: Store) -> None:
    inst = SlackInstallationStore(store.installations)  # as Bolt's OAuth flow sees it
    await inst.async_save(_install("T1", "U1", "xoxb-team-one-0001"))
    await inst.async_save(_install("T2", "U1", "xoxb-team-two-0002"))
    b1 = await inst.async_find_bot(enterprise_id=None, team_id="T1")
    b2 = await inst.async_find_bot(enterprise_id=None, team_id="T2")
    assert (
        b1 and b2 and (b1.bot_token, b2.bot_token) == ("xoxb-team-one-0001", "xoxb-team-two-0002")
    )
    assert await inst.async_find_bot(enterprise_id=None, team_id="T3") is None


async def test_org_wide_install(store: Store) -> None:
    inst = SlackInstallationStore(store.installations)  # as Bolt's OAuth flow sees it
    await inst.async_save(_install("T1", "U1", "xoxb-org-wide-0001", enterprise="E1", org=True))
    bot = await inst.async_find_bot(enterprise_id="E1", team_id=None, is_enterprise_install=True)
    assert bot is not None and bot.bot_token == "xoxb-org-wide-0001"
    # A workspace of that org, asked without the org flag, finds the org-wide bot.
    member = await inst.async_find_bot(enterprise_id="E1", team_id="T77")
    assert member is not None and member.bot_token == "xoxb-org-wide-0001"
    found = await inst.async_find_installation(
        enterprise_id="E1", team_id=None, is_enterprise_install=True
    )
    assert found is not None and found.is_enterprise_install


async def test_delete_forgets_tokens(store: Store) -> None:
    inst = SlackInstallationStore(store.installations)  # as Bolt's OAuth flow sees it
    await inst.async_save(_install("T1", "U1", "xoxb-delete-me-0001"))
    await inst.async_save(_install("T1", "U2", "xoxb-delete-me-0002"))
    await inst.async_delete_installation(enterprise_id=None, team_id="T1", user_id="U2")
    assert inst.count() == (1, 1)
    await inst.async_delete_all(enterprise_id=None, team_id="T1")
    assert inst.count() == (0, 0)
    assert await inst.async_find_installation(enterprise_id=None, team_id="T1") is None


async def test_oauth_state_is_single_use_and_expires(store: Store) -> None:
    states = SlackOAuthStateStore(store.oauth_states)
    state = await states.async_issue()
    assert len(state) >= 32
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False
    assert await states.async_consume("forged") is False
    store.oauth_states.expiration_seconds = -1
    expired = await states.async_issue()
    assert await states.async_consume(expired) is False
