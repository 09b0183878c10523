"""Create and Patch modals, PAL summaries, lists and configurations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from palbot.pal_api.models import LEVELS, PERCEPTION_MODELS, PIPELINE_MODES, TURN_DETECTION_MODELS
from palbot.services.editing import UNSET
from palbot.services.layer_secrets import hide_in_config
from palbot.services.pals import PatchReport, pal_name_of
from palbot.slack import ids
from palbot.slack.blocks.common import input_block, message, ok_message, result_view, text_input
from palbot.slack.metadata import ModalMetadata
from palbot.slack.text import (
    actions,
    button,
    code_chunks,
    confirm_dialog,
    context,
    cut,
    divider,
    escape,
    header,
    inline_code,
    option,
    plain,
    pretty_json,
    section,
)

SEED_FACE = ("r90bbd427f71", "Anna (stock face)")
SELECT_DEFAULTS: dict[str, tuple[tuple[str, ...], str]] = {
    ids.PIPELINE_MODE: (PIPELINE_MODES, "full"),
    ids.PERCEPTION_MODEL: (PERCEPTION_MODELS, "raven-1"),
    ids.TURN_DETECTION_MODEL: (TURN_DETECTION_MODELS, "sparrow-1"),
    ids.TURN_TAKING_PATIENCE: (LEVELS, "medium"),
    ids.PAL_INTERRUPTIBILITY: (LEVELS, "medium"),
}
SELECT_LABELS = {
    ids.PIPELINE_MODE: "Pipeline mode",
    ids.PERCEPTION_MODEL: "Perception model",
    ids.TURN_DETECTION_MODEL: "Turn detection model",
    ids.TURN_TAKING_PATIENCE: "Turn-taking patience",
    ids.PAL_INTERRUPTIBILITY: "Interruptibility",
}

TEMPLATES: dict[str, dict[str, str]] = {
    "interviewer": {
        ids.PAL_NAME: "Interviewer",
        ids.SYSTEM_PROMPT: (
            "As an Interviewer, you are a skilled professional who conducts thoughtful and "
            "structured interviews. Your aim is to ask insightful questions, listen carefully, "
            "and assess responses objectively to identify the best candidates."
        ),
        ids.CONTEXT: (
            "You have a track record of conducting interviews that put candidates at ease, draw "
            "out their strengths, and help organizations make excellent hiring decisions."
        ),
    },
}


def _static_select(block_id: str, chosen: str | None = None) -> dict[str, Any]:
    values, default = SELECT_DEFAULTS[block_id]
    options = [option(v, v) for v in values]
    if chosen and chosen not in values:
        options.append(option(chosen, chosen))
    return _select_input(block_id, options, chosen or default)


def _select_input(block_id: str, options: list[dict[str, Any]], chosen: str) -> dict[str, Any]:
    """A form's select (Create and Edit alike), `chosen` selected."""
    element = {
        "type": "static_select",
        "options": options,
        "initial_option": next(o for o in options if o["value"] == chosen),
    }
    return input_block(block_id, SELECT_LABELS[block_id], element)


def kept_input_notice(error: str) -> dict[str, Any]:
    """At the top of a form brought back after a failure: why, and that nothing was lost."""
    return section(f":warning: {escape(cut(error, 1500))}\nWhat you entered is kept below.")


FORM_SELECTS = (
    ids.PIPELINE_MODE,
    ids.PERCEPTION_MODEL,
    ids.TURN_DETECTION_MODEL,
    ids.TURN_TAKING_PATIENCE,
    ids.PAL_INTERRUPTIBILITY,
)


def _face_input(initial: dict[str, Any] | None) -> dict[str, Any]:
    face: dict[str, Any] = {
        "type": "input",
        "block_id": ids.DEFAULT_FACE_ID,
        "label": plain("Face", 2000),
        "hint": plain("Pick a face, or type any face id and choose it.", 2000),
        "element": {
            "type": "external_select",
            "action_id": ids.DEFAULT_FACE_ID,
            "min_query_length": 0,
            "placeholder": plain("Search faces", 150),
        },
    }
    if initial:
        face["element"]["initial_option"] = initial
    return face


def _pal_fields(
    values: dict[str, str | None],
    face: dict[str, Any] | None,
    select: Callable[[str, str | None], dict[str, Any]],
    *,
    layers_label: str,
    layers_hint: str,
) -> list[dict[str, Any]]:
    """The PAL's fields, as the Create and Edit forms both show them (by block_id)."""
    return [
        text_input(
            ids.PAL_NAME,
            "Name",
            initial=values.get(ids.PAL_NAME),
            max_length=200,
            placeholder="Interviewer",
        ),
        text_input(
            ids.SYSTEM_PROMPT,
            "System prompt",
            multiline=True,
            optional=True,
            initial=values.get(ids.SYSTEM_PROMPT),
            hint="Required unless the pipeline mode is echo.",
        ),
        text_input(
            ids.CONTEXT, "Context", multiline=True, optional=True, initial=values.get(ids.CONTEXT)
        ),
        _face_input(face),
        *(select(block_id, values.get(block_id)) for block_id in FORM_SELECTS),
        text_input(
            ids.LAYERS_JSON,
            layers_label,
            multiline=True,
            optional=True,
            initial=values.get(ids.LAYERS_JSON),
            placeholder='{"stt": {"hotwords": "leadership"}}',
            hint=layers_hint,
        ),
        text_input(
            ids.EXTRA_JSON,
            "Advanced: more fields (JSON object)",
            multiline=True,
            optional=True,
            initial=values.get(ids.EXTRA_JSON),
            placeholder='{"document_ids": ["d123"]}',
            hint="Further top-level fields such as document_ids or guardrail_ids.",
        ),
    ]


def create_modal(
    metadata: ModalMetadata,
    template: str | None = None,
    *,
    values: dict[str, str | None] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The Create form, from a template, or (after a failure) with what was entered."""
    given: dict[str, str | None] = (
        values if values is not None else dict(TEMPLATES.get(template or "", {}))
    )
    values = given
    face = None
    if template:
        face = option(SEED_FACE[1], SEED_FACE[0])
    elif values.get(ids.DEFAULT_FACE_ID):
        typed = str(values[ids.DEFAULT_FACE_ID])
        face = option(typed, typed)
    blocks: list[dict[str, Any]] = [kept_input_notice(error)] if error else []
    blocks += _pal_fields(
        values,
        face,
        _static_select,
        layers_label="Advanced: layers (JSON object)",
        layers_hint="Deep-merged under `layers`; the fields above win.",
    )
    blocks += [
        {
            "type": "input",
            "block_id": ids.POST_CHANNEL,
            "optional": True,
            "label": plain("Announce the new PAL in", 2000),
            "element": {
                "type": "conversations_select",
                "action_id": ids.POST_CHANNEL,
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": ids.CREATE_MODAL,
        "title": plain("Create PAL", 24),
        "submit": plain("Create", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


pal_title = pal_name_of  # a PAL's name as people see it (one rule, in the domain)


def pal_id_of(pal: dict[str, Any]) -> str:
    return str(pal.get("pal_id") or pal.get("persona_id") or "")


def pal_buttons(pal_id: str, name: str, *, stock: bool = False) -> dict[str, Any]:
    """Start (and Patch, for the workspace's own PALs; stock PALs are Tavus's)."""
    start = button(
        "Start conversation",
        ids.PAL_START_BUTTON,
        pal_id,
        style="primary",
        confirm=confirm_dialog(
            "Start a conversation?",
            f"This starts a billed conversation with *{escape(cut(name, 80))}* and posts "
            "its Join link in this channel.",
            "Start",
        ),
    )
    if stock:
        return actions(start)
    return actions(
        start,
        button("Edit", ids.PAL_EDIT_BUTTON, pal_id),
        button("Patch (JSON)", ids.PAL_PATCH_BUTTON, pal_id),
    )


def face_text(face_id: str | None, faces: dict[str, str] | None) -> str:
    """A face by name where palbot knows it, with its id: "Olivia (`r6ae…`)"."""
    if not face_id:
        return "—"
    name = (faces or {}).get(face_id)
    return f"{escape(cut(name, 80))} ({inline_code(face_id)})" if name else inline_code(face_id)


def pal_summary_blocks(
    pal: dict[str, Any], intro: str, faces: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    name = pal_title(pal)
    pal_id = pal_id_of(pal)
    layers = pal.get("layers") or {}
    flow = layers.get("conversational_flow") or {}
    facts = [
        f"*ID:* {inline_code(pal_id)}",
        f"*Face:* {face_text(pal.get('default_face_id'), faces)}",
        f"*Pipeline:* {escape(pal.get('pipeline_mode') or 'full')}",
        f"*Perception:* {escape((layers.get('perception') or {}).get('perception_model', '—'))}",
        f"*Turn detection:* {escape(flow.get('turn_detection_model', '—'))}",
    ]
    return [
        section(f"{intro} *{escape(cut(name, 200))}*"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in facts]},
        pal_buttons(pal_id, name),
    ]


def _listed(pal: dict[str, Any], faces: dict[str, str] | None, stock: bool) -> list[dict[str, Any]]:
    name, pal_id = pal_title(pal), pal_id_of(pal)
    face = face_text(pal.get("default_face_id"), faces)
    about = escape(cut(str(pal.get("system_prompt") or pal.get("context") or ""), 150))
    return [
        section(f"*{escape(cut(name, 200))}*  {inline_code(pal_id)} · face {face}\n{about}"),
        pal_buttons(pal_id, name, stock=stock),
    ]


def pal_list_message(
    pals: list[dict[str, Any]],
    total: int | None,
    stock: list[dict[str, Any]] | None = None,
    faces: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The workspace's PALs, then the account's stock PALs (Tavus's own, startable too)."""
    blocks: list[dict[str, Any]] = []
    if pals:
        count = total if total is not None else len(pals)
        blocks.append(header(f"PALs ({count})"))
        for pal in pals[:12]:
            blocks += _listed(pal, faces, stock=False)
        if (total or len(pals)) > 12:
            blocks.append(context(f"Showing 12 of {total}. Use `/pal show <pal_id>` for any PAL."))
    else:
        blocks.append(section("This workspace has no PALs yet. Create one with `/pal create`."))
    if stock:
        blocks.append(header(f"Stock PALs ({len(stock)})"))
        for pal in stock[:8]:
            blocks += _listed(pal, faces, stock=True)
    text = f"{len(pals)} PALs" if pals else "This workspace has no PALs yet."
    return message(text, blocks[:50])


def config_blocks(doc: dict[str, Any], max_chunks: int = 8) -> list[dict[str, Any]]:
    """A PAL's configuration as code blocks: layer credentials hidden, never shown."""
    chunks, cut_off = code_chunks(pretty_json(hide_in_config(doc)), max_chunks=max_chunks)
    blocks = [section(c) for c in chunks]
    if cut_off:
        blocks.append(
            context(
                ":scissors: The configuration is longer than Slack can show here; "
                "the rest was left out of this view (nothing was changed)."
            )
        )
    return blocks


def pal_show_message(pal: dict[str, Any], faces: dict[str, str] | None = None) -> dict[str, Any]:
    name = pal_title(pal)
    face = face_text(pal.get("default_face_id"), faces)
    blocks = [
        header(cut(name, 150)),
        context(f"PAL {inline_code(pal_id_of(pal))} · face {face}"),
        *config_blocks(pal),
        pal_buttons(pal_id_of(pal), name),
    ]
    return message(f"PAL {escape(name)}", blocks)


def patch_modal(
    metadata: ModalMetadata,
    pal: dict[str, Any],
    *,
    typed: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    name = pal_title(pal)
    blocks: list[dict[str, Any]] = [kept_input_notice(error)] if error else []
    blocks += [
        section(
            f"Current configuration of *{escape(cut(name, 200))}* ({inline_code(pal_id_of(pal))}):"
        ),
        *config_blocks(pal, max_chunks=6),
        divider(),
        text_input(
            ids.PATCH_JSON,
            "JSON Patch (RFC 6902 array)",
            multiline=True,
            initial=typed,
            placeholder='[{"op": "add", "path": "/layers/stt/hotwords", "value": "leadership"}]',
            hint="Operations: add, remove, replace, copy, move, test. Prefer add over "
            "replace for a field that may be absent.",
        ),
    ]
    return {
        "type": "modal",
        "callback_id": ids.PATCH_MODAL,
        "title": plain("Patch PAL", 24),
        "submit": plain("Apply patch", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


def describe_changes(changes: list[dict[str, Any]], limit: int = 20) -> str:
    lines = []
    for op in changes[:limit]:
        path = inline_code(op.get("path", ""), 120)
        if op["op"] == "remove":
            lines.append(f"• removed {path}")
        elif op["op"] in ("add", "replace"):
            value = cut(pretty_json(op.get("value")).replace("\n", " "), 150)
            verb = "set" if op["op"] == "replace" else "added"
            lines.append(f"• {verb} {path} to {inline_code(value, 160)}")
        else:
            lines.append(f"• {escape(op['op'])} {inline_code(op.get('from', ''))} → {path}")
    if len(changes) > limit:
        lines.append(f"• …and {len(changes) - limit} more changes")
    return "\n".join(lines) or "• (no visible change)"


def patch_done_blocks(
    name: str,
    pal_id: str,
    changes: list[dict[str, Any]],
    discarded: bool,
    words: list[str] | None = None,
) -> list[dict[str, Any]]:
    said = "\n".join(f"• {escape(cut(w, 300))}" for w in (words or [])[:15])
    blocks = [
        section(
            f":white_check_mark: Patched *{escape(cut(name, 200))}* ({inline_code(pal_id)})"
            + (f":\n{said}" if said else ".")
        ),
        context(cut("As JSON Patch:\n" + describe_changes(changes), 3000)),
    ]
    if discarded:
        blocks.append(
            context(
                ":warning: Unpublished changes in the PAL web editor were "
                "discarded, as you confirmed."
            )
        )
    return blocks


def patch_done_view(
    pal_id: str,
    after: dict[str, Any],
    changes: list[dict[str, Any]],
    discarded: bool,
    words: list[str] | None = None,
    title: str = "Patch PAL",
) -> dict[str, Any]:
    """The Patch (or Edit) modal's last view: what changed."""
    blocks = patch_done_blocks(pal_title(after), pal_id, changes, discarded, words)
    return result_view(title, blocks)


def patch_conflict_blocks(name: str, value: str) -> list[dict[str, Any]]:
    return [
        section(
            f":warning: *{escape(cut(name, 200))}* has unpublished changes in the PAL web "
            "editor. Applying your patch would discard them. Nothing was changed."
        ),
        actions(
            button(
                "Overwrite editor changes",
                ids.PATCH_FORCE,
                value,
                style="danger",
                confirm=confirm_dialog(
                    "Overwrite editor changes?",
                    "The unpublished changes in the PAL web editor will be lost.",
                    "Overwrite",
                    danger=True,
                ),
            )
        ),
    ]


def delete_confirm_message(pal: dict[str, Any]) -> dict[str, Any]:
    name = pal_title(pal)
    pal_id = pal_id_of(pal)
    text = (
        f"Delete the PAL *{escape(cut(name, 200))}* ({inline_code(pal_id)})? This cannot be undone."
    )
    return message(
        f"Delete PAL {escape(name)}?",
        [
            section(text),
            actions(
                button(
                    "Delete PAL",
                    ids.PAL_DELETE_CONFIRM,
                    pal_id,
                    style="danger",
                    confirm=confirm_dialog(
                        "Delete this PAL?",
                        f"*{escape(cut(name, 100))}* will be deleted for everyone.",
                        "Delete",
                        danger=True,
                    ),
                )
            ),
        ],
    )


def patch_report_message(report: PatchReport) -> dict[str, Any]:
    """How a patch ended, as an ephemeral message (inline patch, Overwrite button)."""
    if report.kind == "unchanged":
        return ok_message("Nothing changed: the PAL already had that configuration.")
    if report.kind == "conflict":
        return {
            "text": f"{escape(report.name)} has unpublished editor changes",
            "blocks": patch_conflict_blocks(report.name, report.force_token or ""),
        }
    return {
        "text": f"Patched {escape(report.name)}",
        "blocks": patch_done_blocks(
            report.name, report.pal_id, report.changes, report.discarded, report.words
        ),
    }


def patch_report_view(
    report: PatchReport, metadata: ModalMetadata | None = None, title: str = "Patch PAL"
) -> dict[str, Any]:
    """How a patch ended, as the Patch (or Edit) modal's last view, under its own title."""
    if report.kind == "unchanged":
        text = (
            f":information_source: Nothing changed: *{escape(report.name)}* already had that "
            "configuration."
        )
        return result_view(title, [section(text)])
    if report.kind == "conflict":
        blocks = patch_conflict_blocks(report.name, report.force_token or "")
        return result_view(title, blocks, metadata)
    return patch_done_view(
        report.pal_id, report.after or {}, report.changes, report.discarded, report.words, title
    )


def unfamiliar_note(values: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """A note that values palbot does not know went to the PAL API (which accepted them)."""
    if not values:
        return []
    said = ", ".join(f"`{escape(cut(v, 60))}` for {escape(f)}" for f, v in values[:5])
    return [context(f":information_source: palbot does not know {said}; the PAL API accepted it.")]


def _edit_select(block_id: str, current: str | None) -> dict[str, Any]:
    """A select on the PAL's current value (kept as an option even if palbot does not know
    it), with "Not set" where the PAL has none."""
    known, _ = SELECT_DEFAULTS[block_id]
    options = [option(v, v) for v in known]
    if current and current not in known:
        options.append(option(current, current))
    if not current:
        options.insert(0, option("Not set (PAL API default)", UNSET))
    return _select_input(block_id, options, current or UNSET)


def edit_modal(
    metadata: ModalMetadata,
    values: dict[str, str | None],
    face_label: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The Edit form: the Create form's fields on the PAL's current values."""
    face_id = values.get(ids.DEFAULT_FACE_ID)
    face = option(face_label or face_id, face_id) if face_id else None
    blocks: list[dict[str, Any]] = [kept_input_notice(error)] if error else []
    blocks += _pal_fields(
        values,
        face,
        _edit_select,
        layers_label="Advanced: the other layers (JSON object)",
        layers_hint="Credentials show as [hidden]: leave them so to keep them.",
    )
    blocks += [
        context("Only what you change is sent (as a JSON Patch). The Patch form is for experts."),
    ]
    return {
        "type": "modal",
        "callback_id": ids.EDIT_MODAL,
        "title": plain(EDIT_TITLE, 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


EDIT_TITLE = "Edit PAL"


def nothing_changed_view(doc: dict[str, Any]) -> dict[str, Any]:
    said = (
        f":information_source: Nothing changed: *{escape(pal_title(doc))}* keeps its configuration."
    )
    return result_view(EDIT_TITLE, [section(said)])
