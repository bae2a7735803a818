"""`mlflow deployments ... -t k8s[:/namespace]`: MLflow loads this module (run_local, target_help, one client)."""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import subprocess
import sys
import time
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.rest import ApiException
from mlflow.deployments import BaseDeploymentClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS
from urllib3.exceptions import HTTPError

from mlflow_deploy_k8s import manifests
from mlflow_deploy_k8s.options import HELP, DeployOptions, from_annotation, parse_options
from mlflow_deploy_k8s.rollout import wait_endpoints, wait_rolled_out
from mlflow_deploy_k8s.scoring import invocation_body, post_json
from mlflow_deploy_k8s.target import CONTEXT, KUBECONFIG, connect, parse_target
from mlflow_plugins_shared.errors import invalid_parameter, not_found, unavailable
from mlflow_plugins_shared.retry import call_with_retry

_logger = logging.getLogger(__name__)
_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise invalid_parameter(f"deployment name {name!r} must be a lower-case DNS label (letters, digits, '-', "
                                "starting with a letter, at most 63 characters)")
    return name


def _message(e: ApiException) -> str:
    try:
        return json.loads(e.body or "").get("message") or e.reason
    except (TypeError, ValueError, AttributeError):
        return str(e.reason)


def _api_error(action: str, e: Exception) -> MlflowException:
    if isinstance(e, ValueError):  # kubernetes>=34 validates request bodies client-side (pydantic)
        return invalid_parameter(f"{action}: not a valid object for this kubernetes client: {str(e)[:800]}")
    if isinstance(e, ApiException):
        if e.status in (400, 422):
            return invalid_parameter(f"{action}: the Kubernetes API server rejected it: {_message(e)}")
        if e.status == 404:
            return not_found(f"{action}: {_message(e)}")
        return unavailable(f"{action}: HTTP {e.status} {_message(e)}")
    return unavailable(f"{action}: cannot reach the Kubernetes API server ({type(e).__name__})")


_CONFLICT_RETRIES = 8
_OWN_PREFIX = "mlflow.org/"  # annotations this plugin writes; every other one is kept on update


def _is_conflict(e: BaseException) -> bool:
    return isinstance(e, ApiException) and e.status == 409


def _over_live(kind: str, body: dict[str, Any], live: Any) -> dict[str, Any]:
    """`body` as a replacement of `live`: its resourceVersion, the fields the server owns, and the
    annotations other writers put there (the deployment controller's revision, `kubectl annotate`)."""
    out = copy.deepcopy(body)
    out["metadata"]["resourceVersion"] = live.metadata.resource_version
    foreign = {k: v for k, v in (live.metadata.annotations or {}).items() if not k.startswith(_OWN_PREFIX)}
    out["metadata"]["annotations"] = {**foreign, **(out["metadata"].get("annotations") or {})}
    if kind == "Service":  # immutable once allocated
        out["spec"]["clusterIP"] = live.spec.cluster_ip
    if kind == "Deployment" and "replicas" not in out["spec"]:
        out["spec"]["replicas"] = live.spec.replicas  # keep the autoscaler's count
    return out


def _default_tracking_uri() -> str | None:
    import mlflow

    uri = mlflow.get_tracking_uri()
    return uri if uri.startswith(("http://", "https://")) and "@" not in uri.split("/")[2] else None


class K8sDeploymentClient(BaseDeploymentClient):
    """Serves MLflow models as a Deployment + Service (+ optional HPA) running `mlflow models serve`."""

    def __init__(self, target_uri: str) -> None:
        super().__init__(target_uri)
        self._target = parse_target(target_uri)
        self._api: k8s.ApiClient | None = None
        self._namespace: str | None = None

    def _connect(self) -> tuple[k8s.ApiClient, str]:
        if self._api is None:
            self._api, self._namespace = connect(self._target)
        assert self._namespace is not None
        return self._api, self._namespace

    @property
    def namespace(self) -> str:
        return self._connect()[1]

    def _apps(self) -> Any:
        return k8s.AppsV1Api(self._connect()[0])

    def _core(self) -> Any:
        return k8s.CoreV1Api(self._connect()[0])

    def _hpa(self) -> Any:
        return k8s.AutoscalingV2Api(self._connect()[0])

    # ---- create / update / delete

    def create_deployment(self, name: str, model_uri: str, flavor: str | None = None,
                          config: dict[str, Any] | None = None, endpoint: str | None = None) -> dict[str, Any]:
        _check_name(name)
        opts = parse_options(config)
        if opts.image is None:
            raise invalid_parameter("deployment config 'image' is required: an image with mlflow and the model's "
                                    "dependencies installed (-C image=...)")
        if opts.tracking_uri is None:
            opts = parse_options({"tracking_uri": _default_tracking_uri()}, opts)
        self._flavor_ok(flavor)
        ns = self.namespace
        objects = self._objects(name, ns, model_uri, flavor, opts)
        try:
            self._apps().read_namespaced_deployment(name, ns)
            raise MlflowException(f"deployment {ns}/{name} already exists; use update_deployment",
                                  error_code=RESOURCE_ALREADY_EXISTS)
        except ApiException as e:
            if e.status != 404:
                raise _api_error(f"reading deployment {ns}/{name}", e) from None
        except HTTPError as e:
            raise _api_error(f"reading deployment {ns}/{name}", e) from None
        for dry_run in ("All", None):  # validate every object server-side before creating any
            for kind, body in objects:
                self._create(kind, ns, body, dry_run)
        _logger.info("created deployment %s/%s for %s", ns, name, model_uri)
        return self._finish(name, ns, opts)

    def update_deployment(self, name: str, model_uri: str | None = None, flavor: str | None = None,
                          config: dict[str, Any] | None = None, endpoint: str | None = None) -> dict[str, Any]:
        _check_name(name)
        ns = self.namespace
        current = self._read(name, ns)
        annotations = current.metadata.annotations or {}
        opts = parse_options(config, from_annotation(annotations.get(manifests.OPTIONS_ANNOTATION)))
        model_uri = model_uri or annotations.get(manifests.MODEL_URI_ANNOTATION)
        flavor = flavor or annotations.get(manifests.FLAVOR_ANNOTATION)
        self._flavor_ok(flavor)
        if not model_uri:
            raise invalid_parameter(f"deployment {ns}/{name} records no model URI; pass one")
        for kind, body in self._objects(name, ns, model_uri, flavor, opts):
            self._apply(kind, ns, body)
        if not opts.autoscaled:
            self._delete_quietly(self._hpa().delete_namespaced_horizontal_pod_autoscaler, name, ns)
        return self._finish(name, ns, opts)

    def delete_deployment(self, name: str, config: dict[str, Any] | None = None, endpoint: str | None = None) -> None:
        _check_name(name)
        ns = self.namespace
        self._delete_quietly(self._hpa().delete_namespaced_horizontal_pod_autoscaler, name, ns)
        self._delete_quietly(self._core().delete_namespaced_service, name, ns)
        # background propagation: the garbage collector removes the ReplicaSets and pods
        self._delete_quietly(self._apps().delete_namespaced_deployment, name, ns)

    # ---- read

    def list_deployments(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        ns = self.namespace
        try:
            found = self._apps().list_namespaced_deployment(
                ns, label_selector=f"{manifests.MANAGED_LABEL}={manifests.MANAGED_BY}").items
        except (ApiException, HTTPError) as e:
            raise _api_error(f"listing deployments in {ns}", e) from None
        return [self._describe(d) for d in sorted(found, key=lambda d: d.metadata.name)]

    def get_deployment(self, name: str, endpoint: str | None = None) -> dict[str, Any]:
        _check_name(name)
        return self._describe(self._read(name, self.namespace))

    # ---- inference

    def predict(self, deployment_name: str | None = None, inputs: Any = None, endpoint: str | None = None) -> Any:
        from mlflow.deployments import PredictionsResponse

        if not deployment_name:
            raise invalid_parameter("predict needs a deployment name")
        _check_name(deployment_name)
        body = invocation_body(inputs)
        return PredictionsResponse.from_json(self._invoke(deployment_name, "invocations", body))

    def explain(self, deployment_name: str | None = None, df: Any = None, endpoint: str | None = None) -> Any:
        from mlflow.protos.databricks_pb2 import NOT_IMPLEMENTED

        raise MlflowException(  # MlflowNotImplementedException only exists from MLflow 3
            "mlflow-deploy-k8s: explain is not available: `mlflow models serve` (the server these deployments "
            "run) has no explanation endpoint for any flavor. Log an explainer model (e.g. mlflow.shap."
            "log_explainer) and deploy it as its own deployment, then call predict on it.",
            error_code=NOT_IMPLEMENTED)

    # ---- helpers

    @staticmethod
    def _flavor_ok(flavor: str | None) -> None:
        if flavor not in (None, "python_function"):
            raise invalid_parameter(f"flavor {flavor!r} is not supported: `mlflow models serve` serves the "
                                    "python_function flavor")

    def _objects(self, name: str, ns: str, model_uri: str, flavor: str | None,
                 opts: DeployOptions) -> list[tuple[str, dict[str, Any]]]:
        objects = [("Deployment", manifests.deployment(name, ns, model_uri, flavor, opts)),
                   ("Service", manifests.service(name, ns, model_uri, opts))]
        if opts.autoscaled:
            objects.append(("HorizontalPodAutoscaler", manifests.autoscaler(name, ns, model_uri, opts)))
        return objects

    def _create(self, kind: str, ns: str, body: dict[str, Any], dry_run: str | None) -> None:
        create: Any = {"Deployment": self._apps().create_namespaced_deployment,
                  "Service": self._core().create_namespaced_service,
                  "HorizontalPodAutoscaler": self._hpa().create_namespaced_horizontal_pod_autoscaler}[kind]
        try:
            create(ns, body, dry_run=dry_run)
        except (ApiException, HTTPError, ValueError) as e:
            raise _api_error(f"creating {kind} {ns}/{body['metadata']['name']}", e) from None

    def _apply(self, kind: str, ns: str, body: dict[str, Any]) -> None:
        """Create, or replace keeping server-managed fields: a Deployment then rolls pods over.

        Controllers write these objects too (the HPA scales the Deployment, status updates bump its
        resourceVersion), so a replace can meet a newer version: 409 Conflict. Like client-go's
        RetryOnConflict, read again and replace again.
        """
        name = body["metadata"]["name"]
        read: Any
        replace: Any
        read, replace = {
            "Deployment": (self._apps().read_namespaced_deployment, self._apps().replace_namespaced_deployment),
            "Service": (self._core().read_namespaced_service, self._core().replace_namespaced_service),
            "HorizontalPodAutoscaler": (self._hpa().read_namespaced_horizontal_pod_autoscaler,
                                        self._hpa().replace_namespaced_horizontal_pod_autoscaler),
        }[kind]

        def read_and_replace() -> None:
            try:
                live = read(name, ns)
            except ApiException as e:
                if e.status == 404:
                    return self._create(kind, ns, body, None)
                raise _api_error(f"reading {kind} {ns}/{name}", e) from None
            except HTTPError as e:
                raise _api_error(f"reading {kind} {ns}/{name}", e) from None
            replace(name, ns, _over_live(kind, body, live))
            return None

        try:
            call_with_retry(read_and_replace, _is_conflict, attempts=_CONFLICT_RETRIES, initial=0.05, maximum=1.0,
                            deadline=None, what=f"replace of {kind} {ns}/{name}")
        except (ApiException, HTTPError, ValueError) as e:
            raise _api_error(f"updating {kind} {ns}/{name}", e) from None

    @staticmethod
    def _delete_quietly(delete: Any, name: str, ns: str) -> None:
        try:
            # raw response: kubernetes>=34 fails to parse the Status some deletes return
            delete(name, ns, _preload_content=False)
        except ApiException as e:
            if e.status != 404:
                raise _api_error(f"deleting {ns}/{name}", e) from None
        except HTTPError as e:
            raise _api_error(f"deleting {ns}/{name}", e) from None

    def _read(self, name: str, ns: str) -> Any:
        try:
            dep = self._apps().read_namespaced_deployment(name, ns)
        except ApiException as e:
            if e.status == 404:
                raise not_found(f"deployment {ns}/{name} does not exist") from None
            raise _api_error(f"reading deployment {ns}/{name}", e) from None
        except HTTPError as e:
            raise _api_error(f"reading deployment {ns}/{name}", e) from None
        labels = dep.metadata.labels or {}
        if labels.get(manifests.MANAGED_LABEL) != manifests.MANAGED_BY:
            raise not_found(f"deployment {ns}/{name} exists but is not managed by mlflow-deploy-k8s")
        return dep

    def _finish(self, name: str, ns: str, opts: DeployOptions) -> dict[str, Any]:
        if opts.timeout > 0:
            started = time.monotonic()
            try:
                dep = wait_rolled_out(self._apps(), ns, name, opts.timeout)
            except (ApiException, HTTPError) as e:
                raise _api_error(f"waiting for deployment {ns}/{name}", e) from None
            if opts.endpoint_url is None and (dep.spec.replicas or 0) > 0:
                left = max(1.0, opts.timeout - (time.monotonic() - started))
                if not wait_endpoints(self._core(), ns, name, opts.port, left):
                    _logger.warning("service %s/%s does not route to the new pods yet", ns, name)
            return self._describe(dep)
        return self._describe(self._read(name, ns))

    def _describe(self, dep: Any) -> dict[str, Any]:
        meta, spec, status = dep.metadata, dep.spec, dep.status
        annotations = meta.annotations or {}
        opts = from_annotation(annotations.get(manifests.OPTIONS_ANNOTATION))
        container = spec.template.spec.containers[0]
        labels = meta.labels or {}
        return {
            "name": meta.name,
            "namespace": meta.namespace,
            "model_uri": annotations.get(manifests.MODEL_URI_ANNOTATION),
            "model_name": labels.get(manifests.MODEL_NAME_LABEL),
            "model_version": labels.get(manifests.MODEL_VERSION_LABEL),
            "flavor": annotations.get(manifests.FLAVOR_ANNOTATION, "python_function"),
            "image": container.image,
            "replicas": spec.replicas,
            "ready_replicas": (status.ready_replicas if status else None) or 0,
            "updated_replicas": (status.updated_replicas if status else None) or 0,
            "autoscaled": opts.autoscaled,
            "endpoint": opts.endpoint_url or self._service_proxy_url(meta.name, meta.namespace),
            "service": f"http://{meta.name}.{meta.namespace}.svc:80",
        }

    def _service_proxy_url(self, name: str, ns: str) -> str:
        host = self._connect()[0].configuration.host.rstrip("/")
        return f"{host}/api/v1/namespaces/{ns}/services/{name}:http/proxy"

    def _invoke(self, name: str, path: str, body: dict[str, Any]) -> str:
        ns = self.namespace
        opts = from_annotation((self._read(name, ns).metadata.annotations or {}).get(manifests.OPTIONS_ANNOTATION))
        if opts.endpoint_url:
            return post_json(f"{opts.endpoint_url}/{path}", body)
        # through the API server's service proxy: works from anywhere the API server is reachable
        return self._post_via_api_server(f"{self._service_proxy_url(name, ns)}/{path}", body)

    def _post_via_api_server(self, url: str, body: dict[str, Any]) -> str:
        import requests

        conf = self._connect()[0].configuration
        if getattr(conf, "refresh_api_key_hook", None):
            conf.refresh_api_key_hook(conf)
        headers = {"Content-Type": "application/json"}
        token = conf.get_api_key_with_prefix("authorization") or conf.get_api_key_with_prefix("BearerToken")
        if token:
            headers["Authorization"] = token
        verify: Any = conf.ssl_ca_cert or True if conf.verify_ssl else False
        cert = (conf.cert_file, conf.key_file) if conf.cert_file else None
        try:
            resp = requests.post(url, data=json.dumps(body), headers=headers, verify=verify, cert=cert, timeout=60)
        except requests.RequestException as e:
            raise unavailable(f"cannot reach the Kubernetes API server for {url}: {type(e).__name__}") from None
        if resp.status_code == 503:
            raise unavailable(f"no ready pod behind the service ({url}): {resp.text[:300]}")
        if resp.status_code >= 400:
            raise MlflowException(f"{url} answered HTTP {resp.status_code}: {resp.text[:500]}")
        return resp.text


def run_local(name: str, model_uri: str, flavor: str | None = None, config: dict[str, Any] | None = None) -> None:
    """Serve the model on this machine as the pods would (`mlflow models serve`), until interrupted."""
    _check_name(name)
    opts = parse_options(config)
    K8sDeploymentClient._flavor_ok(flavor)
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "--model-uri", model_uri, "--host", "127.0.0.1",
           "--port", str(opts.port), "--workers", str(opts.workers), "--env-manager", opts.env_manager]
    print(f"Serving {model_uri} as {name!r} on http://127.0.0.1:{opts.port} (Ctrl-C to stop)", flush=True)
    # `mlflow models serve` execs uvicorn/gunicorn by name: find them next to this Python (an unactivated venv)
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(cmd, env=env)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        code = proc.wait()
    if code not in (0, -15):
        raise MlflowException(f"`mlflow models serve` exited with code {code}")


def target_help() -> str:
    rows = "\n".join(f"  {key:<20} {text}" for key, text in HELP.items())
    return f"""Kubernetes target (mlflow-deploy-k8s): a Deployment + Service (+ optional HorizontalPodAutoscaler)
running `mlflow models serve` in a prebuilt image, probes on /ping, labels linking to the model.

Target URI: k8s (namespace of the kubeconfig context, else "default") or k8s:/<namespace>.
Cluster credentials: ${KUBECONFIG.env} or $KUBECONFIG or ~/.kube/config, then in-cluster;
context: ${CONTEXT.env}.

Config (-C key=value, or -C config_file=deploy.yaml with the same keys; -C wins):
{rows}

predict goes through the API server's service proxy, or to endpoint_url when set.
Example:
  mlflow deployments create -t k8s:/models --name iris -m models:/iris/3 -C image=ghcr.io/me/serve:1
"""
