"""Registered OAuth2 clients and per-client token-request counters (JSON file in the data dir)."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Client:
    client_id: str
    client_secret: str
    groups: list[str] = field(default_factory=list)
    scope: str = ""
    token_lifetime: int | None = None  # None: the server's default
    audience: str | None = None  # None: the server's default
    revoked: bool = False

    # authlib's ClientMixin protocol
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return self.scope
        allowed = set(self.scope.split()) if self.scope else None
        asked = scope.split()
        return " ".join(s for s in asked if allowed is None or s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(self.client_secret.encode(), (client_secret or "").encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials" and not self.revoked


class ClientStore:
    """Thread-safe; persisted so a restarted server keeps its clients."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self.token_requests: dict[str, int] = {}
        self.total_token_requests = 0
        if path.exists():
            for raw in json.loads(path.read_text()):
                c = Client(**raw)
                self._clients[c.client_id] = c

    def _save(self) -> None:
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(c) for c in self._clients.values()]))
        tmp.replace(self._path)

    def get(self, client_id: str | None) -> Client | None:
        with self._lock:
            c = self._clients.get(client_id or "")
        return c if c is not None and not c.revoked else None

    def register(self, client_id: str | None = None, client_secret: str | None = None, **extra) -> Client:
        with self._lock:
            cid = client_id or f"client-{secrets.token_hex(6)}"
            c = Client(cid, client_secret or secrets.token_urlsafe(24), **extra)
            self._clients[cid] = c
            self._save()
            return c

    def revoke(self, client_id: str) -> bool:
        with self._lock:
            c = self._clients.get(client_id)
            if c is None:
                return False
            c.revoked = True
            self._save()
            return True

    def count_request(self, client_id: str | None) -> None:
        with self._lock:
            self.total_token_requests += 1
            key = client_id or ""
            self.token_requests[key] = self.token_requests.get(key, 0) + 1

    def stats(self) -> dict:
        with self._lock:
            return {"total": self.total_token_requests, "by_client": dict(self.token_requests)}
