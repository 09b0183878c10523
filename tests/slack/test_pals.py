"""Create, list, show, patch and delete PALs through Slack."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import check_message, check_view
from tests.slack.conftest import ADMIN, USER, PalbotHandle

SEED = {
    "pal_name": "Interviewer",
    "system_prompt": "You interview.",
    "pipeline_mode": "full",
    "default_face_id": "r90bbd427f71",
    "layers": {"perception": {"perception_model": "raven-1"}},
}


def open_create(palbot: PalbotHandle, fake: FakeSlack, text: str = "create") -> dict[str, Any]:
    before = len(fake.of("views.open"))
    palbot.slack.command(text)
    view = fake.wait_for("views.open", count=before + 1)[-1].args["view"]
    check_view(view)
    return {**view, "id": f"V_CREATE_{before}"}


def make_pal(sandbox: SandboxHandle, key: str, **extra: Any) -> str:
    import httpx

    resp = httpx.post(sandbox.url + "/v2/pals", json={**SEED, **extra}, headers={"x-api-key": key})
    resp.raise_for_status()
    return str(resp.json()["pal_id"])


def test_create_from_template(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    view = open_create(palbot, fake_slack, "create interviewer")
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    for block_id in (
        "pal_name",
        "system_prompt",
        "context",
        "default_face_id",
        "pipeline_mode",
        "layers.perception.perception_model",
        "layers.conversational_flow.turn_detection_model",
        "layers.conversational_flow.turn_taking_patience",
        "layers.conversational_flow.pal_interruptibility",
        "layers_json",
        "extra_json",
        "post_channel",
    ):
        assert block_id in blocks and blocks[block_id]["element"]["action_id"] == block_id
    assert blocks["pal_name"]["element"]["initial_value"] == "Interviewer"
    assert blocks["default_face_id"]["element"]["type"] == "external_select"
    resp = palbot.slack.submit(
        view,
        {
            "layers_json": '{"stt": {"hotwords": "leadership"}, "perception": '
            '{"perception_model": "off"}}',
            "extra_json": '{"document_ids": ["d1"], "brand_new": true}',
            "post_channel": "C_ANNOUNCE",
        },
    )
    body = resp.json()
    assert body["response_action"] == "update" and "Creating" in json.dumps(body["view"])
    done = fake_slack.wait_for("views.update", where=lambda c: "Created" in json.dumps(c.args))
    check_view(done[-1].args["view"])
    sent = sandbox.requests("POST", "/v2/pals")[-1]["body"]
    assert sent["pal_name"] == "Interviewer" and sent["default_face_id"] == "r90bbd427f71"
    assert sent["context"].startswith("You have a track record")
    assert sent["layers"]["perception"]["perception_model"] == "raven-1"  # the form wins
    assert sent["layers"]["stt"] == {"hotwords": "leadership"}
    assert sent["layers"]["conversational_flow"] == {
        "turn_detection_model": "sparrow-1",
        "turn_taking_patience": "medium",
        "pal_interruptibility": "medium",
    }
    assert sent["document_ids"] == ["d1"] and sent["brand_new"] is True
    announce = fake_slack.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == "C_ANNOUNCE"
    )
    check_message(announce[-1].args)
    summary = fake_slack.wait_response(where=lambda r: "Created" in json.dumps(r.args))
    assert "pal_start_button" in json.dumps(summary[-1].args)
    assert "pal_patch_button" in json.dumps(summary[-1].args)
    assert [e.outcome for e in palbot.audit("pal.create")] == ["accepted", "ok"]


def test_create_field_errors_send_nothing(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    view = open_create(palbot, fake_slack)
    cases = [
        ({"pal_name": "  ", "default_face_id": "r90bbd427f71", "system_prompt": "x"}, "pal_name"),
        ({"pal_name": "A", "default_face_id": "r90bbd427f71"}, "system_prompt"),
        ({"pal_name": "A", "system_prompt": "x", "default_face_id": None}, "default_face_id"),
        (
            {
                "pal_name": "A",
                "system_prompt": "x",
                "default_face_id": "r1",
                "layers_json": "{not json",
            },
            "layers_json",
        ),
        (
            {
                "pal_name": "A",
                "system_prompt": "x",
                "default_face_id": "r1",
                "layers_json": "[1, 2]",
            },
            "layers_json",
        ),
        (
            {
                "pal_name": "A",
                "system_prompt": "x",
                "default_face_id": "r1",
                "extra_json": '{"pal_name": "sneaky"}',
            },
            "extra_json",
        ),
        (
            {
                "pal_name": "A",
                "system_prompt": "x",
                "default_face_id": "r1",
                "extra_json": '{"document_ids": "not-a-list"}',
            },
            "extra_json",
        ),
    ]
    for values, field in cases:
        body = palbot.slack.submit(view, values).json()
        assert body["response_action"] == "errors", values
        assert list(body["errors"]) == [field], (values, body)
    assert sandbox.requests("POST", "/v2/pals") == []
    assert {e.outcome for e in palbot.audit("pal.create")} == {"invalid"}
    # echo mode needs no system prompt
    ok = palbot.slack.submit(
        {**view, "id": "V_ECHO"},
        {"pal_name": "Echo", "pipeline_mode": "echo", "default_face_id": "r90bbd427f71"},
    )
    assert ok.json()["response_action"] == "update"
    palbot.wait_audit("pal.create", "ok")


def test_create_upstream_error_shown_in_modal(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    view = open_create(palbot, fake_slack)
    palbot.slack.submit(
        view, {"pal_name": "A", "system_prompt": "x", "default_face_id": "rnotaface"}
    )
    failed = fake_slack.wait_for(
        "views.update", where=lambda c: "not created" in json.dumps(c.args)
    )
    assert "Invalid default_face_id" in json.dumps(failed[-1].args)
    assert [e.outcome for e in palbot.audit("pal.create")] == ["accepted", "error"]


def test_repeated_create_submission_creates_once(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    view = open_create(palbot, fake_slack, "create interviewer")
    first = palbot.slack.submit(view, {})
    second = palbot.slack.submit(view, {})
    assert first.json()["response_action"] == "update"
    assert second.text in ("", "{}")
    palbot.wait_audit("pal.create", "ok")
    assert len(sandbox.requests("POST", "/v2/pals")) == 1


def test_face_and_pal_pickers(palbot: PalbotHandle, sandbox: SandboxHandle) -> None:
    from tests.conftest import SANDBOX_KEY

    palbot.connect_key()
    faces = palbot.slack.suggest("default_face_id", "").json()["options"]
    assert any(o["value"] == "r90bbd427f71" for o in faces)
    typed = palbot.slack.suggest("default_face_id", "rcustom123").json()["options"]
    assert typed[0]["value"] == "rcustom123"
    filtered = palbot.slack.suggest("default_face_id", "olivia").json()["options"]
    # issue 14: matching names first, then the typed text as an id (it was first before)
    assert [o["value"] for o in filtered] == ["r6ae5b6efc9d", "olivia"]
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Picker PAL")
    pals = palbot.slack.suggest("pal_id", "").json()["options"]
    assert [o["value"] for o in pals] == [pal_id] and "Picker PAL" in pals[0]["text"]["text"]


def test_list_and_show(palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle) -> None:
    from tests.conftest import SANDBOX_KEY

    palbot.connect_key()
    assert palbot.slack.command("list").status_code == 200
    empty = fake_slack.wait_response()[-1].args
    assert "no PALs yet" in json.dumps(empty)
    ids = [make_pal(sandbox, SANDBOX_KEY, pal_name=f"PAL {i}") for i in range(3)]
    palbot.slack.command("list")
    listed = fake_slack.wait_response(count=2)[-1].args
    check_message(listed)
    for pal_id in ids:
        assert pal_id in json.dumps(listed)
    long_prompt = "line of prompt text\n" * 2000
    big = make_pal(sandbox, SANDBOX_KEY, system_prompt=long_prompt)
    palbot.slack.command(f"show {big}")
    shown = fake_slack.wait_response(count=3)[-1].args
    check_message(shown)
    assert "left out of this view" in json.dumps(shown)
    palbot.slack.command("show pnotthere")
    missing = fake_slack.wait_response(count=4)[-1].args
    assert "Not found" in json.dumps(missing)


def test_patch_modal_flow(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from tests.conftest import SANDBOX_KEY

    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY))
    palbot.slack.command(f"patch {pal_id}")
    opened = fake_slack.wait_for("views.open")[-1]
    assert opened.args["view"]["callback_id"] == "pal_patch"
    filled = fake_slack.wait_for("views.update")[-1]
    view = {**filled.args["view"], "id": filled.args["view_id"]}
    check_view(view)
    assert "raven-1" in json.dumps(view)  # the current configuration is shown
    gets = len(sandbox.requests("GET", f"/v2/pals/{pal_id}"))
    # syntax error, wrong shape and a missing path: field errors, nothing sent
    for text, needle in (
        ("[{", "Not valid JSON"),
        ('[{"op": "explode", "path": "/x"}]', "op"),
        ('[{"op": "replace", "path": "/layers/stt/hotwords", "value": "x"}]', "does not fit"),
    ):
        body = palbot.slack.submit(view, {"patch_json": text}).json()
        assert body["response_action"] == "errors" and needle in body["errors"]["patch_json"]
    assert sandbox.requests("PATCH") == []
    assert len(sandbox.requests("GET", f"/v2/pals/{pal_id}")) == gets  # no second fetch
    ok = palbot.slack.submit(
        view,
        {
            "patch_json": json.dumps(
                [
                    {"op": "add", "path": "/layers/stt", "value": {"hotwords": "leadership"}},
                    {"op": "replace", "path": "/pal_name", "value": "Renamed"},
                ]
            )
        },
    ).json()
    assert ok["response_action"] == "update"
    done = fake_slack.wait_for("views.update", where=lambda c: "Patched" in json.dumps(c.args))
    text = json.dumps(done[-1].args["view"])
    assert "/pal_name" in text and "Renamed" in text and "/layers/stt" in text
    assert [e.outcome for e in palbot.audit("pal.patch")][-2:] == ["accepted", "ok"]


def test_inline_patch_no_change_and_conflict(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from tests.conftest import SANDBOX_KEY

    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY))
    rename = '[{"op":"replace","path":"/pal_name","value":"Inline"}]'
    palbot.slack.command(f"patch {pal_id} {rename}")
    fake_slack.wait_response(where=lambda r: "Patched" in json.dumps(r.args))
    palbot.slack.command(f"patch {pal_id} {rename}")
    fake_slack.wait_response(where=lambda r: "Nothing changed" in json.dumps(r.args))
    bad = palbot.slack.command(f"patch {pal_id} [{{oops").json()
    assert "Not valid JSON" in json.dumps(bad)
    missing = '[{"op":"remove","path":"/nothing/here"}]'
    palbot.slack.command(f"patch {pal_id} {missing}")
    fake_slack.wait_response(where=lambda r: "does not fit" in json.dumps(r.args))
    assert len(sandbox.requests("PATCH")) == 2
    sandbox.maker_changes(pal_id)
    # curly quotes (as Slack clients type them) are straightened
    curly = (
        "[{\u201cop\u201d:\u201creplace\u201d,\u201cpath\u201d:\u201c/pal_name\u201d,"
        "\u201cvalue\u201d:\u201cForced\u201d}]"
    )
    palbot.slack.command(f"patch {pal_id} {curly}")
    conflict = fake_slack.wait_response(where=lambda r: "patch_force" in json.dumps(r.args))
    check_message(conflict[-1].args)
    button = next(
        e for b in conflict[-1].args["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    assert "confirm" in button
    palbot.slack.block_action("patch_force", button["value"])
    fake_slack.wait_response(where=lambda r: "discarded" in json.dumps(r.args))
    assert sandbox.requests("PATCH")[-1]["query"] == {"force": "true"}
    # the confirmation is single-use
    palbot.slack.block_action("patch_force", button["value"])
    fake_slack.wait_response(where=lambda r: "expired" in json.dumps(r.args))


def test_delete_needs_permission_and_a_confirmation_of_ones_own(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from tests.conftest import SANDBOX_KEY

    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)  # made outside palbot: no creator here
    refused = palbot.slack.command(f"delete {pal_id}", user=USER).json()  # in the ack itself
    assert "only workspace admins" in json.dumps(refused)
    palbot.slack.command(f"delete {pal_id}", user=ADMIN)
    prompt = fake_slack.wait_response(where=lambda r: "pal_delete_confirm" in json.dumps(r.args))
    check_message(prompt[-1].args)
    assert sandbox.requests("DELETE") == []
    # the admin's button, clicked by someone else: not theirs, nothing accepted
    palbot.slack.block_action("pal_delete_confirm", pal_id, user=USER)
    fake_slack.wait_response(where=lambda r: "shown to someone else" in json.dumps(r.args))
    assert sandbox.requests("DELETE") == []
    palbot.slack.block_action("pal_delete_confirm", pal_id, user=ADMIN)
    done = fake_slack.wait_response(where=lambda r: "Deleted the PAL" in json.dumps(r.args))
    assert done[-1].args.get("replace_original") is True
    assert len(sandbox.requests("DELETE", f"/v2/pals/{pal_id}")) == 1
    # single use: a second click (another action_ts) finds no confirmation
    palbot.slack.block_action("pal_delete_confirm", pal_id, user=ADMIN)
    fake_slack.wait_response(count=2, where=lambda r: "has expired" in json.dumps(r.args))
    assert len(sandbox.requests("DELETE", f"/v2/pals/{pal_id}")) == 1
    rows = palbot.audit("pal.delete")
    # the command's refusal; then the one confirmed click: accepted before its ack, then ok
    assert [e.outcome for e in rows] == ["denied", "accepted", "ok"]
    assert rows[0].detail["reason"] == "permission" and rows[0].user_id == USER
    assert rows[2].detail["accepted_seq"] == rows[1].seq


def test_an_unknown_value_goes_to_the_pal_api_which_is_the_judge(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """Issue 14: values palbot does not know are passed on, never refused by palbot (the
    `turbo` pipeline mode used to be a local field error); the PAL API's verdict is shown."""
    palbot.connect_key()
    view = open_create(palbot, fake_slack)
    values = {"pal_name": "A", "system_prompt": "x", "default_face_id": "r90bbd427f71"}
    values["layers_json"] = '{"stt": {"stt_engine": "tavus-nova"}}'
    assert palbot.slack.submit(view, values).json()["response_action"] == "update"
    failed = fake_slack.wait_for(
        "views.update", where=lambda c: "The PAL was not created." in json.dumps(c.args)
    )[-1]
    said = json.dumps(failed.args)
    assert "layers.stt.stt_engine" in said and "tavus-nova" in said
    assert "Input should be" not in said  # the API's words, not a validator's
    assert len(sandbox.requests("POST", "/v2/pals")) == 1


def test_forgiving_parsing_ids_subcommands_help_and_shorthand_patches(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """Issue 15, item 11: what people type works, or says what they meant."""
    from tests.conftest import SANDBOX_KEY
    from tests.slack.blockkit import render

    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY, pal_name="Olivia"))
    # ids typed like the help's <pal_id>, with punctuation, in backticks, or pasted in a link
    for typed in (
        f"<{pal_id}>",
        f"{pal_id},",
        f"`{pal_id}`.",
        f"<https://x.example/pals/{pal_id}>",
    ):
        palbot.slack.command(f"show {typed}")
    shown = fake_slack.wait_response(count=4, where=lambda r: "Olivia" in json.dumps(r.args))
    assert len(shown) == 4
    # a mistyped subcommand: did you mean
    text = render(palbot.slack.command("lsit").json()["blocks"])
    assert "Unknown subcommand `lsit`" in text and "Did you mean `/pal list`?" in text
    # help for one subcommand, with its examples
    text = render(palbot.slack.command("help start").json()["blocks"])
    assert "/pal start <pal_id> [conversation name] [--test]" in text
    assert "/pal start p1234abcd Weekly sync" in text and "/pal create" not in text
    text = render(palbot.slack.command("help strat").json()["blocks"])
    assert "There is no `/pal strat`" in text and "Did you mean `/pal start`?" in text
    # name=value for a simple inline edit
    palbot.slack.command(f'patch {pal_id} pal_name="Olivia B"')
    done = fake_slack.wait_response(where=lambda r: "Patched" in json.dumps(r.args))
    assert "Olivia B" in json.dumps(done[-1].args)
    [sent] = sandbox.requests("PATCH")
    assert sent["body"] == [
        {"op": "add", "path": "/pal_name", "value": "Olivia B"}
    ]  # RFC 6902: sets
    # neither JSON nor name=value: says what a patch looks like, in both forms
    refused = render(palbot.slack.command(f"patch {pal_id} rename her to Bob").json()["blocks"])
    assert "Not valid JSON" in refused and "`pal_name=Bob`" in refused


def test_commands_that_ask_the_pal_api_show_signs_of_life(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """Issue 15, item 7: an ephemeral "Looking up…" at once, replaced by the answer; past a few
    seconds of a slow PAL API, it says so (and the answer still replaces that)."""
    from tests.conftest import SANDBOX_KEY
    from tests.slack.blockkit import render

    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY, pal_name="Olivia")
    ack = palbot.slack.command(f"show {pal_id}").json()
    assert f"Looking up the PAL `{pal_id}`…" in render(ack["blocks"])
    [shown] = fake_slack.wait_response(where=lambda r: "Olivia" in json.dumps(r.args))
    assert shown.args.get("replace_original") is True
    # slow upstream: "still waiting" first, then the answer in its place
    sandbox.fault(method="GET", path="/v2/pals", latency=4.8, times=1)
    ack = palbot.slack.command("list").json()
    assert "Looking up this workspace's PALs…" in render(ack["blocks"])
    listed = fake_slack.wait_response(
        count=2,  # the show's answer, then the list's
        where=lambda r: "Olivia" in json.dumps(r.args) and "pal_start_button" in json.dumps(r.args),
        timeout=15,
    )[-1]
    said = [json.dumps(r.args) for r in fake_slack.responses]
    slow = [i for i, text in enumerate(said) if "the PAL API is slow today" in text]
    final = said.index(json.dumps(listed.args))
    assert slow and slow[0] < final  # said while waiting, then replaced by the list
    assert all(json.loads(said[i]).get("replace_original") for i in (slow[0], final))
