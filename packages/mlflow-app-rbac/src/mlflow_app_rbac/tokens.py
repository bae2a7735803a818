"""JWT bearer validation against a JWKS URL and/or a static key set (PyJWT).

Keys are cached for JWKS_CACHE_SECONDS; a token whose `kid` is unknown triggers one refetch,
at most every JWKS_MIN_REFRESH_SECONDS (so random kids cannot hammer the identity provider).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import jwt
import requests

from mlflow_app_rbac.config import RbacConfig
from mlflow_app_rbac.logs import logger
from mlflow_plugins_shared.errors import config_error
from mlflow_plugins_shared.redact import redact_uri


class TokenError(Exception):
    """The token is not acceptable; the message is safe to show (never holds the token)."""


def _parse_jwks(data: Any, where: str) -> dict[str, jwt.PyJWK]:
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError(f"{where} is not a JWKS (an object with a 'keys' list)")
    out: dict[str, jwt.PyJWK] = {}
    for i, k in enumerate(data["keys"]):
        if not isinstance(k, dict) or k.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(k)
        except (jwt.PyJWKError, jwt.InvalidKeyError) as e:
            logger.warning("skipping JWKS key #%d from %s: %s", i, where, e)
            continue
        out[str(k.get("kid", f"#{i}"))] = key
    return out


class KeySet:
    def __init__(self, cfg: RbacConfig) -> None:
        self._url = cfg.jwks_url
        self._ttl = cfg.jwks_cache_seconds
        self._min_refresh = cfg.jwks_min_refresh_seconds
        self._static: dict[str, jwt.PyJWK] = {}
        if cfg.jwks_file:
            try:
                self._static = _parse_jwks(json.loads(Path(cfg.jwks_file).read_text()), cfg.jwks_file)
            except (OSError, ValueError) as e:
                raise config_error("MLFLOW_RBAC_JWKS_FILE", f"cannot load {cfg.jwks_file!r}: {e}") from None
        self._fetched: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._last_attempt = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        assert self._url
        self._last_attempt = time.monotonic()
        try:
            resp = requests.get(self._url, timeout=5)
            resp.raise_for_status()
            keys = _parse_jwks(resp.json(), redact_uri(self._url))
        except (requests.RequestException, ValueError) as e:
            logger.warning("cannot fetch JWKS from %s: %s", redact_uri(self._url), type(e).__name__)
            return
        self._fetched, self._fetched_at = keys, time.monotonic()
        logger.debug("fetched %d JWKS keys from %s", len(keys), redact_uri(self._url))

    def key(self, kid: str | None) -> jwt.PyJWK:
        if kid is not None and kid in self._static:
            return self._static[kid]
        if self._url:
            with self._lock:
                now = time.monotonic()
                since_attempt = now - self._last_attempt
                stale = not self._fetched or now - self._fetched_at > self._ttl
                if stale and (self._last_attempt == 0.0 or since_attempt >= 1.0):
                    self._fetch()
                elif kid not in self._fetched and since_attempt >= self._min_refresh:
                    self._fetch()
                found = self._fetched.get(kid) if kid is not None else None
                if found is None and kid is None and len(self._fetched) == 1:
                    found = next(iter(self._fetched.values()))
            if found is not None:
                return found
        if kid is None and not self._url and len(self._static) == 1:
            return next(iter(self._static.values()))
        raise TokenError("signing key not found (unknown kid)")


class TokenValidator:
    def __init__(self, cfg: RbacConfig) -> None:
        self.cfg = cfg
        self.keys = KeySet(cfg)
        self.algorithms = [a for a in cfg.algorithms if a.lower() != "none"]

    def validate(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenError("malformed token") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg.lower() == "none" or alg not in self.algorithms:
            raise TokenError(f"token algorithm {str(alg)[:16]!r} is not allowed")
        kid = header.get("kid")
        key = self.keys.key(kid if isinstance(kid, str) else None)
        try:
            return jwt.decode(
                token, key=key.key, algorithms=[alg], audience=self.cfg.audience, issuer=self.cfg.issuer,
                leeway=self.cfg.leeway, options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("token is not valid yet (nbf/iat in the future)") from None
        except jwt.InvalidIssuerError:
            raise TokenError("token issuer is not accepted") from None
        except jwt.InvalidAudienceError:
            raise TokenError("token audience is not accepted") from None
        except jwt.MissingRequiredClaimError as e:
            raise TokenError(f"token lacks the {e.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenError("token signature is invalid") from None
        except (jwt.InvalidTokenError, jwt.PyJWKError, ValueError, TypeError) as e:
            raise TokenError(f"token is invalid ({type(e).__name__})") from None
