"""Against a real cluster with kubelets (only when MLFLOW_K8S_TEST_KUBECONFIG names one)."""

from __future__ import annotations

import os
import uuid

import pytest

pytestmark = pytest.mark.external


def test_real_pods_serve_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig = os.environ.get("MLFLOW_K8S_TEST_KUBECONFIG")
    if not kubeconfig:
        pytest.skip("MLFLOW_K8S_TEST_KUBECONFIG is not set: no external Kubernetes cluster with real kubelets")
    tracking = os.environ.get("MLFLOW_K8S_TEST_TRACKING_URI")
    if not tracking:
        pytest.skip("MLFLOW_K8S_TEST_TRACKING_URI is not set: the cluster's pods need a tracking server they reach")
    import mlflow
    from mlflow.deployments import get_deploy_client
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    x, y = load_iris(return_X_y=True, as_frame=True)
    model_name = f"iris-{uuid.uuid4().hex[:6]}"
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(LogisticRegression(max_iter=300).fit(x, y), "model",
                                        registered_model_name=model_name)
    model_uri = f"models:/{model_name}/{info.registered_model_version}"

    monkeypatch.setenv("MLFLOW_DEPLOY_K8S_KUBECONFIG", kubeconfig)
    namespace = os.environ.get("MLFLOW_K8S_TEST_NAMESPACE", "default")
    deployer = get_deploy_client(f"k8s:/{namespace}")
    name = f"it-{uuid.uuid4().hex[:8]}"
    image = os.environ.get("MLFLOW_K8S_TEST_SERVE_IMAGE", "ghcr.io/mlflow/mlflow:v2.22.0-full")
    try:
        got = deployer.create_deployment(name, model_uri, config={
            "image": image, "tracking_uri": tracking, "timeout": "900"})
        assert got["ready_replicas"] == 1
        resp = deployer.predict(name, x.iloc[[0, 120]])
        assert list(resp["predictions"]) == [0, 2]
    finally:
        deployer.delete_deployment(name)
