"""Waiting for a Deployment rollout with the watch API (what `kubectl rollout status` checks)."""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

from mlflow_plugins_shared.errors import internal, unavailable


def rolled_out(dep: Any) -> bool:
    spec, status = dep.spec, dep.status
    if status is None or (status.observed_generation or 0) < (dep.metadata.generation or 0):
        return False
    want = spec.replicas if spec.replicas is not None else 1
    return ((status.updated_replicas or 0) >= want and (status.available_replicas or 0) >= want
            and (status.replicas or 0) <= want)


def _failure(dep: Any) -> str | None:
    for c in (dep.status.conditions if dep.status else None) or []:
        if c.type == "Progressing" and c.status == "False" and c.reason == "ProgressDeadlineExceeded":
            return c.message or c.reason
    return None


def wait_rolled_out(apps: k8s.AppsV1Api, namespace: str, name: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        dep: Any = apps.read_namespaced_deployment(name, namespace)
        if rolled_out(dep):
            return dep
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            for event in watch.Watch().stream(
                apps.list_namespaced_deployment, namespace, field_selector=f"metadata.name={name}",
                resource_version=dep.metadata.resource_version, timeout_seconds=max(1, int(remaining) + 1),
            ):
                obj = event["object"]
                if event["type"] == "DELETED":
                    raise internal(f"deployment {namespace}/{name} was deleted during its rollout")
                if event["type"] == "ERROR":
                    break
                if rolled_out(obj):
                    return obj
                if (why := _failure(obj)) is not None:
                    raise internal(f"deployment {namespace}/{name} failed to roll out: {why}")
        except ApiException as e:
            if e.status != 410:
                raise unavailable(f"watching deployment {namespace}/{name} failed: HTTP {e.status}") from None
        except HTTPError:
            pass
    status = dep.status
    raise unavailable(
        f"deployment {namespace}/{name} not rolled out after {timeout:.0f}s "
        f"(ready {status.ready_replicas or 0}/{dep.spec.replicas}); pods may still be pulling the image or "
        "loading the model, check `kubectl describe deployment` (or raise -C timeout)"
    )


def _serves_only(endpoints: Any, port: int) -> bool:
    subsets = endpoints.subsets or []
    return bool(subsets) and all(
        s.addresses and not s.not_ready_addresses and [p.port for p in s.ports or []] == [port] for s in subsets)


def wait_endpoints(core: Any, namespace: str, name: str, port: int, timeout: float) -> bool:
    """After a rollout, wait until the Service routes only to pods of the new template (its port), so a
    `predict` right after create/update reaches the new model. False (no error) if `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            current = core.read_namespaced_endpoints(name, namespace)
            if _serves_only(current, port):
                return True
            version = current.metadata.resource_version
        except ApiException as e:
            if e.status != 404:
                return False
            version = None
        try:
            for event in watch.Watch().stream(core.list_namespaced_endpoints, namespace,
                                              field_selector=f"metadata.name={name}", resource_version=version,
                                              timeout_seconds=max(1, int(deadline - time.monotonic()) + 1)):
                if event["type"] in ("ADDED", "MODIFIED") and _serves_only(event["object"], port):
                    return True
        except (ApiException, HTTPError):
            time.sleep(0.2)
    return False
