"""Run the `palbot` command the way an operator does, in a child process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any


def palbot(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | str | None = None,
    timeout: float = 60,
    **kw: Any,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "palbot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,
    )
