"""Install anywhere: OAuth for many workspaces, Socket Mode, App Home, the manifest."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jsonschema
import pytest
import yaml

from palbot import manifest
from tests.cli import palbot as palbot_cli
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.servers import ServerThread
from tests.slack.blockkit import check_view
from tests.slack.conftest import ADMIN, USER, PalbotHandle
from tests.slack.test_conversations import started
from tests.slack.test_pals import make_pal

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "tests" / "data" / "slack"  # Slack's manifest schemas, shipped as test data


def oauth_response(team: str, token: str, user: str = ADMIN) -> dict[str, Any]:
    return {
        "ok": True,
        "app_id": "A1",
        "authed_user": {"id": user},
        "scope": ",".join(manifest.bot_scopes()),
        "token_type": "bot",
        "access_token": token,
        "bot_user_id": "UB" + team,
        "team": {"id": team, "name": f"Team {team}"},
        "enterprise": None,
        "is_enterprise_install": False,
    }


def install(palbot: PalbotHandle, fake: FakeSlack, team: str, token: str) -> httpx.Response:
    client = httpx.Client(base_url=palbot.url)
    page = client.get("/slack/install")
    assert page.status_code == 200 and "Add to Slack" in page.text
    link = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', page.text)
    assert link, page.text
    query = parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)
    assert query["client_id"] == ["111.222"]
    assert query["scope"] == [",".join(manifest.bot_scopes())]  # one source of truth
    state = query["state"][0]
    fake.oauth_codes[f"code-{team}"] = oauth_response(team, token)
    fake.add_workspace(team, token)
    # the state cookie is `Secure` (a browser sends it back over https): send it as a browser would
    cookie = page.headers["set-cookie"].split(";")[0]
    assert cookie.startswith("slack-app-oauth-state=")
    return httpx.get(
        palbot.url + "/slack/oauth_redirect",
        params={"code": f"code-{team}", "state": state},
        headers={"cookie": cookie},
    )


@pytest.fixture
def oauth_palbot(make_palbot: Any) -> PalbotHandle:
    return make_palbot(
        http=True,  # the install pages are opened by a browser, over the network
        slack_bot_token=None,
        slack_client_id="111.222",  # type: ignore[no-any-return]
        slack_client_secret="client-secret-xyz",
    )


def test_two_workspaces_install_through_oauth(
    oauth_palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot = oauth_palbot
    for team, token in (("T1", "xoxb-oauth-team-one-111"), ("T2", "xoxb-oauth-team-two-222")):
        done = install(palbot, fake_slack, team, token)
        assert done.status_code == 200 and f"installed in Team {team}" in done.text
    assert [e.outcome for e in palbot.audit("app.install")] == ["ok", "ok"]
    assert palbot.store.installations.count() == (2, 2)
    # each workspace's requests use its own bot token
    palbot.connect_key("T1")
    auth_tests = len(fake_slack.of("auth.test"))  # made by the install flow itself
    palbot.slack.command("key", team="T1", user=ADMIN)
    palbot.slack.command("key", team="T2", user=ADMIN)
    opened = fake_slack.wait_for("views.open", count=2)
    assert {c.token for c in opened} == {"xoxb-oauth-team-one-111", "xoxb-oauth-team-two-222"}
    infos = fake_slack.of("users.info")
    assert {c.token for c in infos} == {"xoxb-oauth-team-one-111", "xoxb-oauth-team-two-222"}
    # authorization is cached: no auth.test round trip per request
    palbot.slack.command("key status", team="T1")
    palbot.slack.command("key status", team="T2")
    assert len(fake_slack.of("auth.test")) == auth_tests
    # no token in clear text anywhere in the database
    db = Path(palbot.bot.settings.palbot_database)
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())
    for token in (b"xoxb-oauth-team-one-111", b"xoxb-oauth-team-two-222", b"client-secret-xyz"):
        assert token not in raw
    # uninstall forgets the tokens, and the workspace is refused with how to install
    event = palbot.slack.event({"type": "app_uninstalled"}, team="T2")
    assert event.status_code == 200
    deadline = time.monotonic() + 5
    while palbot.store.installations.count() != (1, 1) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert palbot.store.installations.count() == (1, 1)
    palbot.wait_audit("app.uninstall", "ok")
    refused = palbot.slack.command("help", team="T2")
    assert refused.status_code == 200  # Bolt answers through the response_url
    told = fake_slack.wait_response(where=lambda r: "not installed" in json.dumps(r.args))
    assert "/slack/install" in json.dumps(told[-1].args)
    assert "palbot help" in json.dumps(palbot.slack.command("help", team="T1").json())


def test_oauth_state_protects_against_csrf(
    oauth_palbot: PalbotHandle, fake_slack: FakeSlack
) -> None:
    client = httpx.Client(base_url=oauth_palbot.url)
    fake_slack.oauth_codes["code-X"] = oauth_response("TX", "xoxb-attacker-000")
    forged = client.get("/slack/oauth_redirect", params={"code": "code-X", "state": "forged"})
    assert forged.status_code >= 400 and "was not installed" in forged.text
    assert "Start the install again" in forged.text
    # a real state, but from another browser (no state cookie)
    page = client.get("/slack/install")
    state = re.search(r"state=([^&\"]+)", page.text).group(1)  # type: ignore[union-attr]
    other_browser = httpx.get(
        oauth_palbot.url + "/slack/oauth_redirect", params={"code": "code-X", "state": state}
    )
    assert other_browser.status_code >= 400
    denied = client.get("/slack/oauth_redirect", params={"error": "access_denied", "state": state})
    assert "cancelled" in denied.text or denied.status_code >= 400
    assert oauth_palbot.store.installations.count() == (0, 0)
    assert fake_slack.of("oauth.v2.access") == []


def test_tokens_revoked_forgets_them(oauth_palbot: PalbotHandle, fake_slack: FakeSlack) -> None:
    install(oauth_palbot, fake_slack, "T1", "xoxb-revoke-me-0001")
    resp = oauth_palbot.slack.event(
        {"type": "tokens_revoked", "tokens": {"oauth": [ADMIN], "bot": ["UBT1"]}}
    )
    assert resp.status_code == 200
    deadline = time.monotonic() + 5
    while oauth_palbot.store.installations.count() != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert oauth_palbot.store.installations.count() == (0, 0)


def test_both_modes_refused(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "s",
        "SLACK_SIGNING_SECRET": "x",
    }
    done = palbot_cli("serve", env=env, cwd=tmp_path)
    assert done.returncode == 2 and "both set" in done.stderr and "Traceback" not in done.stderr


def test_no_configuration_says_what_is_missing(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    done = palbot_cli("serve", env=env, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "SLACK_SIGNING_SECRET" in done.stderr and "SLACK_BOT_TOKEN" in done.stderr
    assert "palbot sandbox" in done.stderr
    sock = palbot_cli("socket", env=env, cwd=tmp_path)
    assert sock.returncode == 2 and "SLACK_APP_TOKEN" in sock.stderr
    bad = palbot_cli(
        "serve", cwd=tmp_path, env={**env, "PORT": "not-a-port", "PAL_API_URL": "ftp://x"}
    )
    assert bad.returncode == 2 and "PORT" in bad.stderr and "PAL_API_URL" in bad.stderr
    assert "Traceback" not in bad.stderr
    (tmp_path / ".env").write_text("SLACK_SIGNING_SECRET=from-dotenv\n")
    dotenv = palbot_cli("serve", env=env, cwd=tmp_path)
    assert "SLACK_SIGNING_SECRET" not in dotenv.stderr and "SLACK_BOT_TOKEN" in dotenv.stderr


def test_socket_mode(
    make_palbot: Any, fake_slack: FakeSlack, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    from palbot.server import assemble, build_asgi
    from tests.slack.conftest import make_settings

    fake_slack.socket_url = fake_slack.url.replace("http://", "ws://") + "/socket"
    settings = make_settings(
        tmp_path,
        fake_slack,
        sandbox,
        slack_signing_secret=None,
        slack_app_token="xapp-1-test-app-token",
    )
    bot = assemble(settings)
    server = ServerThread(
        build_asgi(bot, slack_routes=False, socket_token="xapp-1-test-app-token")
    ).start()
    try:
        opened = fake_slack.wait_for("apps.connections.open")
        assert opened[0].token == "xapp-1-test-app-token"
        assert httpx.get(server.url + "/healthz").json()["ok"] is True
        assert httpx.post(server.url + "/slack/events").status_code == 404
        assert bot.rt.ack_first.last_activity == 0.0  # nothing answered yet
        envelope = fake_slack.push(
            "slash_commands",
            {
                "team_id": "T1",
                "channel_id": "C_GENERAL",
                "user_id": USER,
                "command": "/pal",
                "text": "help",
                "response_url": fake_slack.response_url(),
                "trigger_id": "t1",
                "api_app_id": "A1",
            },
        )
        ack = fake_slack.wait_ack(envelope)
        assert "palbot help" in json.dumps(ack)
        assert bot.rt.ack_first.last_activity > 0  # envelopes hold the after-ack gate too
        bot.store.workspaces.set_pal_key("T1", SANDBOX_KEY, set_by=ADMIN)
        pal_id = make_pal(sandbox, SANDBOX_KEY)
        fake_slack.push(
            "slash_commands",
            {
                "team_id": "T1",
                "channel_id": "C_GENERAL",
                "user_id": USER,
                "command": "/pal",
                "text": f"start {pal_id}",
                "response_url": fake_slack.response_url(),
                "trigger_id": "t2",
                "api_app_id": "A1",
            },
        )
        posted = fake_slack.wait_for(
            "chat.update", where=lambda c: "conversation_join" in json.dumps(c.args)
        )
        assert posted[-1].token.startswith("xoxb-T1")
    finally:
        server.stop()


def test_app_home(palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle) -> None:
    """Issue 15, item 10: App Home works for everyone; admins also see key, limits, usage."""
    from tests.slack.blockkit import render

    palbot.connect_key()
    make_pal(sandbox, SANDBOX_KEY, pal_name="Home PAL")
    for n in range(11):
        make_pal(sandbox, SANDBOX_KEY, pal_name=f"Extra {n}")
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Other <!here>")
    palbot.slack.command(f"start {pal_id} Standup")
    started(palbot, fake_slack)
    [live] = palbot.store.conversations.list_active("T1")
    palbot.slack.event({"type": "app_home_opened", "user": USER, "tab": "home"})
    palbot.slack.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    published = fake_slack.wait_for("views.publish", count=2)
    by_user = {c.args["user_id"]: c.args["view"] for c in published}
    for view in by_user.values():
        check_view(view)
        text = render(view["blocks"])
        assert "[Create a PAL] [Start a conversation]" in text
        assert "Live conversations (1)" in text and "Standup" in text and "[Join]" in text
        assert "Extra 10" in text and "…and 3 more: `/pal list` shows them all." in text
        assert "<!here>" not in json.dumps(view)
    member = render(by_user[USER]["blocks"])
    assert "[End]" in member  # they started it
    assert "Admin" not in member and "1111" not in member and "home_connect_key" not in member
    admin = render(by_user[ADMIN]["blocks"])
    assert "PAL API key ending in `1111`" in admin and "[Replace key] [Remove key]" in admin
    assert "1 started today (UTC) · 1 live" in admin and "[Change limits]" in admin
    assert "<@U_USER> *conversation.start*" in admin and "→ ok" in admin
    assert live.conversation_id in admin
    palbot.slack.block_action(
        "home_limits", user=ADMIN, channel=None, view={"id": "VHOME", "type": "home"}
    )
    limits = fake_slack.wait_for("views.open")[-1].args["view"]
    assert limits["callback_id"] == "pal_limits"
    for action_id, callback_id in (("home_create", "pal_create"), ("home_start", "pal_start")):
        before = len(fake_slack.of("views.open"))
        palbot.slack.block_action(action_id, channel=None, view={"id": "VHOME", "type": "home"})
        opened = fake_slack.wait_for("views.open", count=before + 1)[-1].args["view"]
        assert opened["callback_id"] == callback_id


def test_manifest_is_valid_and_is_the_one_source(tmp_path: Path) -> None:
    schema_file = SCHEMAS / "manifest.schema.1.0.0.json"
    assert schema_file.exists(), f"Slack's manifest schema is expected at {schema_file}"
    schema = json.loads(schema_file.read_text())
    yml = yaml.safe_load((REPO / "manifests" / "manifest.yml").read_text())
    jsn = json.loads((REPO / "manifests" / "manifest.json").read_text())
    assert yml == jsn == manifest.render()  # the committed files are what palbot prints
    for variant in (yml, manifest.render("https://palbot.acme.org"), manifest.render(socket=True)):
        jsonschema.validate(variant, schema)
    rendered = manifest.render("https://palbot.acme.org")
    urls = [
        rendered["settings"]["event_subscriptions"]["request_url"],
        rendered["settings"]["interactivity"]["request_url"],
        rendered["settings"]["interactivity"]["message_menu_options_url"],
        rendered["features"]["slash_commands"][0]["url"],
    ]
    assert urls == ["https://palbot.acme.org/slack/events"] * 4
    assert rendered["oauth_config"]["redirect_urls"] == [
        "https://palbot.acme.org/slack/oauth_redirect"
    ]
    assert rendered["features"]["slash_commands"][0]["should_escape"] is False
    assert set(rendered["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "users:read",
        "files:write",
        "calls:write",  # the native call card (issue 17)
        "calls:read",
        "links:read",  # conversation links unfurled into a card (issue 17)
        "links:write",
        "channels:history",  # a thread read as a PAL's context, from the message shortcut
        "groups:history",
    }
    [shortcut] = rendered["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", "pal_start_from_message")
    assert shortcut["description"].startswith("Talk this through with a PAL")
    assert rendered["features"]["unfurl_domains"] == ["tavus.daily.co"]
    assert set(rendered["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
        "link_shared",
    }
    assert rendered["features"]["app_home"]["home_tab_enabled"] is True
    socket = manifest.render(socket=True)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "url" not in socket["features"]["slash_commands"][0]
    cli = palbot_cli(
        "manifest",
        "--url",
        "https://palbot.acme.org",
        "--format",
        "json",
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert json.loads(cli.stdout) == rendered
    bad = palbot_cli("manifest", "--url", "http://x", cwd=tmp_path)
    assert bad.returncode == 2


def test_procfile() -> None:
    assert (REPO / "Procfile").read_text().strip() == (
        "web: palbot serve --host 0.0.0.0 --port $PORT"
    )
