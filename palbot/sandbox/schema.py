"""The sandbox's own reading of the PAL API (`pal-api.md`), written apart from palbot's client
models on purpose: if palbot misreads the API, the emulator must not share the mistake.

Values follow the documented ones, newer ones included (`speech-to-speech`, `time-based`,
`face_interruptibility`…); unknown fields pass, as upstream lets them pass.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool, model_validator

Level = Literal["low", "medium", "high"]


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class Perception(Loose):
    perception_model: Literal["raven-1", "raven-0", "off"] | None = None
    visual_awareness_queries: list[str] | None = None
    audio_awareness_queries: list[str] | None = None
    perception_analysis_queries: list[str] | None = None


class ConversationalFlow(Loose):
    turn_detection_model: Literal["sparrow-1", "sparrow-0", "timebased", "time-based"] | None = None
    turn_taking_patience: Level | None = None
    pal_interruptibility: Level | None = None
    replica_interruptibility: Level | None = None
    face_interruptibility: Level | None = None
    voice_isolation: Literal["near", "off"] | None = None
    idle_engagement: Literal["off", "patient", "eager"] | None = None
    wake_phrase: str | None = None
    sleep_phrase: str | None = None


class Stt(Loose):
    stt_engine: (
        Literal[
            "tavus-auto",
            "tavus-parakeet",
            "tavus-soniox",
            "tavus-whisper",
            "tavus-deepgram-medical",
        ]
        | None
    ) = None
    hotwords: str | None = None


class Tts(Loose):
    tts_engine: Literal["cartesia", "elevenlabs", "azure"] | None = None
    tts_emotion_control: StrictBool | None = None
    voice_settings: dict[str, Any] | None = None


class Llm(Loose):
    speculative_inference: StrictBool | None = None
    extra_body: dict[str, Any] | None = None
    headers: dict[str, Any] | None = None


class LayersBody(Loose):
    perception: Perception | None = None
    conversational_flow: ConversationalFlow | None = None
    stt: Stt | None = None
    tts: Tts | None = None
    llm: Llm | None = None


class PalBody(Loose):
    """`POST /v2/pals` (and a PAL after a patch)."""

    pal_name: str | None = Field(default=None, max_length=200)
    system_prompt: str | None = None
    pipeline_mode: Literal["full", "echo", "speech-to-speech"] | None = None
    context: str | None = None
    default_face_id: str = Field(min_length=1, max_length=200)
    layers: LayersBody | None = None
    document_ids: list[str] | None = None
    document_tags: list[str] | None = None
    guardrail_ids: list[str] | None = None
    guardrail_tags: list[str] | None = None
    tool_ids: list[str] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _prompt_unless_echo(self) -> PalBody:
        if self.pipeline_mode != "echo" and not (self.system_prompt or "").strip():
            raise ValueError("system_prompt is required unless pipeline_mode is echo")
        return self


class Properties(Loose):
    max_call_duration: int | None = Field(default=None, ge=10, le=3600)
    participant_left_timeout: int | None = Field(default=None, ge=0, le=3600)
    participant_absent_timeout: int | None = Field(default=None, ge=0, le=3600)
    enable_recording: StrictBool | None = None
    enable_closed_captions: StrictBool | None = None
    language: str | None = None


class ConversationBody(Loose):
    """`POST /v2/conversations`; both naming generations accepted."""

    pal_id: str = Field(min_length=1, validation_alias=AliasChoices("pal_id", "persona_id"))
    face_id: str | None = Field(
        default=None, validation_alias=AliasChoices("face_id", "replica_id")
    )
    conversation_name: str | None = Field(default=None, max_length=200)
    callback_url: str | None = Field(default=None, pattern=r"^https?://")
    conversational_context: str | None = None
    custom_greeting: str | None = None
    audio_only: StrictBool | None = None
    test_mode: StrictBool | None = None
    require_auth: StrictBool | None = None
    max_participants: int | None = Field(default=None, ge=2)
    properties: Properties | None = None
