"""Registry webhooks (MLflow 3.3+) on Elasticsearch/OpenSearch: the `-webhooks` index and its CRUD.

Layout: one doc per webhook (id = hash of the webhook id) holding its name, URL, description,
status, timestamps, its events as `entity.action` keywords (so `list_webhooks_by_event` is one term
query) and its secret **encrypted** with Fernet under `MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY`, the key
and cipher SqlAlchemyStore uses; without that variable, a random key of this process, as
SqlAlchemyStore does (secrets then do not survive a restart nor reach other server workers: the
README says to set it). A secret is decrypted only when read (`Webhook.secret`, by MLflow's delivery):
a secret written under another key fails that webhook's own delivery with a clear error, and never
the listing that the delivery of every webhook, and the UI, depend on.

Answers follow MLflow's SqlAlchemyStore: the same validators and messages (taken from MLflow through
`mlflow_compat.py`), webhooks listed newest first (`creation_timestamp` descending; ties in the order
written, as SQLite returns them), MLflow's offset page tokens, `max_results` 1-1000 (default 100),
events returned ordered by entity then action, RESOURCE_DOES_NOT_EXIST for an unknown id. A deleted
webhook's doc is removed (SqlAlchemyStore keeps a soft-deleted row no API can read). `test_webhook`
sends MLflow's own test delivery (`mlflow.webhooks.delivery.test_webhook`).
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from itertools import islice
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST, INVALID_PARAMETER_VALUE, INVALID_STATE, RESOURCE_DOES_NOT_EXIST
from mlflow.store.entities.paged_list import PagedList
from mlflow.utils.search_utils import SearchUtils
from mlflow.utils.time import get_current_time_millis

from mlflow_plugins_shared.errors import MlflowNotImplementedException
from mlflow_plugins_shared.logs import get_logger
from mlflow_store_es.codec import doc_id
from mlflow_store_es.mapping_types import KW, LONG, STORED
from mlflow_store_es.mlflow_compat import (
    HAS_WEBHOOKS,
    _validate_webhook_events,
    _validate_webhook_name,
    _validate_webhook_url,
    send_test_webhook,
    webhook_entities,
    webhook_secret_key,
)

if TYPE_CHECKING:
    from mlflow.entities.webhook import Webhook, WebhookEvent, WebhookStatus, WebhookTestResult

MAPPINGS: dict[str, dict[str, Any]] = {
    "webhooks": {
        "webhook_id": KW, "name": KW, "description": STORED, "url": STORED, "status": KW,
        "events": KW,  # "entity.action" of each subscribed event
        "secret": STORED,  # a Fernet token, never the secret itself
        "creation_timestamp": LONG, "last_updated_timestamp": LONG,
        "written_ns": LONG,  # orders webhooks created in the same millisecond as written
    },
}
KEY_VARIABLE = "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY"
DEFAULT_MAX_RESULTS, MAX_RESULTS = 100, 1000
_WINDOW = 10_000  # the engines' default index.max_result_window: deeper pages are scanned
_ORDER: list[Any] = [{"creation_timestamp": "desc"}, {"written_ns": "asc"}, {"webhook_id": "asc"}]
_logger = get_logger(__name__)
_warned = threading.Event()


# -- the secret's encryption ---------------------------------------------------------------------
@functools.cache
def _process_key() -> str:
    """This process's random key, used while the variable is unset (made once, never forgotten)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


@functools.lru_cache(maxsize=4)
def _cipher(key: str) -> Any:
    from cryptography.fernet import Fernet

    try:
        return Fernet(key.encode("utf-8"))
    except (ValueError, TypeError):  # the message names the variable, never its value
        raise MlflowException(f"{KEY_VARIABLE} is not a valid Fernet key (32 url-safe base64-encoded bytes, as "
                              "`cryptography.fernet.Fernet.generate_key()` makes).", INVALID_PARAMETER_VALUE) from None


def _fernet(key: str | None) -> Any:
    """The cipher for `key` (the variable's value), or for this process's random key when unset."""
    return _cipher(_process_key() if key is None else key)


def _seal(secret: str) -> str:
    key = webhook_secret_key()
    if key is None and not _warned.is_set():
        _warned.set()
        _logger.warning("%s is not set: webhook secrets are encrypted with a random key of this process, as "
                        "MLflow's SQL store does, so other server workers and this server after a restart "
                        "cannot sign with them. Set it to one Fernet key for every server.", KEY_VARIABLE)
    return str(_fernet(key).encrypt(secret.encode("utf-8")).decode("ascii"))


def _open_secret(token: str, webhook_id: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return str(_fernet(webhook_secret_key()).decrypt(token.encode("ascii")).decode("utf-8"))
    except InvalidToken:
        raise MlflowException(
            f"The secret of webhook {webhook_id} cannot be decrypted: it was encrypted with another key. Set "
            f"{KEY_VARIABLE} to the key it was written with (the same key in every server process), or give the "
            "webhook a new secret with update_webhook.", INVALID_STATE) from None


@functools.lru_cache(maxsize=1)
def _stored_webhook_class() -> type:
    """MLflow's `Webhook` whose `secret` is decrypted when read (the entity exists only on MLflow 3.3+)."""
    base: type = webhook_entities().Webhook

    class StoredWebhook(base):  # type: ignore[valid-type,misc]
        def __init__(self, *, sealed_secret: str | None, **kwargs: Any) -> None:
            super().__init__(secret=None, **kwargs)
            self._sealed_secret = sealed_secret

        @property
        def secret(self) -> str | None:
            if self._sealed_secret is None:
                return None
            return _open_secret(self._sealed_secret, self.webhook_id)

    return StoredWebhook


# -- docs <-> entities ---------------------------------------------------------------------------
def _missing(webhook_id: Any) -> MlflowException:
    return MlflowException(f"Webhook with ID {webhook_id} not found.", RESOURCE_DOES_NOT_EXIST)


def _event_keys(events: list[WebhookEvent]) -> list[str]:
    """`entity.action` of each event (already validated), ordered by entity then action as SqlAlchemyStore
    returns them; an event given twice is refused as SqlAlchemyStore's primary key refuses it."""
    pairs = sorted((e.entity.value, e.action.value) for e in events)
    repeated = sorted({f"{p[0]}.{p[1]}" for p in pairs if pairs.count(p) > 1})
    if repeated:
        raise MlflowException(f"Webhook events must not repeat: {', '.join(repeated)} given more than once.",
                              BAD_REQUEST)
    return [f"{entity}.{action}" for entity, action in pairs]


def _status(status: Any) -> str:
    entities = webhook_entities()
    try:
        return str(entities.WebhookStatus(status).value)
    except ValueError:
        allowed = ", ".join(s.value for s in entities.WebhookStatus)
        raise MlflowException(f"Invalid webhook status {status!r}. Allowed: {allowed}.",
                              INVALID_PARAMETER_VALUE) from None


def _entity(src: dict[str, Any]) -> Webhook:
    entities = webhook_entities()
    events = [entities.WebhookEvent.from_str(k) for k in src["events"]]
    webhook: Webhook = _stored_webhook_class()(
        sealed_secret=src.get("secret"), webhook_id=src["webhook_id"], name=src["name"], url=src["url"],
        events=events, creation_timestamp=src["creation_timestamp"],
        last_updated_timestamp=src["last_updated_timestamp"], description=src.get("description"),
        status=entities.WebhookStatus(src["status"]))
    return webhook


def _require() -> None:
    if not HAS_WEBHOOKS:
        import mlflow

        raise MlflowNotImplementedException(
            f"Registry webhooks are not supported on this MLflow ({mlflow.__version__}): they need an MLflow release "
            "with webhooks (mlflow.entities.webhook, MLflow 3.3 or later).")


def _max_results(max_results: Any) -> int:
    value = max_results or DEFAULT_MAX_RESULTS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > MAX_RESULTS:
        raise MlflowException(f"max_results must be between 1 and {MAX_RESULTS}.", INVALID_PARAMETER_VALUE)
    return value


class WebhooksMixin:
    """The registry store's webhook methods; the store provides `client`, `ix` (index names)."""

    client: Any
    ix: Any

    def _webhook_doc(self, webhook_id: str) -> dict[str, Any]:
        if not isinstance(webhook_id, str) or not webhook_id:
            raise _missing(webhook_id)
        found = self.client.get(self.ix.webhooks, doc_id(webhook_id))
        if found is None or found["_source"].get("webhook_id") != webhook_id:
            raise _missing(webhook_id)
        return found["_source"]

    def _webhook_page(self, query: dict[str, Any], max_results: Any, page_token: str | None) -> PagedList[Webhook]:
        size = _max_results(max_results)
        offset = SearchUtils.parse_start_offset_from_page_token(page_token)
        if offset + size + 1 <= _WINDOW:
            body = {"query": query, "sort": _ORDER, "from": offset, "size": size + 1, "track_total_hits": False}
            hits = self.client.search(self.ix.webhooks, body).get("hits", {}).get("hits", [])
        else:
            hits = list(islice(self.client.scan(self.ix.webhooks, query, _ORDER), offset, offset + size + 1))
        token = SearchUtils.create_page_token(offset + size) if len(hits) > size else None
        return PagedList([_entity(h["_source"]) for h in hits[:size]], token)

    def create_webhook(self, name: str, url: str, events: list[WebhookEvent], description: str | None = None,
                       secret: str | None = None, status: WebhookStatus | None = None) -> Webhook:
        _require()
        _validate_webhook_name(name)
        _validate_webhook_url(url)
        _validate_webhook_events(events)
        keys = _event_keys(events)
        webhook_id = str(uuid.uuid4())
        now = get_current_time_millis()
        doc = {"webhook_id": webhook_id, "name": name, "url": url, "description": description,
               "status": _status(status or "ACTIVE"), "events": keys,
               "secret": None if secret is None else _seal(secret),
               "creation_timestamp": now, "last_updated_timestamp": now, "written_ns": time.time_ns()}
        r = self.client.index(self.ix.webhooks, doc_id(webhook_id), doc, create=True)
        if r.get("_status") == 409:  # a uuid4 collision: never expected
            raise MlflowException(f"Webhook with ID {webhook_id} already exists; retry.", INVALID_STATE)
        _logger.debug("created webhook %s for %s", webhook_id, keys)
        return _entity(doc)

    def get_webhook(self, webhook_id: str) -> Webhook:
        _require()
        return _entity(self._webhook_doc(webhook_id))

    def list_webhooks(self, max_results: int | None = None, page_token: str | None = None) -> PagedList[Webhook]:
        _require()
        return self._webhook_page({"match_all": {}}, max_results, page_token)

    def list_webhooks_by_event(self, event: WebhookEvent, max_results: int | None = None,
                               page_token: str | None = None) -> PagedList[Webhook]:
        _require()
        if not isinstance(event, webhook_entities().WebhookEvent):
            raise MlflowException(f"event must be a WebhookEvent, got {type(event).__name__}.", INVALID_PARAMETER_VALUE)
        key = f"{event.entity.value}.{event.action.value}"
        return self._webhook_page({"bool": {"filter": [{"term": {"events": key}}]}}, max_results, page_token)

    def update_webhook(self, webhook_id: str, name: str | None = None, description: str | None = None,
                       url: str | None = None, events: list[WebhookEvent] | None = None, secret: str | None = None,
                       status: WebhookStatus | None = None) -> Webhook:
        _require()
        self._webhook_doc(webhook_id)  # an unknown id first, as SqlAlchemyStore answers
        change: dict[str, Any] = {}
        if name is not None:
            _validate_webhook_name(name)
            change["name"] = name
        if url is not None:
            _validate_webhook_url(url)
            change["url"] = url
        if events is not None:
            _validate_webhook_events(events)
            change["events"] = _event_keys(events)
        if description is not None:
            change["description"] = description
        if secret is not None:
            change["secret"] = _seal(secret)
        if status is not None:
            change["status"] = _status(status)
        now = get_current_time_millis()
        src = self.client.update_with(self.ix.webhooks, doc_id(webhook_id),
                                      lambda s: s.update(change, last_updated_timestamp=now),
                                      lambda: _missing(webhook_id))
        _logger.debug("updated webhook %s: %s", webhook_id, sorted(change))
        return _entity(src)

    def delete_webhook(self, webhook_id: str) -> None:
        _require()
        self._webhook_doc(webhook_id)
        if not self.client.delete(self.ix.webhooks, doc_id(webhook_id)):
            raise _missing(webhook_id)
        _logger.debug("deleted webhook %s", webhook_id)

    def test_webhook(self, webhook_id: str, event: WebhookEvent | None = None) -> WebhookTestResult:
        """MLflow's test delivery (its example payload for `event`, else the webhook's first event), as
        `mlflow server` sends it; SqlAlchemyStore itself has no `test_webhook`."""
        _require()
        return send_test_webhook(self.get_webhook(webhook_id), event)


__all__ = ["MAPPINGS", "WebhooksMixin"]
