"""A checking reverse proxy for tests: every request must pass `check` before it reaches the upstream.

    gw = Gateway(upstream_url, JwtCheck(jwks_url, issuer, audience)).start()
    ... requests to gw.url ...
    gw.stop()

`check(request) -> Denial | None` sees the method, raw path (with query), headers and the exact
body bytes received. `JwtCheck` validates RS256 access tokens against the oauth2 service's JWKS
(iss, aud, exp) and can be told to refuse particular tokens (`revoke(jti)`) or everything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from mlflow_testenv.http_server import LocalHTTPServer

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
               "transfer-encoding", "upgrade", "content-length", "content-encoding"}


@dataclass
class Received:
    method: str
    path: str  # raw path with query string, as received
    headers: dict[str, str]  # as received (case preserved, last value wins)
    body: bytes


@dataclass
class Denial:
    status: int
    message: str
    headers: dict[str, str] | None = None


Check = Callable[[Received], "Denial | None"]
Inject = Callable[[Received], dict[str, str]]


class Gateway:
    """`inject(request)` (optional) returns headers added to the forwarded request, e.g. a bearer
    token obtained for the caller; the caller's own Authorization header is never forwarded."""

    def __init__(self, upstream: str, check: Check, inject: Inject | None = None, port: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        self.check = check
        self.inject = inject
        self.passed = 0
        self.denied: list[Denial] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                gateway._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        self._server = LocalHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Gateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def close(self) -> None:
        """Release the port of a gateway that was never started."""
        self._server.server_close()

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
            s.trust_env = False
        return s

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        got = Received(h.command, h.path, {k: v for k, v in h.headers.items()}, body)
        try:
            denial = self.check(got)
        except Exception as e:  # a broken check must show up as a failure, not a hang
            denial = Denial(500, f"check failed: {type(e).__name__}: {e}")
        if denial is not None:
            with self._lock:
                self.denied.append(denial)
            payload = denial.message.encode()
            h.send_response(denial.status)
            for k, v in (denial.headers or {}).items():
                h.send_header(k, v)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        with self._lock:
            self.passed += 1
        fwd = {k: v for k, v in got.headers.items() if k.lower() not in _HOP_BY_HOP | {"host", "authorization"}}
        if self.inject is not None:
            fwd.update(self.inject(got))
        resp = self._session().request(got.method, self.upstream + got.path, headers=fwd, data=body,
                                       allow_redirects=False, timeout=120)
        content = resp.content
        h.send_response(resp.status_code)
        for k, v in resp.headers.items():
            if k.lower() not in _HOP_BY_HOP:
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(content)))
        h.end_headers()
        if got.method != "HEAD":
            h.wfile.write(content)


class JwtCheck:
    """Resource-server side of the oauth2 service: RS256 JWTs from its JWKS, checked for iss/aud/exp."""

    def __init__(self, jwks_url: str, issuer: str, audience: str) -> None:
        self.keys = KeySet.import_key_set(requests.get(jwks_url, timeout=10).json())
        self.claims = JWTClaimsRegistry(iss={"essential": True, "value": issuer},
                                        aud={"essential": True, "value": audience},
                                        exp={"essential": True}, sub={"essential": True})
        self.revoked_jti: set[str] = set()
        self.refuse_all = False
        self.seen_subjects: list[str] = []
        self.last_token = ""

    def revoke(self, token: str) -> None:
        self.revoked_jti.add(jwt.decode(token, self.keys).claims["jti"])

    def __call__(self, got: Received) -> Denial | None:
        header = next((v for k, v in got.headers.items() if k.lower() == "authorization"), "")
        if not header.startswith("Bearer "):
            return _unauthorized("missing bearer token")
        try:
            tok = jwt.decode(header[7:], self.keys, algorithms=["RS256"])
            self.claims.validate(tok.claims)
        except (JoseError, ValueError) as e:
            return _unauthorized(f"invalid token: {type(e).__name__}")
        if self.refuse_all or tok.claims.get("jti") in self.revoked_jti:
            return _unauthorized("token revoked")
        self.seen_subjects.append(tok.claims["sub"])
        self.last_token = header[7:]
        return None


def _unauthorized(why: str) -> Denial:
    return Denial(401, why, {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{why}"'})
