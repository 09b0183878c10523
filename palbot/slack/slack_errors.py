"""What can go wrong in a call to Slack, and its words for people.

Slack answering with an error (`SlackApiError`) and Slack not answering at all (a refused or
dropped connection, a timeout: aiohttp's and the OS's errors) are both "Slack failed": every
caller that must not crash on Slack catches `SLACK_FAILURES`, and reads the reason with
`slack_error_code` ("unreachable" when Slack did not answer)."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError

SLACK_FAILURES: tuple[type[BaseException], ...] = (
    SlackApiError,
    aiohttp.ClientError,
    TimeoutError,
    ConnectionError,
)
UNREACHABLE = "unreachable"
SLACK_ERRORS = {
    "not_in_channel": "palbot is not a member of that channel. Invite it with `/invite @palbot` "
    "and try again.",
    "channel_not_found": "palbot cannot see that channel (a private channel or a DM it is not "
    "in). Invite it with `/invite @palbot`, or use a public channel.",
    "is_archived": "That channel is archived.",
    "ratelimited": "Slack is rate-limiting palbot right now; try again in a minute.",
    "restricted_action": "This workspace does not allow palbot to post in that channel.",
    UNREACHABLE: "palbot could not reach Slack just now; try again in a moment.",
}


def slack_error_code(exc: BaseException) -> str:
    """Slack's own word for the failure, or "unreachable" when Slack did not answer."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "")) if exc.response is not None else ""
    return UNREACHABLE


def slack_error_text(exc: BaseException) -> str:
    code = slack_error_code(exc)
    return SLACK_ERRORS.get(code, f"Slack refused the message ({code or 'unknown error'}).")
