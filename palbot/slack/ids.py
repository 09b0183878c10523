"""Every Slack id palbot uses (design.md, 'Modals' and 'Action ids'). Names are fixed.

Form inputs are named after the field they fill: block_id = action_id = the field's name, and
those names live in the domain (`palbot/services/fields.py`), re-exported here."""

from __future__ import annotations

from palbot.services.fields import (
    API_KEY,
    AUDIO_ONLY,
    CALL_DURATION,
    CHANNEL,
    CLOSED_CAPTIONS,
    CONTEXT,
    CONVERSATION_NAME,
    CONVERSATIONAL_CONTEXT,
    CREATE_FORM_FIELDS,
    CUSTOM_GREETING,
    DEFAULT_FACE_ID,
    EXTRA_JSON,
    LANGUAGE,
    LAYERS_JSON,
    MAX_CALL_DURATION,
    MAX_CONCURRENT,
    MAX_PER_DAY,
    PAL_ID,
    PAL_INTERRUPTIBILITY,
    PAL_NAME,
    PATCH_JSON,
    PERCEPTION_MODEL,
    PIPELINE_MODE,
    POST_CHANNEL,
    PRIVATE,
    RECORDING,
    SYSTEM_PROMPT,
    TEST_MODE,
    TURN_DETECTION_MODEL,
    TURN_TAKING_PATIENCE,
)

__all__ = [
    "API_KEY",
    "AUDIO_ONLY",
    "CALL_DURATION",
    "CHANNEL",
    "CLOSED_CAPTIONS",
    "CONTEXT",
    "CONVERSATIONAL_CONTEXT",
    "CONVERSATION_NAME",
    "CREATE_FORM_FIELDS",
    "CUSTOM_GREETING",
    "DEFAULT_FACE_ID",
    "EXTRA_JSON",
    "LANGUAGE",
    "LAYERS_JSON",
    "MAX_CALL_DURATION",
    "MAX_CONCURRENT",
    "MAX_PER_DAY",
    "PAL_ID",
    "PAL_INTERRUPTIBILITY",
    "PAL_NAME",
    "PATCH_JSON",
    "PERCEPTION_MODEL",
    "PIPELINE_MODE",
    "POST_CHANNEL",
    "PRIVATE",
    "RECORDING",
    "SYSTEM_PROMPT",
    "TEST_MODE",
    "TURN_DETECTION_MODEL",
    "TURN_TAKING_PATIENCE",
]

COMMAND = "/pal"

# callback_ids
KEY_MODAL = "pal_key"
CREATE_MODAL = "pal_create"
PATCH_MODAL = "pal_patch"
EDIT_MODAL = "pal_edit"
START_MODAL = "pal_start"
START_FROM_MESSAGE = "pal_start_from_message"  # the message shortcut
LIMITS_MODAL = "pal_limits"
RESULT_VIEW = "pal_result"  # informational views shown after a submission (no submit)

# action_ids outside modals
PAL_START_BUTTON = "pal_start_button"
PAL_PATCH_BUTTON = "pal_patch_button"
PAL_EDIT_BUTTON = "pal_edit_button"
CONVERSATION_JOIN = "conversation_join"
CONVERSATION_END = "conversation_end"
PAL_DELETE_CONFIRM = "pal_delete_confirm"
PATCH_FORCE = "patch_force"
# App Home controls
KEY_REMOVE_CONFIRM = "key_remove_confirm"
HOME_CONNECT_KEY = "home_connect_key"
HOME_LIMITS = "home_limits"
HOME_CREATE = "home_create"
HOME_START = "home_start"
HOME_KEY_REMOVE = "home_key_remove"
