"""Fixtures: a real mlflow server (tools/testenv) behind a recording HTTP proxy started here."""

from __future__ import annotations

import http.client
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import pytest
from mlflow import MlflowClient
from mlflow_headers_env import settings

from mlflow_testenv import session_service
from mlflow_testenv.http_server import LocalHTTPServer

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "content-length"}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    raw_header_lines: list[str]
    status: int = 0


class RecordingProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                            [f"{k}: {v}" for k, v in self.headers.items()])
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
                try:
                    fwd = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    conn.request(self.command, self.path, body=body, headers=fwd)
                    resp = conn.getresponse()
                    data = resp.read()
                    seen.status = resp.status
                    # recorded before the client gets its answer: a test may look right after its call returns
                    with proxy._lock:
                        proxy.requests.append(seen)
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in _HOP_BY_HOP:
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()
                    with proxy._lock:
                        if not any(x is seen for x in proxy.requests):  # the upstream failed before it was recorded
                            proxy.requests.append(seen)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        self._server = LocalHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def api_requests(self) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if "/api/" in r.path]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="session")
def mlflow_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return session_service("mlflow", tmp_path_factory)["MLFLOW_TESTENV_MLFLOW_URL"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for s in settings.ALL:
        monkeypatch.delenv(s.env, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


@pytest.fixture
def proxy(mlflow_url: str) -> Iterator[RecordingProxy]:
    p = RecordingProxy(mlflow_url)
    yield p
    p.close()


@pytest.fixture
def client(proxy: RecordingProxy) -> MlflowClient:
    """A client whose every REST request goes through the recording proxy to the real server."""
    return MlflowClient(tracking_uri=proxy.url)


@pytest.fixture
def direct_client(mlflow_url: str) -> MlflowClient:
    return MlflowClient(tracking_uri=mlflow_url)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    return f"{request.node.name[:40]}-{os.getpid()}-{os.urandom(4).hex()}"
