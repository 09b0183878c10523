"""Every Slack id palbot uses (design.md, 'Modals' and 'Action ids'). Names are fixed."""

from __future__ import annotations

COMMAND = "/pal"

# callback_ids
KEY_MODAL = "pal_key"
CREATE_MODAL = "pal_create"
PATCH_MODAL = "pal_patch"
START_MODAL = "pal_start"
LIMITS_MODAL = "pal_limits"
RESULT_VIEW = "pal_result"  # informational views shown after a submission (no submit)

# Create PAL block_ids (= field paths; action_id is the same string)
PAL_NAME = "pal_name"
SYSTEM_PROMPT = "system_prompt"
CONTEXT = "context"
DEFAULT_FACE_ID = "default_face_id"
PIPELINE_MODE = "pipeline_mode"
PERCEPTION_MODEL = "layers.perception.perception_model"
TURN_DETECTION_MODEL = "layers.conversational_flow.turn_detection_model"
TURN_TAKING_PATIENCE = "layers.conversational_flow.turn_taking_patience"
PAL_INTERRUPTIBILITY = "layers.conversational_flow.pal_interruptibility"
LAYERS_JSON = "layers_json"
EXTRA_JSON = "extra_json"
POST_CHANNEL = "post_channel"
CREATE_FORM_FIELDS = (
    PAL_NAME,
    SYSTEM_PROMPT,
    CONTEXT,
    DEFAULT_FACE_ID,
    PIPELINE_MODE,
    PERCEPTION_MODEL,
    TURN_DETECTION_MODEL,
    TURN_TAKING_PATIENCE,
    PAL_INTERRUPTIBILITY,
)

# Patch PAL
PATCH_JSON = "patch_json"

# Start conversation
PAL_ID = "pal_id"
CONVERSATION_NAME = "conversation_name"
CHANNEL = "channel"

# Connect key
API_KEY = "api_key"

# Limits
MAX_CONCURRENT = "max_concurrent"
MAX_PER_DAY = "max_per_day"
MAX_CALL_DURATION = "max_call_duration"

# action_ids outside modals
PAL_START_BUTTON = "pal_start_button"
PAL_PATCH_BUTTON = "pal_patch_button"
CONVERSATION_JOIN = "conversation_join"
CONVERSATION_END = "conversation_end"
PAL_DELETE_CONFIRM = "pal_delete_confirm"
PATCH_FORCE = "patch_force"
# App Home controls
HOME_CONNECT_KEY = "home_connect_key"
HOME_LIMITS = "home_limits"
