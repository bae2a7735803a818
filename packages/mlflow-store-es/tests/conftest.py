"""Real engines for every test: Elasticsearch 8.19 and OpenSearch 3.6 (the distributions both
publish to Maven Central, started by tools/testenv; MLFLOW_TESTENV_ES_VERSION and
MLFLOW_TESTENV_OPENSEARCH_VERSION choose others), plus an outside cluster when
MLFLOW_STORE_ES_TEST_URL is set."""

from __future__ import annotations

import base64
import http.client
import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mlflow_testenv import session_service
from mlflow_testenv.http_server import LocalHTTPServer

ENGINES = ["es", "opensearch", "external"]


def _external_base() -> str | None:
    """The outside cluster's base URI (MLFLOW_STORE_ES_TEST_URL without options), if one is set."""
    url = os.environ.get("MLFLOW_STORE_ES_TEST_URL")
    return url.split("?", 1)[0].rstrip("/") if url else None


def _engine_base(engine: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if engine == "external":
        base = _external_base()
        if not base:
            pytest.skip("MLFLOW_STORE_ES_TEST_URL is not set: no real Elasticsearch/OpenSearch cluster to test against")
        return base
    exports = session_service(engine, tmp_path_factory)
    http = exports[f"MLFLOW_TESTENV_{engine.upper()}_URL"]
    scheme = "elasticsearch" if engine == "es" else "opensearch"
    return f"{scheme}://{urlsplit(http).netloc}"


@pytest.fixture(scope="session", params=ENGINES)
def engine_base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`elasticsearch://host:port` or `opensearch://host:port` of a running engine."""
    return _engine_base(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def es_base(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _engine_base("es", tmp_path_factory)


@pytest.fixture(scope="session")
def server_exports(engine_base: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """`mlflow server` with this store for tracking and registry: its URL and its log file."""
    uri = f"{engine_base}/?index_prefix=server"
    scheme = engine_base.split(":", 1)[0]
    return session_service("mlflow", tmp_path_factory, ["--backend-store-uri", uri, "--registry-store-uri", uri],
                           key=f"mlflow-on-{scheme}")


@pytest.fixture(scope="session")
def server_url(server_exports: dict[str, str]) -> str:
    return server_exports["MLFLOW_TESTENV_MLFLOW_URL"]


# Index prefixes whose indices exist and hold no data, per engine, ready for the next test of this
# worker. Creating a prefix's 15 indices is 30 cluster-state updates on a real node (2-15 s on 2
# shared cores); emptying them is a few searches and bulk deletes.
_CLEAN_PREFIXES: dict[str, list[str]] = {}


def _http_of(engine_base: str) -> str:
    parts = urlsplit(engine_base)
    scheme = "https" if parts.scheme.endswith("+https") else "http"
    return f"{scheme}://{parts.netloc}"


def _empty_prefix(engine_base: str, prefix: str) -> bool:
    """Delete every document under `prefix` except the schema record, with plain REST calls (no store
    code); True when the indices are there and provably empty, so the prefix can be handed out again."""
    import requests

    http = _http_of(engine_base)
    data = f"{prefix}-*,-{prefix}-meta"
    try:
        requests.post(f"{http}/{prefix}-*/_refresh", timeout=60).raise_for_status()
        for _ in range(100):
            hits = requests.post(f"{http}/{data}/_search", json={"size": 5000, "_source": False, "sort": ["_doc"]},
                                 timeout=60).json()["hits"]["hits"]
            if not hits:
                break
            lines = "".join(json.dumps({"delete": {"_index": h["_index"], "_id": h["_id"]}}) + "\n" for h in hits)
            r = requests.post(f"{http}/_bulk?refresh=true", data=lines.encode(),
                              headers={"content-type": "application/x-ndjson"}, timeout=120)
            r.raise_for_status()
            if r.json().get("errors"):
                return False
        left = requests.get(f"{http}/{data}/_count", timeout=60).json()["count"]
        indices = requests.get(f"{http}/_cat/indices/{prefix}-*", params={"format": "json", "h": "index"},
                               timeout=60).json()
    except (requests.RequestException, KeyError, ValueError):
        return False
    from mlflow_store_es.schema import MAPPINGS

    return left == 0 and len(indices) == len(MAPPINGS)


@pytest.fixture
def store_uri(engine_base: str):
    """An index prefix with no data in it, so every test sees only its own: a new one, or one an
    earlier test of this worker used and that was emptied afterwards (and checked to be empty)."""
    pool = _CLEAN_PREFIXES.setdefault(engine_base, [])
    prefix = pool.pop() if pool else f"t{uuid.uuid4().hex[:12]}"
    yield f"{engine_base}/?index_prefix={prefix}"
    if engine_base == _external_base():
        return  # an outside cluster: its indices are left as they are, never reused
    if _empty_prefix(engine_base, prefix):
        pool.append(prefix)


@pytest.fixture
def tracking_store(store_uri: str, tmp_path):
    from mlflow_store_es.tracking_store import EsTrackingStore

    return EsTrackingStore(store_uri, str(tmp_path / "artifacts"))


@pytest.fixture
def registry_store(store_uri: str):
    from mlflow_store_es.registry_store import EsRegistryStore

    return EsRegistryStore(store_uri)


class Gateway:
    """A small real HTTP gateway in front of an engine, started by the tests: it demands basic
    auth and can answer 429/503 to the next N requests (credentials and retries end to end), or
    `cut_after` N more requests answer everything with 400 until it is set back to None (a client
    process dying midway, as the engine sees it).

    Like a load balancer it can take the engine out of rotation: `drain()` answers new requests
    with 502 and waits for the ones in flight to finish, `undrain()` forwards again. Requests whose
    number (the value of `requests` once they arrive) is in `drop_reply_of` are forwarded and then
    the connection is closed without an answer (the engine applied the write, the client never
    hears so)."""

    def __init__(self, upstream: str, user: str | None = None, password: str = "") -> None:
        self.upstream = upstream.rstrip("/")
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user else None
        self.fail_next = 0
        self.fail_status = 429
        self.cut_after: int | None = None
        self.seen_auth: list[str] = []
        self.seen_media: list[tuple[str, str]] = []  # (accept, content-type) of each request
        self.requests = 0
        self.upstream_errors = 0
        self.drop_reply_of: set[int] = set()
        self.dropped = 0
        self._down = False
        self._inflight = 0
        self._lock = threading.Condition()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("x-elastic-product", "Elasticsearch")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                gateway.requests += 1
                number = gateway.requests
                length = int(self.headers.get("content-length") or 0)
                data = self.rfile.read(length) if length else None
                auth = self.headers.get("authorization", "")
                gateway.seen_auth.append(auth)
                gateway.seen_media.append((self.headers.get("accept", ""), self.headers.get("content-type", "")))
                if gateway.expected is not None and auth != gateway.expected:
                    err = {"error": {"type": "security_exception", "reason": "unable to authenticate user"}, "status": 401}
                    return self._reply(401, json.dumps(err).encode())
                if gateway.cut_after is not None:
                    if gateway.cut_after <= 0:
                        err = {"error": {"type": "illegal_state_exception", "reason": "cut"}, "status": 400}
                        return self._reply(400, json.dumps(err).encode())
                    gateway.cut_after -= 1
                if gateway.fail_next > 0:
                    gateway.fail_next -= 1
                    err = {"error": {"type": "es_rejected_execution_exception", "reason": "busy"}, "status": gateway.fail_status}
                    return self._reply(gateway.fail_status, json.dumps(err).encode())
                with gateway._lock:
                    down = gateway._down
                    if not down:
                        gateway._inflight += 1
                if down:  # out of rotation: what a load balancer says
                    gateway.upstream_errors += 1
                    err = {"error": {"type": "bad_gateway", "reason": "no upstream in rotation"}, "status": 502}
                    return self._reply(502, json.dumps(err).encode())
                try:
                    status, body, ctype = gateway.forward(self.command, self.path, data,
                                                          self.headers.get("content-type", "application/json"))
                finally:
                    with gateway._lock:
                        gateway._inflight -= 1
                        gateway._lock.notify_all()
                if number in gateway.drop_reply_of:
                    gateway.dropped += 1
                    self.close_connection = True
                    return None
                return self._reply(status, body, ctype)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = LocalHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def forward(self, method: str, path: str, data: bytes | None, ctype: str) -> tuple[int, bytes, str]:
        req = urllib.request.Request(  # noqa: S310 (http upstream from testenv)
            self.upstream + path, data=data, method=method, headers={"content-type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                return resp.status, resp.read(), resp.headers.get("content-type", "application/json")
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers.get("content-type", "application/json")
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:  # engine gone mid-answer too
            self.upstream_errors += 1
            err = {"error": {"type": "bad_gateway", "reason": str(e)}, "status": 502}
            return 502, json.dumps(err).encode(), "application/json"

    def drain(self, timeout: float = 60.0) -> None:
        """Stop forwarding new requests and wait until none is in flight at the engine."""
        with self._lock:
            self._down = True
            if not self._lock.wait_for(lambda: self._inflight == 0, timeout):
                raise TimeoutError(f"{self._inflight} requests still in flight after {timeout} s")

    def undrain(self, upstream: str | None = None) -> None:
        with self._lock:
            if upstream is not None:
                self.upstream = upstream.rstrip("/")
            self._down = False

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(es_base: str):
    gw = Gateway(f"http://{urlsplit(es_base).netloc}", "elastic", "right-password-42")
    yield gw
    gw.stop()


@pytest.fixture
def make_gateway():
    """Start gateways in front of any engine URL; all are stopped after the test."""
    started: list[Gateway] = []

    def make(upstream: str, user: str | None = None, password: str = "") -> Gateway:
        gw = Gateway(upstream, user, password)
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "mlflow-store-es"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page():
    """A headless Chromium page (Debian's chromium driven by Playwright)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 2200, "height": 1100})
        pg.set_default_timeout(90_000)
        yield pg
        browser.close()


@pytest.fixture
def shot(page):
    """`shot(engine, name)` keeps a screenshot as a test artifact (test-artifacts/ is gitignored)."""

    def take(engine: str, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{engine}-{name}.png"), full_page=True)

    return take
