"""The PAL API client against the sandbox, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from palbot.pal_api import PalApiClient, errors
from palbot.pal_api.client import error_for, parse_retry_after
from tests.conftest import SANDBOX_KEY, SANDBOX_KEY_2, SandboxHandle

SEED_PAL: dict[str, Any] = {
    "pal_name": "Interviewer",
    "system_prompt": "As an Interviewer, you are a skilled professional.",
    "pipeline_mode": "full",
    "context": "You have a track record of conducting interviews.",
    "default_face_id": "r90bbd427f71",
    "layers": {
        "perception": {"perception_model": "raven-1"},
        "conversational_flow": {
            "turn_detection_model": "sparrow-1",
            "turn_taking_patience": "medium",
            "pal_interruptibility": "medium",
        },
    },
}


def client(sandbox: SandboxHandle, key: str = SANDBOX_KEY, **kw: Any) -> PalApiClient:
    kw.setdefault("backoff_base", 0.01)
    return PalApiClient(key, base_url=sandbox.url, **kw)


async def test_create_get_list_delete_pal(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        pal = await api.create_pal(SEED_PAL)
        assert pal.pal_id and pal.pal_name == "Interviewer" and pal.created_at
        got = await api.get_pal(pal.pal_id)
        assert got.raw["layers"]["conversational_flow"]["turn_detection_model"] == "sparrow-1"
        page = await api.list_pals()
        assert [p.pal_id for p in page.data] == [pal.pal_id] and page.total_count == 1
        await api.delete_pal(pal.pal_id)
        with pytest.raises(errors.NotFound):
            await api.get_pal(pal.pal_id)
    sent = sandbox.requests("POST", "/v2/pals")[0]
    assert sent["body"] == SEED_PAL and sent["key"] == SANDBOX_KEY


async def test_list_pals_pagination_and_system_type(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        for i in range(3):
            await api.create_pal({**SEED_PAL, "pal_name": f"P{i}"})
        first = await api.list_pals(limit=2, page=1)
        second = await api.list_pals(limit=2, page=2)
        assert len(first.data) == 2 and len(second.data) == 1 and first.total_count == 3
        system = await api.list_pals(pal_type="system")
        assert system.data[0].pal_name == "Tavus Researcher"
    assert sandbox.requests("GET", "/v2/pals")[0]["query"] == {"limit": "2", "page": "1"}


async def test_unknown_fields_pass_through_untouched(sandbox: SandboxHandle) -> None:
    body = {
        **SEED_PAL,
        "document_ids": ["d1"],
        "brand_new_field": {"x": 1},
        "layers": {**SEED_PAL["layers"], "stt": {"hotwords": "leadership", "future": True}},
    }
    async with client(sandbox) as api:
        await api.create_pal(body)
    sent = sandbox.requests("POST", "/v2/pals")[0]["body"]
    assert sent["brand_new_field"] == {"x": 1}
    assert sent["layers"]["stt"] == {"hotwords": "leadership", "future": True}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in SEED_PAL.items() if k != "default_face_id"}, "default_face_id"),
        ({**SEED_PAL, "layers": {"stt": {"hotwords": ["a", "b"]}}}, "layers.stt.hotwords"),
    ],
)
async def test_invalid_create_body_refused_locally(
    sandbox: SandboxHandle, body: dict, field: str
) -> None:
    async with client(sandbox) as api:
        with pytest.raises(errors.InvalidRequest) as info:
            await api.create_pal(body)
    assert info.value.field == field
    assert field in str(info.value)
    assert sandbox.requests("POST", "/v2/pals") == []


async def test_system_prompt_required_unless_echo(sandbox: SandboxHandle) -> None:
    body = {k: v for k, v in SEED_PAL.items() if k != "system_prompt"}
    async with client(sandbox) as api:
        with pytest.raises(errors.InvalidRequest, match="system_prompt"):
            await api.create_pal(body)
        pal = await api.create_pal({**body, "pipeline_mode": "echo"})
    assert pal.pal_id


async def test_get_pal_tolerates_wrapped_shape(sandbox: SandboxHandle) -> None:
    sandbox.configure(wrap_get=True)
    async with client(sandbox) as api:
        pal = await api.create_pal(SEED_PAL)
        got = await api.get_pal(pal.pal_id)
    assert got.pal_id == pal.pal_id and got.raw["pal_name"] == "Interviewer"


async def test_patch_all_six_ops_then_no_change(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        pal = await api.create_pal(SEED_PAL)
        result = await api.patch_pal(
            pal.pal_id,
            [
                {"op": "add", "path": "/layers/stt", "value": {"hotwords": "leadership"}},
                {"op": "test", "path": "/pal_name", "value": "Interviewer"},
                {"op": "replace", "path": "/pal_name", "value": "Interviewer 2"},
                {"op": "copy", "from": "/context", "path": "/conversational_context"},
                {"op": "move", "from": "/conversational_context", "path": "/notes"},
                {"op": "remove", "path": "/notes"},
            ],
        )
        assert result.pal is not None and result.pal.pal_name == "Interviewer 2"
        assert result.pal.raw["layers"]["stt"]["hotwords"] == "leadership"
        with pytest.raises(errors.NoChange):
            await api.patch_pal(
                pal.pal_id, [{"op": "replace", "path": "/pal_name", "value": "Interviewer 2"}]
            )


async def test_patch_errors(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        pal = await api.create_pal(SEED_PAL)
        with pytest.raises(errors.InvalidPatch):  # replace on a missing path: upstream 422
            await api.patch_pal(
                pal.pal_id, [{"op": "replace", "path": "/layers/stt/hotwords", "value": "x"}]
            )
        with pytest.raises(errors.InvalidRequest) as info:  # refused locally
            await api.patch_pal(pal.pal_id, [{"op": "frobnicate", "path": "/x"}])
        assert info.value.field == "patch[0].op"
        with pytest.raises(errors.InvalidRequest, match="needs a value"):
            await api.patch_pal(pal.pal_id, [{"op": "add", "path": "/x"}])
        with pytest.raises(errors.InvalidRequest, match="array"):
            await api.patch_pal(pal.pal_id, {"op": "add"})
        with pytest.raises(errors.NotFound):
            await api.patch_pal("pnope", [{"op": "add", "path": "/x", "value": 1}])
    assert len(sandbox.requests("PATCH")) == 2


async def test_patch_conflict_then_force(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        pal = await api.create_pal(SEED_PAL)
        sandbox.maker_changes(pal.pal_id)
        ops = [{"op": "replace", "path": "/pal_name", "value": "Forced"}]
        with pytest.raises(errors.PatchConflict):
            await api.patch_pal(pal.pal_id, ops)
        result = await api.patch_pal(pal.pal_id, ops, force=True)
    assert result.discarded_maker_changes is True
    assert sandbox.requests("PATCH")[-1]["query"] == {"force": "true"}


async def test_conversation_lifecycle(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        pal = await api.create_pal(SEED_PAL)
        conv = await api.create_conversation(
            {"pal_id": pal.pal_id, "conversation_name": "Interview User"}
        )
        assert conv.status == "active" and conv.conversation_url
        assert conv.conversation_name == "Interview User"
        got = await api.get_conversation(conv.conversation_id)
        assert got.status == "active"
        active = await api.list_conversations(status="active")
        assert [c.conversation_id for c in active.data] == [conv.conversation_id]
        await api.end_conversation(conv.conversation_id)
        ended = await api.get_conversation(conv.conversation_id, verbose=True)
        assert ended.status == "ended"
        assert (await api.list_conversations(status="active")).data == []
        await api.delete_conversation(conv.conversation_id, hard=True)
        with pytest.raises(errors.NotFound):
            await api.get_conversation(conv.conversation_id)


async def test_conversation_accepts_legacy_persona_id(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        pal = await api.create_pal(SEED_PAL)
        conv = await api.create_conversation({"persona_id": pal.pal_id, "test_mode": True})
    assert conv.pal_id == pal.pal_id
    assert sandbox.requests("POST", "/v2/conversations")[0]["body"]["pal_id"] == pal.pal_id


async def test_conversation_body_validated_locally(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        with pytest.raises(errors.InvalidRequest) as info:
            await api.create_conversation({"pal_id": "p1", "test_mode": "yes"})
        assert info.value.field == "test_mode"
        with pytest.raises(errors.InvalidRequest) as info:
            await api.create_conversation({"pal_id": "p1", "properties": {"max_call_duration": -5}})
        assert info.value.field == "properties.max_call_duration"
    assert sandbox.requests("POST", "/v2/conversations") == []


async def test_faces_both_shapes(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        faces = await api.list_faces(face_type="system")
        assert "r90bbd427f71" in [f.face_id for f in faces.data]
        sandbox.configure(legacy_names=True)
        legacy = await api.list_faces()
    assert [f.face_id for f in legacy.data] == [f.face_id for f in faces.data]
    assert legacy.data[0].face_name == faces.data[0].face_name


# ---- every error row of pal-api.md ----------------------------------------------------


async def test_unknown_id_400_is_not_found(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        for call in (
            api.get_pal("pmissing"),
            api.get_conversation("cmissing"),
            api.create_conversation({"pal_id": "pmissing"}),
        ):
            with pytest.raises(errors.NotFound):
                await call


async def test_concurrency_cap(sandbox: SandboxHandle) -> None:
    sandbox.configure(concurrency_cap=1)
    async with client(sandbox) as api:
        pal = await api.create_pal(SEED_PAL)
        await api.create_conversation({"pal_id": pal.pal_id})
        with pytest.raises(errors.ConcurrencyLimit) as info:
            await api.create_conversation({"pal_id": pal.pal_id})
        assert "End an active conversation" in info.value.user_message
        # test_mode costs nothing and takes no slot
        await api.create_conversation({"pal_id": pal.pal_id, "test_mode": True})


async def test_unauthorized(sandbox: SandboxHandle) -> None:
    async with client(sandbox, key="sk-wrong-key-9999") as api:
        with pytest.raises(errors.Unauthorized) as info:
            await api.list_pals()
    assert "/pal key" in str(info.value)
    assert len(sandbox.requests("GET", "/v2/pals")) == 1  # 401 is not retried


async def test_out_of_credits(sandbox: SandboxHandle) -> None:
    sandbox.add_key("sk-broke-0000", credits=0)
    async with client(sandbox, key="sk-broke-0000") as api:
        pal = await api.create_pal(SEED_PAL)
        with pytest.raises(errors.OutOfCredits):
            await api.create_conversation({"pal_id": pal.pal_id})


async def test_unknown_route_404(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        with pytest.raises(errors.NotFound):
            await api._request("GET", "/v2/nothing-here", idempotent=True)


def test_error_mapping_table() -> None:
    cases = {
        (400, "Invalid pal_id"): errors.NotFound,
        (400, "Invalid persona_id"): errors.NotFound,
        (400, "Invalid conversation_id"): errors.NotFound,
        (400, "Invalid replica_id"): errors.NotFound,
        (400, "User has reached maximum concurrent conversations"): errors.ConcurrencyLimit,
        (400, "something else"): errors.InvalidRequest,
        (401, "Invalid access token"): errors.Unauthorized,
        (402, "The user is out of conversational credits"): errors.OutOfCredits,
        (404, ""): errors.NotFound,
        (409, "maker_changes"): errors.PatchConflict,
        (429, ""): errors.RateLimited,
        (500, ""): errors.Unavailable,
        (503, ""): errors.Unavailable,
    }
    for (status, msg), kind in cases.items():
        for body in ({"message": msg}, {"error": msg}):
            assert type(error_for(status, body)) is kind, (status, msg)
    assert (
        type(error_for(422, {"message": "Invalid JSON patch format"}, patch=True))
        is errors.InvalidPatch
    )


def test_retry_after_forms() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < (parse_retry_after(future) or 0) <= 31


# ---- retries, timeouts, deadlines ------------------------------------------------------


async def test_get_retried_on_5xx_until_success(sandbox: SandboxHandle) -> None:
    sandbox.fault(method="GET", path="/v2/pals", status=503, times=2)
    async with client(sandbox) as api:
        page = await api.list_pals()
    assert page.data == []
    assert [r["status"] for r in sandbox.requests("GET", "/v2/pals")] == [503, 503, 200]


async def test_retries_stop_at_max(sandbox: SandboxHandle) -> None:
    sandbox.fault(method="GET", path="/v2/faces", status=500)
    async with client(sandbox, max_retries=2) as api:
        with pytest.raises(errors.Unavailable):
            await api.list_faces()
    assert len(sandbox.requests("GET", "/v2/faces")) == 3


async def test_429_honours_retry_after(sandbox: SandboxHandle) -> None:
    sandbox.fault(method="GET", path="/v2/faces", status=429, times=1, headers={"Retry-After": "1"})
    async with client(sandbox) as api:
        started = time.monotonic()
        await api.list_faces()
        waited = time.monotonic() - started
    assert waited >= 0.95
    assert [r["status"] for r in sandbox.requests("GET", "/v2/faces")] == [429, 200]


async def test_delete_and_end_are_retried(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        pal = await api.create_pal(SEED_PAL)
        conv = await api.create_conversation({"pal_id": pal.pal_id})
        sandbox.fault(
            method="POST", path=f"/v2/conversations/{conv.conversation_id}/end", status=502, times=1
        )
        await api.end_conversation(conv.conversation_id)
        sandbox.fault(method="DELETE", path=f"/v2/pals/{pal.pal_id}", status=500, times=1)
        await api.delete_pal(pal.pal_id)
    assert len(sandbox.requests("POST", f"/v2/conversations/{conv.conversation_id}/end")) == 2
    assert len(sandbox.requests("DELETE", f"/v2/pals/{pal.pal_id}")) == 2


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_creates_are_never_retried(sandbox: SandboxHandle, status: int) -> None:
    async with client(sandbox) as api:
        pal = await api.create_pal(SEED_PAL)
        sandbox.fault(method="POST", path="/v2/conversations", status=status)
        sandbox.fault(method="POST", path="/v2/pals", status=status)
        with pytest.raises((errors.Unavailable, errors.RateLimited)):
            await api.create_conversation({"pal_id": pal.pal_id})
        with pytest.raises((errors.Unavailable, errors.RateLimited)):
            await api.create_pal(SEED_PAL)
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1
    assert len(sandbox.requests("POST", "/v2/pals")) == 2


async def test_create_after_read_timeout_is_outcome_unknown_not_retried(
    sandbox: SandboxHandle,
) -> None:
    async with client(sandbox, read_timeout=0.3) as api:
        pal = await api.create_pal(SEED_PAL)
        sandbox.fault(method="POST", path="/v2/conversations", latency=1.0, times=1)
        with pytest.raises(errors.OutcomeUnknown):
            await api.create_conversation({"pal_id": pal.pal_id})
    await asyncio.sleep(0.8)  # the slow request completes upstream: one conversation exists
    assert len(sandbox.requests("POST", "/v2/conversations")) == 1


async def test_fifteen_second_hang_returns_within_timeout(sandbox: SandboxHandle) -> None:
    sandbox.fault(method="GET", path="/v2/pals", latency=15.0)
    async with client(sandbox, read_timeout=0.5, deadline=1.5, max_retries=5) as api:
        started = time.monotonic()
        with pytest.raises(errors.Timeout):
            await api.list_pals()
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    # the deadline covered the retries: a few attempts, not max_retries + 1 full waits
    assert 1 <= len(sandbox.requests("GET", "/v2/pals")) <= 3


async def test_connection_refused_is_unavailable(sandbox: SandboxHandle) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    async with PalApiClient(
        "k-1234", base_url=f"http://127.0.0.1:{port}", max_retries=1, backoff_base=0.01
    ) as api:
        with pytest.raises(errors.Unavailable):
            await api.list_pals()
        with pytest.raises(errors.Unavailable):  # nothing was sent: plainly unavailable
            await api.create_conversation({"pal_id": "p1"})


# ---- the key never leaks ---------------------------------------------------------------


async def test_key_never_in_repr_logs_or_errors(
    sandbox: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-very-secret-value-XYZ9"
    sandbox.fault(method="GET", path="/v2/pals", status=500, body={"message": f"bad key {secret}"})
    api = client(sandbox, key=secret, max_retries=1)
    with pytest.raises(errors.Unavailable) as info:
        await api.list_pals()
    with pytest.raises(errors.Unauthorized) as info2:
        await api.list_faces()
    await api.aclose()
    texts = [repr(api), str(info.value), repr(info.value), str(info2.value), caplog.text]
    assert all(secret not in t for t in texts)
    assert "XYZ9" in repr(api)


async def test_ids_with_path_characters_refused(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as api:
        with pytest.raises(errors.InvalidRequest):
            await api.get_pal("../conversations")
    assert sandbox.requests() == []


async def test_two_keys_see_separate_data(sandbox: SandboxHandle) -> None:
    async with client(sandbox) as a, client(sandbox, key=SANDBOX_KEY_2) as b:
        pal = await a.create_pal(SEED_PAL)
        assert (await b.list_pals()).data == []
        with pytest.raises(errors.NotFound):
            await b.get_pal(pal.pal_id)


def test_sandbox_command_prints_a_demo_key_and_serves(tmp_path: Any) -> None:
    import subprocess
    import sys

    import httpx

    from tests.servers import reserve_socket

    sock = reserve_socket()
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "palbot", "sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "demo PAL API key:" in first
        key = first.rsplit(":", 1)[1].strip()
        assert "development and demos" in proc.stdout.readline()
        deadline = time.monotonic() + 20
        while True:
            try:
                faces = httpx.get(f"http://127.0.0.1:{port}/v2/faces", headers={"x-api-key": key})
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert faces.status_code == 200 and faces.json()["total_count"] >= 1
        refused = httpx.get(f"http://127.0.0.1:{port}/v2/faces", headers={"x-api-key": "x"})
        assert refused.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ({**SEED_PAL, "pipeline_mode": "turbo"}, "pipeline_mode", "turbo"),
        (
            {**SEED_PAL, "layers": {"perception": {"perception_model": "raven-9"}}},
            "layers.perception.perception_model",
            "raven-9",
        ),
        (
            {**SEED_PAL, "layers": {"conversational_flow": {"turn_taking_patience": "eager"}}},
            "layers.conversational_flow.turn_taking_patience",
            "eager",
        ),
    ],
)
async def test_values_palbot_does_not_know_go_to_the_api_which_is_the_judge(
    sandbox: SandboxHandle, body: dict, field: str, value: str
) -> None:
    """Known values are suggestions, not a wall (issue 14): palbot sends what it does not
    know, and says so; the PAL API decides (here it refuses, naming the field and value)."""
    from palbot.pal_api.models import unfamiliar_values

    assert unfamiliar_values(body) == [(field, value)]
    async with client(sandbox) as api:
        with pytest.raises(errors.InvalidRequest) as refused:
            await api.create_pal(body)
    assert len(sandbox.requests("POST", "/v2/pals")) == 1  # sent: upstream judged it
    assert field in str(refused.value) and repr(value) in str(refused.value)


async def test_newer_documented_values_are_accepted(sandbox: SandboxHandle) -> None:
    from palbot.pal_api.models import unfamiliar_values

    body = {
        **SEED_PAL,
        "pipeline_mode": "speech-to-speech",
        "layers": {"conversational_flow": {"turn_detection_model": "time-based"}},
    }
    assert unfamiliar_values(body) == []
    async with client(sandbox) as api:
        pal = await api.create_pal(body)
    assert pal.raw["pipeline_mode"] == "speech-to-speech"
