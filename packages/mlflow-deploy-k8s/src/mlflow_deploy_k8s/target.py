"""The `-t k8s[:/namespace]` target: which cluster credentials and which namespace."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubernetes import client as k8s
from kubernetes import config as kube_config

from mlflow_plugins_shared.errors import config_error, invalid_parameter
from mlflow_plugins_shared.settings import Setting, as_str

KUBECONFIG = Setting("MLFLOW_DEPLOY_K8S_KUBECONFIG", as_str,
                     doc="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster credentials)")
CONTEXT = Setting("MLFLOW_DEPLOY_K8S_CONTEXT", as_str, doc="kubeconfig context (default: the current one)")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Target:
    namespace: str | None  # None: the kubeconfig context's namespace, else "default"


def parse_target(target_uri: str) -> Target:
    scheme, _, rest = target_uri.partition(":")
    if scheme != "k8s":
        raise invalid_parameter(f"target {target_uri!r} is not a k8s target; use k8s or k8s:/<namespace>")
    namespace = rest.strip("/") or None
    if namespace is not None and not _NAMESPACE.match(namespace):
        raise invalid_parameter(f"target {target_uri!r}: {namespace!r} is not a valid namespace name")
    return Target(namespace)


def connect(target: Target) -> tuple[k8s.ApiClient, str]:
    """An API client and the namespace to use; the kubeconfig context's namespace is the fallback."""
    path, context = KUBECONFIG.get(), CONTEXT.get()
    try:
        try:
            contexts, active = kube_config.list_kube_config_contexts(config_file=path)
        except kube_config.ConfigException:
            if path:
                raise
            configuration = k8s.Configuration()
            kube_config.load_incluster_config(client_configuration=configuration)
            return k8s.ApiClient(configuration), target.namespace or _incluster_namespace()
        chosen = next((c for c in contexts if c["name"] == context), None) if context else active
        if chosen is None:
            raise config_error(CONTEXT.env, f"context {context!r} is not in the kubeconfig")
        api = kube_config.new_client_from_config(config_file=path, context=chosen["name"])
    except kube_config.ConfigException as e:
        raise config_error(KUBECONFIG.env, f"cannot load Kubernetes credentials: {e}") from None
    except (OSError, ValueError) as e:
        raise config_error(KUBECONFIG.env, f"cannot read the kubeconfig: {e}") from None
    except Exception as e:  # a malformed file surfaces as whatever the YAML/config parser raises
        raise config_error(KUBECONFIG.env, f"cannot read the kubeconfig: {type(e).__name__}: {e}") from None
    return api, target.namespace or chosen.get("context", {}).get("namespace") or "default"


def _incluster_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"
