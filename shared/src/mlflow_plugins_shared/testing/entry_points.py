"""Load a plugin the way MLflow does, through MLflow's own registries.

A plugin whose import fails only produces a warning in MLflow and its scheme silently
disappears, so every package tests its entry points with these helpers.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from typing import Any

from mlflow_plugins_shared.testing import mlflow_compat


def entry_point(group: str, name: str) -> importlib.metadata.EntryPoint:
    matches = [ep for ep in importlib.metadata.entry_points(group=group) if ep.name == name]
    assert len(matches) == 1, f"expected one entry point {name!r} in {group!r}, found {matches}"
    return matches[0]


# MLflow turns a plugin that fails to import into this warning and drops its scheme silently.
REGISTRATION_FAILURE = r"(?s).*Failure attempting to register"


def _no_plugin_warnings(fn: Any, *args: Any) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=REGISTRATION_FAILURE)
        return fn(*args)


def tracking_store_builder(scheme: str) -> Any:
    registry = mlflow_compat.tracking_store_registry()
    _no_plugin_warnings(registry.register_entrypoints)
    return registry.get_store_builder(f"{scheme}://placeholder")


def registry_store_builder(scheme: str) -> Any:
    registry = mlflow_compat.model_registry_store_registry()
    _no_plugin_warnings(registry.register_entrypoints)
    return registry.get_store_builder(f"{scheme}://placeholder")


def artifact_repository_class(scheme: str) -> Any:
    from mlflow.store.artifact.artifact_repository_registry import ArtifactRepositoryRegistry

    registry = ArtifactRepositoryRegistry()
    _no_plugin_warnings(registry.register_entrypoints)
    return registry._registry[scheme]


def request_auth_provider(name: str) -> Any:
    from mlflow.tracking.request_auth.registry import RequestAuthProviderRegistry

    registry = RequestAuthProviderRegistry()
    _no_plugin_warnings(registry.register_entrypoints)
    found = [p for p in registry if p.get_name() == name]
    assert len(found) == 1, f"auth provider {name!r} not registered: {[p.get_name() for p in registry]}"
    return found[0]


def request_header_providers() -> list[Any]:
    from mlflow.tracking.request_header.registry import RequestHeaderProviderRegistry

    registry = RequestHeaderProviderRegistry()
    _no_plugin_warnings(registry.register_entrypoints)
    return list(registry)


def run_context_providers() -> list[Any]:
    from mlflow.tracking.context.registry import RunContextProviderRegistry

    registry = RunContextProviderRegistry()
    _no_plugin_warnings(registry.register_entrypoints)
    return list(registry)


def project_backend(name: str) -> Any:
    from mlflow.projects.backend.loader import load_backend

    return _no_plugin_warnings(load_backend, name)


def deployment_plugin(target: str) -> Any:
    from mlflow.deployments.plugin_manager import DeploymentPlugins

    plugins = DeploymentPlugins()
    return _no_plugin_warnings(plugins.__getitem__, target)


def model_evaluator(name: str) -> Any:
    from mlflow.models.evaluation.evaluator_registry import ModelEvaluatorRegistry

    registry = ModelEvaluatorRegistry()
    _no_plugin_warnings(registry.register_entrypoints)
    return registry.get_evaluator(name)


def server_app(name: str) -> Any:
    value = mlflow_compat.find_app(name)
    module, _, attr = value.partition(":")
    return getattr(importlib.import_module(module), attr)
