"""JSON Patch against a PAL as the PAL API really applies it (strict RFC 6902), made usable.

- A PAL created without a layer has no such member (`pal-api.md`, "Absent layers"): an `add`
  below a missing object is sent as the `add` of the smallest missing object, as Tavus's own
  client recipes do. `add /layers/stt/hotwords "leadership"` on a PAL without `stt` becomes
  `add /layers/stt {"hotwords": "leadership"}`. The local check and what is sent use the same
  operations, so the preview never disagrees with the result.
- A patch that does not fit says so in words: which operation, which path, what to do.
- What changed is said in words ("Added speech recognition hotwords: leadership").
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import jsonpatch
import jsonpointer

from palbot.services import fields
from palbot.services.errors import Invalid
from palbot.services.layer_secrets import HIDDEN, is_secret_path

LABELS = {
    "/pal_name": "name",
    "/system_prompt": "system prompt",
    "/context": "context",
    "/default_face_id": "face",
    "/pipeline_mode": "pipeline mode",
    "/greeting": "greeting",
    "/document_ids": "documents",
    "/document_tags": "document tags",
    "/layers": "layers",
    "/layers/perception": "perception layer",
    "/layers/perception/perception_model": "perception model",
    "/layers/conversational_flow": "conversational flow layer",
    "/layers/conversational_flow/turn_detection_model": "turn detection model",
    "/layers/conversational_flow/turn_taking_patience": "turn-taking patience",
    "/layers/conversational_flow/pal_interruptibility": "interruptibility",
    "/layers/conversational_flow/face_interruptibility": "interruptibility",
    "/layers/stt": "speech recognition layer",
    "/layers/stt/hotwords": "speech recognition hotwords",
    "/layers/stt/stt_engine": "speech recognition engine",
    "/layers/tts": "voice layer",
    "/layers/tts/tts_engine": "voice engine",
    "/layers/tts/external_voice_id": "voice",
    "/layers/llm": "language model layer",
    "/layers/llm/model": "language model",
}
IGNORED = ("/updated_at",)


def _tokens(path: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]


def _pointer(tokens: list[str]) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def fit_patch(doc: dict[str, Any], ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The operations to send: each `add` whose parent objects are missing becomes the `add`
    of the smallest missing object. Later operations see the effect of earlier ones."""
    work = copy.deepcopy(doc)
    fitted: list[dict[str, Any]] = []
    for index, op in enumerate(ops):
        op = dict(op)
        if op.get("op") == "add":
            op = _fit_add(work, op)
        fitted.append(op)
        try:
            work = jsonpatch.JsonPatch([op]).apply(work)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError):
            return fitted + [dict(rest) for rest in ops[index + 1 :]]  # check_patch says why
    return fitted


def _fit_add(doc: Any, op: dict[str, Any]) -> dict[str, Any]:
    tokens = _tokens(str(op.get("path", "")))
    node = doc
    for depth, token in enumerate(tokens[:-1]):
        if isinstance(node, dict) and token not in node:
            value: Any = op.get("value")
            for inner in reversed(tokens[depth + 1 :]):
                value = {inner: value}
            return {"op": "add", "path": _pointer(tokens[: depth + 1]), "value": value}
        if isinstance(node, dict):
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return op  # a list index or a scalar on the way: strict rules apply
    return op


def check_patch(
    doc: dict[str, Any], ops: list[dict[str, Any]], field: str = fields.PATCH_JSON
) -> dict[str, Any]:
    """Apply (already fitted) operations to the current document, one at a time, so a misfit
    names its operation; returns the document as it would be."""
    work: Any = copy.deepcopy(doc)
    for index, op in enumerate(ops):
        try:
            work = jsonpatch.JsonPatch([op]).apply(work)
        except jsonpatch.JsonPatchTestFailed:
            raise Invalid(_test_failed(work, op, index, len(ops)), field=field) from None
        except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException):
            raise Invalid(_missing(op, index, len(ops)), field=field) from None
        except (jsonpatch.JsonPatchException, TypeError, ValueError, KeyError):
            where = f"Operation {index + 1}" if len(ops) > 1 else "The patch"
            raise Invalid(
                f"{where} cannot be applied to this PAL at `{op.get('path')}`.", field=field
            ) from None
    if not isinstance(work, dict):
        raise Invalid(
            "The patch would replace the whole PAL; patch its fields instead.", field=field
        )
    return work


def _said(index: int, count: int, sentence: str) -> str:
    """ "Operation 2 does not fit this PAL: …" in a longer patch, "The patch does not fit this
    PAL: …" in a one-operation patch."""
    who = f"Operation {index + 1}" if count > 1 else "The patch"
    return f"{who} does not fit this PAL: {sentence}"


def _missing(op: dict[str, Any], index: int, count: int) -> str:
    verb = str(op.get("op"))
    path = str(op.get("path"))
    if verb in ("move", "copy") and op.get("from"):
        sentence = f"there is nothing at `{op.get('from')}` to {verb}."
    elif verb == "replace":
        sentence = f"there is nothing at `{path}` to replace. Use add to set it."
    elif verb == "remove":
        sentence = f"there is nothing at `{path}` to remove."
    else:
        sentence = f"`{path}` is inside something that is not an object."
    return _said(index, count, sentence)


def _test_failed(doc: Any, op: dict[str, Any], index: int, count: int) -> str:
    path = str(op.get("path"))
    try:
        actual = jsonpointer.resolve_pointer(doc, path)
        found = f"it holds {_short(actual)}"
    except jsonpointer.JsonPointerException:
        found = "there is nothing there"
    return _said(
        index, count, f"the test at `{path}` failed: {found}, not {_short(op.get('value'))}."
    )


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Change:
    verb: str  # Added, Changed, Removed
    path: str
    value: Any = None

    @property
    def label(self) -> str:
        return LABELS.get(self.path) or ".".join(_tokens(self.path))

    def words(self) -> str:
        if self.verb == "Removed":
            return f"Removed {self.label}"
        return f"{self.verb} {self.label}: {_short(self.value, 120)}"


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """What changed, leaf by leaf, in the order of the document."""
    out: list[Change] = []
    _diff(before, after, [], out)
    return [c for c in out if c.path not in IGNORED]


def _diff(a: Any, b: Any, path: list[str], out: list[Change]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in b:
                out.append(Change("Removed", _pointer([*path, key])))
            elif key not in a:
                _added(b[key], [*path, key], out)
            else:
                _diff(a[key], b[key], [*path, key], out)
    elif a != b:
        out.append(Change("Changed", _pointer(path), _shown(path, b)))


def _added(value: Any, path: list[str], out: list[Change]) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _added(inner, [*path, key], out)
    else:
        out.append(Change("Added", _pointer(path), _shown(path, value)))


def _shown(path: list[str], value: Any) -> Any:
    """What may be said of a value: a layer's credential is never repeated back."""
    return HIDDEN if is_secret_path(_pointer(path)) else value
