"""Experiment, registered-model and model-version searches that hold only readable items, in full pages.

Two strategies; a fresh search picks one, and the page token pins it for the rest of the walk:

- ``in``: the readable ids go into the query, in front of the caller's filter
  (``experiment_id IN (...) AND <filter>``, ``name IN (...) AND <filter>``), and MLflow pages as
  usual. Used when the running store accepts that filter (probed once per process and kind) and the
  caller reads at most ``MLFLOW_RBAC_SEARCH_IN_LIMIT`` of them: MLflow parses filters with sqlparse,
  which refuses more than 10,000 tokens (about 4,900 ids) and costs roughly 85 us per listed id.
- ``scan``: MLflow is asked for chunks (growing up to 5,000 items) from the position in the token, and
  readable items are collected until the page is full. Our token holds MLflow's token of the chunk the
  page ended in and how many readable items from there were already returned, so a walk returns every
  readable item exactly once. The work per page grows with (all items / readable items), which is why
  small readable sets use ``in``.

Either way every item of every answer is checked against the readable set again before it leaves.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from mlflow_app_rbac.logs import logger
from mlflow_app_rbac.mlflow_compat import get_model_registry_store, get_tracking_store
from mlflow_app_rbac.permissions import EXPERIMENT, REGISTERED_MODEL

TOKEN_PREFIX = "rbac1."  # noqa: S105 - a marker, not a secret
CHUNK_CAP = 5000
FIRST_CHUNK_MIN = 50
# the request fields MLflow reads; camelCase spellings are accepted in JSON bodies only
FIELDS = ("filter", "max_results", "page_token")
_CAMEL = {"max_results": "maxResults", "page_token": "pageToken"}


class SearchError(ValueError):
    """A bad request parameter (answered 400 with this message)."""


@dataclass(frozen=True)
class Kind:
    name: str
    items_key: str
    resource_type: str
    in_attribute: str  # the filter attribute holding the readable ids
    default_max: int | None  # None: MLflow refuses a missing max_results
    max_results: int  # MLflow's largest page


KINDS: dict[str, Kind] = {
    "filter_experiments": Kind("experiments", "experiments", EXPERIMENT, "experiment_id", None, 50000),
    "filter_models": Kind("registered models", "registered_models", REGISTERED_MODEL, "name", 100, 1000),
    "filter_model_versions": Kind("model versions", "model_versions", REGISTERED_MODEL, "name", 200_000, 200_000),
}


def item_id(kind: Kind, item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    value = item.get("experiment_id") if kind.resource_type == EXPERIMENT else item.get("name")
    return None if value is None else str(value)


# page tokens ---------------------------------------------------------------------------------
def encode_token(mode: str, inner: str | None, skip: int = 0) -> str:
    raw = json.dumps({"m": mode, "t": inner, "s": skip}, separators=(",", ":")).encode()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, str | None, int]:
    if not token.startswith(TOKEN_PREFIX):
        raise SearchError("page_token was not issued by this server's rbac search (start the search again)")
    body = token[len(TOKEN_PREFIX):]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        mode, inner, skip = data["m"], data["t"], data["s"]
    except (ValueError, KeyError, TypeError):
        raise SearchError("page_token is malformed") from None
    if mode not in ("in", "scan") or not (inner is None or isinstance(inner, str)) \
            or not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise SearchError("page_token is malformed")
    return mode, inner, skip


# which store accepts `IN` -------------------------------------------------------------------
_probe_lock = threading.Lock()
_probed: dict[str, bool] = {}


def _probe_call(kind: Kind) -> None:
    from mlflow.entities import ViewType

    if kind.resource_type == EXPERIMENT:
        get_tracking_store().search_experiments(view_type=ViewType.ALL, max_results=1,
                                                 filter_string="experiment_id IN ('0')")
    elif kind.items_key == "registered_models":
        get_model_registry_store().search_registered_models(filter_string="name IN ('rbac-probe')", max_results=1)
    else:
        get_model_registry_store().search_model_versions(filter_string="name IN ('rbac-probe')", max_results=1)


def store_accepts_in(kind: Kind) -> bool:
    with _probe_lock:
        if kind.items_key not in _probed:
            try:
                _probe_call(kind)
                _probed[kind.items_key] = True
            except Exception as e:  # any store error means: do not rely on IN
                logger.info("rbac: the store does not take `%s IN (...)` for %s searches (%s); scanning instead",
                            kind.in_attribute, kind.name, type(e).__name__)
                _probed[kind.items_key] = False
        return _probed[kind.items_key]


def _numeric_experiment_ids() -> bool:
    """SQL stores keep experiment ids as integers and reject others in a filter."""
    try:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    except ImportError:  # pragma: no cover
        return False
    return isinstance(get_tracking_store(), SqlAlchemyStore)


def in_values(kind: Kind, readable: set[str]) -> list[str]:
    values = sorted(readable)
    if kind.resource_type == EXPERIMENT and _numeric_experiment_ids():
        values = [v for v in values if v.isdigit()]
    return values


def in_clause(kind: Kind, values: list[str]) -> str:
    # MLflow reads the list with ast.literal_eval, so Python literals quote any name safely
    return f"{kind.in_attribute} IN ({', '.join(repr(v) for v in values)})"


# the request ----------------------------------------------------------------------------------
@dataclass
class SearchRequest:
    """The caller's search parameters, from the query string (GET) or the JSON body."""

    in_query: bool
    params: dict[str, Any]  # query: name -> list of values; body: the JSON object

    def get(self, name: str) -> Any:
        if self.in_query:  # MLflow reads only the snake_case name there, first value
            values = self.params.get(name) or []
            return values[0] if values else None
        if name in self.params:
            return self.params[name]
        return self.params.get(_CAMEL.get(name, name))

    def with_values(self, **values: Any) -> tuple[str | None, bytes | None]:
        """(new query string, new body) with `values` set (None removes the field)."""
        if self.in_query:
            q = {k: v for k, v in self.params.items() if k not in values}
            for k, v in values.items():
                if v is not None:
                    q[k] = [str(v)]
            return urlencode(q, doseq=True), None
        data = {k: v for k, v in self.params.items() if k not in values and k not in {_CAMEL.get(n) for n in values}}
        data.update({k: v for k, v in values.items() if v is not None})
        return None, json.dumps(data).encode()


def page_size(kind: Kind, req: SearchRequest) -> int:
    raw = req.get("max_results")
    if raw is None or raw == "":
        if kind.default_max is None:
            raise SearchError(f"max_results is required: an integer from 1 to {kind.max_results}")
        return kind.default_max
    try:
        n = int(raw)
    except (TypeError, ValueError):
        raise SearchError(f"max_results must be an integer from 1 to {kind.max_results}, got {str(raw)[:40]!r}") from None
    if not 1 <= n <= kind.max_results:
        raise SearchError(f"max_results must be an integer from 1 to {kind.max_results}, got {n}")
    return n


# one search, driven by the adapter: first() -> inner request; feed(answer) -> next request or final body
@dataclass
class InnerRequest:
    query: str | None
    body: bytes | None


@dataclass
class Paginator:
    kind: Kind
    req: SearchRequest
    readable: Callable[[str], bool]
    mode: str
    inner_token: str | None
    skip: int
    need: int
    user_filter: str
    clause: str = ""
    collected: list[Any] = field(default_factory=list)
    chunk: int = 0

    def first(self) -> InnerRequest:
        if self.mode == "in":
            flt = self.clause + (f" AND {self.user_filter}" if self.user_filter.strip() else "")
            return InnerRequest(*self.req.with_values(filter=flt, page_token=self.inner_token))
        self.chunk = min(CHUNK_CAP, self.kind.max_results, max(2 * self.need, FIRST_CHUNK_MIN))
        return self._scan_request()

    def _scan_request(self) -> InnerRequest:
        return InnerRequest(*self.req.with_values(page_token=self.inner_token, max_results=self.chunk))

    def _final(self, data: dict[str, Any], token: str | None) -> bytes:
        data.pop("next_page_token", None)
        data.pop("nextPageToken", None)
        if self.collected:
            data[self.kind.items_key] = self.collected
        else:
            data.pop(self.kind.items_key, None)
        if token:
            data["next_page_token"] = token
        return json.dumps(data).encode()

    def feed(self, status: int, body: bytes) -> InnerRequest | bytes:
        if status != 200:
            return self._error(body)
        try:
            data = json.loads(body)
            items = data.get(self.kind.items_key) or []
        except (ValueError, AttributeError):
            logger.warning("rbac: a %s search answered non-JSON; answering an empty page", self.kind.name)
            return b"{}"
        nxt = data.get("next_page_token") or data.get("nextPageToken") or None
        readable = [i for i in items if (ident := item_id(self.kind, i)) is not None and self.readable(ident)]
        if self.mode == "in":
            self.collected = readable
            return self._final(data, encode_token("in", nxt) if nxt else None)
        if self.skip >= len(readable):
            self.skip -= len(readable)
        else:
            for taken, item in enumerate(readable[self.skip:], start=self.skip + 1):
                self.collected.append(item)
                if len(self.collected) == self.need:
                    return self._final(data, encode_token("scan", self.inner_token, taken))
            self.skip = 0
        if not nxt:
            return self._final(data, None)
        self.inner_token = nxt
        self.chunk = min(CHUNK_CAP, self.kind.max_results, self.chunk * 4)
        return self._scan_request()

    def _error(self, body: bytes) -> bytes:
        """MLflow's error, without our IN list (it may be long) in the echoed filter."""
        if not self.clause:
            return body
        try:
            data = json.loads(body)
            if isinstance(data.get("message"), str):
                data["message"] = data["message"].replace(self.clause + " AND ", "").replace(
                    self.clause, "<the ids you may read>")
                return json.dumps(data).encode()
        except (ValueError, AttributeError):
            pass
        return body


def plan(kind: Kind, req: SearchRequest, readable: set[str], in_limit: int) -> Paginator | None:
    """None: nothing is readable (answer an empty page without asking MLflow)."""
    user_filter = req.get("filter")
    if user_filter is None:
        user_filter = ""
    if not isinstance(user_filter, str):
        raise SearchError("filter must be a string")
    token = req.get("page_token")
    if token is not None and not isinstance(token, str):
        raise SearchError("page_token must be a string")
    need = page_size(kind, req)
    if token:
        mode, inner, skip = decode_token(token)
    else:
        mode, inner, skip = ("in" if len(readable) <= in_limit and store_accepts_in(kind) else "scan"), None, 0
    if mode == "in":
        values = in_values(kind, readable)
        if not values:
            return None
        return Paginator(kind, req, readable.__contains__, mode, inner, 0, need, user_filter,
                         clause=in_clause(kind, values))
    if not readable:
        return None
    return Paginator(kind, req, readable.__contains__, mode, inner, skip, need, user_filter)
