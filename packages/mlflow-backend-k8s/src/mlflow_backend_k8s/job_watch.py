"""Following one Job with the watch API (no polling loops)."""

from __future__ import annotations

import logging
import time
from typing import Any

from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

_logger = logging.getLogger(__name__)

FINISHED, FAILED, KILLED = "FINISHED", "FAILED", "KILLED"
WATCH_SECONDS = 300  # the server closes each watch after this long; we re-read and watch again


def job_outcome(job: Any) -> str | None:
    """FINISHED / FAILED from the Job's conditions, None while it is still going."""
    conditions = (job.status.conditions if job is not None and job.status else None) or []
    for c in conditions:
        if c.status == "True" and c.type == "Complete":
            return FINISHED
        if c.status == "True" and c.type == "Failed":
            return FAILED
    return None


class JobWatcher:
    def __init__(self, api: k8s.ApiClient, namespace: str, name: str) -> None:
        self.batch = k8s.BatchV1Api(api)
        self.namespace = namespace
        self.name = name
        self.api_calls = 0  # read + watch requests, for the benchmark

    def read(self) -> Any | None:
        self.api_calls += 1
        try:
            return self.batch.read_namespaced_job(self.name, self.namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    def _events(self, resource_version: str, timeout: float | None) -> Any:
        self.api_calls += 1
        seconds = WATCH_SECONDS if timeout is None else max(1, min(WATCH_SECONDS, int(timeout) + 1))
        return watch.Watch().stream(
            self.batch.list_namespaced_job, self.namespace,
            field_selector=f"metadata.name={self.name}", resource_version=resource_version,
            timeout_seconds=seconds,
        )

    def until_done(self, timeout: float | None = None) -> str | None:
        """Block until the Job completes, fails or disappears (KILLED); None if `timeout` passes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            job = self.read()
            if job is None:
                return KILLED
            if (outcome := job_outcome(job)) is not None:
                return outcome
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                for event in self._events(job.metadata.resource_version, remaining):
                    if event["type"] == "DELETED":
                        return KILLED
                    if event["type"] == "ERROR":
                        break  # e.g. 410 Gone: re-read and watch from the new version
                    if (outcome := job_outcome(event["object"])) is not None:
                        return outcome
            except ApiException as e:
                if e.status != 410:
                    raise
            except HTTPError as e:  # connection dropped mid-watch: read again
                _logger.debug("watch of job %s interrupted (%s); resuming", self.name, e)
        return None

    def until_deleted(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.read()
            if job is None:
                return True
            try:
                for event in self._events(job.metadata.resource_version, deadline - time.monotonic()):
                    if event["type"] == "DELETED":
                        return True
                    if event["type"] == "ERROR":
                        break
            except ApiException as e:
                if e.status != 410:
                    raise
            except HTTPError:
                pass
        return self.read() is None
