"""Registry webhooks: the store answers as MLflow's SqlAlchemyStore does, and `mlflow server` on this store
delivers the same payloads with valid HMAC signatures as `mlflow server` on SQLite.

Oracle: an in-process SqlAlchemyStore on SQLite (nothing shared with the store under test). Delivery: a
real HTTP receiver on 127.0.0.1 in this test, and real `mlflow server`s, one on this store per engine and
one on SQLite, started by this module with the settings MLflow needs to post to a loopback receiver
(`MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https`, `MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true`), no webhook-list
cache (`MLFLOW_WEBHOOK_CACHE_TTL=0`: a webhook created after a delivery looked the list up fires at once)
and one `MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY`. Signatures are checked against MLflow's documented scheme,
computed here: `v1,` + base64(HMAC-SHA256(secret, "<delivery id>.<timestamp>.<body>")).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from mlflow.exceptions import MlflowException
from mlflow_store_es import mlflow_compat
from mlflow_store_es import webhooks as es_webhooks
from mlflow_store_es.codec import doc_id

from mlflow_plugins_shared.errors import MlflowNotImplementedException

needs_webhooks = pytest.mark.skipif(not mlflow_compat.HAS_WEBHOOKS,
                                    reason="this MLflow has no registry webhooks (MLflow 3.3+)")
MODEL_EVENTS = ["registered_model.created", "model_version.created", "model_version_tag.set",
                "model_version_tag.deleted", "model_version_alias.created", "model_version_alias.deleted"]
SECRET = "whsec-planted-3f9c1e7a"  # must never show in a log, a message or a stored doc
LOOPBACK_ENV = {"MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https", "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true"}


def ev(key: str) -> Any:
    return mlflow_compat.webhook_entities().WebhookEvent.from_str(key)


def _has_prompt_events() -> bool:
    return mlflow_compat.HAS_WEBHOOKS and "prompt" in {e.value for e in mlflow_compat.webhook_entities().WebhookEntity}


# an event outside MODEL_EVENTS, for the filters (prompt events arrived after the first webhook release, 3.3)
OTHER_EVENT = "prompt.created" if _has_prompt_events() else None


def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _loopback_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's URL check admits the loopback receiver only with these (both stores read them per call)."""
    for k, v in LOOPBACK_ENV.items():
        monkeypatch.setenv(k, v)


# -- the oracle ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def _oracle_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    path = tmp_path_factory.mktemp("oracle") / "registry.db"
    SqlAlchemyStore(f"sqlite:///{path}")  # migrated once; each test copies the file
    return path


@pytest.fixture
def oracle(_oracle_db: Path, tmp_path: Path) -> Any:
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    shutil.copy(_oracle_db, tmp_path / "oracle.db")
    return SqlAlchemyStore(f"sqlite:///{tmp_path / 'oracle.db'}")


def view(w: Any) -> tuple[Any, ...]:
    return (w.name, w.url, [str(e) for e in w.events], w.description, w.status.value, w.secret)


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return ("ok", fn(*args, **kwargs))
    except MlflowException as e:
        return ("error", e.error_code, e.message)


def names(page: Any) -> list[str]:
    return [w.name for w in page]


def pages(list_fn: Callable[..., Any], size: int) -> list[tuple[list[str], Any]]:
    out, token = [], None
    while True:
        page = list_fn(max_results=size, page_token=token)
        out.append((names(page), page.token))
        token = page.token
        if not token:
            return out


SPECS: list[dict[str, Any]] = [
    {"name": "all-events", "url": "http://127.0.0.1:9/a", "events": MODEL_EVENTS, "description": "every event",
     "secret": "s-1"},
    {"name": "created", "url": "https://hooks.example.com/b", "events": ["registered_model.created"]},
    {"name": "versions", "url": "http://127.0.0.1:9/c",
     "events": ["model_version_tag.set", "model_version.created", "model_version_alias.deleted"],
     "status": "DISABLED"},
    {"name": "tags.v2", "url": "http://localhost:9/d", "events": ["model_version_tag.deleted", "model_version_tag.set"],
     "secret": ""},
    {"name": "aliases_1", "url": "http://127.0.0.1:9/e", "events": ["model_version_alias.created"],
     "description": ""},
    {"name": "created", "url": "http://127.0.0.1:9/f", "events": ["registered_model.created", OTHER_EVENT]},
    {"name": "z9", "url": "http://127.0.0.1:9/g", "events": ["model_version.created"], "secret": "s-7"},
]


def _create(store: Any, spec: dict[str, Any]) -> Any:
    status = mlflow_compat.webhook_entities().WebhookStatus(spec["status"]) if "status" in spec else None
    return store.create_webhook(spec["name"], spec["url"], [ev(e) for e in spec["events"] if e],
                                description=spec.get("description"), secret=spec.get("secret"), status=status)


@needs_webhooks
def test_crud_paging_and_events_match_sqlalchemy_store(registry_store: Any, oracle: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = [], []
    for spec in SPECS:
        theirs.append(_create(oracle, spec))
        ours.append(_create(registry_store, spec))
        time.sleep(0.003)  # distinct milliseconds in both stores: ties have their own test
    for o, t in zip(ours, theirs, strict=True):
        assert view(o) == view(t)
        assert view(registry_store.get_webhook(o.webhook_id)) == view(oracle.get_webhook(t.webhook_id))
        assert isinstance(o.creation_timestamp, int) and o.last_updated_timestamp == o.creation_timestamp
        assert abs(o.creation_timestamp - time.time() * 1000) < 60_000
        uuid.UUID(o.webhook_id)
    assert names(registry_store.list_webhooks()) == names(oracle.list_webhooks()) == [s["name"] for s in SPECS][::-1]
    assert [view(w) for w in registry_store.list_webhooks()] == [view(w) for w in oracle.list_webhooks()]
    for size in (1, 3, 7, 1000):
        assert pages(registry_store.list_webhooks, size) == pages(oracle.list_webhooks, size)
    for key in [*MODEL_EVENTS, *([OTHER_EVENT, "prompt_alias.deleted"] if OTHER_EVENT else [])]:
        for size in (None, 2):
            assert (pages(partial(registry_store.list_webhooks_by_event, ev(key)), size)
                    == pages(partial(oracle.list_webhooks_by_event, ev(key)), size)), key
    # pages deeper than the engines' result window are scanned: same answers
    monkeypatch.setattr(es_webhooks, "_WINDOW", 4)
    assert pages(registry_store.list_webhooks, 2) == pages(oracle.list_webhooks, 2)
    assert (pages(partial(registry_store.list_webhooks_by_event, ev("model_version.created")), 1)
            == pages(partial(oracle.list_webhooks_by_event, ev("model_version.created")), 1))
    monkeypatch.undo()
    for k, v in LOOPBACK_ENV.items():
        monkeypatch.setenv(k, v)

    status = mlflow_compat.webhook_entities().WebhookStatus
    updates: list[dict[str, Any]] = [
        {"name": "renamed", "description": "now described"},
        {"url": "https://hooks.example.com/new", "events": [ev("model_version_alias.deleted"), ev("model_version.created")]},
        {"secret": "rotated", "status": status.DISABLED},
        {"description": "", "secret": ""},
        {"status": status.ACTIVE},
        {},
    ]
    for i, change in enumerate(updates):
        time.sleep(0.003)
        o = registry_store.update_webhook(ours[i].webhook_id, **change)
        t = oracle.update_webhook(theirs[i].webhook_id, **change)
        assert view(o) == view(t)
        assert view(registry_store.get_webhook(o.webhook_id)) == view(oracle.get_webhook(t.webhook_id))
        assert o.creation_timestamp == ours[i].creation_timestamp < o.last_updated_timestamp
    for key in ("model_version.created", "model_version_alias.deleted", "registered_model.created"):
        assert ([view(w) for w in registry_store.list_webhooks_by_event(ev(key))]
                == [view(w) for w in oracle.list_webhooks_by_event(ev(key))])

    for i in (1, 4):
        assert registry_store.delete_webhook(ours[i].webhook_id) is None
        oracle.delete_webhook(theirs[i].webhook_id)
        assert (outcome(registry_store.get_webhook, ours[i].webhook_id)[:2]
                == outcome(oracle.get_webhook, theirs[i].webhook_id)[:2]
                == ("error", "RESOURCE_DOES_NOT_EXIST"))
    assert [view(w) for w in registry_store.list_webhooks()] == [view(w) for w in oracle.list_webhooks()]
    assert pages(registry_store.list_webhooks, 2) == pages(oracle.list_webhooks, 2)


@needs_webhooks
def test_webhooks_made_in_one_millisecond_list_in_written_order(registry_store: Any, oracle: Any) -> None:
    """SQLite returns ties of `creation_timestamp DESC` in the order the rows were written; so does the store."""
    with mock.patch("mlflow.store.model_registry.sqlalchemy_store.get_current_time_millis", return_value=1_000), \
         mock.patch.object(es_webhooks, "get_current_time_millis", return_value=1_000):
        for i in range(6):
            oracle.create_webhook(f"tie-{i}", "http://127.0.0.1:9/x", [ev("registered_model.created")])
            registry_store.create_webhook(f"tie-{i}", "http://127.0.0.1:9/x", [ev("registered_model.created")])
    assert names(registry_store.list_webhooks()) == names(oracle.list_webhooks()) == [f"tie-{i}" for i in range(6)]
    assert pages(registry_store.list_webhooks, 4) == pages(oracle.list_webhooks, 4)


@needs_webhooks
def test_bad_input_gets_the_errors_of_sqlalchemy_store(registry_store: Any, oracle: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    created = ev("registered_model.created")
    ok_url = "http://127.0.0.1:9/x"
    mine = registry_store.create_webhook("existing", ok_url, [created], secret="keep")
    theirs = oracle.create_webhook("existing", ok_url, [created], secret="keep")
    ids = {id(registry_store): mine.webhook_id, id(oracle): theirs.webhook_id}
    missing = str(uuid.uuid4())
    cases: dict[str, Callable[[Any], Any]] = {
        "bad name": lambda s: s.create_webhook("bad name!", ok_url, [created]),
        "long name": lambda s: s.create_webhook("n" * 64, ok_url, [created]),
        "name not a string": lambda s: s.create_webhook(7, ok_url, [created]),
        "scheme": lambda s: s.create_webhook("w", "ftp://example.com/x", [created]),
        "empty url": lambda s: s.create_webhook("w", "  ", [created]),
        "no host": lambda s: s.create_webhook("w", "http:///path", [created]),
        "no events": lambda s: s.create_webhook("w", ok_url, []),
        "events as text": lambda s: s.create_webhook("w", ok_url, ["registered_model.created"]),
        "unknown event": lambda s: s.create_webhook("w", ok_url, ["registered_model.deleted"]),
        "get missing": lambda s: s.get_webhook(missing),
        "get empty id": lambda s: s.get_webhook(""),
        "update missing": lambda s: s.update_webhook(missing, name="x"),
        "update missing, bad name": lambda s: s.update_webhook(missing, name="bad name!"),
        "delete missing": lambda s: s.delete_webhook(missing),
        "update bad name": lambda s: s.update_webhook(ids[id(s)], name="-x"),
        "update bad url": lambda s: s.update_webhook(ids[id(s)], url="file:///etc/passwd"),
        "update no events": lambda s: s.update_webhook(ids[id(s)], events=[]),
        "max_results -1": lambda s: s.list_webhooks(max_results=-1),
        "max_results 1001": lambda s: s.list_webhooks(max_results=1001),
        "by event max_results 5000": lambda s: s.list_webhooks_by_event(created, max_results=5000),
        "garbage token": lambda s: s.list_webhooks(page_token="garbage"),
        "by event garbage token": lambda s: s.list_webhooks_by_event(created, page_token="e30="),
    }
    may_pass = {"no host"}  # MLflow 3.3's URL check let a URL without a host through (both stores took it)
    for label, case in cases.items():
        want, got = outcome(case, oracle), outcome(case, registry_store)
        assert want[0] == "error" or label in may_pass, label
        assert (got == want) if want[0] == "error" else (got[0] == "ok"), label
    # an event given twice: SqlAlchemyStore's primary key refuses it (BAD_REQUEST, with SQL in the message)
    twice = [created, ev("model_version.created"), created]
    want, got = outcome(oracle.create_webhook, "w", ok_url, twice), outcome(registry_store.create_webhook, "w",
                                                                           ok_url, twice)
    assert got[:2] == want[:2] == ("error", "BAD_REQUEST")
    assert "registered_model.created given more than once" in got[2]
    # nothing above changed the existing webhook
    assert view(registry_store.get_webhook(mine.webhook_id)) == view(oracle.get_webhook(theirs.webhook_id))
    assert registry_store.get_webhook(mine.webhook_id).secret == "keep"
    # max_results 0 or None means the default (100), as in SqlAlchemyStore
    assert names(registry_store.list_webhooks(max_results=0)) == names(oracle.list_webhooks(max_results=0))
    # without MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS, MLflow (since its SSRF guard) refuses loopback/private hosts
    monkeypatch.delenv("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS")
    for url in ("http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://[::1]/x"):
        want = outcome(oracle.create_webhook, "w", url, [created])
        got = outcome(registry_store.create_webhook, "w", url, [created])
        assert (got == want) if want[0] == "error" else (got[0] == "ok"), url


# -- the secret ------------------------------------------------------------------------------------
@needs_webhooks
def test_secret_is_stored_encrypted_and_never_logged(registry_store: Any, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", fernet_key())
    caplog.set_level(logging.DEBUG)
    w = registry_store.create_webhook("signed", "http://127.0.0.1:9/x", [ev("model_version.created")], secret=SECRET)
    raw = registry_store.client.get(registry_store.ix.webhooks, doc_id(w.webhook_id))["_source"]
    assert SECRET not in json.dumps(raw) and raw["secret"]
    assert registry_store.get_webhook(w.webhook_id).secret == SECRET
    assert [x.secret for x in registry_store.list_webhooks_by_event(ev("model_version.created"))] == [SECRET]
    registry_store.update_webhook(w.webhook_id, secret=SECRET + "-2", description="rotated")
    assert registry_store.get_webhook(w.webhook_id).secret == SECRET + "-2"
    errors = [outcome(registry_store.update_webhook, w.webhook_id, url="ftp://x", secret=SECRET),
              outcome(registry_store.create_webhook, "bad name!", "http://x", [], secret=SECRET)]
    assert all(e[0] == "error" and SECRET not in e[2] for e in errors)
    assert SECRET not in repr(registry_store.get_webhook(w.webhook_id))
    assert "created webhook" in caplog.text  # debug logs were captured, and none holds the secret
    assert SECRET not in caplog.text


@needs_webhooks
def test_a_secret_under_another_key_fails_only_its_own_delivery(registry_store: Any, monkeypatch: pytest.MonkeyPatch,
                                                                receiver: Receiver) -> None:
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", fernet_key())
    path = f"/in-process/{uuid.uuid4().hex}"
    w = registry_store.create_webhook("rotated-key", receiver.url(path), [ev("model_version.created")], secret=SECRET)
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", fernet_key())  # a server started with another key
    listed = registry_store.list_webhooks()  # the listing (the UI, the delivery of every other webhook) still works
    assert [x.webhook_id for x in listed] == [w.webhook_id]
    with pytest.raises(MlflowException) as e:
        _ = listed[0].secret
    assert e.value.error_code == "INVALID_STATE"
    assert w.webhook_id in e.value.message and "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY" in e.value.message
    assert SECRET not in e.value.message
    result = registry_store.test_webhook(w.webhook_id)
    assert not result.success and "cannot be decrypted" in result.error_message
    assert receiver.posts(path) == []  # never sent unsigned
    registry_store.update_webhook(w.webhook_id, secret=SECRET)  # a new secret under the current key
    assert registry_store.test_webhook(w.webhook_id).success
    assert len(receiver.wait(path, 1)) == 1


@needs_webhooks
def test_key_setting_errors_name_the_variable_not_the_value(registry_store: Any, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", "not-a-fernet-key-0042")
    with pytest.raises(MlflowException) as e:
        registry_store.create_webhook("w", "http://127.0.0.1:9/x", [ev("model_version.created")], secret=SECRET)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE" and "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY" in e.value.message
    assert "not-a-fernet-key-0042" not in e.value.message and SECRET not in e.value.message
    assert registry_store.list_webhooks() == []  # nothing written
    # unset: a key of this process (as SqlAlchemyStore), with one warning naming the variable
    monkeypatch.delenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY")
    monkeypatch.setattr(es_webhooks, "_warned", threading.Event())
    caplog.set_level(logging.WARNING)
    for i in range(2):
        w = registry_store.create_webhook(f"w{i}", "http://127.0.0.1:9/x", [ev("model_version.created")], secret=SECRET)
        assert registry_store.get_webhook(w.webhook_id).secret == SECRET
    warnings = [r for r in caplog.records if "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY is not set" in r.getMessage()]
    assert len(warnings) == 1 and SECRET not in caplog.text


def test_without_webhooks_in_mlflow_the_methods_answer_501(registry_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """On an MLflow without webhooks (3.0-3.2) the methods exist and answer 501 naming what is missing."""
    monkeypatch.setattr(es_webhooks, "HAS_WEBHOOKS", False)
    calls: list[Callable[[], Any]] = [
        lambda: registry_store.create_webhook("w", "http://127.0.0.1:9/x", []),
        lambda: registry_store.get_webhook("x"), lambda: registry_store.list_webhooks(),
        lambda: registry_store.list_webhooks_by_event(None), lambda: registry_store.update_webhook("x"),
        lambda: registry_store.delete_webhook("x"), lambda: registry_store.test_webhook("x"),
    ]
    for call in calls:
        with pytest.raises(MlflowNotImplementedException, match="not supported on this MLflow") as e:
            call()
        assert e.value.get_http_status_code() == 501


def test_feature_probe_matches_the_installed_mlflow() -> None:
    from importlib.util import find_spec

    from mlflow.store.model_registry.abstract_store import AbstractStore

    assert mlflow_compat.HAS_WEBHOOKS == (find_spec("mlflow.entities.webhook") is not None
                                          and hasattr(AbstractStore, "list_webhooks_by_event"))


# -- delivery ----------------------------------------------------------------------------------------
class Receiver:
    """A real HTTP endpoint on 127.0.0.1 recording every POST (path, headers, raw body); answers 200."""

    def __init__(self) -> None:
        self._posts: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._cond:
                    receiver._posts.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                            "body": body})
                    receiver._cond.notify_all()
                answer = b"received"
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def posts(self, path: str) -> list[dict[str, Any]]:
        with self._cond:
            return [p for p in self._posts if p["path"] == path]

    def wait(self, path: str, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        with self._cond:
            self._cond.wait_for(lambda: len([p for p in self._posts if p["path"] == path]) >= count, timeout)
        got = self.posts(path)
        assert len(got) >= count, f"{path}: {len(got)} of {count} deliveries after {timeout} s"
        return got

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def expected_signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """MLflow's documented scheme (Standard Webhooks style), computed independently of MLflow."""
    mac = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def check_delivery(post: dict[str, Any], secret: str | None) -> dict[str, Any]:
    """The delivery's headers and signature are right; its JSON body."""
    h = post["headers"]
    assert h["content-type"] == "application/json"
    uuid.UUID(h["x-mlflow-delivery-id"])
    assert abs(int(h["x-mlflow-timestamp"]) - time.time()) < 300
    if secret is None:
        assert "x-mlflow-signature" not in h
    else:
        assert hmac.compare_digest(h["x-mlflow-signature"], expected_signature(
            secret, h["x-mlflow-delivery-id"], h["x-mlflow-timestamp"], post["body"]))
        assert h["x-mlflow-signature"] != expected_signature(secret + "x", h["x-mlflow-delivery-id"],
                                                             h["x-mlflow-timestamp"], post["body"])
    body = json.loads(post["body"])
    assert set(body) == {"entity", "action", "timestamp", "data"}
    return dict(body)


SERVER_ENV = {**LOOPBACK_ENV, "MLFLOW_WEBHOOK_CACHE_TTL": "0", "MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES": "0"}


def _start_mlflow_server(args: list[str], env: dict[str, str]) -> Any:
    from mlflow_testenv import start_service

    with mock.patch.dict(os.environ, env):  # the server inherits this process's environment when it starts
        return start_service("mlflow", args, parent_pid=os.getpid())


@pytest.fixture(scope="module")
def server_key() -> str:
    return fernet_key()


@pytest.fixture(scope="module")
def sql_server(server_key: str) -> Iterator[dict[str, str]]:
    """`mlflow server` on SQLite (SqlAlchemyStore): the reference for what deliveries look like."""
    if not mlflow_compat.HAS_WEBHOOKS:
        pytest.skip("this MLflow has no registry webhooks (MLflow 3.3+)")
    running = _start_mlflow_server(["--workers", "1"], {**SERVER_ENV, "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": server_key})
    yield running.exports
    running.stop()


@pytest.fixture(scope="module")
def es_server(engine_base: str, server_key: str) -> Iterator[dict[str, str]]:
    """`mlflow server` on this store (tracking and registry), its own index prefix."""
    if not mlflow_compat.HAS_WEBHOOKS:
        pytest.skip("this MLflow has no registry webhooks (MLflow 3.3+)")
    uri = f"{engine_base}/?index_prefix=wh{uuid.uuid4().hex[:10]}"
    running = _start_mlflow_server(["--backend-store-uri", uri, "--registry-store-uri", uri],
                                   {**SERVER_ENV, "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": server_key})
    yield running.exports
    running.stop()


def _rest(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,  # noqa: S310 (loopback test server)
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _registry_flow(server: dict[str, str], receiver: Receiver, model: str, tag: str) -> dict[str, Any]:
    """Webhooks through the REST API (MlflowClient), registry changes through the server, what arrives."""
    from mlflow import MlflowClient

    url = server["MLFLOW_TESTENV_MLFLOW_URL"]
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    signed = client.create_webhook(name=f"signed-{tag}", url=receiver.url(f"/{tag}/signed"), events=MODEL_EVENTS,
                                   description="every model event", secret=SECRET)
    plain = client.create_webhook(name=f"plain-{tag}", url=receiver.url(f"/{tag}/plain"),
                                  events=["registered_model.created"])
    off = client.create_webhook(name=f"off-{tag}", url=receiver.url(f"/{tag}/off"), events=["registered_model.created"],
                                secret=SECRET)
    client.update_webhook(off.webhook_id, status="DISABLED")
    assert client.get_webhook(off.webhook_id).status.value == "DISABLED"
    assert {w.name for w in client.list_webhooks()} >= {f"signed-{tag}", f"plain-{tag}", f"off-{tag}"}

    client.create_registered_model(model, tags={"team": "ranking"}, description="first model")
    client.create_model_version(model, "s3://bucket/models/1", tags={"k": "v"}, description="v1")
    client.set_model_version_tag(model, "1", "stage", "qa")
    client.delete_model_version_tag(model, "1", "stage")
    client.set_registered_model_alias(model, "champion", "1")
    client.delete_registered_model_alias(model, "champion")
    delivered = {(b["entity"], b["action"]): b
                 for b in (check_delivery(p, SECRET) for p in receiver.wait(f"/{tag}/signed", len(MODEL_EVENTS)))}
    plain_body = check_delivery(receiver.wait(f"/{tag}/plain", 1)[0], None)

    tested = client.test_webhook(signed.webhook_id)
    assert (tested.success, tested.response_status, tested.response_body) == (True, 200, "received")
    tested_event = client.test_webhook(signed.webhook_id, event="model_version_alias.deleted")
    assert tested_event.success
    tests = [check_delivery(p, SECRET) for p in receiver.wait(f"/{tag}/signed", len(MODEL_EVENTS) + 2)[-2:]]
    time.sleep(1.0)  # the disabled webhook would have been posted by now, with the others
    assert receiver.posts(f"/{tag}/off") == []
    assert len(receiver.posts(f"/{tag}/signed")) == len(MODEL_EVENTS) + 2  # exactly once each
    for w in (signed, plain, off):
        client.delete_webhook(w.webhook_id)
    status, answer = _rest(url, "GET", f"/api/2.0/mlflow/webhooks/{signed.webhook_id}")
    assert (status, answer.get("error_code")) == (404, "RESOURCE_DOES_NOT_EXIST")
    return {"delivered": delivered, "plain": plain_body, "tests": tests}


def _strip_time(body: dict[str, Any]) -> dict[str, Any]:
    assert body["timestamp"]
    return {k: v for k, v in body.items() if k != "timestamp"}


@needs_webhooks
def test_server_delivers_what_sqlalchemy_server_delivers(es_server: dict[str, str], sql_server: dict[str, str],
                                                         receiver: Receiver) -> None:
    model = f"wh-model-{uuid.uuid4().hex[:8]}"
    ours = _registry_flow(es_server, receiver, model, f"es-{uuid.uuid4().hex[:8]}")
    theirs = _registry_flow(sql_server, receiver, model, f"sql-{uuid.uuid4().hex[:8]}")
    assert sorted(ours["delivered"]) == sorted(theirs["delivered"]) == sorted(
        tuple(e.split(".")) for e in MODEL_EVENTS)
    for key in ours["delivered"]:
        assert _strip_time(ours["delivered"][key]) == _strip_time(theirs["delivered"][key]), key
    assert _strip_time(ours["plain"]) == _strip_time(theirs["plain"])
    assert [_strip_time(b) for b in ours["tests"]] == [_strip_time(b) for b in theirs["tests"]]
    # and what they hold, spelled out
    assert ours["delivered"][("registered_model", "created")]["data"] == {
        "name": model, "tags": {"team": "ranking"}, "description": "first model"}
    assert ours["delivered"][("model_version", "created")]["data"] == {
        "name": model, "version": "1", "source": "s3://bucket/models/1", "run_id": None, "tags": {"k": "v"},
        "description": "v1"}
    assert ours["delivered"][("model_version_alias", "created")]["data"] == {
        "name": model, "alias": "champion", "version": "1"}
    assert ours["delivered"][("model_version_tag", "set")]["data"] == {
        "name": model, "version": "1", "key": "stage", "value": "qa"}
    assert (ours["tests"][1]["entity"], ours["tests"][1]["action"]) == ("model_version_alias", "deleted")
    log = Path(es_server["MLFLOW_TESTENV_MLFLOW_LOG"]).read_text(errors="replace")
    assert "is not supported" not in log and "Failed to deliver" not in log and "Failed to send webhook" not in log
    assert SECRET not in log


@needs_webhooks
def test_rest_errors_match_sqlalchemy_server(es_server: dict[str, str], sql_server: dict[str, str]) -> None:
    bodies: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/2.0/mlflow/webhooks",
         {"name": "w", "url": "http://127.0.0.1:9/x", "events": [{"entity": "REGISTERED_MODEL", "action": "DELETED"}]}),
        ("POST", "/api/2.0/mlflow/webhooks",
         {"name": "w", "url": "gopher://127.0.0.1/x", "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}),
        ("POST", "/api/2.0/mlflow/webhooks", {"name": "w w", "url": "http://127.0.0.1:9/x",
                                              "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}),
        ("GET", f"/api/2.0/mlflow/webhooks/{uuid.uuid4()}", None),
        ("PATCH", f"/api/2.0/mlflow/webhooks/{uuid.uuid4()}", {"name": "x"}),
        ("DELETE", f"/api/2.0/mlflow/webhooks/{uuid.uuid4()}", None),
        ("POST", f"/api/2.0/mlflow/webhooks/{uuid.uuid4()}/test", {}),
        ("GET", "/api/2.0/mlflow/webhooks?max_results=1001", None),
    ]
    for method, path, body in bodies:
        ours = _rest(es_server["MLFLOW_TESTENV_MLFLOW_URL"], method, path, body)
        theirs = _rest(sql_server["MLFLOW_TESTENV_MLFLOW_URL"], method, path, body)
        assert theirs[0] >= 400, (method, path)
        if "/api/2.0/mlflow/webhooks/" in path:  # the id differs in nothing but its value
            assert (ours[0], ours[1].get("error_code")) == (theirs[0], theirs[1].get("error_code")), (method, path)
        else:
            assert ours == theirs, (method, path)


@needs_webhooks
def test_store_test_webhook_sends_mlflows_example_payload(registry_store: Any, receiver: Receiver,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """SqlAlchemyStore has no `test_webhook` (the server sends the test itself); this store sends MLflow's."""
    from mlflow.webhooks.types import get_example_payload_for_event

    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", fernet_key())
    path = f"/in-process/{uuid.uuid4().hex}"
    w = registry_store.create_webhook("t", receiver.url(path), [ev("model_version_tag.set"), ev("model_version.created")],
                                      secret=SECRET)
    first = registry_store.test_webhook(w.webhook_id)
    chosen = registry_store.test_webhook(w.webhook_id, ev("registered_model.created"))
    assert (first.success, first.response_status, first.response_body) == (True, 200, "received")
    assert chosen.success
    got = [check_delivery(p, SECRET) for p in receiver.wait(path, 2)]
    assert got[0]["data"] == get_example_payload_for_event(ev("model_version.created"))  # events are ordered
    assert got[1]["data"] == get_example_payload_for_event(ev("registered_model.created"))
    with pytest.raises(MlflowException) as e:
        registry_store.test_webhook(str(uuid.uuid4()))
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_shared_server_create_registered_model_logs_no_webhook_error(server_exports: dict[str, str]) -> None:
    """The issue: every create_registered_model on this store logged `list_webhooks_by_event is not supported`
    from MLflow's webhook delivery. The conftest server (default settings) looks the webhooks up and finds none."""
    url = server_exports["MLFLOW_TESTENV_MLFLOW_URL"]
    log = Path(server_exports["MLFLOW_TESTENV_MLFLOW_LOG"])
    status, _ = _rest(url, "POST", "/api/2.0/mlflow/registered-models/create", {"name": f"wh-{uuid.uuid4().hex[:8]}"})
    assert status == 200
    text = log.read_text(errors="replace")
    assert "list_webhooks_by_event is not supported" not in text
    if mlflow_compat.HAS_WEBHOOKS:
        status, answer = _rest(url, "GET", "/api/2.0/mlflow/webhooks?max_results=10")
        assert status == 200 and "error_code" not in answer
