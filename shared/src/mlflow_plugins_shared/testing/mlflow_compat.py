"""The private MLflow names the test kit uses, in one place (``make lint`` refuses them anywhere else).

Each is a registry or a global of MLflow's that has no public accessor; keeping them here means a
rename in a new MLflow release is fixed once, for every package's tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def tracking_store_registry() -> Any:
    """A fresh ``TrackingStoreRegistry`` (what ``mlflow.tracking`` builds tracking stores from)."""
    from mlflow.tracking._tracking_service import utils

    return utils.TrackingStoreRegistry()


def model_registry_store_registry() -> Any:
    """A fresh ``ModelRegistryStoreRegistry``."""
    from mlflow.tracking._model_registry.registry import ModelRegistryStoreRegistry

    return ModelRegistryStoreRegistry()


def find_app(name: str) -> str:
    """The ``module:attr`` MLflow's server resolves for ``--app-name <name>``."""
    from mlflow.server import _find_app

    return str(_find_app(name))


def is_factory(value: str) -> bool:
    """Whether MLflow's server treats the ``--app-name`` target as a factory it must call."""
    from mlflow.server import _is_factory

    return bool(_is_factory(value))


@contextmanager
def fluent_uris(tracking_uri: str, registry_uri: str | None = None) -> Iterator[None]:
    """Point MLflow's fluent API at a tracking (and registry) URI, then restore exactly what was there.

    ``mlflow.set_tracking_uri`` also exports ``MLFLOW_TRACKING_URI``/``MLFLOW_REGISTRY_URI``: both the
    module globals and the environment are put back, or later tests and their subprocesses inherit it.
    """
    import os

    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    env_before = {k: os.environ.get(k) for k in names}
    globals_before = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(registry_uri or tracking_uri)
    try:
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = globals_before
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def sql_store_has_v3_traces() -> bool:
    """Whether MLflow's SqlAlchemyStore takes ``start_trace(trace_info)`` (the V3 trace API, MLflow 3.2+):
    the trace conformance kit replays V3 traces, so on older releases it has no reference to compare with."""
    import inspect

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    return list(inspect.signature(SqlAlchemyStore.start_trace).parameters)[1:2] == ["trace_info"]
