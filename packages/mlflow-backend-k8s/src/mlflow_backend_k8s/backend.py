"""`mlflow run --backend k8s-job`: validate, create the MLflow run, create the Job."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kubernetes import client as k8s
from kubernetes.client.rest import ApiException
from mlflow.projects.backend.abstract_backend import AbstractBackend
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import (
    MLFLOW_GIT_COMMIT,
    MLFLOW_PROJECT_BACKEND,
    MLFLOW_PROJECT_ENTRY_POINT,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
)

from mlflow_backend_k8s.cluster import api_client, check_can_create_jobs
from mlflow_backend_k8s.config import JobConfig, parse_config
from mlflow_backend_k8s.job_spec import build_job, job_name
from mlflow_backend_k8s.project_source import PROJECT_ARCHIVE, PROJECT_ARTIFACT_DIR, archive, pod_script, resolve_source
from mlflow_backend_k8s.submitted_run import K8sSubmittedRun
from mlflow_plugins_shared.errors import config_error, invalid_parameter, unavailable
from mlflow_plugins_shared.redact import redact_uri

_logger = logging.getLogger(__name__)

JOB_NAME_TAG = "mlflow.k8s.job"
NAMESPACE_TAG = "mlflow.k8s.namespace"
DRY_RUN_ID = "0" * 32  # placeholder run id for the server-side dry run


def pod_tracking_uri(cfg: JobConfig, tracking_uri: str | None) -> str:
    uri = cfg.tracking_uri or tracking_uri or ""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https", "databricks", "databricks-uc"):
        # redact_uri would also turn sqlite:////abs/path into sqlite://abs/path
        shown = redact_uri(uri) if parts.password else uri
        raise config_error("backend config 'trackingUri'",
                           f"the pod cannot reach tracking URI {shown!r} (it is local to this machine); "
                           "set 'trackingUri' to an http(s) tracking server the cluster can reach")
    if parts.password or parts.username:
        raise config_error("backend config 'trackingUri'",
                           "must not carry credentials (they would be stored in the Job in plain text); "
                           "put MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN in a Secret and "
                           "list it in 'envFromSecrets'", uri)
    return uri


class K8sBackend(AbstractBackend):
    """Runs an MLflow project as a Kubernetes Job in a prebuilt image (no image build)."""

    def __init__(self) -> None:
        self.api_calls = 0  # Kubernetes requests made by the last run(), for the benchmark

    def run(self, project_uri: str, entry_point: str, params: dict[str, Any], version: str | None,
            backend_config: dict[str, Any] | str | None, tracking_uri: str | None,
            experiment_id: str) -> K8sSubmittedRun:
        params = dict(params or {})
        entry_point = entry_point or "main"
        cfg = parse_config(backend_config)
        source = resolve_source(project_uri, version, entry_point, params)
        uri_for_pod = pod_tracking_uri(cfg, tracking_uri)
        script = pod_script(source, entry_point, params, cfg.env_manager)
        api = api_client(cfg.kubeconfig, cfg.context)
        check_can_create_jobs(api, cfg.namespace)
        batch = k8s.BatchV1Api(api)
        # server-side dry run: the API server validates the full Job (template merge, quantities)
        probe = build_job(cfg, run_id=DRY_RUN_ID, experiment_id=str(experiment_id), tracking_uri=uri_for_pod,
                          script=script)
        self._create(batch, cfg.namespace, probe, dry_run=True)
        self.api_calls = 3

        client = MlflowClient(tracking_uri=tracking_uri)
        tags = {
            MLFLOW_SOURCE_NAME: project_uri,
            MLFLOW_SOURCE_TYPE: "PROJECT",
            MLFLOW_PROJECT_ENTRY_POINT: entry_point,
            MLFLOW_PROJECT_BACKEND: "k8s-job",  # MLflow sets it too, but only once run() has returned
            NAMESPACE_TAG: cfg.namespace,
        }
        if source.version:
            tags[MLFLOW_GIT_COMMIT] = source.version
        run = client.create_run(str(experiment_id), tags=tags)
        run_id = run.info.run_id
        try:
            for key, value in params.items():
                client.log_param(run_id, key, value)
            if source.local_dir is not None:
                with tempfile.TemporaryDirectory() as tmp:
                    tarball = Path(tmp) / PROJECT_ARCHIVE
                    tarball.write_bytes(archive(source.local_dir))
                    client.log_artifact(run_id, str(tarball), PROJECT_ARTIFACT_DIR)
            manifest = build_job(cfg, run_id=run_id, experiment_id=str(experiment_id),
                                 tracking_uri=uri_for_pod, script=script)
            self._create(batch, cfg.namespace, manifest, dry_run=False)
            self.api_calls += 1
            client.set_tag(run_id, JOB_NAME_TAG, job_name(run_id))
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
        _logger.info("created job %s/%s for run %s", cfg.namespace, job_name(run_id), run_id)
        submitted = K8sSubmittedRun(run_id, api, cfg.namespace, job_name(run_id), tracking_uri=tracking_uri,
                                    stream_logs=cfg.stream_logs)
        if cfg.wait:
            self._wait(submitted)
        return submitted

    @staticmethod
    def _wait(submitted: K8sSubmittedRun) -> None:
        """Block like the local backend does: MLflow's CLI never waits for plugin backends itself."""
        from mlflow.exceptions import ExecutionException

        try:
            ok = submitted.wait()
        except KeyboardInterrupt:
            _logger.error("interrupted: cancelling job %s/%s", submitted.namespace, submitted.job_name)
            submitted.cancel()
            raise
        if not ok:
            raise ExecutionException(f"Run (ID '{submitted.run_id}') failed: job {submitted.namespace}/"
                                     f"{submitted.job_name} ended {submitted.get_status()}")
        _logger.info("=== Run (ID '%s') succeeded ===", submitted.run_id)

    @staticmethod
    def _create(batch: Any, namespace: str, manifest: dict[str, Any], *, dry_run: bool) -> None:
        try:
            batch.create_namespaced_job(namespace, manifest, dry_run="All" if dry_run else None)
        except ValueError as e:  # kubernetes>=34 validates bodies client-side (pydantic)
            raise invalid_parameter(f"the Job is not valid for this kubernetes client: {str(e)[:800]}") from None
        except ApiException as e:
            detail = e.reason
            try:
                import json

                detail = json.loads(e.body or "").get("message", detail)
            except (TypeError, ValueError):
                pass
            if e.status in (400, 422):
                raise invalid_parameter(f"the Kubernetes API server rejected the Job: {detail}") from None
            raise unavailable(f"creating the Job failed: HTTP {e.status} {detail}") from None
