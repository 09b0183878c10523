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


def rotate(store: Store, secret_from_env: bool, out: TextIO) -> int:
    old_keys = list(store.box.keys)
    # With PALBOT_SECRET_KEY=new,old the rotation finishes onto the first key; else a new one.
    new_key = old_keys[0] if secret_from_env and len(old_keys) > 1 else generate_key()
    count = store.rotate_secret(new_key)
    AuditTrail(store).record_now(
        "secret.rotate",
        "ok",
        Actor(team_id="", user_id="cli"),
        detail={"secrets": count, "source": "env" if secret_from_env else "file"},
    )
    out.write(f"re-encrypted {count} stored secrets under the new key\n")
    if secret_from_env:
        if new_key in old_keys:
            out.write(
                "Every secret now uses the first key of PALBOT_SECRET_KEY; you may drop the "
                "others from it.\n"
            )
        else:
            out.write(
                "New secret key (store it in your secret manager, it is shown once):\n"
                f"  {new_key.decode()}\n"
                "Set PALBOT_SECRET_KEY=<new>,<old> until every palbot process has restarted, "
                "then PALBOT_SECRET_KEY=<new>.\n"
            )
    else:
        out.write(f"{store.key_file} now holds the new key (mode 0600).\n")
    return 0
