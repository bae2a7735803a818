"""create -> get/list -> predict (service proxy and endpoint URL) -> rolling update -> delete, end to end.

The API server, controllers and model servers are real; the test plays the kubelet: pods of the
deployment become Running+Ready at this machine's address, where `mlflow models serve` answers.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from kubernetes import client
from mlflow.exceptions import MlflowException

from mlflow_testenv.kubelet import FakeKubelet

from .conftest import ModelServer

IMAGE = "ghcr.io/mlflow-plugins/serve:1.0"


def _iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    return load_iris(as_frame=True).data.iloc[[0, 60, 120]]


def _predictions(resp: Any) -> list[Any]:
    return list(resp["predictions"])


def test_deployment_lifecycle(deployer: Any, kubelet: FakeKubelet, core: client.CoreV1Api, namespace: str,
                              model_servers: list[ModelServer]) -> None:
    v1, v2 = model_servers
    name = "iris"
    kubelet.serve(namespace, {"app.kubernetes.io/instance": name}, pod_ip=v1.host)
    created = deployer.create_deployment(name, v1.model_uri, config={
        "image": IMAGE, "port": str(v1.port), "replicas": "1", "cpu_request": "100m", "memory_limit": "1Gi",
        "labels": "team=ml", "timeout": "60"})
    model_name, version = v1.model_uri.split("/")[1:]
    assert created["name"] == name and created["ready_replicas"] == 1
    assert created["model_uri"] == v1.model_uri and created["model_name"] == model_name
    assert created["model_version"] == version and created["image"] == IMAGE

    # the objects on the server
    apps = client.AppsV1Api(core.api_client)
    dep = json.loads(apps.read_namespaced_deployment(name, namespace, _preload_content=False).data)
    assert dep["metadata"]["labels"]["mlflow.org/model-name"] == model_name
    assert dep["metadata"]["labels"]["mlflow.org/model-version"] == version
    assert dep["metadata"]["labels"]["team"] == "ml"
    assert dep["metadata"]["annotations"]["mlflow.org/model-uri"] == v1.model_uri
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    assert container["command"][:5] == ["mlflow", "models", "serve", "--model-uri", v1.model_uri]
    assert container["ports"] == [{"name": "http", "containerPort": v1.port, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ping", "port": "http", "scheme": "HTTP"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/ping"
    assert container["resources"] == {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}
    svc = core.read_namespaced_service(name, namespace)
    assert svc.spec.selector == {"app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "mlflow-deploy-k8s"}
    assert svc.spec.ports[0].target_port == "http"

    assert [d["name"] for d in deployer.list_deployments()] == [name]
    got = deployer.get_deployment(name)
    assert got["endpoint"].endswith(f"/api/v1/namespaces/{namespace}/services/{name}:http/proxy")

    # predict goes through the real API server's service proxy to the real model server
    x = _iris()
    assert _predictions(deployer.predict(name, x)) == [0, 1, 2]

    # rolling update to version 2 (served on its own port): new pods, old ones go, traffic follows
    updated = deployer.update_deployment(name, v2.model_uri, config={"port": str(v2.port)})
    assert updated["model_version"] == v2.model_uri.split("/")[-1] and updated["ready_replicas"] == 1
    pods = core.list_namespaced_pod(namespace, label_selector=f"app.kubernetes.io/instance={name}").items
    pods = [p for p in pods if not p.metadata.deletion_timestamp]  # the old one may still be terminating
    assert [p.metadata.annotations["mlflow.org/model-uri"] for p in pods] == [v2.model_uri]
    replica_sets = apps.list_namespaced_replica_set(namespace).items
    assert sorted(rs.spec.replicas for rs in replica_sets) == [0, 1]
    assert _predictions(deployer.predict(name, x)) == [2, 2, 2]

    # a configured endpoint URL takes precedence (here: version 1's server, directly)
    deployer.update_deployment(name, config={"endpoint_url": v1.url})
    assert deployer.get_deployment(name)["endpoint"] == v1.url
    split = {"dataframe_split": json.loads(x.to_json(orient="split", index=False))}
    assert _predictions(deployer.predict(name, split)) == [0, 1, 2]

    deployer.delete_deployment(name)
    assert deployer.list_deployments() == []
    with pytest.raises(MlflowException, match=f"deployment {namespace}/{name} does not exist") as info:
        deployer.get_deployment(name)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert core.list_namespaced_service(namespace).items == []
    deployer.delete_deployment(name)  # idempotent


def _metrics(hpa: Any) -> dict[str, int]:
    """{resource: averageUtilization} of an autoscaling/v2 HPA read back from the API server."""
    return {m.resource.name: m.resource.target.average_utilization for m in hpa.spec.metrics
            if m.type == "Resource" and m.resource.target.type == "Utilization"}


def test_autoscaler_and_config_file(deployer: Any, core: client.CoreV1Api, namespace: str,
                                    model_uris: list[str], tmp_path: Any) -> None:
    cfg = tmp_path / "deploy.yaml"
    cfg.write_text("image: ghcr.io/mlflow-plugins/serve:1.0\nmin_replicas: 2\nmax_replicas: 5\n"
                   "target_cpu_percent: 60\nservice_type: NodePort\nenv_from_secrets: [model-creds]\n")
    created = deployer.create_deployment("scaled", model_uris[0], config={
        "config_file": str(cfg), "max_replicas": "4", "timeout": "0"})
    assert created["autoscaled"] is True
    autoscaling = client.AutoscalingV2Api(core.api_client)
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("scaled", namespace)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (2, 4)  # -C wins over the file
    assert _metrics(hpa) == {"cpu": 60}
    assert hpa.spec.scale_target_ref.name == "scaled"
    assert core.read_namespaced_service("scaled", namespace).spec.type == "NodePort"
    dep = client.AppsV1Api(core.api_client).read_namespaced_deployment("scaled", namespace)
    container = dep.spec.template.spec.containers[0]
    assert container.env_from[0].secret_ref.name == "model-creds"
    assert container.resources.requests == {"cpu": "250m"}  # the HPA's CPU target needs a request
    # a memory target joins the CPU one (autoscaling/v2); it is a percentage of the memory request
    deployer.update_deployment("scaled", config={"target_memory_percent": "70", "memory_request": "512Mi",
                                                 "timeout": "0"})
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("scaled", namespace)
    assert _metrics(hpa) == {"cpu": 60, "memory": 70}
    # tools still on autoscaling/v1 read the same object (its CPU target; v1 cannot express memory)
    v1 = client.AutoscalingV1Api(core.api_client).read_namespaced_horizontal_pod_autoscaler("scaled", namespace)
    assert v1.spec.target_cpu_utilization_percentage == 60
    # dropping autoscaling removes the HPA
    deployer.update_deployment("scaled", config={"min_replicas": "", "max_replicas": "", "replicas": "1",
                                                 "timeout": "0"})  # -C max_replicas= (empty) unsets
    with pytest.raises(client.exceptions.ApiException) as gone:
        autoscaling.read_namespaced_horizontal_pod_autoscaler("scaled", namespace)
    assert gone.value.status == 404
    deployer.delete_deployment("scaled")


def test_memory_only_autoscaler(deployer: Any, core: client.CoreV1Api, namespace: str, model_uris: list[str]) -> None:
    deployer.create_deployment("memscaled", model_uris[0], config={
        "image": IMAGE, "max_replicas": "3", "target_cpu_percent": "0", "target_memory_percent": "75",
        "memory_request": "1Gi", "timeout": "0"})
    hpa = client.AutoscalingV2Api(core.api_client).read_namespaced_horizontal_pod_autoscaler("memscaled", namespace)
    assert _metrics(hpa) == {"memory": 75}  # CPU target off: none in the HPA, no CPU request added
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (1, 3)
    dep = client.AppsV1Api(core.api_client).read_namespaced_deployment("memscaled", namespace)
    assert dep.spec.template.spec.containers[0].resources.requests == {"memory": "1Gi"}
    # a CPU target again gives both, and the CPU request the CPU target needs
    deployer.update_deployment("memscaled", config={"target_cpu_percent": "50", "timeout": "0"})
    hpa = client.AutoscalingV2Api(core.api_client).read_namespaced_horizontal_pod_autoscaler("memscaled", namespace)
    assert _metrics(hpa) == {"cpu": 50, "memory": 75}
    dep = client.AppsV1Api(core.api_client).read_namespaced_deployment("memscaled", namespace)
    assert dep.spec.template.spec.containers[0].resources.requests == {"cpu": "250m", "memory": "1Gi"}
    deployer.delete_deployment("memscaled")


def test_update_takes_over_an_hpa_made_through_autoscaling_v1(deployer: Any, core: client.CoreV1Api,
                                                               namespace: str, model_uris: list[str]) -> None:
    """0.1.0 of this plugin wrote autoscaling/v1 HPAs; updating such a deployment replaces it in v2."""
    deployer.create_deployment("legacy", model_uris[0], config={"image": IMAGE, "max_replicas": "3", "timeout": "0"})
    v1 = client.AutoscalingV1Api(core.api_client)
    v1.delete_namespaced_horizontal_pod_autoscaler("legacy", namespace)
    v1.create_namespaced_horizontal_pod_autoscaler(namespace, {
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "legacy"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "legacy"},
                 "minReplicas": 1, "maxReplicas": 3, "targetCPUUtilizationPercentage": 80}})
    deployer.update_deployment("legacy", config={"target_memory_percent": "65", "memory_request": "256Mi",
                                                 "timeout": "0"})
    hpa = client.AutoscalingV2Api(core.api_client).read_namespaced_horizontal_pod_autoscaler("legacy", namespace)
    assert _metrics(hpa) == {"cpu": 80, "memory": 65}
    assert hpa.metadata.labels["app.kubernetes.io/managed-by"] == "mlflow-deploy-k8s"
    deployer.delete_deployment("legacy")


def test_create_twice_is_a_clear_error(deployer: Any, namespace: str, model_uris: list[str]) -> None:
    deployer.create_deployment("twice", model_uris[0], config={"image": IMAGE, "timeout": "0"})
    with pytest.raises(MlflowException, match="already exists; use update_deployment") as info:
        deployer.create_deployment("twice", model_uris[0], config={"image": IMAGE, "timeout": "0"})
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_explain_says_why_it_is_unavailable(deployer: Any) -> None:
    with pytest.raises(MlflowException, match="no explanation endpoint"):
        deployer.explain("anything", _iris())


def test_update_survives_a_concurrent_writer(deployer: Any, core: client.CoreV1Api, namespace: str,
                                             model_uris: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Controllers write the Deployment too (the HPA scales it, status bumps its resourceVersion):
    a replace that meets a newer version (409 Conflict) reads again and replaces again."""
    deployer.create_deployment("contended", model_uris[0], config={"image": IMAGE, "timeout": "0"})
    apps = client.AppsV1Api(core.api_client)
    interleaved: list[str] = []

    class ControllerWritesAfterEachRead(client.AppsV1Api):  # type: ignore[misc]
        """Another writer changes the Deployment between the plugin's read and its replace."""

        def read_namespaced_deployment(self, name: str, ns: str, **kw: Any) -> Any:
            live = super().read_namespaced_deployment(name, ns, **kw)
            if len(interleaved) < 3:  # the first three replaces meet a newer version
                tick = f"t{len(interleaved)}"
                apps.patch_namespaced_deployment(name, ns, {"metadata": {"annotations": {"example.com/tick": tick}}})
                interleaved.append(tick)
            return live

    monkeypatch.setattr(type(deployer), "_apps", lambda self: ControllerWritesAfterEachRead(self._connect()[0]))
    deployer.update_deployment("contended", config={"labels": "round=r1", "timeout": "0"})
    assert len(interleaved) == 3  # after update_deployment's own read, then two replaces that met 409
    dep = apps.read_namespaced_deployment("contended", namespace)
    assert dep.metadata.labels["round"] == "r1"
    assert dep.metadata.annotations["example.com/tick"] == "t2"  # the other writer's work stays
    monkeypatch.undo()
    deployer.delete_deployment("contended")
