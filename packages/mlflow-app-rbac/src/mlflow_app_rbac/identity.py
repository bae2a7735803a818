"""Who is calling: a JWT bearer token, a service-account API key or the bootstrap admin key."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from mlflow_app_rbac import apikeys
from mlflow_app_rbac.config import RbacConfig
from mlflow_app_rbac.store import RbacStore
from mlflow_app_rbac.tokens import TokenError, TokenValidator

BOOTSTRAP_PRINCIPAL = "bootstrap-admin"


@dataclass(frozen=True)
class Principal:
    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    kind: str = "user"  # user | api_key | bootstrap
    key_id: str | None = None  # the API key's id (kind api_key)
    expires_at: float | None = None  # the JWT's `exp` (kind user)


class AuthError(Exception):
    """Authentication failed; the message is safe to return to the client."""


class TtlCache:
    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._data[key]
                return None
            return item[1]

    def put(self, key: Any, value: Any, ttl: float | None = None) -> None:
        if (ttl if ttl is not None else self.ttl) <= 0:
            return
        with self._lock:
            self._data[key] = (time.monotonic() + (ttl if ttl is not None else self.ttl), value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _groups(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(g for g in value.replace(",", " ").split() if g)
    if isinstance(value, list):
        return frozenset(str(g) for g in value if isinstance(g, (str, int)))
    return frozenset()


class Authenticator:
    def __init__(self, cfg: RbacConfig, store: RbacStore) -> None:
        self.cfg = cfg
        self.store = store
        self.validator = TokenValidator(cfg) if cfg.jwt_enabled else None
        self._bootstrap_hash = (
            apikeys.hash_key(cfg.bootstrap_admin_key.get()) if cfg.bootstrap_admin_key else None
        )
        self._cache = TtlCache(cfg.cache_seconds)
        self._token_cache = TtlCache(60.0)

    def forget_keys(self) -> None:
        self._cache.clear()

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise AuthError("missing Authorization header (expected 'Bearer <token or API key>')")
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise AuthError("unsupported Authorization scheme (expected 'Bearer <token or API key>')")
        if self._bootstrap_hash and secrets.compare_digest(apikeys.hash_key(credential), self._bootstrap_hash):
            return Principal(BOOTSTRAP_PRINCIPAL, frozenset(), True, "bootstrap")
        if credential.startswith(apikeys.PREFIX):
            return self._api_key(credential)
        return self._jwt(credential)

    def _api_key(self, key: str) -> Principal:
        key_id = apikeys.key_id_of(key)
        if key_id is None:
            raise AuthError("malformed API key")
        digest = apikeys.hash_key(key)
        cached = self._cache.get(("key", digest))
        if cached is not None:
            return cached
        rec = self.store.get_api_key(key_id)
        if rec is None or not secrets.compare_digest(digest, rec.key_hash):
            raise AuthError("unknown API key")
        if rec.revoked_at is not None:
            raise AuthError("API key has been revoked")
        principal = Principal(rec.principal, frozenset(rec.groups),
                              rec.is_admin or self._admin(rec.principal, frozenset(rec.groups)), "api_key",
                              key_id=rec.key_id)
        self._cache.put(("key", digest), principal)
        return principal

    def _jwt(self, token: str) -> Principal:
        if self.validator is None:
            raise AuthError("JWT bearer tokens are not accepted by this server (no JWKS configured)")
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._token_cache.get(digest)
        if cached is not None and cached[1] > time.time() - self.cfg.leeway:
            return cached[0]
        try:
            claims = self.validator.validate(token)
        except TokenError as e:
            raise AuthError(str(e)) from None
        user = _claim(claims, self.cfg.user_claim)
        if not isinstance(user, (str, int)) or not str(user).strip():
            raise AuthError(f"token lacks the user claim {self.cfg.user_claim!r}")
        groups = _groups(_claim(claims, self.cfg.groups_claim))
        exp = float(claims.get("exp", 0))
        principal = Principal(str(user), groups, self._admin(str(user), groups), "user", expires_at=exp or None)
        self._token_cache.put(digest, (principal, exp), ttl=min(60.0, max(0.0, exp - time.time())))
        return principal

    def admin_reasons(self, principal: Principal) -> list[str]:
        """Why `principal` is an admin (empty when it is not): what an operator would change to revoke it."""
        reasons = []
        if principal.kind == "bootstrap":
            reasons.append("the bootstrap admin key (MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY)")
        if principal.name in self.cfg.admin_users and principal.kind != "bootstrap":
            reasons.append(f"user {principal.name!r} is in MLFLOW_RBAC_ADMIN_USERS")
        via_groups = sorted(principal.groups & self.cfg.admin_groups)
        if via_groups:
            reasons.append(f"group(s) {', '.join(via_groups)} in MLFLOW_RBAC_ADMIN_GROUPS")
        if principal.kind == "api_key" and principal.key_id:
            rec = self.store.get_api_key(principal.key_id)
            if rec is not None and rec.is_admin:
                reasons.append(f"API key {principal.key_id} was created as an admin key (is_admin)")
        return reasons

    def _admin(self, user: str, groups: frozenset[str]) -> bool:
        return user in self.cfg.admin_users or bool(groups & self.cfg.admin_groups)
