"""The edge (issue 16, items 1 and 2): bounded, streaming request bodies on every route, checked
before anything holds them whole; strangers answered 4xx, never 5xx, never with a traceback."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.slack.conftest import PalbotHandle


@pytest.fixture
def served(make_palbot: Any) -> PalbotHandle:
    return make_palbot(http=True)  # bodies streamed over a real socket


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


def rss_mb() -> float:
    from pathlib import Path

    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.parametrize("path", ["/slack/events", "/pal/callbacks/" + "a" * 43])
def test_a_huge_chunked_body_is_refused_while_it_streams(served: PalbotHandle, path: str) -> None:
    """Memory stays flat: three 60 MB unsigned chunked uploads (palbot serves in this test's
    process, so its resident memory is measured here, sampled while they stream)."""
    import threading

    peak = [rss_mb()]
    start_rss = peak[0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    began = time.monotonic()
    try:
        for _ in range(3):
            with httpx.Client(base_url=served.url, timeout=30) as client:
                try:
                    resp = client.post(path, content=chunks(60 * 1024 * 1024))  # no length
                    status = resp.status_code
                except httpx.HTTPError:  # answered and closed before the upload ended
                    status = 413
            assert status == 413
    finally:
        done.set()
        sampler.join()
    assert time.monotonic() - began < 20
    assert peak[0] - start_rss < 25, f"resident memory grew {peak[0] - start_rss:.0f} MB"


STRANGE = [
    ("payload=[1]", "application/x-www-form-urlencoded"),
    ('payload="str"', "application/x-www-form-urlencoded"),
    ("payload=null", "application/x-www-form-urlencoded"),
    ("[]", "application/json"),
    ('{"enterprise": 5}', "application/json"),
    ("[" * 5000 + "]" * 5000, "application/json"),
    ("payload=" + "%5B" * 3000, "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize(("body", "kind"), STRANGE)
def test_strangers_get_4xx_without_a_traceback(
    palbot: PalbotHandle, body: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    unsigned = palbot.slack.post(body, kind, signature="v0=" + "0" * 64)
    assert unsigned.status_code == 401
    bad_clock = palbot.slack.http.post(
        "/slack/events",
        content=body.encode(),
        headers={
            "content-type": kind,
            "x-slack-request-timestamp": "abc",
            "x-slack-signature": "v0=1",
        },
    )
    assert bad_clock.status_code == 401
    signed = palbot.slack.post(body, kind)  # signed by a workspace, yet nonsense
    assert 400 <= signed.status_code < 500
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert body[:40] not in caplog.text or len(body) < 12  # what strangers send is not logged


def test_a_deeply_nested_callback_is_a_400(palbot: PalbotHandle) -> None:
    resp = palbot.slack.http.post(
        "/pal/callbacks/" + "a" * 43,
        content=("[" * 5000 + "]" * 5000).encode(),
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/slack/events", "/pal/callbacks/" + "b" * 43, "/healthz"]),
    body=st.binary(max_size=2000),
    stamp=st.one_of(st.just(None), st.text(max_size=12)),
    signature=st.one_of(st.just(None), st.text(max_size=80)),
)
def test_no_request_from_a_stranger_is_answered_5xx(
    palbot: PalbotHandle, path: str, body: bytes, stamp: str | None, signature: str | None
) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if stamp is not None:
        headers["x-slack-request-timestamp"] = stamp.encode("ascii", "ignore").decode() or "x"
    if signature is not None:
        headers["x-slack-signature"] = signature.encode("ascii", "ignore").decode() or "x"
    method = "GET" if path == "/healthz" else "POST"
    resp = palbot.slack.http.request(method, path, content=body, headers=headers)
    assert resp.status_code < 500, (path, resp.status_code, resp.text[:200])


def test_signed_payloads_of_every_odd_shape_are_4xx(palbot: PalbotHandle) -> None:
    for payload in ([1], "str", None, {"type": "block_actions"}, {"type": "view_submission"}):
        body = urlencode({"payload": json.dumps(payload)})
        resp = palbot.slack.post(body, "application/x-www-form-urlencoded")
        assert resp.status_code < 500, (payload, resp.status_code)


def test_a_click_from_a_workspace_that_never_installed_is_not_a_500(
    make_palbot: Any, fake_slack: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Signed (the app's secret leaked, or a replay), from a team with no installation, and a
    response_url that answers nothing: refused without a 5xx or a traceback."""
    palbot: PalbotHandle = make_palbot(
        slack_bot_token=None, slack_client_id="111.222", slack_client_secret="client-secret-xyz"
    )
    caplog.set_level(logging.DEBUG)
    for action_id in ("conversation_end", "pal_delete_confirm", "patch_force"):
        resp = palbot.slack.block_action(
            action_id, "c-123", team="T_NEVER", response_url="http://127.0.0.1:9/dead"
        )
        assert resp.status_code < 500, (action_id, resp.status_code, resp.text)
    command = palbot.slack.command("help", team="T_NEVER", response_url="http://127.0.0.1:9/x")
    assert command.status_code < 500
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert palbot.audit() == []  # nothing was accepted for a workspace palbot does not serve
