"""Third-party credentials inside a PAL's configuration stay secret (issue 14, item 6).

A PAL may hold another service's credentials: `layers.llm.api_key`, `layers.tts.api_key`,
`layers.llm.headers` (an `Authorization` header), `layers.llm.extra_body` (anything). palbot
never shows, stores or logs them: every configuration or patch palbot shows or writes down passes
here first, by path. They stay write-only: a patch may still set one (the value goes to the PAL
API, never to Slack or the audit log).
"""

from __future__ import annotations

import copy
import re
from typing import Any

HIDDEN = "[hidden]"
# whole members that are secret wherever they sit under /layers
SECRET_MEMBERS = re.compile(
    r"^(api[_-]?key|.*token|.*secret|password|passwd|authorization|credentials?|headers|"
    r"extra_body|private[_-]?key)$",
    re.IGNORECASE,
)


def _secret(tokens: list[str]) -> bool:
    """A path (as tokens) at or under a secret member of a layer."""
    return (
        len(tokens) >= 3
        and tokens[0] == "layers"
        and any(SECRET_MEMBERS.match(t) for t in tokens[2:])
    )


def hide_in_config(doc: Any) -> Any:
    """A copy of a PAL document with every layer secret replaced by HIDDEN."""
    out = copy.deepcopy(doc)
    layers = out.get("layers") if isinstance(out, dict) else None
    if isinstance(layers, dict):
        for name, layer in layers.items():
            if isinstance(layer, dict):
                _hide(layer, ["layers", name])
    return out


def _hide(node: dict[str, Any], path: list[str]) -> None:
    for key, value in node.items():
        if _secret([*path, key]) and value not in (None, "", {}, []):
            node[key] = HIDDEN
        elif isinstance(value, dict):
            _hide(value, [*path, key])


def _tokens(path: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in str(path).split("/")[1:]]


def hide_in_ops(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of a JSON Patch with the values it sets under a layer secret hidden (and the
    secrets inside any object it adds to a layer)."""
    out = []
    for op in ops:
        op = dict(op)
        tokens = _tokens(op.get("path", ""))
        if "value" in op:
            if _secret(tokens):
                op["value"] = HIDDEN
            elif isinstance(op["value"], dict) and tokens[:1] == ["layers"]:
                holder: dict[str, Any] = {}  # the value placed where it goes, then hidden
                target = holder
                for token in tokens[:-1]:
                    target = target.setdefault(token, {})
                target[tokens[-1]] = op["value"]
                node: Any = hide_in_config(holder)
                for token in tokens:
                    node = node[token]
                op["value"] = node
        out.append(op)
    return out


def is_secret_path(path: str) -> bool:
    return _secret(_tokens(path))
