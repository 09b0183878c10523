"""A workspace's limits: what they are, who may set them, and whether a start would break them."""

from __future__ import annotations

from datetime import UTC, datetime

from palbot.services import fields
from palbot.services.audit import AuditTrail
from palbot.services.errors import Invalid
from palbot.services.runtime import Actor, Runtime
from palbot.store.models import Limits

# field → (lowest, highest) accepted; empty means "no limit" (or the upstream default)
BOUNDS = {
    fields.MAX_CONCURRENT: (1, 1000),
    fields.MAX_PER_DAY: (1, 100000),
    fields.MAX_CALL_DURATION: (10, 3600),  # the PAL API's documented maximum
}


def day_start(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_limits(values: dict[str, str | None]) -> Limits:
    """Limits from form text by field; Invalid names the first field at fault."""
    parsed: dict[str, int | None] = {}
    for name, (low, high) in BOUNDS.items():
        raw = (values.get(name) or "").strip()
        if not raw:
            parsed[name] = None
            continue
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise Invalid(
                f"A whole number from {low} to {high}, or empty for no limit.", field=name
            )
        parsed[name] = int(raw)
    return Limits(**parsed)


class LimitsService:
    def __init__(self, rt: Runtime, audit: AuditTrail) -> None:
        self.rt = rt
        self.audit = audit

    async def get(self, team_id: str) -> Limits:
        workspace = await self.rt.db(self.rt.store.workspaces.get, team_id)
        return workspace.limits if workspace else Limits()

    async def set(self, actor: Actor, values: dict[str, str | None]) -> Limits:
        return await self.rt.db(self._set, actor, values)

    def _set(self, actor: Actor, values: dict[str, str | None]) -> Limits:
        try:
            limits = parse_limits(values)
        except Invalid as exc:
            self.audit.record_now("limits.set", "invalid", actor, detail={"field": exc.field})
            raise
        self.rt.store.workspaces.set_limits(actor.team_id, limits, set_by=actor.user_id)
        self.audit.record_now("limits.set", "ok", actor, detail=limits.model_dump())
        return limits

    async def refusal(self, team_id: str, limits: Limits, test_mode: bool, seq: int) -> str | None:
        return await self.rt.db(self._refusal, team_id, limits, test_mode, seq)

    def _refusal(self, team_id: str, limits: Limits, test_mode: bool, seq: int) -> str | None:
        """Why the start accepted as audit row `seq` would break the workspace's limits. Starts
        still in flight count when they were accepted earlier: of two racing starts the earlier
        goes first, in one process or several, with no lock."""
        if test_mode:
            return None  # test conversations cost nothing
        who = "A workspace admin can change it with `/pal limits`."
        store = self.rt.store.conversations
        if limits.max_concurrent is not None:
            open_now = store.count_open_before(team_id, seq)
            if open_now >= limits.max_concurrent:
                return (
                    f"This workspace allows at most {limits.max_concurrent} concurrent "
                    f"{plural(limits.max_concurrent, 'conversation')}, and {open_now} "
                    f"{'is' if open_now == 1 else 'are'} active or starting. End one first. {who}"
                )
        if limits.max_per_day is not None:
            today = store.count_started_since(team_id, day_start(), before_seq=seq)
            if today >= limits.max_per_day:
                return (
                    f"This workspace allows at most {limits.max_per_day} "
                    f"{plural(limits.max_per_day, 'conversation')} per day (UTC), and {today} "
                    f"{'was' if today == 1 else 'were'} started today. {who}"
                )
        return None


def plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
