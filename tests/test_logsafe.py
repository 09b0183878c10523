"""No secret in a log line, whoever writes it."""

from __future__ import annotations

import io
import logging

from palbot.logsafe import SecretFilter


def test_tokens_and_known_secrets_are_scrubbed() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter(lambda: frozenset({"sk-pal-key-123456"})))
    logger = logging.getLogger("test.logsafe")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("headers: %s", {"Authorization": "Bearer xoxb-1234-5678-abcdefABCDEF"})
        logger.info("app token xapp-1-A0123-456-abcdef and user xoxp-99-88-77-zzzzzz")
        logger.warning("upstream echoed sk-pal-key-123456 back")
        try:
            raise ValueError("token xoxb-9999-8888-secretsecret in an exception")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    for secret in (
        "xoxb-1234-5678-abcdefABCDEF",
        "xapp-1-A0123-456-abcdef",
        "xoxp-99-88-77-zzzzzz",
        "sk-pal-key-123456",
        "secretsecret",
    ):
        assert secret not in text
    assert text.count("[redacted]") >= 5 and "Bearer xoxb-[redacted]" in text


def test_callback_tokens_are_masked_in_the_access_log() -> None:
    from palbot import logsafe

    stream = io.StringIO()
    access = logging.getLogger("uvicorn.access")
    handler = logging.StreamHandler(stream)
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    installed = logsafe.install()
    try:
        token = "d3bAqZ7-secretcallbacktoken_0123456789abcdef"
        # as uvicorn logs each request: '%s - "%s %s HTTP/%s" %d'
        access.info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "POST", f"/pal/callbacks/{token}", "1.1", 200
        )
    finally:
        access.removeHandler(handler)
        access.removeFilter(installed)
    text = stream.getvalue()
    assert token not in text and "/pal/callbacks/[redacted]" in text
