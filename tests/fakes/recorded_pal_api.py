"""Replays recorded, real-shaped PAL API answers (tests/data/pal_api/recorded.json): an
upstream stand-in that is not palbot's sandbox, so the contract tests can hold the sandbox and
the client to the same documented shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

RECORDED = Path(__file__).resolve().parents[1] / "data" / "pal_api" / "recorded.json"
KEY = "sk-recorded-0000000001"


def recorded_api(generation: str) -> Starlette:
    answers: dict[str, Any] = json.loads(RECORDED.read_text())[generation]

    async def answer(request: Request) -> Response:
        if request.headers.get("x-api-key") != KEY:
            return JSONResponse({"message": "Invalid access token"}, status_code=401)
        found = answers.get(f"{request.method} {request.url.path}")
        if found is None:
            return JSONResponse({"message": "not recorded"}, status_code=404)
        status, body = found
        return Response(status_code=status) if body is None else JSONResponse(body, status)

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST", "PATCH"])])
