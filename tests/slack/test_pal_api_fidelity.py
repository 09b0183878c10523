"""Speaking the PAL API as it really is (issue 14): the quickstart's own patch on a PAL made from
palbot's Interviewer template, inline and in the Patch form, said in words."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import ADMIN, PalbotHandle
from tests.slack.test_pals import open_create

QUICKSTART = '[{"op":"add","path":"/layers/stt/hotwords","value":"leadership"}]'
FITTED = [{"op": "add", "path": "/layers/stt", "value": {"hotwords": "leadership"}}]


def interviewer(palbot: PalbotHandle, fake: FakeSlack, sandbox: SandboxHandle) -> str:
    """A PAL made as a new user makes it: `/pal create interviewer`, submitted as filled in."""
    view = open_create(palbot, fake, "create interviewer")
    assert palbot.slack.submit(view, {}).json()["response_action"] == "update"
    fake.wait_for("views.update", where=lambda c: "Created" in json.dumps(c.args))
    palbot.settle()
    listed = httpx.get(f"{sandbox.url}/v2/pals", headers={"x-api-key": SANDBOX_KEY}).json()
    [made] = listed["data"]
    pal = get_pal(sandbox, str(made["pal_id"]))
    assert "stt" not in pal["layers"]  # created without a speech recognition layer
    return str(pal["pal_id"])


def get_pal(sandbox: SandboxHandle, pal_id: str) -> dict[str, Any]:
    resp = httpx.get(f"{sandbox.url}/v2/pals/{pal_id}", headers={"x-api-key": SANDBOX_KEY})
    resp.raise_for_status()
    return dict(resp.json())


def test_the_sandbox_is_strict_like_the_real_api(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = interviewer(palbot, fake_slack, sandbox)
    raw = httpx.patch(
        f"{sandbox.url}/v2/pals/{pal_id}",
        content=QUICKSTART,
        headers={"x-api-key": SANDBOX_KEY, "content-type": "application/json"},
    )
    assert raw.status_code == 422  # strict RFC 6902: no add below a missing member
    assert "stt" not in get_pal(sandbox, pal_id)["layers"]


def test_the_quickstarts_patch_works_inline(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = interviewer(palbot, fake_slack, sandbox)
    palbot.slack.command(f"patch {pal_id} {QUICKSTART}")
    [done] = fake_slack.wait_response(where=lambda r: "Patched" in json.dumps(r.args))
    text = json.dumps(done.args)
    assert "Added speech recognition hotwords: leadership" in text
    assert sandbox.requests("PATCH")[-1]["body"] == FITTED  # the smallest missing object
    assert get_pal(sandbox, pal_id)["layers"]["stt"] == {"hotwords": "leadership"}
    palbot.settle()
    _, ok = palbot.audit("pal.patch")
    assert ok.outcome == "ok" and ok.detail["changed"] is True


def test_the_quickstarts_patch_works_in_the_form(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = interviewer(palbot, fake_slack, sandbox)
    palbot.slack.command(f"patch {pal_id}")
    filled = fake_slack.wait_for(
        "views.update", where=lambda c: c.args["view"].get("callback_id") == "pal_patch"
    )[-1]
    view = {**filled.args["view"], "id": filled.args["view_id"]}
    placeholder = json.dumps(view)
    assert "/layers/stt/hotwords" in placeholder  # the form's own example
    answer = palbot.slack.submit(view, {"patch_json": QUICKSTART}).json()
    assert answer["response_action"] == "update"
    done = fake_slack.wait_for("views.update", where=lambda c: "Patched" in json.dumps(c.args))
    assert "Added speech recognition hotwords: leadership" in json.dumps(done[-1].args)
    assert sandbox.requests("PATCH")[-1]["body"] == FITTED
    assert get_pal(sandbox, pal_id)["layers"]["stt"] == {"hotwords": "leadership"}


def test_a_patch_that_does_not_fit_says_so_in_words(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = interviewer(palbot, fake_slack, sandbox)
    for patch, words in (
        (
            '[{"op":"replace","path":"/layers/stt/hotwords","value":"x"}]',
            "The patch does not fit this PAL: there is nothing at `/layers/stt/hotwords` to "
            "replace. Use add to set it.",
        ),
        (
            '[{"op":"remove","path":"/layers/llm"}]',
            "The patch does not fit this PAL: there is nothing at `/layers/llm` to remove.",
        ),
        (
            '[{"op":"test","path":"/pal_name","value":"Bob"},'
            '{"op":"replace","path":"/pal_name","value":"Ann"}]',
            "Operation 1 does not fit this PAL: the test at `/pal_name` failed: it holds "
            "Interviewer, not Bob.",
        ),
    ):
        palbot.slack.command(f"patch {pal_id} {patch}")
        [said] = fake_slack.wait_response(where=lambda r, w=words: w in json.dumps(r.args))
        text = json.dumps(said.args)
        assert "{'" not in text and "member '" not in text  # no Python repr, no jsonpatch words
    assert sandbox.requests("PATCH") == []  # nothing sent


def test_a_start_works_on_both_generations_of_the_api(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from tests.slack.test_conversations import started
    from tests.slack.test_pals import make_pal

    palbot.connect_key()
    pal_id = make_pal(sandbox, SANDBOX_KEY)
    sandbox.configure(conversation_names="legacy")  # wants persona_id, refuses pal_id
    palbot.slack.command(f"start {pal_id} one")
    started(palbot, fake_slack)
    first, retried = sandbox.requests("POST", "/v2/conversations")
    assert first["body"] == {"pal_id": pal_id, "conversation_name": "one"}  # the quickstart's
    assert retried["body"] == {"persona_id": pal_id, "conversation_name": "one"}
    palbot.slack.command(f"start {pal_id} two")  # remembered for this key: no refused try
    started(palbot, fake_slack, count=2)
    third = sandbox.requests("POST", "/v2/conversations")[2]
    assert third["body"] == {"persona_id": pal_id, "conversation_name": "two"}
    rows = palbot.audit("conversation.start")
    assert [r.outcome for r in rows] == ["accepted", "ok", "accepted", "ok"]
    assert len(palbot.store.conversations.list_active("T1")) == 2


def test_layer_credentials_are_never_shown_stored_or_echoed(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from tests.slack.test_pals import make_pal

    palbot.connect_key()
    secret_key, secret_header = "sk-llm-provider-4242", "Bearer llm-header-9191"
    pal_id = palbot.created_by(
        make_pal(
            sandbox,
            SANDBOX_KEY,
            layers={
                "llm": {
                    "model": "my-model",
                    "base_url": "https://llm.example",
                    "api_key": secret_key,
                    "headers": {"Authorization": secret_header},
                }
            },
        )
    )
    # /pal show and the Patch form: the configuration, the credentials hidden
    palbot.slack.command(f"show {pal_id}")
    [shown] = fake_slack.wait_response(where=lambda r: "my-model" in json.dumps(r.args))
    palbot.slack.command(f"patch {pal_id}")
    form = fake_slack.wait_for("views.update", where=lambda c: "my-model" in json.dumps(c.args))
    for payload in (shown.args, form[-1].args):
        text = json.dumps(payload)
        assert secret_key not in text and "llm-header-9191" not in text and "[hidden]" in text
    # a patch that sets a credential: sent to the PAL API (write-only), never echoed or stored
    new_key = "sk-llm-provider-NEW-7777"
    patch = json.dumps([{"op": "replace", "path": "/layers/llm/api_key", "value": new_key}])
    palbot.slack.command(f"patch {pal_id} {patch}")  # its creator, a member: not theirs to do
    fake_slack.wait_response(where=lambda r: "Only workspace admins" in json.dumps(r.args))
    assert sandbox.requests("PATCH") == []
    palbot.slack.command(f"patch {pal_id} {patch}", user=ADMIN)
    [done] = fake_slack.wait_response(where=lambda r: "Patched" in json.dumps(r.args))
    assert new_key not in json.dumps(done.args) and "[hidden]" in json.dumps(done.args)
    assert sandbox.requests("PATCH")[-1]["body"][0]["value"] == new_key
    assert get_pal(sandbox, pal_id)["layers"]["llm"]["api_key"] == new_key
    palbot.settle()
    audit_text = json.dumps([r.detail for r in palbot.audit()])
    assert new_key not in audit_text and secret_key not in audit_text
    # adding a whole layer with credentials inside: hidden in the audit row too
    tts = json.dumps([{"op": "add", "path": "/layers/tts", "value": {"api_key": "sk-tts-5151"}}])
    palbot.slack.command(f"patch {pal_id} {tts}", user=ADMIN)
    fake_slack.wait_response(count=2, where=lambda r: "Patched" in json.dumps(r.args))
    palbot.settle()
    everything = json.dumps([r.detail for r in palbot.audit()]) + json.dumps(
        [r.args for r in fake_slack.responses]
    )
    assert "sk-tts-5151" not in everything


def test_errors_a_person_understands(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from tests.slack.test_pals import make_pal

    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY))
    # a malformed operation: which one, and what a right one looks like (no validator words)
    bad_op = palbot.slack.command(
        f'patch {pal_id} [{{"op":"replace","path":"/pal_name","value":"A"}},'
        '{"op":"explode","path":"/x"}]'
    ).text
    assert "Operation 2: `explode` is not a JSON Patch operation (use add, remove" in bad_op
    assert "Input should be" not in bad_op
    bad_path = palbot.slack.command(f'patch {pal_id} {{"op":"remove","path":"pal_name"}}').text
    assert "its path must be a path such as `/layers/stt/hotwords`" in bad_path
    # a PAL that does not exist: named, with the list command
    palbot.slack.command("show p-does-not-exist")
    fake_slack.wait_response(
        where=lambda r: (
            "no PAL `p-does-not-exist` in this workspace's PAL account. `/pal list`"
            in json.dumps(r.args)
        )
    )
    # a value the PAL API refuses in a patch: which value
    patch = '[{"op":"add","path":"/layers/stt","value":{"stt_engine":"tavus-nova"}}]'
    palbot.slack.command(f"patch {pal_id} {patch}")
    fake_slack.wait_response(
        where=lambda r: (
            "palbot does not know `tavus-nova` for layers.stt.stt_engine" in json.dumps(r.args)
        )
    )
    assert len(sandbox.requests("PATCH")) == 1  # sent: the PAL API judged it


def test_an_unknown_face_is_named_in_the_create_form(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from tests.slack.test_pals import open_create

    palbot.connect_key()
    view = open_create(palbot, fake_slack)
    values = {"pal_name": "A", "system_prompt": "x", "default_face_id": "r-no-such-face"}
    palbot.slack.submit(view, values)
    fake_slack.wait_for(
        "views.update",
        where=lambda c: "No face `r-no-such-face` in this PAL account" in json.dumps(c.args),
    )


def test_stock_pals_listed_and_startable_and_faces_by_name(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    from tests.slack.test_conversations import started
    from tests.slack.test_pals import make_pal

    palbot.connect_key()
    make_pal(sandbox, SANDBOX_KEY, pal_name="Own", default_face_id="r6ae5b6efc9d")
    palbot.slack.command("list")
    [listed] = fake_slack.wait_response(where=lambda r: "Stock PALs" in json.dumps(r.args))
    text = json.dumps(listed.args)
    assert "Own" in text and "Tavus Researcher" in text
    assert "Olivia (`r6ae5b6efc9d`)" in text  # the face by name, with its id
    stock_buttons = [
        e
        for b in listed.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["value"] == "p5317866"
    ]
    assert [e["action_id"] for e in stock_buttons] == ["pal_start_button"]  # no Patch on stock
    palbot.slack.block_action("pal_start_button", "p5317866")
    [update] = started(palbot, fake_slack)
    assert "Tavus Researcher" in json.dumps(update.args)
    palbot.slack.command("show p5317866")
    fake_slack.wait_response(
        where=lambda r: "Tavus Researcher" in json.dumps(r.args) and "face" in json.dumps(r.args)
    )


def test_the_sandbox_accepts_both_naming_generations_on_every_endpoint(
    sandbox: SandboxHandle,
) -> None:
    headers = {"x-api-key": SANDBOX_KEY}
    made = httpx.post(
        f"{sandbox.url}/v2/personas",
        json={"persona_name": "Legacy", "system_prompt": "Hi.", "default_face_id": "r90bbd427f71"},
        headers=headers,
    )
    assert made.status_code == 200 and made.json()["pal_name"] == "Legacy"
    pal_id = made.json()["pal_id"]
    listed = httpx.get(f"{sandbox.url}/v2/personas", headers=headers).json()
    assert [p["pal_id"] for p in listed["data"]] == [pal_id]
    replicas = httpx.get(f"{sandbox.url}/v2/replicas", headers=headers).json()["data"]
    assert replicas and "replica_id" in replicas[0] and "replica_name" in replicas[0]
    conv = httpx.post(
        f"{sandbox.url}/v2/conversations",
        json={"persona_id": pal_id, "replica_id": "r90bbd427f71", "test_mode": True},
        headers=headers,
    )
    assert conv.status_code == 200 and conv.json()["conversation_id"]


def test_the_create_form_offers_the_newer_values() -> None:
    from palbot.slack.blocks.pals import create_modal
    from palbot.slack.metadata import ModalMetadata

    view = json.dumps(create_modal(ModalMetadata()))
    assert '"speech-to-speech"' in view and '"time-based"' in view


def test_a_change_to_a_value_palbot_does_not_know_gets_a_note() -> None:
    from palbot.services.pals import unfamiliar_notes

    before = {"pipeline_mode": "warp", "layers": {"stt": {"stt_engine": "tavus-auto"}}}
    after = {"pipeline_mode": "warp", "layers": {"stt": {"stt_engine": "tavus-nova"}}}
    assert unfamiliar_notes(before, after) == [
        "Note: palbot does not know 'tavus-nova' for layers.stt.stt_engine; the PAL API "
        "accepted it."
    ]  # the unchanged unknown pipeline mode is not noted again
    assert unfamiliar_notes(after, after) == []
