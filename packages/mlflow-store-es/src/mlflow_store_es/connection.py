"""A connected, schema-ready client per (URI, environment); shared by tracking and registry stores."""

from __future__ import annotations

import threading

from mlflow_store_es.client import EsClient
from mlflow_store_es.config import EsConfig, parse_store_uri
from mlflow_store_es.schema import Indices, ensure_schema

_READY: set[tuple[str, str, str]] = set()
_LOCK = threading.Lock()


def connect(store_uri: str) -> tuple[EsConfig, EsClient, Indices]:
    cfg = parse_store_uri(store_uri)
    client = EsClient(cfg)
    indices = Indices(cfg.index_prefix)
    key = (cfg.engine, cfg.url, cfg.index_prefix)
    with _LOCK:
        if key not in _READY:
            ensure_schema(client, indices)
            _READY.add(key)
    return cfg, client, indices
