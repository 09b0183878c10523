"""Names of the fields people fill in, shared by every surface. A form's input is named after the
API field it fills (design.md: "block_ids are the API field paths"), so these are domain names:
the Slack layer uses them as block_ids and action_ids, a CLI or a Workflow step as keys."""

from __future__ import annotations

# Create PAL (dotted paths are nested fields under the PAL document)
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
CONVERSATIONAL_CONTEXT = "conversational_context"
CUSTOM_GREETING = "custom_greeting"
LANGUAGE = "properties.language"
CALL_DURATION = "properties.max_call_duration"  # minutes in the form, seconds upstream
AUDIO_ONLY = "audio_only"
CLOSED_CAPTIONS = "properties.enable_closed_captions"
PRIVATE = "private"
RECORDING = "properties.enable_recording"  # offered only where recording storage is set up
TEST_MODE = "test_mode"

# Connect key
API_KEY = "api_key"

# Limits
MAX_CONCURRENT = "max_concurrent"
MAX_PER_DAY = "max_per_day"
MAX_CALL_DURATION = "max_call_duration"
