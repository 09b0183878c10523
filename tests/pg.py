"""A throwaway PostgreSQL server for the tests, started the way an operator would start one:
this machine's PostgreSQL packages, as an unprivileged user (PostgreSQL refuses to run as
root), on 127.0.0.1, in a temporary directory, gone at the end."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from tests.servers import reserve_socket

UNPRIVILEGED = ("postgres", "palbot-pg")


def pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found: install the server (Debian: "
            "`apt-get install postgresql`); .ci/run does this on a fresh machine"
        )
    return found


def _runner() -> tuple[list[str], str | None]:
    """How to run a command as an unprivileged user (when this process is root)."""
    if os.geteuid() != 0:
        return [], None
    for user in UNPRIVILEGED:
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"], user
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


class PostgresServer:
    def __init__(self) -> None:
        self.prefix, self.user = _runner()
        self.dir = Path(tempfile.mkdtemp(prefix="palbot-pg-"))
        self.data = self.dir / "data"
        sock = reserve_socket()
        self.port = sock.getsockname()[1]
        sock.close()
        if self.user:
            shutil.chown(self.dir, self.user)
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8")  # fmt: skip
        self._run(
            pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.dir} -h 127.0.0.1 -c fsync=off -c full_page_writes=off "
            "-c synchronous_commit=off -c max_connections=200",
            "start",
        )
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}")

    def new_database(self, encoding: str | None = None) -> str:
        """A fresh, empty database on this server; its URL. `encoding`: the database's own
        (SQL_ASCII, say, as `initdb` makes it where no locale is set), else the server's."""
        name = "palbot_" + uuid.uuid4().hex[:12]
        options = f" ENCODING '{encoding}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{options if encoding else ""}')  # type: ignore[arg-type]
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        deadline = time.monotonic() + 30
        try:
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            while time.monotonic() < deadline and (self.data / "postmaster.pid").exists():
                time.sleep(0.05)
            shutil.rmtree(self.dir, ignore_errors=True)
