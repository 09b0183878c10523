"""A local PAL API emulator for development, demos and tests (`palbot sandbox`)."""

from palbot.sandbox.app import Sandbox, build_sandbox
from palbot.sandbox.state import SandboxConfig

__all__ = ["Sandbox", "SandboxConfig", "build_sandbox"]
