"""A real Kubernetes control plane on loopback: etcd + kube-apiserver + kube-controller-manager.

Binaries: kube-apiserver and kube-controller-manager v1.20 built once from Debian's `kubernetes`
source package by `tools/k8s/build.sh` (cached under ~/.cache/mlflow-plugins/k8s/<version>/);
etcd from Debian's `etcd-server`. TLS with a self-signed CA generated per instance, a static bearer
token (group system:masters), service-account signing keys, and a kubeconfig in the workdir.

There is no kubelet and no scheduler (as with controller-runtime's envtest): Jobs create Pods and
Deployments create ReplicaSets and Pods, but tests play the kubelet (bind pods to a fake Node,
patch their status).

Exports: MLFLOW_TESTENV_K8S_KUBECONFIG, MLFLOW_TESTENV_K8S_URL, MLFLOW_TESTENV_K8S_TOKEN,
MLFLOW_TESTENV_K8S_CA (path of the CA certificate).

Overrides: MLFLOW_TESTENV_K8S_BINDIR (use these binaries, no build),
MLFLOW_TESTENV_K8S_BUILD_SCRIPT (path of build.sh when this package is not run from the repo).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlflow_testenv._install import apt_install
from mlflow_testenv.core import Launch, Service, TestenvError, free_port

# controllers the tests need; nodelifecycle is left out so the fake node is never tainted/evicted
CONTROLLERS = ",".join([
    "job", "deployment", "replicaset", "garbagecollector", "namespace", "serviceaccount",
    "serviceaccount-token", "ttl-after-finished", "endpoint", "endpointslice", "podgc",
])
FEATURE_GATES = "TTLAfterFinished=true"


def _build_script() -> Path:
    override = os.environ.get("MLFLOW_TESTENV_K8S_BUILD_SCRIPT")
    if override:
        return Path(override)
    # tools/testenv-lib/src/mlflow_testenv/services/k8s.py -> tools/k8s/build.sh
    return Path(__file__).resolve().parents[4] / "k8s" / "build.sh"


def _bindir() -> Path:
    override = os.environ.get("MLFLOW_TESTENV_K8S_BINDIR")
    if override:
        return Path(override)
    script = _build_script()
    if not script.is_file():
        raise TestenvError(f"k8s: build script not found at {script}; set MLFLOW_TESTENV_K8S_BUILD_SCRIPT "
                           "or MLFLOW_TESTENV_K8S_BINDIR")
    # build.sh prints the cache dir at once when the binaries are cached, else builds them first
    probe = subprocess.run(["bash", str(script), "--print-dir"], capture_output=True, text=True)
    cached = Path(probe.stdout.strip()) if probe.returncode == 0 else None
    if cached and (cached / "kube-apiserver").is_file():
        return cached
    print("# testenv: k8s binaries not cached yet; building kube-apiserver and kube-controller-manager "
          f"from Debian's kubernetes source with {script} (one-time: 5-10 minutes on 2 free cores, more on a busy machine)...", file=sys.stderr)
    built = subprocess.run(["bash", str(script)], stdout=subprocess.PIPE, text=True)
    if built.returncode != 0:
        raise TestenvError(f"k8s: {script} failed with exit code {built.returncode} (its log is above)")
    return Path(built.stdout.strip().splitlines()[-1])


def _openssl(*args: str, cwd: Path) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise TestenvError(f"k8s: openssl {args[0]} failed: {r.stderr[-500:]}")


def _make_pki(pki: Path) -> None:
    pki.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "3650", "-subj", "/CN=mlflow-testenv-k8s-ca", cwd=pki)
    (pki / "san.cnf").write_text(
        "[ext]\nsubjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=kube-apiserver", cwd=pki)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "3650", "-extfile", "san.cnf", "-extensions", "ext", cwd=pki)
    # the fake kubelet's serving certificate (tests serve pod logs to the API server with it)
    (pki / "kubelet.cnf").write_text(
        f"[ext]\nsubjectAltName=IP:127.0.0.1,IP:{host_ip()},DNS:localhost,DNS:fake-node\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "kubelet.key", "-out", "kubelet.csr",
             "-subj", "/CN=fake-node", cwd=pki)
    _openssl("x509", "-req", "-in", "kubelet.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "kubelet.crt", "-days", "3650", "-extfile", "kubelet.cnf", "-extensions", "ext", cwd=pki)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def host_ip() -> str:
    """This machine's non-loopback IPv4 (pod IPs and endpoints may not be loopback), else 127.0.0.1."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def _kubeconfig(url: str, ca: Path, token: str) -> str:
    import base64

    ca_data = base64.b64encode(ca.read_bytes()).decode()
    return f"""apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: {url}
    certificate-authority-data: {ca_data}
users:
- name: admin
  user:
    token: {token}
contexts:
- name: testenv
  context:
    cluster: testenv
    user: admin
    namespace: default
current-context: testenv
"""


class K8sService(Service):
    name = "k8s"
    description = "kube-apiserver + kube-controller-manager v1.20 + etcd on loopback (TLS, bearer token; no kubelet)"

    def install(self) -> None:
        missing = [pkg for cmd, pkg in (("etcd", "etcd-server"), ("openssl", "openssl")) if not shutil.which(cmd)]
        if missing:
            apt_install(*missing, why="the k8s service")
        _bindir()

    def prepare(self, workdir: Path) -> None:
        _make_pki(workdir / "pki")
        token = secrets.token_hex(24)
        (workdir / "token").write_text(token)
        (workdir / "pki" / "tokens.csv").write_text(f'{token},testenv-admin,1,"system:masters"\n')
        (workdir / "token").chmod(0o600)
        (workdir / "pki" / "tokens.csv").chmod(0o600)

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        import requests

        bindir = _bindir()
        pki = workdir / "pki"
        token = (workdir / "token").read_text().strip()
        url = f"https://127.0.0.1:{port}"
        kubeconfig = workdir / "kubeconfig"
        kubeconfig.write_text(_kubeconfig(url, pki / "ca.crt", token))
        kubeconfig.chmod(0o600)
        cmd = [sys.executable, "-m", "mlflow_testenv.services.k8s", str(bindir), str(workdir), str(port), *args]

        def health() -> bool:
            r = requests.get(f"{url}/readyz", headers={"Authorization": f"Bearer {token}"},
                             verify=str(pki / "ca.crt"), timeout=2)
            return r.status_code == 200

        def wait_for_default_namespace() -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                r = requests.get(f"{url}/api/v1/namespaces/default", headers={"Authorization": f"Bearer {token}"},
                                 verify=str(pki / "ca.crt"), timeout=2)
                if r.status_code == 200:
                    return
                time.sleep(0.2)
            raise TestenvError("k8s: namespace 'default' did not appear within 30s")

        exports = {
            "MLFLOW_TESTENV_K8S_KUBECONFIG": str(kubeconfig),
            "MLFLOW_TESTENV_K8S_URL": url,
            "MLFLOW_TESTENV_K8S_TOKEN": token,
            "MLFLOW_TESTENV_K8S_CA": str(pki / "ca.crt"),
            "MLFLOW_TESTENV_K8S_KUBELET_CERT": str(pki / "kubelet.crt"),
            "MLFLOW_TESTENV_K8S_KUBELET_KEY": str(pki / "kubelet.key"),
        }
        return Launch(cmd=cmd, exports=exports, health=health, after_healthy=wait_for_default_namespace,
                      timeout=90)


SERVICE = K8sService()


# ---- tests play the kubelet (there is none): a Node, binding, pod status, deletion, pod logs

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
        self.core = client.CoreV1Api(self.api)
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
            state = {"running": {"startedAt": now}}
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


# ---- the process the supervisor runs: starts etcd, then the API server, then the controller manager,
# ---- and stops all three when any of them exits or on SIGTERM.

def _control_plane(bindir: Path, workdir: Path, port: int, extra: list[str]) -> int:
    pki = workdir / "pki"
    etcd_client, etcd_peer = free_port(), free_port()
    etcd_url = f"http://127.0.0.1:{etcd_client}"
    procs: list[subprocess.Popen] = []

    def start(name: str, cmd: list[str]) -> None:
        log = open(workdir / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
        print(f"[k8s] starting {name}: {' '.join(cmd[:1])} (log: {workdir / (name + '.log')})", flush=True)
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))

    start("etcd", [
        shutil.which("etcd") or "etcd", "--data-dir", str(workdir / "etcd"), "--name", "testenv",
        "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
        "--listen-peer-urls", f"http://127.0.0.1:{etcd_peer}",
        "--initial-advertise-peer-urls", f"http://127.0.0.1:{etcd_peer}",
        "--initial-cluster", f"testenv=http://127.0.0.1:{etcd_peer}",
        "--quota-backend-bytes", str(2 * 1024**3),
    ])
    start("kube-apiserver", [
        str(bindir / "kube-apiserver"),
        "--etcd-servers", etcd_url,
        "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(port),
        "--insecure-port", "0",
        "--tls-cert-file", str(pki / "server.crt"), "--tls-private-key-file", str(pki / "server.key"),
        "--client-ca-file", str(pki / "ca.crt"),
        "--token-auth-file", str(pki / "tokens.csv"),
        "--authorization-mode", "RBAC",
        "--service-account-key-file", str(pki / "sa.pub"),
        "--service-account-signing-key-file", str(pki / "sa.key"),
        "--service-account-issuer", "https://kubernetes.default.svc",
        "--service-cluster-ip-range", "10.0.0.0/24",
        "--allow-privileged=true",
        # as envtest: no ServiceAccount admission, so pods may name accounts that do not exist yet
        "--disable-admission-plugins", "ServiceAccount",
        "--feature-gates", FEATURE_GATES,
        "--cert-dir", str(pki),
        # pod logs are fetched from the node's "kubelet" (a test's FakeKubelet) over verified TLS
        "--kubelet-certificate-authority", str(pki / "ca.crt"),
        "--kubelet-preferred-address-types", "InternalIP",
        *extra,
    ])
    if not _wait_ready(f"https://127.0.0.1:{port}", workdir, procs):
        code = next((p.returncode for p in procs if p.poll() is not None), 1) or 1
        print(f"[k8s] kube-apiserver did not become ready; see {workdir}/kube-apiserver.log", flush=True)
        _stop_all(procs)
        return code
    start("kube-controller-manager", [
        str(bindir / "kube-controller-manager"),
        "--kubeconfig", str(workdir / "kubeconfig"),
        "--controllers", CONTROLLERS,
        "--service-account-private-key-file", str(pki / "sa.key"),
        "--root-ca-file", str(pki / "ca.crt"),
        "--leader-elect=false", "--port", "0", "--secure-port", "0",
        "--feature-gates", FEATURE_GATES,
        "--concurrent-gc-syncs", "5",
    ])

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while not stopping:
        for p in procs:
            if p.poll() is not None:
                # the controller manager retries on its own only until the API server answers; if it
                # (or anything else) dies, the whole plane goes down and the log says which one
                print(f"[k8s] {p.args[0]} exited with code {p.returncode}", flush=True)
                code = p.returncode or 1
                stopping = True
                break
        time.sleep(0.2)
    _stop_all(procs)
    return code


def _wait_ready(url: str, workdir: Path, procs: list[subprocess.Popen], timeout: float = 60) -> bool:
    """The controller manager gives up if the API server is not healthy within ~10s: start it after."""
    import requests

    token = (workdir / "token").read_text().strip()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        try:
            r = requests.get(f"{url}/readyz", headers={"Authorization": f"Bearer {token}"},
                             verify=str(workdir / "pki" / "ca.crt"), timeout=2)
            if r.status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def _stop_all(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in reversed(procs):
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


if __name__ == "__main__":
    sys.exit(_control_plane(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]))
