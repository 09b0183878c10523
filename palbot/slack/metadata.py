"""The typed `private_metadata` every palbot modal carries (never a secret, under 3,000 chars)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

MAX_METADATA = 3000


class ModalMetadata(BaseModel):
    model_config = ConfigDict(extra="ignore")

    pal_id: str | None = None
    channel_id: str | None = None
    response_url: str | None = None
    thread_ts: str | None = None  # a start from a message: its join message goes in this thread

    def dump(self) -> str:
        text = self.model_dump_json(exclude_none=True)
        if len(text) > MAX_METADATA:  # a response_url is ~100 chars; this cannot happen in use
            text = self.model_copy(update={"response_url": None}).model_dump_json(exclude_none=True)
        return text

    @classmethod
    def load(cls, text: str | None) -> ModalMetadata:
        if not text:
            return cls()
        try:
            return cls.model_validate_json(text)
        except ValidationError:
            return cls()
