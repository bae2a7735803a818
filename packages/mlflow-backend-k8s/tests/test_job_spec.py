"""The Job created on the real API server carries the configured spec, and nothing secret in plain text."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import mlflow
import yaml
from kubernetes import client
from mlflow_backend_k8s.backend import K8sBackend

from .conftest import PROJECT


def _job(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    resp = client.BatchV1Api(api).read_namespaced_job(name, namespace, _preload_content=False)
    return json.loads(resp.data)


def test_full_config_lands_in_the_job(api: client.ApiClient, backend_config: dict[str, Any], tracking_uri: str,
                                      experiment_id: str, namespace: str, tmp_path: Path) -> None:
    secret_value = "s3cr3t-value-never-in-the-spec"
    client.CoreV1Api(api).create_namespaced_secret(namespace, {
        "metadata": {"name": "creds"}, "stringData": {"MLFLOW_TRACKING_TOKEN": secret_value}})
    template = tmp_path / "job.yaml"
    template.write_text(yaml.safe_dump({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"annotations": {"from-template": "yes"}},
        "spec": {"template": {"spec": {
            "volumes": [{"name": "scratch", "emptyDir": {}}],
            "containers": [{"name": "ignored", "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                            "workingDir": "/scratch"}],
        }}},
    }))
    cfg = {
        **backend_config,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "nodeSelector": {"pool": "training"},
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "serviceAccount": "trainer",
        "labels": {"team": "ml"},
        "annotations": {"owner": "ml-team@example.com"},
        "ttlSecondsAfterFinished": 600,
        "backoffLimit": 2,
        "activeDeadlineSeconds": 3600,
        "jobTemplate": str(template),
        "envFromSecrets": ["creds"],
        "secretEnv": {"DB_PASSWORD": "creds/MLFLOW_TRACKING_TOKEN"},
        "env": {"LOG_LEVEL": "debug"},
        "imagePullPolicy": "IfNotPresent",
        "imagePullSecrets": ["registry"],
        "trackingUri": "http://mlflow.mlflow.svc:5000",
    }
    submitted = K8sBackend().run(str(PROJECT), "main", {"alpha": "0.7"}, None, cfg, tracking_uri, experiment_id)
    run_id = submitted.run_id
    job = _job(api, namespace, submitted.job_name)
    assert secret_value not in json.dumps(job)

    meta, spec = job["metadata"], job["spec"]
    assert meta["labels"]["team"] == "ml" and meta["labels"]["mlflow.org/run-id"] == run_id
    assert meta["annotations"] == {"from-template": "yes", "owner": "ml-team@example.com"}
    assert spec["ttlSecondsAfterFinished"] == 600  # needs the TTLAfterFinished gate on 1.20: proves it is kept
    assert spec["backoffLimit"] == 2 and spec["activeDeadlineSeconds"] == 3600
    pod = spec["template"]["spec"]
    assert spec["template"]["metadata"]["labels"]["mlflow.org/experiment-id"] == experiment_id
    assert pod["restartPolicy"] == "Never"
    assert pod["nodeSelector"] == {"pool": "training"}
    assert pod["tolerations"] == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["serviceAccountName"] == "trainer"
    assert pod["imagePullSecrets"] == [{"name": "registry"}]
    assert pod["volumes"] == [{"name": "scratch", "emptyDir": {}}]
    (container,) = pod["containers"]
    assert container["name"] == "mlflow-project"
    assert container["image"] == "ghcr.io/mlflow-plugins/runner:1.0"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["workingDir"] == "/scratch" and container["volumeMounts"][0]["mountPath"] == "/scratch"
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    assert container["envFrom"] == [{"secretRef": {"name": "creds"}}]
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_TRACKING_URI"]["value"] == "http://mlflow.mlflow.svc:5000"
    assert env["MLFLOW_RUN_ID"]["value"] == run_id
    assert env["MLFLOW_EXPERIMENT_ID"]["value"] == experiment_id
    assert env["LOG_LEVEL"]["value"] == "debug"
    assert env["DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "creds", "key": "MLFLOW_TRACKING_TOKEN"}}
    script = container["command"][2]
    assert container["command"][:2] == ["sh", "-c"]
    assert "mlflow artifacts download --run-id \"$MLFLOW_RUN_ID\" --artifact-path k8s-project --dst-path" in script
    assert 'tar -xzf "$work/k8s-project/project.tar.gz"' in script
    assert "-e main --env-manager local -P alpha=0.7" in script and '--run-id "$MLFLOW_RUN_ID"' in script

    # the local project went up as an artifact of the run, for the pod to download
    mlc = mlflow.MlflowClient(tracking_uri)
    local = mlc.download_artifacts(run_id, "k8s-project/project.tar.gz", str(tmp_path))
    with tarfile.open(local) as tar:
        assert sorted(tar.getnames()) == ["MLproject", "train.py"]
    run = mlc.get_run(run_id)
    assert run.data.params == {"alpha": "0.7"}
    assert run.data.tags["mlflow.k8s.job"] == submitted.job_name
    assert run.data.tags["mlflow.project.entryPoint"] == "main"
    submitted.cancel()


def test_git_project_is_fetched_by_the_pod(api: client.ApiClient, backend_config: dict[str, Any],
                                           tracking_uri: str, experiment_id: str, namespace: str) -> None:
    uri = "https://github.com/mlflow/mlflow-example"
    submitted = K8sBackend().run(uri, "main", {"alpha": "0.3"}, "abc1234", backend_config, tracking_uri,
                                 experiment_id)
    script = _job(api, namespace, submitted.job_name)["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert f"exec mlflow run {uri} --version abc1234 -e main" in script
    assert "artifacts download" not in script
    assert mlflow.MlflowClient(tracking_uri).list_artifacts(submitted.run_id) == []
    assert mlflow.MlflowClient(tracking_uri).get_run(submitted.run_id).data.tags["mlflow.source.git.commit"] == "abc1234"
    submitted.cancel()


def test_git_uri_with_credentials_is_refused(backend_config: dict[str, Any], tracking_uri: str,
                                             experiment_id: str) -> None:
    import pytest
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as info:
        K8sBackend().run("https://bob:ghp_tok3nvalue@github.com/o/r", "main", {}, None, backend_config,
                         tracking_uri, experiment_id)
    assert "must not carry credentials" in info.value.message and "ghp_tok3nvalue" not in info.value.message
