"""The domain core: what palbot does, for any surface (Slack, a CLI, a Workflow step).

Nothing here imports `palbot.slack`, `slack_sdk` or `slack_bolt` (checked in CI by import-linter,
see `.importlinter`). The chat surface is reached through the Protocols in `ports.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from palbot.services.audit import AuditTrail
from palbot.services.conversations import ConversationService
from palbot.services.home import HomeQuery
from palbot.services.installs import InstallService
from palbot.services.keys import KeyRemoval, KeyService
from palbot.services.limits import LimitsService
from palbot.services.pals import PalService
from palbot.services.permissions import PermissionService
from palbot.services.runtime import Runtime


@dataclass
class Services:
    """One entry point per action, grouped by what they act on."""

    rt: Runtime
    audit: AuditTrail
    keys: KeyService
    key_removal: KeyRemoval
    pals: PalService
    limits: LimitsService
    conversations: ConversationService
    installs: InstallService
    home: HomeQuery
    permissions: PermissionService

    @classmethod
    def build(cls, rt: Runtime) -> Services:
        audit = AuditTrail(rt.store, rt.db)
        limits = LimitsService(rt, audit)
        permissions = PermissionService(rt, audit)
        keys = KeyService(rt, audit)
        conversations = ConversationService(rt, audit, limits)
        return cls(
            rt=rt,
            audit=audit,
            keys=keys,
            key_removal=KeyRemoval(rt, keys),
            pals=PalService(rt, audit, permissions),
            limits=limits,
            conversations=conversations,
            installs=InstallService(rt, audit),
            home=HomeQuery(rt, audit, conversations),
            permissions=permissions,
        )
