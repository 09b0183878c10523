"""Store tests are written against the interfaces; each backend listed here must pass them all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from palbot.store import Store
from palbot.store.postgres.store import open_postgres_store
from palbot.store.sqlite.store import open_sqlite_store

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = open_sqlite_store(tmp_path / "palbot.db", Fernet.generate_key().decode())
    else:  # a real PostgreSQL server, started for the session (tests/pg.py)
        url = request.getfixturevalue("postgres_url")
        s = open_postgres_store(url, Fernet.generate_key().decode())
    yield s
    s.close()
