"""The signing key: one RSA key per data dir, kept across restarts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from joserfc.jwk import RSAKey


def load_or_create_key(workdir: Path) -> dict[str, Any]:
    """Return the private JWK (a dict) stored in `workdir`, creating it on first use."""
    path = workdir / "signing-key.json"
    if path.exists():
        return json.loads(path.read_text())
    key = RSAKey.generate_key(2048, parameters={"kid": "testenv-1", "use": "sig", "alg": "RS256"})
    data = key.as_dict(private=True)
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return data


def public_jwks(private_jwk: dict[str, Any]) -> dict[str, Any]:
    public = {k: v for k, v in private_jwk.items() if k in ("kty", "n", "e", "kid", "use", "alg")}
    return {"keys": [public]}
