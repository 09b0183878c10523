"""Run ASGI apps on 127.0.0.1 in background threads, for tests over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


def reserve_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound socket, so a server's URL is known before the server is built."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class ServerThread:
    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None
    ) -> None:
        self.sock = sock or reserve_socket(host, port)
        self.host, self.port = self.sock.getsockname()
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
            timeout_keep_alive=30,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
