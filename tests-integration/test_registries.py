"""With every wheel installed together, MLflow's own registries resolve every plugin."""

from __future__ import annotations

import importlib.metadata as md
import warnings

import pytest

from mlflow_plugins_shared.testing import entry_points

PLUGINS = {
    "mlflow-store-es": {"mlflow.tracking_store", "mlflow.model_registry_store"},
    "mlflow-artifacts-sql": {"mlflow.artifact_repository"},
    "mlflow-artifacts-oss": {"mlflow.artifact_repository"},
    "mlflow-auth-oauth2": {"mlflow.request_auth_provider"},
    "mlflow-auth-sigv4": {"mlflow.request_auth_provider"},
    "mlflow-headers-env": {"mlflow.request_header_provider"},
    "mlflow-context-ci": {"mlflow.run_context_provider"},
    "mlflow-backend-k8s": {"mlflow.project_backend"},
    "mlflow-deploy-k8s": {"mlflow.deployments"},
    "mlflow-evaluator-fairness": {"mlflow.model_evaluator"},
    "mlflow-app-rbac": {"mlflow.app"},
}


def _installed_from_wheel(dist: str) -> bool:
    direct = md.distribution(dist).read_text("direct_url.json") or ""
    return '"editable": true' not in direct.replace(" ", "").replace('"editable":true', '"editable": true')


@pytest.mark.parametrize("dist", sorted(PLUGINS))
def test_every_plugin_is_installed_from_a_wheel(dist):
    assert md.distribution(dist).version
    assert _installed_from_wheel(dist), f"{dist} is an editable install; the integration suite needs built wheels"


@pytest.mark.parametrize("dist", sorted(PLUGINS))
def test_entry_points_resolve_through_mlflow(dist):
    eps = [ep for ep in md.distribution(dist).entry_points if ep.group.startswith("mlflow.")]
    assert {ep.group for ep in eps} == PLUGINS[dist]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=entry_points.REGISTRATION_FAILURE)
        for ep in eps:
            if ep.group == "mlflow.tracking_store":
                assert entry_points.tracking_store_builder(ep.name) is ep.load()
            elif ep.group == "mlflow.model_registry_store":
                assert entry_points.registry_store_builder(ep.name) is ep.load()
            elif ep.group == "mlflow.artifact_repository":
                assert entry_points.artifact_repository_class(ep.name) is ep.load()
            elif ep.group == "mlflow.request_auth_provider":
                assert type(entry_points.request_auth_provider(ep.name)) is ep.load()
            elif ep.group == "mlflow.request_header_provider":
                assert ep.load() in [type(p) for p in entry_points.request_header_providers()]
            elif ep.group == "mlflow.run_context_provider":
                assert ep.load() in [type(p) for p in entry_points.run_context_providers()]
            elif ep.group == "mlflow.project_backend":
                assert type(entry_points.project_backend(ep.name)) is ep.load()
            elif ep.group == "mlflow.deployments":
                assert entry_points.deployment_plugin(ep.name) is ep.load()
            elif ep.group == "mlflow.model_evaluator":
                assert type(entry_points.model_evaluator(ep.name)) is ep.load()
            elif ep.group == "mlflow.app":
                assert entry_points.server_app(ep.name) is ep.load()
            else:  # pragma: no cover
                pytest.fail(f"unexpected group {ep.group}")


def test_no_two_plugins_claim_the_same_name():
    seen: dict[tuple[str, str], str] = {}
    for dist, groups in PLUGINS.items():
        for ep in md.distribution(dist).entry_points:
            if ep.group in groups and ep.group not in ("mlflow.request_header_provider", "mlflow.run_context_provider"):
                key = (ep.group, ep.name)
                assert key not in seen, f"{key} claimed by {seen[key]} and {dist}"
                seen[key] = dist
