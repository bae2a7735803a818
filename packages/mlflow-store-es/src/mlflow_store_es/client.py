"""One small adapter over the `elasticsearch` and `opensearch-py` clients.

Everything goes through raw REST calls of the documented core APIs (document get/index/
delete, _mget, _bulk, _search, _index_template), so the two engines behave the same and the
store never depends on a client's typed helpers. Transient faults (connection errors, 429,
5xx) are retried with backoff here; everything else becomes an `EsRequestError` carrying the
HTTP status and the engine's error type, which callers turn into MlflowExceptions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from mlflow_plugins_shared.errors import invalid_parameter, permission_denied, unauthenticated, unavailable
from mlflow_plugins_shared.redact import redact_text
from mlflow_plugins_shared.retry import http_status_is_transient, retrying
from mlflow_store_es.config import EsConfig

_logger = logging.getLogger(__name__)
_JSON = {"accept": "application/json", "content-type": "application/json"}
_NDJSON = {"accept": "application/json", "content-type": "application/x-ndjson"}


class EsRequestError(Exception):
    """A non-2xx answer from the engine (status None = no answer at all)."""

    def __init__(self, status: int | None, error_type: str, reason: str) -> None:
        super().__init__(f"{status} {error_type}: {reason}")
        self.status = status
        self.error_type = error_type
        self.reason = reason

    @property
    def transient(self) -> bool:
        return self.status is None or http_status_is_transient(self.status)


def dumps(obj: Any) -> str:
    return json.dumps(obj, allow_nan=False, separators=(",", ":"), ensure_ascii=False)


def _error_from_body(status: int | None, body: Any) -> EsRequestError:
    error_type, reason = "error", ""
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):
            error_type = str(err.get("type", "error"))
            reason = str(err.get("reason", ""))
            causes = err.get("root_cause")
            if not reason and isinstance(causes, list) and causes:
                reason = str(causes[0].get("reason", ""))
        elif err is not None:
            reason = str(err)
    elif body is not None:
        reason = str(body)[:500]
    return EsRequestError(status, error_type, reason)


class _ElasticsearchTransport:
    """Elasticsearch 8.x and 9.x servers through elasticsearch-py 8.x or 9.x.

    The client's own `perform_request` rewrites `application/json` into the vendor media type
    of the *client's* major (`compatible-with=9` from elasticsearch-py 9), which an 8.x server
    refuses with 400 `media_type_header_exception`. Plain `application/json` is accepted by every
    8.x and 9.x server, so requests go straight to the client's transport (its public
    `transport` attribute: connection pool, TLS, timeouts) with plain JSON headers, and the
    product check the client would make (`X-Elastic-Product` on every 2xx) is made here.
    """

    def __init__(self, cfg: EsConfig) -> None:
        import base64

        import elasticsearch

        kwargs: dict[str, Any] = {
            "request_timeout": cfg.timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
            "verify_certs": cfg.verify_certs,
        }
        for name in ("ca_certs", "client_cert", "client_key"):
            if getattr(cfg, name):
                kwargs[name] = getattr(cfg, name)
        if not cfg.verify_certs and cfg.url.startswith("https"):
            kwargs["ssl_show_warn"] = False
        self._auth: dict[str, str] = {}
        if cfg.api_key:
            self._auth["authorization"] = f"ApiKey {cfg.api_key.get()}"
        elif cfg.username is not None:
            pair = f"{cfg.username}:{cfg.password.get() if cfg.password else ''}".encode()
            self._auth["authorization"] = "Basic " + base64.b64encode(pair).decode()
        self._url = cfg.url
        self._timeout = cfg.timeout
        self._verified = False
        self._transport = elasticsearch.Elasticsearch(cfg.url, **kwargs).transport

    def request(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any, ndjson: bool) -> Any:
        import elastic_transport

        target = f"{path}?{_query(params)}" if params else path
        headers = {**(_NDJSON if ndjson else _JSON), **self._auth}
        try:
            meta, resp = self._transport.perform_request(
                method, target, headers=headers, body=body, request_timeout=self._timeout, max_retries=0)
        except elastic_transport.TransportError as e:
            raise EsRequestError(None, type(e).__name__, str(e)[:300]) from None
        if meta.status >= 300:
            raise _error_from_body(meta.status, resp)
        if not self._verified:
            if meta.headers.get("x-elastic-product", "") != "Elasticsearch":
                raise invalid_parameter(
                    f"The server at {self._url} does not identify itself as Elasticsearch; "
                    "for OpenSearch use an opensearch:// or opensearch+https:// store URI")
            self._verified = True
        return resp


def _query(params: Mapping[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode({k: ("true" if v is True else "false" if v is False else v) for k, v in params.items()})


class _OpenSearchTransport:
    def __init__(self, cfg: EsConfig) -> None:
        import opensearchpy

        kwargs: dict[str, Any] = {
            "timeout": cfg.timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
            "verify_certs": cfg.verify_certs,
            "use_ssl": cfg.url.startswith("https"),
        }
        if cfg.username is not None:
            kwargs["http_auth"] = (cfg.username, cfg.password.get() if cfg.password else "")
        if cfg.api_key:
            kwargs["headers"] = {"authorization": f"ApiKey {cfg.api_key.get()}"}
        for name in ("ca_certs", "client_cert", "client_key"):
            if getattr(cfg, name):
                kwargs[name] = getattr(cfg, name)
        if not cfg.verify_certs:
            kwargs["ssl_show_warn"] = False
        self._os = opensearchpy
        self._client = opensearchpy.OpenSearch(hosts=[cfg.url], **kwargs)

    def request(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any, ndjson: bool) -> Any:
        try:
            return self._client.transport.perform_request(
                method, path, params=params or None, body=body, headers=_NDJSON if ndjson else _JSON
            )
        except self._os.exceptions.ConnectionError as e:
            raise EsRequestError(None, type(e).__name__, str(e)[:300]) from None
        except self._os.exceptions.TransportError as e:
            status = e.status_code if isinstance(e.status_code, int) else None
            raise _error_from_body(status, e.info if e.info is not None else e.error) from None


def _missing_driver(engine: str, package: str, extra: str) -> Exception:
    return invalid_parameter(
        f"The {engine} store needs the {package!r} package: pip install 'mlflow-store-es[{extra}]'"
    )


class EsClient:
    """Raw REST calls with retries, error translation and no secret in any message."""

    def __init__(self, cfg: EsConfig) -> None:
        self.cfg = cfg
        self.requests = 0  # count of HTTP calls made (for benchmarks)
        self._attempts = 10_000  # bounded by the deadline
        self._deadline = cfg.retry_seconds
        if cfg.engine == "opensearch":
            try:
                self._transport: Any = _OpenSearchTransport(cfg)
            except ImportError:
                raise _missing_driver("OpenSearch", "opensearch-py", "opensearch") from None
        else:
            try:
                self._transport = _ElasticsearchTransport(cfg)
            except ImportError:
                raise _missing_driver("Elasticsearch", "elasticsearch", "elasticsearch") from None

    def __repr__(self) -> str:
        return f"EsClient(engine={self.cfg.engine!r}, url={self.cfg.url!r}, prefix={self.cfg.index_prefix!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        ndjson: bool = False,
        ok: tuple[int, ...] = (),
    ) -> Any:
        """Perform one call. Statuses in `ok` come back as `{"_status": n, ...}` instead of raising."""
        data = body if body is None or isinstance(body, str) else dumps(body)

        def once() -> Any:
            self.requests += 1
            _logger.debug("%s %s", method, path)
            return self._transport.request(method, path, params, data, ndjson)

        try:
            for attempt in retrying(lambda e: isinstance(e, EsRequestError) and e.transient,
                                    attempts=self._attempts, deadline=self._deadline, maximum=2.0,
                                    what=f"{method} {path}"):
                with attempt:
                    return once()
        except EsRequestError as e:
            if e.status in ok:
                return {"_status": e.status, "error": {"type": e.error_type, "reason": e.reason}}
            raise self.translate(e) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def translate(self, e: EsRequestError) -> Exception:
        where = f"{self.cfg.engine} at {self.cfg.url}"
        reason = redact_text(e.reason, self.cfg.secrets())[:500]
        if e.status is None:
            return unavailable(f"Cannot reach {where}: {reason or e.error_type}. "
                               "Check the host/port in the store URI and that the cluster is up.")
        if e.status == 401:
            return unauthenticated(f"{where} rejected the credentials (401). Check MLFLOW_STORE_ES_USERNAME/"
                                   "PASSWORD/API_KEY or the user info in the store URI.")
        if e.status == 403:
            return permission_denied(f"{where} denied the request (403): {reason}")
        if e.status in (429,) or e.status >= 500:
            return unavailable(f"{where} is unavailable after retries ({e.status} {e.error_type}): {reason}")
        return invalid_parameter(f"{where} refused the request ({e.status} {e.error_type}): {reason}")

    def translate_status(self, status: int, error_type: str, reason: str) -> Exception:
        return self.translate(EsRequestError(status, error_type, reason))

    # -- documents -------------------------------------------------------------------------
    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        r = self.request("GET", f"/{index}/_doc/{_quote(doc_id)}", ok=(404,))
        return r if r.get("found") else None

    def mget(self, index: str, ids: list[str]) -> list[dict[str, Any] | None]:
        if not ids:
            return []
        r = self.request("POST", f"/{index}/_mget", body={"ids": ids}, ok=(404,))
        docs = r.get("docs", [None] * len(ids))
        return [d if d and d.get("found") else None for d in docs]

    def index(self, index: str, doc_id: str, doc: Mapping[str, Any], *, refresh: str | None = None,
              create: bool = False, seq: tuple[int, int] | None = None) -> dict[str, Any]:
        """Write one doc. Returns the answer, or {"_status": 409} on a create/seq conflict."""
        params: dict[str, Any] = {"refresh": refresh or self.cfg.refresh}
        if create:
            params["op_type"] = "create"
        if seq is not None:
            params["if_seq_no"], params["if_primary_term"] = seq
        return self.request("PUT", f"/{index}/_doc/{_quote(doc_id)}", params=params, body=doc, ok=(409,))

    def update_with(self, index: str, doc_id: str, change: Callable[[dict[str, Any]], None],
                    missing: Callable[[], Exception], attempts: int = 100) -> dict[str, Any]:
        """Read-modify-write one doc with optimistic concurrency; re-read and re-apply on conflict."""
        for _ in range(attempts):
            found = self.get(index, doc_id)
            if found is None:
                raise missing()
            src = found["_source"]
            change(src)
            r = self.index(index, doc_id, src, seq=(found["_seq_no"], found["_primary_term"]))
            if r.get("_status") != 409:
                return src
        raise unavailable(f"{index}/{doc_id} is being changed concurrently; retry")

    def delete(self, index: str, doc_id: str, *, refresh: str | None = None) -> bool:
        r = self.request("DELETE", f"/{index}/_doc/{_quote(doc_id)}",
                         params={"refresh": refresh or self.cfg.refresh}, ok=(404,))
        return r.get("_status") != 404

    def bulk(self, lines: list[str], *, refresh: str | None = None) -> list[dict[str, Any]]:
        """Send NDJSON lines in one request; retry only the items that failed transiently."""
        pending = list(range(0, len(lines), 2))
        results: dict[int, dict[str, Any]] = {}
        for attempt in range(8):
            body = "".join(lines[i] + "\n" + lines[i + 1] + "\n" for i in pending)
            r = self.request("POST", "/_bulk", params={"refresh": refresh or self.cfg.refresh}, body=body, ndjson=True)
            retry = []
            items = r.get("items", [])
            if len(items) != len(pending):
                raise unavailable(f"{self.cfg.engine} answered a bulk of {len(pending)} actions with {len(items)} results")
            for i, item in zip(pending, items, strict=True):
                res = next(iter(item.values()))
                status = int(res.get("status", 200))
                if http_status_is_transient(status) and attempt + 1 < 8:
                    retry.append(i)
                else:
                    results[i] = res
            if not retry:
                break
            pending = retry
            import time

            time.sleep(min(2.0, 0.1 * 2**attempt))
        return [results[i] for i in sorted(results)]

    def bulk_delete(self, targets: Iterable[tuple[str, str]], *, per_request: int = 5000) -> list[tuple[str, str]]:
        """Delete (index, id) docs in bulk requests; returns the ones this call deleted (not already gone)."""
        done: list[tuple[str, str]] = []
        chunk: list[tuple[str, str]] = []

        def flush() -> None:
            body = "".join(dumps({"delete": {"_index": index, "_id": did}}) + "\n" for index, did in chunk)
            r = self.request("POST", "/_bulk", params={"refresh": self.cfg.refresh}, body=body, ndjson=True)
            for target, item in zip(chunk, r.get("items", []), strict=False):
                res = next(iter(item.values()))
                if res.get("result") == "deleted" or int(res.get("status", 0)) == 200:
                    done.append(target)
                elif int(res.get("status", 0)) != 404:
                    raise_item_errors([item])
            chunk.clear()

        for target in targets:
            chunk.append(target)
            if len(chunk) >= per_request:
                flush()
        if chunk:
            flush()
        return done

    def delete_matching(self, index: str, query: Mapping[str, Any], sort: list[Any]) -> int:
        """Delete every doc matching `query`: scan + bulk deletes, streamed so memory does not grow with the
        count, and only the core APIs the README lists (no _delete_by_query). Refreshes first: documents
        written without a refresh (metric points) are otherwise invisible to the scan and would survive."""
        self.refresh(index)
        return len(self.bulk_delete((index, h["_id"]) for h in self.scan(index, query, sort, source=False)))

    def refresh(self, index: str) -> None:
        """Make everything written to `index` so far visible to search (the documented _refresh API)."""
        self.request("POST", f"/{index}/_refresh", ok=(404,))

    # -- search ----------------------------------------------------------------------------
    def search(self, index: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", f"/{index}/_search", body=body, ok=(404,))

    def scan(self, index: str, query: Mapping[str, Any], sort: list[Any], *, page: int = 5000,
             source: Any = True) -> Iterator[dict[str, Any]]:
        """All hits of `query` in `sort` order, paged with search_after (sort must end on a unique field)."""
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"query": query, "sort": sort, "size": page, "_source": source,
                                    "track_total_hits": False}
            if after is not None:
                body["search_after"] = after
            hits = self.search(index, body).get("hits", {}).get("hits", [])
            yield from hits
            if len(hits) < page:
                return
            after = hits[-1]["sort"]


def raise_item_errors(results: list[dict[str, Any]]) -> None:
    """Turn the first failed item of a bulk answer into an MlflowException."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, INVALID_STATE, TEMPORARILY_UNAVAILABLE

    for res in results:
        status = int(res.get("status", 200))
        if status >= 300:
            err = res.get("error") or {}
            reason = err.get("reason", "") if isinstance(err, dict) else str(err)
            code = (INVALID_PARAMETER_VALUE if status == 400 else
                    TEMPORARILY_UNAVAILABLE if http_status_is_transient(status) else INVALID_STATE)
            raise MlflowException(f"The search engine refused a write ({status}): {reason}", code)


def _quote(doc_id: str) -> str:
    from urllib.parse import quote

    return quote(doc_id, safe="")

