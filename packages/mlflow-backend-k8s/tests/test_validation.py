"""A bad config is a clear MlflowException before anything (MLflow run or Job) is created."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import mlflow
import pytest
from kubernetes import client
from mlflow.exceptions import MlflowException
from mlflow_backend_k8s.backend import K8sBackend

from .conftest import PROJECT


def _submit(cfg: Any, tracking_uri: str, experiment_id: str, uri: str = str(PROJECT),
            params: dict[str, Any] | None = None) -> Any:
    return K8sBackend().run(uri, "main", params or {"alpha": "0.5"}, None, cfg, tracking_uri, experiment_id)


def _assert_nothing_created(api: client.ApiClient, tracking_uri: str, experiment_id: str, namespace: str) -> None:
    assert mlflow.MlflowClient(tracking_uri).search_runs([experiment_id]) == []
    assert client.BatchV1Api(api).list_namespaced_job(namespace).items == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"nmespace": "x"}, "unknown key(s) 'nmespace'"),
    ({"image": "Not An Image!"}, "'image': 'Not An Image!' is not a valid image reference"),
    ({"image": None}, "'image': is required"),
    ({"namespace": None}, "'namespace': is required"),
    ({"namespace": "Bad_NS"}, "'namespace': 'Bad_NS' is not a valid namespace name"),
    ({"backoffLimit": -1}, "'backoffLimit': must be a non-negative integer"),
    ({"imagePullPolicy": "Sometimes"}, "'imagePullPolicy': 'Sometimes'; allowed: Always, IfNotPresent, Never"),
    ({"env": {"AWS_SECRET_ACCESS_KEY": "abc123secret"}}, "looks like a secret"),
    ({"secretEnv": {"TOKEN": "no-key"}}, "the entry for TOKEN must be 'secret-name/key'"),
    ({"labels": {"team": "a b"}}, "is not a valid label value"),
    ({"resources": {"cpu": "1"}}, "'resources': expected {requests"),
    ({"jobTemplate": "/nonexistent/job.yaml"}, "file '/nonexistent/job.yaml' does not exist"),
    ({"trackingUri": "http://user:hunter2pass@mlflow:5000"}, "must not carry credentials"),
])
def test_bad_config_is_refused_before_anything_is_created(
    api: client.ApiClient, backend_config: dict[str, Any], tracking_uri: str, experiment_id: str,
    namespace: str, change: dict[str, Any], expected: str,
) -> None:
    cfg = {k: v for k, v in {**backend_config, **change}.items() if v is not None}
    with pytest.raises(MlflowException) as info:
        _submit(cfg, tracking_uri, experiment_id)
    assert expected in info.value.message
    assert "hunter2pass" not in info.value.message and "abc123secret" not in info.value.message
    _assert_nothing_created(api, tracking_uri, experiment_id, namespace)


def test_mlflow_injected_keys_are_not_unknown_keys(backend_config: dict[str, Any]) -> None:
    from mlflow_backend_k8s.config import parse_config

    cfg = parse_config({**backend_config, "ENV_MANAGER": "local", "SYNCHRONOUS": True, "DOCKER_ARGS": {},
                        "STORAGE_DIR": None, "build_image": False, "docker_auth": None})
    assert cfg.namespace == backend_config["namespace"]


def test_local_tracking_uri_is_refused(backend_config: dict[str, Any], tmp_path: Path, experiment_id: str,
                                       tracking_uri: str) -> None:
    with pytest.raises(MlflowException, match="the pod cannot reach tracking URI 'sqlite:///"):
        _submit(backend_config, f"sqlite:///{tmp_path}/m.db", experiment_id)


def test_missing_namespace_on_the_cluster(api: client.ApiClient, backend_config: dict[str, Any], tracking_uri: str,
                                          experiment_id: str) -> None:
    cfg = {**backend_config, "namespace": "does-not-exist-here"}
    with pytest.raises(MlflowException, match="namespace 'does-not-exist-here' does not exist"):
        _submit(cfg, tracking_uri, experiment_id)
    assert mlflow.MlflowClient(tracking_uri).search_runs([experiment_id]) == []


def test_unreachable_cluster(backend_config: dict[str, Any], kubeconfig: str, tmp_path: Path, tracking_uri: str,
                             experiment_id: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    text = Path(kubeconfig).read_text()
    server = next(line.split("server:")[1].strip() for line in text.splitlines() if "server:" in line)
    dead = tmp_path / "kubeconfig"
    dead.write_text(text.replace(server, f"https://127.0.0.1:{dead_port}"))
    with pytest.raises(MlflowException, match="cannot reach the Kubernetes API server https://127.0.0.1"):
        _submit({**backend_config, "kubeconfig": str(dead)}, tracking_uri, experiment_id)
    assert mlflow.MlflowClient(tracking_uri).search_runs([experiment_id]) == []


def test_rejected_token_is_named_and_not_shown(backend_config: dict[str, Any], kubeconfig: str, tmp_path: Path,
                                               tracking_uri: str, experiment_id: str, k8s_env: dict[str, str]) -> None:
    token = k8s_env["MLFLOW_TESTENV_K8S_TOKEN"]
    bad = tmp_path / "kubeconfig"
    bad.write_text(Path(kubeconfig).read_text().replace(token, "wrong-token-value-123456"))
    with pytest.raises(MlflowException) as info:
        _submit({**backend_config, "kubeconfig": str(bad)}, tracking_uri, experiment_id)
    assert "rejected the credentials (HTTP 401)" in info.value.message
    assert "wrong-token-value-123456" not in info.value.message


def test_missing_kubeconfig_file(backend_config: dict[str, Any], tracking_uri: str, experiment_id: str) -> None:
    with pytest.raises(MlflowException, match="kubeconfig: file '/no/such/kubeconfig' does not exist"):
        _submit({**backend_config, "kubeconfig": "/no/such/kubeconfig"}, tracking_uri, experiment_id)


def test_unknown_entry_point_and_bad_local_project(backend_config: dict[str, Any], tracking_uri: str,
                                                   experiment_id: str, tmp_path: Path) -> None:
    with pytest.raises(MlflowException, match="is neither a git URI nor an existing directory"):
        _submit(backend_config, tracking_uri, experiment_id, uri=str(tmp_path / "missing"))
    with pytest.raises(MlflowException, match="No value given for missing parameters|Could not find"):
        K8sBackend().run(str(PROJECT), "nope", {}, None, backend_config, tracking_uri, experiment_id)


def test_invalid_quantity_is_caught_by_the_server_dry_run(
    api: client.ApiClient, backend_config: dict[str, Any], tracking_uri: str, experiment_id: str, namespace: str,
) -> None:
    cfg = {**backend_config, "resources": {"limits": {"cpu": "lots"}}}
    with pytest.raises(MlflowException, match="the Kubernetes API server rejected the Job"):
        _submit(cfg, tracking_uri, experiment_id)
    _assert_nothing_created(api, tracking_uri, experiment_id, namespace)
