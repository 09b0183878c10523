"""Issue 15, item 1: the Edit form (`pal_edit`): the Create form's fields on the PAL's current
values; only what changed is sent, as a JSON Patch, and said in words."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit import check_view, render
from tests.slack.conftest import PalbotHandle
from tests.slack.test_pal_api_fidelity import get_pal
from tests.slack.test_pals import make_pal


def open_edit(palbot: PalbotHandle, fake_slack: FakeSlack, pal_id: str) -> dict[str, Any]:
    before = len(fake_slack.of("views.update"))
    palbot.slack.command(f"edit {pal_id}")
    opened = fake_slack.wait_for("views.open")[-1].args["view"]
    assert opened["callback_id"] == "pal_edit" and opened["title"]["text"] == "Edit PAL"
    filled = fake_slack.wait_for("views.update", count=before + 1)[-1]
    view = {**filled.args["view"], "id": filled.args["view_id"]}
    check_view(view)
    return view


def initial(view: dict[str, Any], block_id: str) -> Any:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    element = block["element"]
    if "initial_option" in element:
        return element["initial_option"]["value"]
    return element.get("initial_value")


def test_edit_shows_current_values_and_sends_only_what_changed(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = palbot.created_by(
        make_pal(
            sandbox,
            SANDBOX_KEY,
            pal_name="Coach",
            system_prompt="Be kind.",
            layers={
                "llm": {"model": "m1", "api_key": "sk-llm-secret-9999"},
                "conversational_flow": {"turn_taking_patience": "high"},
            },
        )
    )
    view = open_edit(palbot, fake_slack, pal_id)
    assert initial(view, "pal_name") == "Coach"
    assert initial(view, "system_prompt") == "Be kind."
    assert initial(view, "layers.conversational_flow.turn_taking_patience") == "high"
    layers_text = initial(view, "layers_json")
    assert '"[hidden]"' in layers_text and "sk-llm-secret" not in json.dumps(view)
    assert "pal_id" not in (initial(view, "extra_json") or "")  # read-only: not shown
    # unchanged: nothing sent, nothing audited
    body = palbot.slack.submit(view, {}).json()
    assert body["response_action"] == "update"
    assert "Nothing changed" in render(body["view"]["blocks"])
    assert sandbox.requests("PATCH") == [] and palbot.audit("pal.patch") == []
    # a bad value: a field error, the rest of what was typed stays in the form
    body = palbot.slack.submit(view, {"pal_name": "", "system_prompt": "Kept"}).json()
    assert body == {"response_action": "errors", "errors": {"pal_name": "Give the PAL a name."}}
    assert sandbox.requests("PATCH") == []
    # two changes: exactly those two operations; the hidden credential is kept, not sent
    more = layers_text.replace('"llm": {', '"stt": {"hotwords": "leadership"}, "llm": {')
    body = palbot.slack.submit(view, {"system_prompt": "Be very kind.", "layers_json": more})
    assert body.json()["response_action"] == "update"
    done = fake_slack.wait_for("views.update", where=lambda c: "Patched" in json.dumps(c.args))
    shown = done[-1].args["view"]
    assert shown["title"]["text"] == "Edit PAL"  # one title through the whole flow
    words = render(shown["blocks"])
    assert "system prompt" in words.lower() and "hotwords" in words
    [sent] = sandbox.requests("PATCH")
    assert sorted((op["op"], op["path"]) for op in sent["body"]) == [
        ("add", "/layers/stt"),
        ("replace", "/system_prompt"),
    ]
    assert "[hidden]" not in json.dumps(sent["body"])
    stored = get_pal(sandbox, pal_id)
    assert stored["layers"]["llm"]["api_key"] == "sk-llm-secret-9999"
    assert stored["system_prompt"] == "Be very kind."
    palbot.settle()
    refused, accepted, ok = palbot.audit("pal.patch")  # the field error is audited too
    assert (refused.outcome, accepted.outcome, ok.outcome) == ("invalid", "accepted", "ok")
    assert accepted.detail["via"] == "edit" and ok.detail["accepted_seq"] == accepted.seq


def test_the_edit_button_is_offered_wherever_a_pal_is_shown(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    palbot.connect_key()
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY, pal_name="Coach"))
    palbot.slack.command("list")
    listed = fake_slack.wait_response(where=lambda r: "pal_edit_button" in json.dumps(r.args))
    assert "[Edit]" in render(listed[-1].args["blocks"])
    palbot.slack.block_action("pal_edit_button", pal_id)
    opened = fake_slack.wait_for("views.open")[-1].args["view"]
    assert opened["callback_id"] == "pal_edit"
    fake_slack.wait_for("views.update", where=lambda c: "Coach" in json.dumps(c.args))


def test_a_form_refused_by_the_pal_api_comes_back_with_what_was_typed(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """Issue 15, item 2: no dead end. A failure known only after the PAL API answered brings
    the form back (same form, same title) with every value kept and the reason at the top."""
    from tests.slack.test_pals import open_create

    palbot.connect_key()
    view = open_create(palbot, fake_slack)
    prompt = "A long, carefully written system prompt. " * 40
    values = {"pal_name": "Mentor", "system_prompt": prompt, "default_face_id": "r-no-such-face"}
    assert palbot.slack.submit(view, values).json()["response_action"] == "update"
    back = fake_slack.wait_for(
        "views.update", where=lambda c: "What you entered is kept" in json.dumps(c.args)
    )[-1].args["view"]
    check_view(back)
    assert back["callback_id"] == "pal_create" and back["title"]["text"] == "Create PAL"
    assert "The PAL was not created." in render(back["blocks"])
    assert (
        initial(back, "system_prompt") == prompt.strip() or initial(back, "system_prompt") == prompt
    )
    assert initial(back, "pal_name") == "Mentor"
    # fixed and sent again from the same form: created
    again = {**values, "default_face_id": "r90bbd427f71"}
    body = palbot.slack.submit({**back, "id": view["id"], "hash": "h-after"}, again).json()
    assert body["response_action"] == "update"
    fake_slack.wait_for("views.update", where=lambda c: "Created" in json.dumps(c.args))
    assert len(sandbox.requests("POST", "/v2/pals")) == 2

    # the Patch form likewise keeps the patch as typed
    pal_id = palbot.created_by(make_pal(sandbox, SANDBOX_KEY, pal_name="Coach"))
    palbot.slack.command(f"patch {pal_id}")
    filled = fake_slack.wait_for(
        "views.update",
        where=lambda c: c.args["view"].get("callback_id") == "pal_patch" and "Coach" in str(c.args),
    )
    patch_view = {**filled[-1].args["view"], "id": filled[-1].args["view_id"]}
    sandbox.fault(method="PATCH", status=500, times=5)
    typed = json.dumps([{"op": "replace", "path": "/pal_name", "value": "Renamed"}])
    palbot.slack.submit(patch_view, {"patch_json": typed})
    back = fake_slack.wait_for(
        "views.update",
        where=lambda c: (
            "What you entered is kept" in json.dumps(c.args) and "pal_patch" in json.dumps(c.args)
        ),
    )[-1].args["view"]
    assert initial(back, "patch_json") == typed and back["title"]["text"] == "Patch PAL"


def test_every_field_error_of_the_create_form_is_shown_at_once(
    palbot: PalbotHandle, fake_slack: FakeSlack, sandbox: SandboxHandle
) -> None:
    """Issue 15, item 2: errors known at submit come back together, each at its field."""
    from tests.slack.test_pals import open_create

    palbot.connect_key()
    view = open_create(palbot, fake_slack)
    bad = {"pal_name": "", "system_prompt": "", "layers_json": "{oops", "extra_json": "[1]"}
    body = palbot.slack.submit(view, bad).json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {
        "pal_name",
        "system_prompt",
        "default_face_id",
        "layers_json",
        "extra_json",
    }
    assert body["errors"]["pal_name"] == "Give the PAL a name."
    assert "Not valid JSON" in body["errors"]["layers_json"]
    assert sandbox.requests("POST", "/v2/pals") == []
    [refused] = palbot.audit("pal.create")
    assert refused.outcome == "invalid" and len(refused.detail["fields"]) == 5
