"""Planted bugs: does the suite catch them? A small, named mutation run.

Each mutant is one edit to palbot's code that a real regression could make (most come from the
review in issue 11). For each: apply it, run the tests that should kill it, restore the file, and
print KILLED or SURVIVED. Run from the repository root:

    python bench/plant_bugs.py            # every mutant (about a minute)
    python bench/plant_bugs.py form_viewid poller_notfound

Not in CI (it runs the suite once per mutant). The README's "Mutation testing" section has the
latest figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUARDS = "tests/slack/test_guards.py"

# name: (file, original text, mutated text, tests to run)
MUTANTS: dict[str, tuple[str, str, str, str]] = {
    "limits_admin": (
        "palbot/slack/listeners/views/__init__.py",
        '(AdminOnly("limits.set", "set limits", field=ids.MAX_CONCURRENT),),',
        "(),",
        f"{GUARDS}::test_limits_form_refuses_a_non_admin",
    ),
    "button_action_ts": (
        "palbot/slack/listeners/actions/start.py",
        'dedupe_keys=(f"action:{action_ts}",),',
        "dedupe_keys=(),",
        f"{GUARDS}::test_start_button_replayed_after_the_debounce_starts_once",
    ),
    "form_viewid": (
        "palbot/slack/listeners/views/start.py",
        'dedupe_keys=(f"view:{ctx.view_id}",),',
        "dedupe_keys=(),",
        f"{GUARDS}::test_start_form_replayed_after_the_debounce_starts_once",
    ),
    "redact_token": (
        "palbot/store/redact.py",
        'r"(api[_-]?key|token|',
        'r"(api[_-]?key|',
        f"{GUARDS}::test_the_redactor_hides_every_secret_name",
    ),
    "nochange_error": (
        "palbot/services/pals.py",
        'ticket.close("ok", changed=False)',
        'ticket.close("error", changed=False)',
        f"{GUARDS}::test_a_patch_that_changes_nothing_is_audited_ok",
    ),
    "keycheck_ok": (
        "palbot/services/keys.py",
        'outcome, detail = "invalid", {"reason": "refused upstream"}',
        'outcome, detail = "ok", {"reason": "refused upstream"}',
        f"{GUARDS}::test_a_key_refused_after_the_checking_view_is_audited_invalid",
    ),
    "revoked_cache": (
        "palbot/services/installs.py",
        "            store.delete_bot(enterprise_id, team_id)\n"
        "            self._forget(enterprise_id, team_id)",
        "            store.delete_bot(enterprise_id, team_id)",
        f"{GUARDS}::test_tokens_revoked_forgets_the_cached_authorization",
    ),
    "poller_notfound": (
        "palbot/services/lifecycle.py",
        '                reason = "the conversation no longer exists upstream"',
        "                continue",
        f"{GUARDS}::test_the_poller_closes_a_conversation_deleted_upstream",
    ),
    "learn_secrets": (
        "palbot/store/sqlite/store.py",
        'so no audit row can ever hold one."""\n',
        'so no audit row can ever hold one."""\n        return\n',
        f"{GUARDS}::test_a_reopened_store_still_scrubs_the_stored_keys",
    ),
    "admin_check_always_passes": (
        "palbot/slack/checks.py",
        "        if await ctx.is_admin():",
        "        if True:",
        "tests/slack/test_keys.py "
        "tests/slack/test_pals.py::test_delete_needs_admin_and_confirmation",
    ),
    "accepted_not_written": (
        "palbot/slack/checks.py",
        "ctx.services.audit.accept(self.action, ctx.actor, target=ctx.target)",
        "None",
        "tests/slack/test_pals.py::test_delete_needs_admin_and_confirmation",
    ),
    "debounce_dropped": (
        "palbot/services/conversations.py",
        "            if not rt.store.idempotency.claim(\n                self._debounce_key(req),",
        "            if False and not rt.store.idempotency.claim(\n"
        "                self._debounce_key(req),",
        "tests/slack/test_conversations.py::test_retried_command_and_double_click_start_once",
    ),
    "unescaped_active_list": (
        "palbot/slack/blocks/conversations.py",
        "    intro = escape(intro)  # often upstream's words: never markup\n",
        "",
        "tests/slack/test_builders.py",
    ),
}


def run(name: str) -> bool:
    path, old, new, tests = MUTANTS[name]
    file = ROOT / path
    source = file.read_text()
    if source.count(old) != 1:
        print(f"{name:28} NOT APPLIED (the code moved: update bench/plant_bugs.py)")
        return False
    file.write_text(source.replace(old, new))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests.split()],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        file.write_text(source)
    killed = done.returncode != 0
    print(f"{name:28} {'KILLED' if killed else 'SURVIVED'}")
    return killed


def main() -> int:
    names = sys.argv[1:] or list(MUTANTS)
    killed = sum(run(name) for name in names)
    print(f"{killed} of {len(names)} planted bugs killed")
    return 0 if killed == len(names) else 1


if __name__ == "__main__":
    raise SystemExit(main())
