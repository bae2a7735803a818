"""The Job manifest (a plain dict) for one MLflow run."""

from __future__ import annotations

import copy
from typing import Any

from mlflow_backend_k8s.config import JobConfig

CONTAINER_NAME = "mlflow-project"
MANAGED_BY = "mlflow-backend-k8s"
RUN_ID_LABEL = "mlflow.org/run-id"
EXPERIMENT_ID_LABEL = "mlflow.org/experiment-id"


def job_name(run_id: str) -> str:
    return f"mlflow-run-{run_id[:20].lower()}"


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` wins; mappings merge recursively; lists and scalars are replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _env(cfg: JobConfig, tracking_uri: str, run_id: str, experiment_id: str) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(cfg.env.items())]
    env += [
        {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for var, (secret, key) in sorted(cfg.secret_env.items())
    ]
    env += [
        {"name": "MLFLOW_TRACKING_URI", "value": tracking_uri},
        {"name": "MLFLOW_RUN_ID", "value": run_id},
        {"name": "MLFLOW_EXPERIMENT_ID", "value": experiment_id},
    ]
    return env


def _container(cfg: JobConfig, script: str, env: list[dict[str, Any]], template: dict[str, Any]) -> dict[str, Any]:
    ours: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": cfg.image,
        "command": ["sh", "-c", script],
        "env": template.get("env", []) + env,
    }
    if cfg.env_from_secrets:
        ours["envFrom"] = template.get("envFrom", []) + [{"secretRef": {"name": s}} for s in cfg.env_from_secrets]
    if cfg.resources:
        ours["resources"] = cfg.resources
    if cfg.image_pull_policy:
        ours["imagePullPolicy"] = cfg.image_pull_policy
    return deep_merge(template, ours)


def build_job(
    cfg: JobConfig, *, run_id: str, experiment_id: str, tracking_uri: str, script: str,
) -> dict[str, Any]:
    template = cfg.job_template
    tmpl_pod_spec = template.get("spec", {}).get("template", {}).get("spec", {})
    tmpl_containers = tmpl_pod_spec.get("containers") or [{}]
    identity = {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        RUN_ID_LABEL: run_id,
        EXPERIMENT_ID_LABEL: experiment_id,
    }
    labels = {**cfg.labels, **identity}
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        # the first template container is ours; any others (sidecars) are kept as they are
        "containers": [
            _container(cfg, script, _env(cfg, tracking_uri, run_id, experiment_id), tmpl_containers[0]),
            *tmpl_containers[1:],
        ],
    }
    if cfg.node_selector:
        pod_spec["nodeSelector"] = cfg.node_selector
    if cfg.tolerations:
        pod_spec["tolerations"] = cfg.tolerations
    if cfg.service_account:
        pod_spec["serviceAccountName"] = cfg.service_account
    if cfg.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": n} for n in cfg.image_pull_secrets]
    job_spec: dict[str, Any] = {
        "backoffLimit": cfg.backoff_limit,
        "template": {
            "metadata": {"labels": labels, "annotations": dict(cfg.annotations)},
            "spec": pod_spec,
        },
    }
    if cfg.ttl_seconds_after_finished is not None:
        job_spec["ttlSecondsAfterFinished"] = cfg.ttl_seconds_after_finished
    if cfg.active_deadline_seconds is not None:
        job_spec["activeDeadlineSeconds"] = cfg.active_deadline_seconds
    generated = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(run_id),
            "namespace": cfg.namespace,
            "labels": labels,
            "annotations": dict(cfg.annotations),
        },
        "spec": job_spec,
    }
    merged = deep_merge(template, generated)
    # containers were merged above; the deep merge would otherwise replace the template's list wholesale
    merged["spec"]["template"]["spec"]["containers"] = pod_spec["containers"]
    return merged
