"""The SubmittedRun of a k8s-job run: wait, status, cancel and logs of its Job."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from typing import IO, Any

from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.rest import ApiException
from mlflow.entities import RunStatus
from mlflow.projects.submitted_run import SubmittedRun
from mlflow.tracking import MlflowClient
from urllib3.exceptions import HTTPError

from mlflow_backend_k8s.job_spec import CONTAINER_NAME
from mlflow_backend_k8s.job_watch import FAILED, FINISHED, KILLED, JobWatcher, job_outcome
from mlflow_plugins_shared.errors import not_found, unavailable

_logger = logging.getLogger(__name__)
CANCEL_TIMEOUT = 120.0
LOG_START_TIMEOUT = 600.0  # logs(follow=True) waits this long for a pod to start


class K8sSubmittedRun(SubmittedRun):
    def __init__(self, run_id: str, api: k8s.ApiClient, namespace: str, job_name: str, *,
                 tracking_uri: str | None = None, stream_logs: bool = False) -> None:
        super().__init__()
        self._run_id = run_id
        self.api = api
        self.namespace = namespace
        self.job_name = job_name
        self.tracking_uri = tracking_uri
        self.stream_logs = stream_logs
        self.watcher = JobWatcher(api, namespace, job_name)

    def __repr__(self) -> str:
        return f"K8sSubmittedRun(run_id={self._run_id!r}, job={self.namespace}/{self.job_name})"

    @property
    def run_id(self) -> str:
        return self._run_id

    # ---- MLflow run status

    def _client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.tracking_uri)

    def _mark_run(self, status: str, *, override_running_only: bool = True) -> None:
        client = self._client()
        current = client.get_run(self._run_id).info.status
        if override_running_only and RunStatus.is_terminated(RunStatus.from_string(current)):
            return
        client.set_terminated(self._run_id, status)

    # ---- SubmittedRun

    def wait(self, timeout: float | None = None) -> bool:
        """Watch the Job until it completes or fails; the MLflow run ends with the same outcome."""
        follower = None
        if self.stream_logs:
            follower = threading.Thread(target=self._copy_logs, args=(sys.stdout,), daemon=True)
            follower.start()
        try:
            outcome = self.watcher.until_done(timeout)
        except (ApiException, HTTPError, OSError) as e:
            raise unavailable(f"lost the Kubernetes API while waiting for job {self.job_name}: {e}") from None
        if outcome is None:
            return False
        self._mark_run(outcome)
        if follower is not None:
            follower.join(timeout=5)
        return outcome == FINISHED

    def get_status(self) -> str:
        job = self.watcher.read()
        if job is None:  # cancelled, or removed by ttlSecondsAfterFinished after it ended
            current = self._client().get_run(self._run_id).info.status
            return current if RunStatus.is_terminated(RunStatus.from_string(current)) else KILLED
        if (outcome := job_outcome(job)) is not None:
            return outcome
        pods = self._pods()
        if any(p.status and p.status.phase == "Running" for p in pods):
            return RunStatus.to_string(RunStatus.RUNNING)
        return RunStatus.to_string(RunStatus.SCHEDULED)

    def cancel(self) -> None:
        """Delete the Job and its pods (foreground propagation), then mark the run KILLED."""
        if job_outcome(self.watcher.read()) in (FINISHED, FAILED):
            return  # already over: nothing to cancel, keep its outcome
        try:
            self.watcher.batch.delete_namespaced_job(
                self.job_name, self.namespace, body=k8s.V1DeleteOptions(propagation_policy="Foreground"),
                _preload_content=False)  # raw: kubernetes>=34 cannot parse every Status a delete returns
        except ApiException as e:
            if e.status != 404:
                raise unavailable(f"cannot delete job {self.job_name}: HTTP {e.status} {e.reason}") from None
        if not self.watcher.until_deleted(CANCEL_TIMEOUT):
            _logger.warning("job %s/%s still terminating after %.0fs; marking the run KILLED anyway",
                            self.namespace, self.job_name, CANCEL_TIMEOUT)
        self._mark_run(KILLED, override_running_only=True)

    # ---- pods and logs

    def _pods(self) -> list[Any]:
        core = k8s.CoreV1Api(self.api)
        return core.list_namespaced_pod(self.namespace, label_selector=f"job-name={self.job_name}").items

    def logs(self, follow: bool = False, timeout: float = LOG_START_TIMEOUT) -> Iterator[str]:
        """Lines of the newest pod's log. `follow=True` first waits (watching, up to `timeout` seconds)
        for a pod of the Job to start, so it can be called right after `run()`, then streams the log
        until the container exits; without it the log so far, and an error if there is no pod yet."""
        if follow:
            pod = self._started_pod(timeout)
        else:
            pods = sorted(self._pods(), key=lambda p: p.metadata.creation_timestamp)
            if not pods:
                raise not_found(f"job {self.namespace}/{self.job_name} has no pods (yet)")
            pod = pods[-1].metadata.name
        resp: Any = k8s.CoreV1Api(self.api).read_namespaced_pod_log(
            pod, self.namespace, container=CONTAINER_NAME, follow=follow, _preload_content=False)
        pending = b""
        try:
            for chunk in resp.stream(4096):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode(errors="replace")
            if pending:
                yield pending.decode(errors="replace")
        finally:
            resp.release_conn()

    def _started_pod(self, timeout: float) -> str:
        """The newest pod of the Job that has started (Running, or already ended): one list, then a watch."""
        core: Any = k8s.CoreV1Api(self.api)
        selector = f"job-name={self.job_name}"
        listed = core.list_namespaced_pod(self.namespace, label_selector=selector)
        started = sorted((p for p in listed.items if _started(p)), key=lambda p: p.metadata.creation_timestamp)
        if started:
            return started[-1].metadata.name
        for event in watch.Watch().stream(core.list_namespaced_pod, self.namespace, label_selector=selector,
                                          resource_version=listed.metadata.resource_version,
                                          timeout_seconds=max(1, int(timeout))):
            if event["type"] in ("ADDED", "MODIFIED") and _started(event["object"]):
                return event["object"].metadata.name
        raise unavailable(f"no pod of job {self.namespace}/{self.job_name} started within {timeout:.0f}s")

    def _copy_logs(self, out: IO[str]) -> None:
        """Copy the log of the pod that runs to `out`; best effort."""
        try:
            for line in self.logs(follow=True):
                print(line, file=out, flush=True)
        except Exception as e:  # logs are a convenience; the run's outcome does not depend on them
            _logger.warning("could not stream the logs of job %s: %s", self.job_name, e)


def _started(pod: Any) -> bool:
    return bool(pod.status and pod.status.phase in ("Running", "Succeeded", "Failed"))
