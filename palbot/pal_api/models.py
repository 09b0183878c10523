"""Pydantic models of the PAL API's bodies (pal-api.md). Unknown fields pass through untouched."""

from __future__ import annotations

import re
from typing import Any, Generic, Literal, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from palbot.pal_api.errors import BadResponse, InvalidRequest

# Known values are suggestions, not a wall (pal-api.md ⚠ "Values move on"): palbot offers them
# in forms, and passes a value it does not know to the PAL API, which is the judge.
PipelineMode = str
PerceptionModel = str
TurnDetectionModel = str
Level = str
VoiceIsolation = str
IdleEngagement = str
SttEngine = str
TtsEngine = str
PatchOp = Literal["add", "remove", "replace", "copy", "move", "test"]

PIPELINE_MODES: tuple[str, ...] = ("full", "echo", "speech-to-speech")
PERCEPTION_MODELS: tuple[str, ...] = ("raven-1", "raven-0", "off")
TURN_DETECTION_MODELS: tuple[str, ...] = ("sparrow-1", "sparrow-0", "timebased", "time-based")
LEVELS: tuple[str, ...] = ("low", "medium", "high")
KNOWN_VALUES: dict[str, tuple[str, ...]] = {
    "pipeline_mode": PIPELINE_MODES,
    "layers.perception.perception_model": PERCEPTION_MODELS,
    "layers.conversational_flow.turn_detection_model": TURN_DETECTION_MODELS,
    "layers.conversational_flow.turn_taking_patience": LEVELS,
    "layers.conversational_flow.pal_interruptibility": LEVELS,
    "layers.conversational_flow.replica_interruptibility": LEVELS,
    "layers.conversational_flow.face_interruptibility": LEVELS,
    "layers.conversational_flow.voice_isolation": ("near", "off"),
    "layers.conversational_flow.idle_engagement": ("off", "patient", "eager"),
    "layers.stt.stt_engine": (
        "tavus-auto",
        "tavus-parakeet",
        "tavus-soniox",
        "tavus-whisper",
        "tavus-deepgram-medical",
    ),
    "layers.tts.tts_engine": ("cartesia", "elevenlabs", "azure"),
}


def unfamiliar_values(doc: Any) -> list[tuple[str, str]]:
    """(field, value) pairs of a PAL document whose value palbot does not know."""
    out = []
    for path, known in KNOWN_VALUES.items():
        node: Any = doc
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str) and node not in known:
            out.append((path, node))
    return out


class _Open(BaseModel):
    """A body whose unknown fields are kept as they are."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def body(self) -> dict[str, Any]:
        """The JSON body to send: only the fields that were given, extras included."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class PerceptionLayer(_Open):
    perception_model: PerceptionModel | None = None
    visual_awareness_queries: list[str] | None = None
    audio_awareness_queries: list[str] | None = None
    perception_analysis_queries: list[str] | None = None


class ConversationalFlowLayer(_Open):
    turn_detection_model: TurnDetectionModel | None = None
    turn_taking_patience: Level | None = None
    pal_interruptibility: Level | None = None
    replica_interruptibility: Level | None = None  # legacy name, still accepted
    voice_isolation: VoiceIsolation | None = None
    idle_engagement: IdleEngagement | None = None
    wake_phrase: str | None = None
    sleep_phrase: str | None = None


class SttLayer(_Open):
    stt_engine: SttEngine | None = None
    hotwords: str | None = None


class TtsLayer(_Open):
    tts_engine: TtsEngine | None = None
    external_voice_id: str | None = None
    tts_model_name: str | None = None
    tts_emotion_control: StrictBool | None = None
    voice_settings: dict[str, Any] | None = None
    api_key: str | None = Field(default=None, repr=False)


class LlmLayer(_Open):
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    extra_body: dict[str, Any] | None = None
    headers: dict[str, Any] | None = Field(default=None, repr=False)
    speculative_inference: StrictBool | None = None
    tools: list[Any] | None = None


class Layers(_Open):
    perception: PerceptionLayer | None = None
    conversational_flow: ConversationalFlowLayer | None = None
    stt: SttLayer | None = None
    tts: TtsLayer | None = None
    llm: LlmLayer | None = None


class PalCreate(_Open):
    """`POST /v2/pals` body."""

    pal_name: str | None = Field(default=None, max_length=200)
    system_prompt: str | None = None
    pipeline_mode: PipelineMode | None = None
    context: str | None = None
    default_face_id: str = Field(min_length=1, max_length=200)
    layers: Layers | None = None
    document_ids: list[str] | None = None
    document_tags: list[str] | None = None
    objectives_id: str | None = None
    guardrail_ids: list[str] | None = None
    guardrail_tags: list[str] | None = None

    @model_validator(mode="after")
    def _prompt_unless_echo(self) -> PalCreate:
        if self.pipeline_mode != "echo" and not (self.system_prompt or "").strip():
            raise ValueError("system_prompt is required unless pipeline_mode is echo")
        return self


class ConversationProperties(_Open):
    max_call_duration: int | None = Field(default=None, ge=10, le=3600)  # documented
    participant_left_timeout: int | None = Field(default=None, ge=0, le=3600)
    participant_absent_timeout: int | None = Field(default=None, ge=0, le=3600)
    enable_recording: StrictBool | None = None
    enable_closed_captions: StrictBool | None = None
    language: str | None = None


class ConversationCreate(_Open):
    """`POST /v2/conversations` body."""

    pal_id: str = Field(min_length=1, validation_alias=AliasChoices("pal_id", "persona_id"))
    face_id: str | None = Field(
        default=None, validation_alias=AliasChoices("face_id", "replica_id")
    )
    conversation_name: str | None = Field(default=None, max_length=200)
    callback_url: str | None = None
    conversational_context: str | None = None
    custom_greeting: str | None = None
    audio_only: StrictBool | None = None
    test_mode: StrictBool | None = None
    require_auth: StrictBool | None = None
    max_participants: int | None = Field(default=None, ge=2)
    memory_stores: list[str] | None = None
    document_ids: list[str] | None = None
    properties: ConversationProperties | None = None

    @field_validator("callback_url")
    @classmethod
    def _callback_http(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value


_POINTER = re.compile(r"^(/([^~/]|~[01])*)*$")


class PatchOperation(_Open):
    """One RFC 6902 operation."""

    op: PatchOp
    path: str
    value: Any = None
    from_: str | None = Field(default=None, alias="from")

    @field_validator("path", "from_")
    @classmethod
    def _pointer(cls, value: str | None) -> str | None:
        if value is not None and not _POINTER.match(value):
            raise ValueError("must be a JSON Pointer such as /layers/stt/hotwords")
        return value

    @model_validator(mode="after")
    def _needs(self) -> PatchOperation:
        given = self.model_fields_set
        if self.op in ("add", "replace", "test") and "value" not in given:
            raise ValueError(f"a '{self.op}' operation needs a value")
        if self.op in ("move", "copy") and "from_" not in given:
            raise ValueError(f"a '{self.op}' operation needs a from")
        return self


def parse_patch(operations: Any) -> list[dict[str, Any]]:
    """Check a JSON Patch document; returns it as plain dicts or raises InvalidRequest."""
    if not isinstance(operations, list):
        raise InvalidRequest("a JSON Patch must be an array of operations", field="patch")
    if not operations:
        raise InvalidRequest("the JSON Patch is empty", field="patch")
    out = []
    for index, raw in enumerate(operations):
        if not isinstance(raw, dict):
            raise InvalidRequest("each operation must be an object", field=f"patch[{index}]")
        try:
            out.append(PatchOperation.model_validate(raw).body())
        except ValidationError as exc:
            raise _field_error(exc, prefix=f"patch[{index}]") from None
    return out


def _field_error(exc: ValidationError, prefix: str = "") -> InvalidRequest:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
    field = ".".join(p for p in (prefix, loc) if p) or None
    return InvalidRequest(err["msg"].removeprefix("Value error, "), field=field)


M = TypeVar("M", bound=BaseModel)


def validate_body(model: type[M], body: Any) -> M:
    """Validate a request body locally; a broken one raises InvalidRequest naming the field."""
    if isinstance(body, model):
        return body
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _field_error(exc) from None


# ---- responses ---------------------------------------------------------------------------


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_api(cls: type[M], raw: Any) -> M:
        """Read an answer; one palbot cannot read is a BadResponse, like any other failure."""
        try:
            obj = cls.model_validate(raw)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "body"
            raise BadResponse(f"unreadable {cls.__name__.lower()} ({where})") from None
        obj._raw = raw  # type: ignore[attr-defined]
        return obj

    @property
    def raw(self) -> dict[str, Any]:
        """The document exactly as the PAL API returned it."""
        return self._raw


class Pal(_Response):
    pal_id: str = Field(validation_alias=AliasChoices("pal_id", "persona_id"))
    pal_name: str | None = Field(
        default=None, validation_alias=AliasChoices("pal_name", "persona_name")
    )
    created_at: str | None = None
    default_face_id: str | None = Field(
        default=None, validation_alias=AliasChoices("default_face_id", "default_replica_id")
    )


class Conversation(_Response):
    conversation_id: str
    conversation_name: str | None = None
    conversation_url: str | None = None
    status: str | None = None
    callback_url: str | None = None
    created_at: str | None = None
    pal_id: str | None = Field(default=None, validation_alias=AliasChoices("pal_id", "persona_id"))
    meeting_token: str | None = Field(default=None, repr=False)
    events: list[dict[str, Any]] | None = None


class Face(_Response):
    face_id: str = Field(validation_alias=AliasChoices("face_id", "replica_id"))
    face_name: str | None = Field(
        default=None, validation_alias=AliasChoices("face_name", "replica_name")
    )
    thumbnail_video_url: str | None = None
    status: str | None = None


T = TypeVar("T", bound=_Response)


class Page(BaseModel, Generic[T]):
    data: list[T]
    total_count: int | None = None


class PatchResult(BaseModel):
    pal: Pal | None = None
    discarded_maker_changes: bool = False


class CallbackEvent(BaseModel):
    """The envelope the PAL API POSTs to a conversation's callback_url."""

    model_config = ConfigDict(extra="allow")

    conversation_id: str = Field(min_length=1, max_length=200)
    event_type: str = Field(min_length=1, max_length=100)
    message_type: str | None = None
    timestamp: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
