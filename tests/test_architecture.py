"""The shape of the code, checked: what the layers may import is in `.importlinter` (CI runs
`lint-imports`); these check what a linter cannot: listeners stay small, and the Slack layer
reaches the PAL API and the store only through services."""

from __future__ import annotations

import ast
from pathlib import Path

import palbot

PALBOT = Path(palbot.__file__).parent
MAX_LISTENER_LINES = 30


def _functions(folder: Path) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((f"{path.relative_to(PALBOT)}:{node.name}", node))
    return found


def test_no_listener_function_is_over_30_lines() -> None:
    long = {
        name: node.end_lineno - node.lineno + 1  # type: ignore[operator]
        for name, node in _functions(PALBOT / "slack" / "listeners")
        if node.end_lineno - node.lineno + 1 > MAX_LISTENER_LINES  # type: ignore[operator]
    }
    assert long == {}


def test_the_slack_layer_never_calls_the_pal_api_or_the_store_directly() -> None:
    offenders = []
    for path in sorted((PALBOT / "slack").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("pal_client", "store"):
                owner = ast.unparse(node.value)
                if node.attr == "pal_client" or owner.endswith(("rt", "runtime")):
                    offenders.append(
                        f"{path.relative_to(PALBOT)}:{node.lineno} {ast.unparse(node)}"
                    )
    assert offenders == []


def test_every_listener_module_imports_without_an_app() -> None:
    import importlib

    for path in sorted((PALBOT / "slack" / "listeners").rglob("*.py")):
        module = ".".join(path.relative_to(PALBOT.parent).with_suffix("").parts)
        importlib.import_module(module.removesuffix(".__init__"))
