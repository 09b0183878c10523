"""Encryption of stored secrets (Fernet) and where the secret key comes from."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger("palbot.store")


class SecretKeyError(Exception):
    """The secret key is malformed, missing, or not the one the database was encrypted with."""


GENERATE_HINT = (
    'generate one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def parse_keys(value: str, source: str) -> list[bytes]:
    keys = [part.strip().encode() for part in value.split(",") if part.strip()]
    if not keys:
        raise SecretKeyError(f"{source} is empty; {GENERATE_HINT}")
    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"{source} (key #{index + 1}) is not a valid Fernet key "
                f"(32 url-safe base64-encoded bytes); {GENERATE_HINT}"
            ) from None
    return keys


class SecretBox:
    """Encrypts with the first key; decrypts with any (so a rotation can be in progress).

    With a key file, it follows `palbot rotate-secret` by itself: when the file changes (checked
    before each encryption, and when a stored secret will not open) it takes the file's keys,
    encrypts under the first from then on, and keeps the keys it held for what it already read.
    """

    def __init__(
        self, keys: list[bytes], source: str = "the secret key", key_file: Path | None = None
    ) -> None:
        if not keys:
            raise SecretKeyError("no secret key given")
        self.source = source
        self.key_file = key_file
        self._stamp = _stamp(key_file)
        self._install(keys)

    def _install(self, keys: list[bytes]) -> None:
        self.keys = list(keys)
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def adopt(self, keys: list[bytes]) -> None:
        """Use `keys` from now on (this process wrote them to the key file itself)."""
        self._install(keys)
        self._stamp = _stamp(self.key_file)

    def opens_with_primary(self, token: str) -> bool:
        try:
            Fernet(self.primary).decrypt(token.encode("ascii"))
        except (InvalidToken, ValueError):
            return False
        return True

    def refresh(self) -> bool:
        """Take the key file's keys if it changed since it was read; True if they changed."""
        if self.key_file is None:
            return False
        stamp = _stamp(self.key_file)
        if stamp is None or stamp == self._stamp:
            return False
        try:
            keys = parse_keys(self.key_file.read_text(), str(self.key_file))
        except (OSError, SecretKeyError) as exc:
            log.error("could not re-read %s: %s", self.key_file, exc)
            return False
        self._stamp = stamp
        if keys == self.keys[: len(keys)]:
            return False
        self._install(keys + [k for k in self.keys if k not in keys])
        log.warning(
            "%s changed (a key rotation): encrypting under its first key from now on",
            self.key_file,
        )
        return True

    def encrypt(self, plaintext: str) -> str:
        self.refresh()
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        for attempt in range(2):
            try:
                return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
            except (InvalidToken, ValueError):
                if attempt or not self.refresh():
                    break
        raise SecretKeyError(
            f"stored secrets cannot be decrypted with {self.source}: it is not the key this "
            "database was encrypted with (was PALBOT_SECRET_KEY changed, or the "
            "<database>.key file replaced?). Restore the original key; during a rotation give "
            "both as PALBOT_SECRET_KEY=new,old, or keep both in the key file until "
            "`palbot rotate-secret --finish`."
        )

    def reencrypt(self, token: str) -> str:
        """The same secret under the first key (whichever key it was under)."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    @property
    def primary(self) -> bytes:
        return self.keys[0]


def _stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def write_key_file(path: Path, key: bytes) -> None:
    """Write a key file with mode 0600, atomically replacing any previous one."""
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load_secret_box(env_value: str | None, key_file: Path) -> SecretBox:
    """The SecretBox from PALBOT_SECRET_KEY, else from `<database>.key` (created on first run)."""
    if env_value:
        return SecretBox(parse_keys(env_value, "PALBOT_SECRET_KEY"), "PALBOT_SECRET_KEY")
    if key_file.exists():
        mode = stat.S_IMODE(key_file.stat().st_mode)
        if mode & 0o077:
            log.warning("%s was readable by others (mode %o); tightened to 0600", key_file, mode)
            key_file.chmod(0o600)
        keys = parse_keys(key_file.read_text(), str(key_file))
        return SecretBox(keys, str(key_file), key_file=key_file)
    key = Fernet.generate_key()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    write_key_file(key_file, key)
    log.info("generated a new secret key in %s (mode 0600): back it up with the database", key_file)
    return SecretBox([key], str(key_file), key_file=key_file)


def hash_token(token: str) -> str:
    """What is stored of a bearer token (a callback URL's): its SHA-256, hex. The token itself
    is long and random, so no salt or slow hash is needed; a database copy cannot be replayed."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    """Compare a presented token with a stored hash in constant time."""
    return bool(stored_hash) and hmac.compare_digest(hash_token(token), stored_hash or "")
