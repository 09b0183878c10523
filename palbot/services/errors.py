"""Failures a Slack user is told about (their messages are safe to show)."""

from __future__ import annotations

from palbot.store.errors import StoreBusy


class UserError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NoKey(UserError):
    def __init__(self) -> None:
        super().__init__(
            "This workspace has no PAL API key connected yet. A workspace admin can "
            "connect one with `/pal key`."
        )


class Denied(UserError):
    # the Slack user id of the person who may do it (a PAL's creator), for the surface to name
    who: str | None = None


class Invalid(UserError):
    # every field at fault at once, by field (a form shows them all together)
    errors: dict[str, str] | None = None


def invalid_fields(errors: dict[str, str]) -> Invalid:
    """One Invalid for several fields: its message and field are the first one's."""
    field, message = next(iter(errors.items()))
    exc = Invalid(message, field=field)
    exc.errors = dict(errors)
    return exc


class LimitReached(UserError):
    pass


class Duplicate(UserError):
    pass


class SlackPostFailed(UserError):
    pass


def user_text(exc: Exception) -> str:
    """What to tell the user about a failure: a UserError's (or StoreBusy's) message, else the
    error's own words (palbot's PAL API errors are written for users)."""
    return exc.message if isinstance(exc, UserError | StoreBusy) else str(exc)
