"""The kubelet the `k8s` test cluster lacks, played by a test against the real API server.

The `k8s` service (services/k8s.py) runs etcd, kube-apiserver and kube-controller-manager only, as
controller-runtime's envtest does: controllers create Pods, nothing runs them. `FakeKubelet` is the
one place that does what a kubelet would: register a Node, bind pods to it, patch their status
(Running+Ready, Succeeded, Failed with an exit code), confirm deletions and serve container logs to
the API server. Both k8s plugins' tests, their benchmark and tests-integration use it.
"""

from __future__ import annotations

import os
import time
from typing import Any


def host_ip() -> str:
    """This machine's non-loopback IPv4 (pod IPs and endpoints may not be loopback), else 127.0.0.1."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"



class FakeKubelet:
    """What a kubelet would do, driven by a test, against the real API server (as envtest users do).

    One Node per instance (`fake-node-<pid>-<n>`), with this process's HTTPS log endpoint as its
    kubelet port, so `kubectl logs` / read_namespaced_pod_log go through the real API server.
    A background watch force-deletes terminating pods on the node (a kubelet confirms deletion),
    and `serve()` rules make matching new pods Running+Ready at once (for Deployments).
    """

    _count = 0

    def __init__(self, exports: dict[str, str]) -> None:
        import threading

        from kubernetes import client, config

        FakeKubelet._count += 1
        self.api = config.new_client_from_config(exports["MLFLOW_TESTENV_K8S_KUBECONFIG"])
        self.core: Any = client.CoreV1Api(self.api)  # dict bodies, as the API accepts them
        self.node = f"fake-node-{os.getpid()}-{FakeKubelet._count}"
        self.logs: dict[tuple[str, str], bytes] = {}
        self.rules: list[tuple[str, dict[str, str], str]] = []  # (namespace, labels, pod ip)
        self._stop = threading.Event()
        self._server = self._log_server(exports["MLFLOW_TESTENV_K8S_KUBELET_CERT"],
                                        exports["MLFLOW_TESTENV_K8S_KUBELET_KEY"])
        self._register_node()
        self._threads = [threading.Thread(target=self._loop, args=(fn,), daemon=True)
                         for fn in (self._finalize_terminating, self._serve_new_pods)]
        for t in self._threads:
            t.start()

    # -- node and log endpoint

    def _log_server(self, cert: str, key: str):  # type: ignore[no-untyped-def]
        import ssl
        import threading
        from http.server import BaseHTTPRequestHandler

        from mlflow_testenv.http_server import LocalHTTPServer

        kubelet = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # /containerLogs/<ns>/<pod>/<container>
                parts = self.path.split("?")[0].strip("/").split("/")
                body = kubelet.logs.get((parts[1], parts[2]), b"") if len(parts) >= 3 else b""
                self.send_response(200 if parts[0] == "containerLogs" else 404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = LocalHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def _register_node(self) -> None:
        from kubernetes.client.rest import ApiException

        try:
            self.core.create_node({"metadata": {"name": self.node, "labels": {"kubernetes.io/hostname": self.node}}})
        except ApiException as e:
            if e.status != 409:
                raise
        port = self._server.server_address[1]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.core.patch_node_status(self.node, {"status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": self.node}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            "capacity": {"cpu": "16", "memory": "64Gi", "pods": "110"},
            "allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "fake kubelet",
                            "lastHeartbeatTime": now, "lastTransitionTime": now}],
        }})

    # -- what a test calls

    def wait_for_pods(self, namespace: str, selector: str, count: int = 1, timeout: float = 30) -> list[str]:
        """Names of the first `count` pods matching `selector` (watching, not polling)."""
        from kubernetes import watch

        names: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = self.core.list_namespaced_pod(namespace, label_selector=selector)
            names = [p.metadata.name for p in listed.items if not p.metadata.deletion_timestamp]
            if len(names) >= count:
                return names[:count]
            for event in watch.Watch().stream(self.core.list_namespaced_pod, namespace, label_selector=selector,
                                              resource_version=listed.metadata.resource_version,
                                              timeout_seconds=max(1, int(deadline - time.monotonic()))):
                if event["type"] == "ADDED" and event["object"].metadata.name not in names:
                    names.append(event["object"].metadata.name)
                    if len(names) >= count:
                        return names[:count]
        raise TimeoutError(f"{count} pod(s) {selector!r} in {namespace} did not appear within {timeout}s (got {names})")

    def bind(self, namespace: str, pod: str) -> None:
        from kubernetes.client.rest import ApiException

        body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod},
                "target": {"apiVersion": "v1", "kind": "Node", "name": self.node}}
        try:
            self.core.create_namespaced_binding(namespace, body, _preload_content=False)
        except ApiException as e:
            if e.status != 409:  # already bound
                raise

    def set_phase(self, namespace: str, pod: str, phase: str, *, exit_code: int | None = None,
                  pod_ip: str = "127.0.0.1") -> None:
        """Running (and Ready), Succeeded or Failed, with matching container states."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        spec = self.core.read_namespaced_pod(pod, namespace).spec
        if phase == "Running":
            state: dict[str, Any] = {"running": {"startedAt": now}}
        else:
            code = exit_code if exit_code is not None else (0 if phase == "Succeeded" else 1)
            state = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                    "startedAt": now, "finishedAt": now}}
        ready = "True" if phase == "Running" else "False"
        statuses = [{"name": c.name, "image": c.image, "imageID": "", "ready": ready == "True",
                     "restartCount": 0, "state": state, "started": phase == "Running"} for c in spec.containers]
        self.core.patch_namespaced_pod_status(pod, namespace, {"status": {
            "phase": phase, "podIP": pod_ip, "podIPs": [{"ip": pod_ip}], "hostIP": "127.0.0.1", "startTime": now,
            "conditions": [{"type": t, "status": ready if t in ("Ready", "ContainersReady") else "True",
                            "lastTransitionTime": now}
                           for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
            "containerStatuses": statuses,
        }})

    def run(self, namespace: str, pod: str, pod_ip: str = "127.0.0.1") -> None:
        self.bind(namespace, pod)
        self.set_phase(namespace, pod, "Running", pod_ip=pod_ip)

    def serve(self, namespace: str, labels: dict[str, str], pod_ip: str) -> None:
        """From now on, pods in `namespace` with `labels` start Running+Ready at `pod_ip` by themselves."""
        self.rules.append((namespace, labels, pod_ip))
        for pod in self.core.list_namespaced_pod(namespace).items:
            self._maybe_serve(pod)

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        try:
            self.core.delete_node(self.node)
        except Exception:  # noqa: S110 - best effort at teardown
            pass

    # -- background watches

    def _loop(self, body) -> None:  # type: ignore[no-untyped-def]
        while not self._stop.is_set():
            try:
                body()
            except Exception:
                time.sleep(0.5)

    def _finalize_terminating(self) -> None:
        from kubernetes import watch

        for event in watch.Watch().stream(self.core.list_pod_for_all_namespaces,
                                          field_selector=f"spec.nodeName={self.node}", timeout_seconds=5):
            pod = event["object"]
            if event["type"] != "DELETED" and pod.metadata.deletion_timestamp:
                self._force_delete(pod)
            if self._stop.is_set():
                return

    def _force_delete(self, pod) -> None:  # type: ignore[no-untyped-def]
        from kubernetes.client.rest import ApiException

        try:
            self.core.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0)
        except ApiException as e:
            if e.status != 404:
                raise

    def _serve_new_pods(self) -> None:
        from kubernetes import watch

        if not self.rules:
            time.sleep(0.2)
            return
        for event in watch.Watch().stream(self.core.list_pod_for_all_namespaces, field_selector="spec.nodeName=",
                                          timeout_seconds=5):
            if event["type"] in ("ADDED", "MODIFIED"):
                self._maybe_serve(event["object"])
            if self._stop.is_set():
                return

    def _maybe_serve(self, pod) -> None:  # type: ignore[no-untyped-def]
        labels = pod.metadata.labels or {}
        if pod.spec.node_name or pod.metadata.deletion_timestamp:
            return
        for namespace, wanted, ip in self.rules:
            if pod.metadata.namespace == namespace and all(labels.get(k) == v for k, v in wanted.items()):
                self.run(namespace, pod.metadata.name, pod_ip=ip)
                return
