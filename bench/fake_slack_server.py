"""The recording fake Slack Web API in a process of its own (so the load generator does not
slow it down). Recorded calls are read back from GET /_calls?method=...; `at` is
time.monotonic(), which is system-wide on Linux and so comparable across processes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.slack_api import FakeSlack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0: reachable from containers")
    parser.add_argument("--workspace", action="append", default=[], help="TEAM=TOKEN")
    args = parser.parse_args()
    fake = FakeSlack()
    fake.url = f"http://127.0.0.1:{args.port}"
    for item in args.workspace:
        team, token = item.split("=", 1)
        fake.add_workspace(team, token)
    app = fake.asgi()

    async def calls(request: Request) -> Response:
        method = request.query_params.get("method")
        rows = [
            {"method": c.method, "at": c.at, "trigger_id": c.args.get("trigger_id")}
            for c in fake.calls
            if method in (None, c.method)
        ]
        return JSONResponse(rows)

    async def reset(request: Request) -> Response:
        fake.calls.clear()
        fake.responses.clear()
        return JSONResponse({"ok": True})

    app.router.routes.insert(0, Route("/_calls", calls, methods=["GET"]))
    app.router.routes.insert(0, Route("/_reset", reset, methods=["POST"]))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
