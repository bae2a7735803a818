"""Connecting to the cluster and proving we may create Jobs, before anything is created."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as kube_config
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

from mlflow_plugins_shared.errors import config_error, not_found, permission_denied, unavailable

_logger = logging.getLogger(__name__)


def api_client(kubeconfig: str | None, context: str | None) -> k8s.ApiClient:
    path = kubeconfig or os.environ.get("KUBECONFIG")
    default = Path("~/.kube/config").expanduser()
    try:
        if path or default.is_file():
            if path and not Path(path.split(os.pathsep)[0]).expanduser().is_file():
                raise config_error("kubeconfig", f"file {path!r} does not exist")
            return kube_config.new_client_from_config(config_file=path, context=context)
        configuration = k8s.Configuration()
        kube_config.load_incluster_config(client_configuration=configuration)
        return k8s.ApiClient(configuration)
    except kube_config.ConfigException as e:
        raise config_error("kubeconfig", f"cannot load cluster credentials: {e}") from None


def _reason(e: Exception) -> str:
    if isinstance(e, ApiException):
        return f"HTTP {e.status} {e.reason}"
    return type(e).__name__ + (f": {e}" if str(e) else "")


def check_can_create_jobs(api: k8s.ApiClient, namespace: str) -> None:
    """One namespace read and one access review: catches unreachable clusters, bad credentials,
    missing namespaces and missing RBAC with a message that says which."""
    host = api.configuration.host
    try:
        k8s.CoreV1Api(api).read_namespace(namespace, _request_timeout=15)
    except ApiException as e:
        if e.status == 404:
            raise not_found(f"Kubernetes namespace {namespace!r} does not exist on {host}") from None
        if e.status == 401:
            raise permission_denied(f"the Kubernetes API server {host} rejected the credentials (HTTP 401)") from None
        if e.status != 403:  # a namespaced service account may not read namespaces; the review decides
            raise unavailable(f"cannot reach the Kubernetes API server {host}: {_reason(e)}") from None
    except (HTTPError, OSError) as e:
        raise unavailable(f"cannot reach the Kubernetes API server {host}: {_reason(e)}") from None
    review = k8s.V1SelfSubjectAccessReview(spec=k8s.V1SelfSubjectAccessReviewSpec(
        resource_attributes=k8s.V1ResourceAttributes(namespace=namespace, verb="create", group="batch",
                                                     resource="jobs")))
    try:
        result: Any = k8s.AuthorizationV1Api(api).create_self_subject_access_review(review, _request_timeout=15)
    except (ApiException, HTTPError, OSError) as e:
        raise unavailable(f"cannot check Job permissions on {host}: {_reason(e)}") from None
    if not result.status.allowed:
        raise permission_denied(f"these Kubernetes credentials may not create Jobs in namespace {namespace!r} "
                                f"on {host}" + (f": {result.status.reason}" if result.status.reason else ""))
    _logger.debug("may create jobs in %s on %s", namespace, host)
