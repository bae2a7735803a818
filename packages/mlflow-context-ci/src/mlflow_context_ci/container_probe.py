"""Container and Kubernetes: runtime, image when exposed, pod/namespace/node from downward-API
variables and the service-account namespace file. Files are read under a configurable root."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from mlflow_context_ci import tag_keys

# Conventional names for downward-API variables (`fieldRef: metadata.name` etc.); first one set wins.
POD_VARS = ("POD_NAME", "MY_POD_NAME", "K8S_POD_NAME", "KUBERNETES_POD_NAME")
NAMESPACE_VARS = ("POD_NAMESPACE", "MY_POD_NAMESPACE", "K8S_NAMESPACE", "KUBERNETES_NAMESPACE")
NODE_VARS = ("NODE_NAME", "MY_NODE_NAME", "K8S_NODE_NAME", "KUBERNETES_NODE_NAME")
IMAGE_VARS = ("CONTAINER_IMAGE", "K8S_CONTAINER_IMAGE")

_CGROUP_RUNTIMES = (("kubepods", "kubernetes"), ("libpod", "podman"), ("docker", "docker"),
                    ("containerd", "containerd"), ("lxc", "lxc"))
_CONTAINERENV_LINE = re.compile(r'^(\w+)="(.*)"$')


def _under(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _read(path: str, limit: int = 65536) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return None


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = (env.get(name) or "").strip()
        if value:
            return value
    return None


def runtime(root: str) -> tuple[str | None, dict[str, str]]:
    """The container runtime, and what podman's /run/.containerenv tells (image, name)."""
    containerenv = _read(_under(root, "/run/.containerenv"))
    if containerenv is not None:
        fields = {}
        for line in containerenv.splitlines():
            m = _CONTAINERENV_LINE.match(line.strip())
            if m:
                fields[m.group(1)] = m.group(2)
        return "podman", fields
    if os.path.exists(_under(root, "/.dockerenv")):
        return "docker", {}
    cgroup = _read(_under(root, "/proc/self/cgroup")) or ""
    for marker, name in _CGROUP_RUNTIMES:
        if marker in cgroup:
            return name, {}
    return None, {}


def container_tags(env: Mapping[str, str], root: str, serviceaccount_dir: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    found_runtime, podman = runtime(root)
    namespace = _first(env, NAMESPACE_VARS)
    if namespace is None:
        text = _read(_under(root, os.path.join(serviceaccount_dir, "namespace")), 256)
        namespace = text.strip() if text else None
    in_kubernetes = bool(namespace or env.get("KUBERNETES_SERVICE_HOST"))
    if found_runtime:
        tags[tag_keys.CONTAINER_RUNTIME] = found_runtime
    elif in_kubernetes:
        tags[tag_keys.CONTAINER_RUNTIME] = "kubernetes"
    image = _first(env, IMAGE_VARS) or podman.get("image")
    if image:
        tags[tag_keys.CONTAINER_IMAGE] = image
    if in_kubernetes:
        # A pod's host name is its name unless the pod spec sets `hostname`.
        pod = _first(env, POD_VARS) or (env.get("HOSTNAME") or "").strip()
        node = _first(env, NODE_VARS)
        for key, value in ((tag_keys.K8S_POD, pod), (tag_keys.K8S_NAMESPACE, namespace), (tag_keys.K8S_NODE, node)):
            if value:
                tags[key] = value
    return tags
