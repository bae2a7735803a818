"""Deployment, Service and HorizontalPodAutoscaler manifests (plain dicts) for one model."""

from __future__ import annotations

import re
from typing import Any

from mlflow_deploy_k8s.options import DeployOptions, as_annotation

MANAGED_BY = "mlflow-deploy-k8s"
CONTAINER = "model-server"
INSTANCE_LABEL = "app.kubernetes.io/instance"
MANAGED_LABEL = "app.kubernetes.io/managed-by"
MODEL_NAME_LABEL = "mlflow.org/model-name"
MODEL_VERSION_LABEL = "mlflow.org/model-version"
RUN_ID_LABEL = "mlflow.org/run-id"
MODEL_URI_ANNOTATION = "mlflow.org/model-uri"
FLAVOR_ANNOTATION = "mlflow.org/flavor"
OPTIONS_ANNOTATION = "mlflow.org/deploy-options"

_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>[^/]+)|@(?P<alias>[^/]+))?/?$")
_RUNS_URI = re.compile(r"^runs:/(?P<run>[0-9a-zA-Z]+)/")
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _label_value(text: str) -> str:
    return _LABEL_UNSAFE.sub("-", text)[:63].strip("-_.")


def model_labels(model_uri: str) -> dict[str, str]:
    """Labels linking the objects back to the registered model (name, version/alias) or run."""
    found: dict[str, str] = {}
    if m := _MODELS_URI.match(model_uri):
        found[MODEL_NAME_LABEL] = _label_value(m["name"])
        if m["version"] or m["alias"]:
            found[MODEL_VERSION_LABEL] = _label_value(m["version"] or m["alias"])
    elif m := _RUNS_URI.match(model_uri):
        found[RUN_ID_LABEL] = _label_value(m["run"])
    return {k: v for k, v in found.items() if v}


def selector(name: str) -> dict[str, str]:
    return {INSTANCE_LABEL: name, MANAGED_LABEL: MANAGED_BY}


def _labels(name: str, model_uri: str, opts: DeployOptions) -> dict[str, str]:
    return {**opts.labels, "app.kubernetes.io/name": "mlflow-model", **selector(name), **model_labels(model_uri)}


def _resources(opts: DeployOptions) -> dict[str, dict[str, str]]:
    requests = {k: v for k, v in (("cpu", opts.cpu_request), ("memory", opts.memory_request)) if v}
    limits = {k: v for k, v in (("cpu", opts.cpu_limit), ("memory", opts.memory_limit)) if v}
    if opts.autoscaled and opts.cpu_target is not None and "cpu" not in requests:
        requests["cpu"] = "250m"  # the HPA's CPU target is a percentage of the request
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v}


def _probe(initial_delay: int, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": "/ping", "port": "http"}, "initialDelaySeconds": initial_delay,
            "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": 5}


def deployment(name: str, namespace: str, model_uri: str, flavor: str | None, opts: DeployOptions) -> dict[str, Any]:
    labels = _labels(name, model_uri, opts)
    env = [{"name": "MLFLOW_TRACKING_URI", "value": opts.tracking_uri}] if opts.tracking_uri else []
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": opts.image,
        "command": ["mlflow", "models", "serve", "--model-uri", model_uri, "--host", "0.0.0.0",
                    "--port", str(opts.port), "--workers", str(opts.workers), "--env-manager", opts.env_manager],
        "ports": [{"name": "http", "containerPort": opts.port, "protocol": "TCP"}],
        "env": env,
        # loading a model can take a while: liveness starts late, readiness gates traffic
        "readinessProbe": _probe(5, 5, 3),
        "livenessProbe": _probe(60, 10, 6),
    }
    if resources := _resources(opts):
        container["resources"] = resources
    if opts.env_from_secrets:
        container["envFrom"] = [{"secretRef": {"name": s}} for s in opts.env_from_secrets]
    if opts.image_pull_policy:
        container["imagePullPolicy"] = opts.image_pull_policy
    pod_spec: dict[str, Any] = {"containers": [container]}
    if opts.service_account:
        pod_spec["serviceAccountName"] = opts.service_account
    if opts.node_selector:
        pod_spec["nodeSelector"] = opts.node_selector
    if opts.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": s} for s in opts.image_pull_secrets]
    annotations = {MODEL_URI_ANNOTATION: model_uri, OPTIONS_ANNOTATION: as_annotation(opts)}
    if flavor:
        annotations[FLAVOR_ANNOTATION] = flavor
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector(name)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {"metadata": {"labels": labels, "annotations": {MODEL_URI_ANNOTATION: model_uri}},
                     "spec": pod_spec},
    }
    if not opts.autoscaled:  # with an HPA the autoscaler owns the replica count
        spec["replicas"] = opts.replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations},
            "spec": spec}


def service(name: str, namespace: str, model_uri: str, opts: DeployOptions) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": _labels(name, model_uri, opts),
                         "annotations": {MODEL_URI_ANNOTATION: model_uri}},
            "spec": {"type": opts.service_type, "selector": selector(name),
                     "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}


def _utilization(resource: str, percent: int) -> dict[str, Any]:
    return {"type": "Resource",
            "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": percent}}}


def autoscaler(name: str, namespace: str, model_uri: str, opts: DeployOptions) -> dict[str, Any]:
    # autoscaling/v2 (Kubernetes 1.23+): CPU and memory targets; v1 knew CPU only
    metrics = [_utilization(resource, percent)
               for resource, percent in (("cpu", opts.cpu_target), ("memory", opts.target_memory_percent))
               if percent is not None]
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace, "labels": _labels(name, model_uri, opts)},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": opts.min_replicas or 1, "maxReplicas": opts.max_replicas,
                     "metrics": metrics}}
