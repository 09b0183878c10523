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
