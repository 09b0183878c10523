"""A logging filter that keeps secrets out of every log line, whoever logs them (palbot, Bolt,
slack_sdk at DEBUG level, httpx…): Slack tokens by their shape, and every secret palbot holds."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

SLACK_TOKEN = re.compile(r"\b(xox[abposr]|xapp|xoxe(?:\.xox[bp])?)-[A-Za-z0-9.-]{6,}")
# a conversation's callback URL holds its secret token (the access log prints every path)
CALLBACK_TOKEN = re.compile(r"(/pal/callbacks/)[A-Za-z0-9_-]{8,}")
REDACTED = "[redacted]"


class SecretFilter(logging.Filter):
    def __init__(self, known: Callable[[], frozenset[str]] | None = None) -> None:
        super().__init__()
        self.known = known

    def scrub(self, text: str) -> str:
        text = SLACK_TOKEN.sub(lambda m: f"{m.group(1)}-{REDACTED}", text)
        text = CALLBACK_TOKEN.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
        if self.known is not None:
            for secret in self.known():
                if len(secret) >= 6 and secret in text:
                    text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        message = record.getMessage()
        clean = self.scrub(message)
        if clean == message:
            return True
        # Keep the record's shape where its arguments can be cleaned one by one: some
        # formatters read `args` themselves (uvicorn's access log unpacks five of them).
        if isinstance(record.args, tuple) and isinstance(record.msg, str):
            args = tuple(self.scrub(a) if isinstance(a, str) else a for a in record.args)
            msg = self.scrub(record.msg)
            try:
                shaped = msg % args if args else msg
            except (TypeError, ValueError):
                shaped = None
            if shaped is not None and self.scrub(shaped) == shaped:
                record.msg, record.args = msg, args
                return True
        record.msg, record.args = clean, None
        return True


def install(known: Callable[[], frozenset[str]] | None = None) -> SecretFilter:
    """Attach the filter to every handler of the root logger (call after logging is set up)."""
    secret_filter = SecretFilter(known)
    for handler in logging.getLogger().handlers:
        handler.addFilter(secret_filter)
    # uvicorn's loggers keep handlers of their own (and do not propagate): filter them too
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(secret_filter)
    return secret_filter
