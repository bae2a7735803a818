"""A browser login in front of a bearer-token-only server, for `make demo`.

The browser asks for a user name and password (HTTP Basic); they are an OAuth2 client id and
secret of the oauth2 service. The proxy exchanges them for an access token (client-credentials
grant, cached until shortly before it expires) and forwards each request with
`Authorization: Bearer <token>`: what an OIDC-aware proxy does in front of the MLflow UI in
production.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time

import requests

from mlflow_testenv.oauth2_server.gateway import Denial, Gateway, Received

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="MLflow (log in with your OAuth2 client id and secret)"'}


class BasicToBearer:
    def __init__(self, token_url: str) -> None:
        self.token_url = token_url
        self._tokens: dict[str, tuple[str, float]] = {}  # Basic header -> (token, expires at)
        self._lock = threading.Lock()

    def _token(self, header: str) -> str | None:
        with self._lock:
            cached = self._tokens.get(header)
        if cached and cached[1] > time.time():
            return cached[0]
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        r = requests.post(self.token_url, data={"grant_type": "client_credentials"}, auth=(user, password), timeout=10)
        if r.status_code != 200:
            return None
        body = r.json()
        token = str(body["access_token"])
        with self._lock:
            self._tokens[header] = (token, time.time() + max(int(body.get("expires_in", 60)) - 30, 1))
        return token

    def check(self, got: Received) -> Denial | None:
        header = next((v for k, v in got.headers.items() if k.lower() == "authorization"), "")
        if not header.startswith("Basic ") or self._token(header) is None:
            return Denial(401, "log in with your OAuth2 client id and secret", _CHALLENGE)
        return None

    def inject(self, got: Received) -> dict[str, str]:
        header = next(v for k, v in got.headers.items() if k.lower() == "authorization")
        return {"Authorization": f"Bearer {self._token(header)}"}


class LoginProxy:
    """Binds 127.0.0.1:`port` at once (so no server started meanwhile can take it); `start()` serves."""

    def __init__(self, port: int) -> None:
        self.login = BasicToBearer("")
        self.gateway = Gateway("", self.login.check, self.login.inject, port=port)
        self.url = self.gateway.url
        self._started = False

    def start(self, upstream: str, token_url: str) -> LoginProxy:
        self.login.token_url = token_url
        self.gateway.upstream = upstream.rstrip("/")
        self.gateway.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self.gateway.stop()
        else:
            self.gateway.close()
