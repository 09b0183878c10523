"""Typed PAL API errors, each with a message a Slack user can act on."""

from __future__ import annotations

from typing import Any


class PalApiError(Exception):
    """Base of every PAL API failure. `user_message` is safe to show in Slack."""

    user_message = "The PAL API returned an unexpected error."

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        self.detail = detail or ""
        self.status = status
        self.body = body
        self.retry_after = retry_after
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [self.user_message]
        if self.detail and self.detail not in self.user_message:
            parts.append(f"(PAL API said: {self.detail})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, detail={self.detail!r})"


class InvalidRequest(PalApiError):
    """A body refused locally (before sending) or by upstream with a 400 of another kind."""

    user_message = "The PAL API refused the request as invalid."

    def __init__(self, detail: str | None = None, *, field: str | None = None, **kw: Any) -> None:
        self.field = field
        super().__init__(detail, **kw)

    def describe(self) -> str:
        if self.field:
            return f"Invalid value for `{self.field}`: {self.detail}"
        return super().describe()


class Unauthorized(PalApiError):
    user_message = (
        "The workspace's PAL API key was refused (invalid or revoked). "
        "An admin can reconnect it with `/pal key`."
    )


class NotFound(PalApiError):
    user_message = "Not found: no PAL, conversation or face has that id for this workspace's key."


class ConcurrencyLimit(PalApiError):
    user_message = (
        "The PAL API account has reached its maximum of concurrent conversations. "
        "End an active conversation and try again."
    )


class OutOfCredits(PalApiError):
    user_message = (
        "The PAL API account is out of conversational credits: "
        "the account owner must add credits in the PAL dashboard."
    )


class PatchConflict(PalApiError):
    user_message = (
        "This PAL has unpublished changes in the PAL web editor. Applying the patch would "
        "discard them."
    )


class InvalidPatch(PalApiError):
    user_message = "The PAL API rejected the JSON Patch as invalid."


class NoChange(PalApiError):
    user_message = "Nothing changed: the PAL already has that configuration."


class RateLimited(PalApiError):
    user_message = "The PAL API is rate-limiting requests right now. Try again in a minute."


class Unavailable(PalApiError):
    user_message = "The PAL API is not answering right now. Try again in a few minutes."


class Timeout(Unavailable):
    user_message = "The PAL API did not answer in time. Try again in a few minutes."


class BadResponse(PalApiError):
    """A success status whose body palbot cannot read (a drift in the API, or a broken proxy)."""

    user_message = (
        "The PAL API answered in a form palbot could not read. Nothing was retried; "
        "palbot will check what happened."
    )


class OutcomeUnknown(PalApiError):
    """A non-idempotent call (create) was sent but its answer was lost; it was not retried."""

    user_message = (
        "The PAL API did not confirm the request in time; it may or may not have been carried out. "
        "It was not retried, so nothing was created twice."
    )
