"""The PAL API (Tavus Conversational Video Interface v2): client, models and errors."""

from palbot.pal_api import errors
from palbot.pal_api.client import PalApiClient
from palbot.pal_api.models import (
    CallbackEvent,
    Conversation,
    ConversationCreate,
    Face,
    Page,
    Pal,
    PalCreate,
    PatchResult,
)

__all__ = [
    "CallbackEvent",
    "Conversation",
    "ConversationCreate",
    "Face",
    "Page",
    "Pal",
    "PalApiClient",
    "PalCreate",
    "PatchResult",
    "errors",
]
