"""Read `exp` from a JWT without verifying it: only used to decide how long to cache a token."""

from __future__ import annotations

import base64
import json
import time


def seconds_until_jwt_expiry(token: str) -> float | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        exp = payload.get("exp") if isinstance(payload, dict) else None
        return float(exp) - time.time() if isinstance(exp, (int, float)) else None
    except (ValueError, TypeError):
        return None
