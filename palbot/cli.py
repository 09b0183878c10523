"""The `palbot` command."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from palbot.config import ConfigError, Settings, SlackMode, explain_missing, load_settings

if TYPE_CHECKING:
    from palbot.store import Store


def _settings() -> Settings:
    return load_settings()


def cmd_sandbox(args: argparse.Namespace) -> int:
    import uvicorn

    from palbot.sandbox import SandboxConfig, build_sandbox

    keys = list(args.key or [])
    if not keys:
        keys = ["sandbox-" + secrets.token_hex(12)]
        print(f"palbot sandbox: demo PAL API key: {keys[0]}", flush=True)
    config = SandboxConfig(
        concurrency_cap=args.concurrency, public_url=f"http://{args.host}:{args.port}"
    )
    app, _ = build_sandbox(keys, config)
    print(
        f"palbot sandbox: a local PAL API emulator for development and demos, on "
        f"http://{args.host}:{args.port} (set PAL_API_URL to this). It is not Tavus.",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    missing = settings.missing_for_http()
    if missing:
        print(explain_missing(missing), file=sys.stderr)
        return 2
    if not 1 <= args.workers <= 64:
        print("--workers is a whole number from 1 to 64", file=sys.stderr)
        return 2
    from palbot.server import run_http

    run_http(
        settings,
        host=args.host,
        port=args.port or settings.port,
        log_level=args.log_level,
        workers=args.workers,
    )
    return 0


def cmd_socket(args: argparse.Namespace) -> int:
    settings = _settings()
    missing = settings.missing_for_socket()
    if missing:
        print(explain_missing(missing), file=sys.stderr)
        return 2
    if settings.mode is not SlackMode.SINGLE:
        print(
            "palbot socket serves one workspace: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN, "
            "not SLACK_CLIENT_ID/SLACK_CLIENT_SECRET.",
            file=sys.stderr,
        )
        return 2
    from palbot.server import run_socket

    run_socket(settings, host=args.host, port=args.port or settings.port, log_level=args.log_level)
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    from palbot import manifest

    if args.url and not args.url.startswith("https://"):
        print("--url must be the public https:// base URL of this palbot server", file=sys.stderr)
        return 2
    data = manifest.render(url=args.url, socket=args.socket)
    sys.stdout.write(manifest.to_json(data) if args.format == "json" else manifest.to_yaml(data))
    return 0


def _open_store(settings: Settings) -> Store:
    from palbot.store import open_store

    return open_store(settings)


def cmd_audit(args: argparse.Namespace) -> int:
    from palbot import audit_cli

    store = _open_store(_settings())
    try:
        if args.what == "verify":
            return audit_cli.verify(store, args, sys.stdout)
        return audit_cli.export(store, args, sys.stdout)
    finally:
        store.close()


def cmd_rotate_secret(args: argparse.Namespace) -> int:
    from palbot import audit_cli

    settings = _settings()
    store = _open_store(settings)
    try:
        return audit_cli.rotate(
            store,
            settings.palbot_secret_key is not None,
            sys.stdout,
            finish=args.finish,
            force=args.force,
        )
    finally:
        store.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply the schema migrations (opening the store does) and say where the schema is."""
    store = _open_store(_settings())
    try:
        print(f"palbot migrate: the database is at schema version {store.db.user_version}")
        return 0
    finally:
        store.close()


def cmd_db_copy(args: argparse.Namespace) -> int:
    from palbot.dbcopy import CopyError, copy_database

    try:
        copied = copy_database(args.source, args.target)
    except CopyError as exc:
        print(f"palbot db copy: {exc}", file=sys.stderr)
        return 2
    total = sum(copied.values())
    tables = ", ".join(f"{table} {n}" for table, n in copied.items() if n)
    print(f"palbot db copy: {total} rows copied ({tables})")
    print("Secrets are still encrypted under the same key; run `palbot audit verify` on the copy.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="palbot", description="Create, tune and talk to Tavus PALs from Slack."
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the Slack app over HTTP (production)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes on this host (default 1)"
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply the database schema migrations and exit")
    migrate.set_defaults(func=cmd_migrate)
    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    copy = db_sub.add_parser("copy", help="copy a deployment's data to another database")
    copy.add_argument(
        "--from", dest="source", required=True, help="sqlite:///path or postgresql://…"
    )
    copy.add_argument("--to", dest="target", required=True, help="sqlite:///path or postgresql://…")
    copy.set_defaults(func=cmd_db_copy)
    socket = sub.add_parser("socket", help="run the Slack app over Socket Mode (no public URL)")
    socket.add_argument("--host", default="127.0.0.1")
    socket.add_argument("--port", type=int, default=None)
    socket.set_defaults(func=cmd_socket)

    manifest = sub.add_parser("manifest", help="print the Slack app manifest")
    manifest.add_argument("--url", help="public base URL, e.g. https://palbot.example.org")
    manifest.add_argument("--socket", action="store_true", help="Socket Mode instead of URLs")
    manifest.add_argument("--format", choices=["yaml", "json"], default="yaml")
    manifest.set_defaults(func=cmd_manifest)

    sandbox = sub.add_parser(
        "sandbox", help="run a local PAL API emulator (development and demos only)"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8787)
    sandbox.add_argument(
        "--key", action="append", help="an API key the emulator accepts (repeatable)"
    )
    sandbox.add_argument(
        "--concurrency",
        type=int,
        default=3,
        help="maximum active conversations per key (default 3)",
    )
    sandbox.set_defaults(func=cmd_sandbox)
    audit = sub.add_parser("audit", help="export the audit log, or verify its hash chain")
    audit.add_argument("what", nargs="?", choices=["export", "verify"], default="export")
    audit.add_argument("--team", help="only this Slack team id")
    audit.add_argument("--since", help="only rows at or after this ISO-8601 time")
    audit.add_argument("--action", help="only this action (e.g. conversation.start)")
    audit.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    audit.add_argument(
        "--head", help="verify: SEQ:HASH noted earlier, to detect rows cut from the end"
    )
    audit.set_defaults(func=cmd_audit)

    rotate = sub.add_parser(
        "rotate-secret", help="re-encrypt every stored secret under a new secret key"
    )
    rotate.add_argument(
        "--finish",
        action="store_true",
        help="end a rotation: drop the old key once every process uses the new one",
    )
    rotate.add_argument(
        "--force",
        action="store_true",
        help="rotate even though a server using PALBOT_SECRET_KEY is running",
    )
    rotate.set_defaults(func=cmd_rotate_secret)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from palbot import logsafe

    logsafe.install()  # Slack tokens by shape; servers add the stored secrets below
    if not getattr(args, "func", None):
        args = parser.parse_args(["serve", *(argv or [])])
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:  # store errors: a clear line, never a traceback
        from palbot.store import DatabaseError, SecretKeyError

        if isinstance(exc, SecretKeyError | DatabaseError):
            print(f"palbot: {exc}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        return 130
