"""Which experiment a run, trace or logged model belongs to (immutable, so cached)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode


def _tracking_store() -> Any:
    from mlflow.server.handlers import _get_tracking_store

    return _get_tracking_store()


def _missing(e: MlflowException) -> bool:
    return e.error_code in (ErrorCode.Name(RESOURCE_DOES_NOT_EXIST), "RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")


class NotFound(Exception):
    pass


def _lookup(kind: str, ident: str) -> str:
    store = _tracking_store()
    try:
        if kind == "run":
            return str(store.get_run(ident).info.experiment_id)
        if kind == "trace":
            return str(store.get_trace_info(ident).experiment_id)
        if kind == "logged_model":
            return str(store.get_logged_model(ident).experiment_id)
        if kind == "experiment_name":
            found = store.get_experiment_by_name(ident)
            if found is None:
                raise NotFound(ident)
            return str(found.experiment_id)
    except MlflowException as e:
        if _missing(e):
            raise NotFound(ident) from None
        raise
    raise ValueError(kind)


_cached = lru_cache(maxsize=100_000)(_lookup)  # runs, traces, logged models never move


def experiment_of(kind: str, ident: str) -> str | None:
    """None when the resource does not exist (MLflow then answers 404 itself)."""
    try:
        return _lookup(kind, ident) if kind == "experiment_name" else _cached(kind, ident)
    except NotFound:
        return None
