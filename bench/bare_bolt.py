"""A bare Bolt AsyncApp under uvicorn whose /pal handler only acks: the baseline for
bench/ack_latency.py. Reads SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and SLACK_API_URL.

By default Bolt's own default (`process_before_response=False`): the listener runs as a task and
Bolt polls for its ack every 10 ms. `--at-ack` sets `process_before_response=True`, so the answer
leaves as soon as the handler has acked, as palbot's do (a second, fairer reference point)."""

from __future__ import annotations

import argparse
import os

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build(at_ack: bool = False) -> Starlette:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
    )
    app = AsyncApp(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        client=client,
        process_before_response=at_ack,
    )

    @app.command("/pal")
    async def pal(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--at-ack", action="store_true", help="process_before_response=True")
    args = parser.parse_args()
    uvicorn.run(build(args.at_ack), host="127.0.0.1", port=args.port, log_level="warning")
