"""Service-account API keys: `mlrbac_<key id>_<secret>`; only a SHA-256 of the whole key is stored.

A fast hash is enough here (unlike passwords): the secret part is 256 random bits.
"""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "mlrbac_"
_SHAPE = re.compile(r"^mlrbac_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


def new_key() -> tuple[str, str]:
    """Returns (key_id, full key). The full key is shown once and never stored."""
    key_id = secrets.token_hex(8)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str | None:
    m = _SHAPE.match(key)
    return m.group(1) if m else None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def matches(key: str, stored_hash: str) -> bool:
    return secrets.compare_digest(hash_key(key), stored_hash)
