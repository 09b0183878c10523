"""`palbot audit` (export, verify) and `palbot rotate-secret`."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import TextIO

from palbot.services.audit import AuditTrail
from palbot.services.runtime import Actor
from palbot.store import Store
from palbot.store.models import AUDIT_ACTIONS
from palbot.store.sqlite.audit import COLUMNS
from palbot.store.sqlite.store import generate_key


def export(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    if args.action and args.action not in AUDIT_ACTIONS:
        print(
            f"unknown action {args.action!r}; one of: {', '.join(AUDIT_ACTIONS)}", file=sys.stderr
        )
        return 2
    entries = store.audit.iter_entries(team_id=args.team, since=args.since, action=args.action)
    if args.format == "csv":
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for entry in entries:
            row = entry.model_dump()
            row["detail"] = json.dumps(row["detail"], sort_keys=True, separators=(",", ":"))
            writer.writerow([row[c] for c in COLUMNS])
    else:
        for entry in entries:
            out.write(entry.model_dump_json() + "\n")
    out.flush()
    return 0


def verify(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    try:
        result = store.audit.verify(head=args.head)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if result.ok:
        out.write(f"audit log OK: {result.rows} rows; head {result.head or '(empty)'}\n")
        return 0
    out.write(f"audit log BROKEN at row {result.first_bad_seq}: {result.problem}\n")
    out.write(f"{result.rows} rows verified before it; last good head {result.head or '(none)'}\n")
    return 1


def rotate(
    store: Store, secret_from_env: bool, out: TextIO, *, finish: bool = False, force: bool = False
) -> int:
    """`palbot rotate-secret [--finish] [--force]`: start a rotation (every secret re-encrypted
    under a new key; the old key still opens everything until `--finish`), or finish one."""
    if finish:
        return _finish_rotation(store, secret_from_env, out)
    old_keys = list(store.box.keys)
    # With PALBOT_SECRET_KEY=new,old the rotation finishes onto the first key; else a new one.
    staged = secret_from_env and len(old_keys) > 1
    running = store.running_servers()
    if running and secret_from_env and not staged and not force:
        out.write(
            f"palbot rotate-secret: refused: palbot is running against this database "
            f"({', '.join(running[:3])}) with the key from PALBOT_SECRET_KEY, which it cannot "
            "re-read. Either stop it first, or: generate a key, set PALBOT_SECRET_KEY=<new>,<old> "
            "on every process, restart them, run `palbot rotate-secret` (it finishes onto the "
            "first key), then set PALBOT_SECRET_KEY=<new>. (--force rotates anyway.)\n"
        )
        return 2
    new_key = old_keys[0] if staged else generate_key()
    count = store.rotate_secret(new_key)
    AuditTrail(store).record_now(
        "secret.rotate",
        "ok",
        Actor(team_id="", user_id="cli"),
        detail={"secrets": count, "source": "env" if secret_from_env else "file", "stage": "start"},
    )
    out.write(f"re-encrypted {count} stored secrets under the new key\n")
    if running and not secret_from_env:
        out.write(
            f"palbot is running against this database ({', '.join(running[:3])}): it re-reads "
            f"{store.key_file} and uses the new key by itself.\n"
        )
    if secret_from_env:
        if staged:
            out.write(
                "Every secret now uses the first key of PALBOT_SECRET_KEY. Once every process "
                "runs with it, run `palbot rotate-secret --finish`, then drop the others.\n"
            )
        else:
            out.write(
                "New secret key (store it in your secret manager, it is shown once):\n"
                f"  {new_key.decode()}\n"
                "Set PALBOT_SECRET_KEY=<new>,<old> until every palbot process has restarted, "
                "then run `palbot rotate-secret --finish` and set PALBOT_SECRET_KEY=<new>.\n"
            )
    else:
        out.write(
            f"{store.key_file} holds the new key and the old one (mode 0600), so every process "
            "opens everything meanwhile. Once every palbot process has handled a request (or "
            "restarted), run `palbot rotate-secret --finish` to drop the old key.\n"
        )
    return 0


def _finish_rotation(store: Store, secret_from_env: bool, out: TextIO) -> int:
    if len(store.box.keys) < 2:
        out.write("No rotation in progress: the secret key is a single key.\n")
        return 0
    stale = store.finish_rotation()
    AuditTrail(store).record_now(
        "secret.rotate",
        "ok",
        Actor(team_id="", user_id="cli"),
        detail={"stale": stale, "source": "env" if secret_from_env else "file", "stage": "finish"},
    )
    if stale:
        out.write(f"{stale} secrets written meanwhile under the old key: now under the new one\n")
    if secret_from_env:
        out.write(
            "Every secret is under the first key of PALBOT_SECRET_KEY: set it to that key "
            "alone on every process.\n"
        )
    else:
        out.write(f"{store.key_file} now holds the new key alone: the rotation is complete.\n")
    return 0
