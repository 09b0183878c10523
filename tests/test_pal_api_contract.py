"""One contract, three upstreams: palbot's client runs the same assertions against the sandbox
and against recorded real-shaped answers in both naming generations (pal_*/face_* and
persona_*/replica_*, GET wrapped in {"data": [...]}). A drift between the sandbox and the
documented API, or a reading of only one generation, fails here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from palbot.pal_api import PalApiClient, errors
from tests.conftest import SANDBOX_KEY, SandboxHandle
from tests.fakes.recorded_pal_api import KEY as RECORDED_KEY
from tests.fakes.recorded_pal_api import recorded_api

SEED = {
    "pal_name": "Interviewer",
    "system_prompt": "As an Interviewer, you ask.",
    "pipeline_mode": "full",
    "default_face_id": "r90bbd427f71",
    "layers": {"perception": {"perception_model": "raven-1"}},
}


@dataclass
class Upstream:
    name: str
    client: PalApiClient
    key: str


@pytest.fixture(params=["sandbox", "recorded-current", "recorded-legacy"])
async def upstream(
    request: pytest.FixtureRequest, sandbox: SandboxHandle
) -> AsyncIterator[Upstream]:
    if request.param == "sandbox":
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app))
        key, base = SANDBOX_KEY, sandbox.url
    else:
        app = recorded_api(request.param.removeprefix("recorded-"))
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        key, base = RECORDED_KEY, "http://recorded.pal-api"
    client = PalApiClient(key, base_url=base, http=http, max_retries=0)
    yield Upstream(request.param, client, key)
    await http.aclose()


async def test_a_pal_is_created_read_and_listed(upstream: Upstream) -> None:
    api = upstream.client
    created = await api.create_pal(SEED)
    assert created.pal_id.startswith("p") and created.pal_name == "Interviewer"
    read = await api.get_pal(created.pal_id)
    assert (read.pal_id, read.pal_name) == (created.pal_id, "Interviewer")
    listed = await api.list_pals(limit=10)
    assert created.pal_id in [p.pal_id for p in listed.data]
    assert listed.total_count is not None and listed.total_count >= 1


async def test_faces_have_ids_and_names(upstream: Upstream) -> None:
    faces = await upstream.client.list_faces(limit=100)
    anna = [f for f in faces.data if f.face_id == "r90bbd427f71"]
    assert anna and anna[0].face_name  # read in either generation's names


async def test_a_conversation_is_created_read_and_ended(upstream: Upstream) -> None:
    api = upstream.client
    pal = await api.create_pal(SEED)
    conv = await api.create_conversation({"pal_id": pal.pal_id, "conversation_name": "Interview"})
    assert conv.conversation_id and (conv.conversation_url or "").startswith("http")
    assert conv.status == "active"
    again = await api.get_conversation(conv.conversation_id)
    assert again.conversation_id == conv.conversation_id and again.pal_id == pal.pal_id
    await api.end_conversation(conv.conversation_id)


async def test_errors_read_the_same_everywhere(upstream: Upstream) -> None:
    api = upstream.client
    with pytest.raises(errors.NotFound):
        await api.get_pal("pnotthere123")
    pal = await api.create_pal(SEED)
    with pytest.raises(errors.NoChange):  # nothing changed: 304
        await api.patch_pal(
            pal.pal_id, [{"op": "replace", "path": "/pal_name", "value": "Interviewer"}]
        )
    wrong = PalApiClient("sk-wrong-key-0000", base_url=api.base_url, http=api._http, max_retries=0)
    with pytest.raises(errors.Unauthorized):
        await wrong.list_pals()
