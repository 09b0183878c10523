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


class StrictHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler that fails the test where logging would only print "--- Logging error ---"."""

    def handleError(self, record: logging.LogRecord) -> None:
        raise AssertionError(f"the log record could not be formatted: {record.__dict__}")


def test_callback_tokens_are_masked_in_the_access_log() -> None:
    from uvicorn.logging import AccessFormatter

    from palbot import logsafe

    stream = io.StringIO()
    access = logging.getLogger("uvicorn.access")
    handler = StrictHandler(stream)
    # uvicorn's own access formatter unpacks the record's five arguments itself
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    installed = logsafe.install()
    try:
        token = "d3bAqZ7-secretcallbacktoken_0123456789abcdef"
        # as uvicorn logs each request: '%s - "%s %s HTTP/%s" %d'
        access.info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "POST", f"/pal/callbacks/{token}", "1.1", 200
        )
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:6", "GET", "/healthz", "1.1", 200)
    finally:
        access.removeHandler(handler)
        access.removeFilter(installed)
    lines = stream.getvalue().splitlines()
    assert token not in lines[0] and "POST /pal/callbacks/[redacted] HTTP/1.1" in lines[0]
    assert '127.0.0.1:6 - "GET /healthz HTTP/1.1" 200' in lines[1]
