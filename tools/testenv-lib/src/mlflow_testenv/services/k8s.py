"""A real Kubernetes control plane on loopback: etcd + kube-apiserver + kube-controller-manager.

Binaries: kube-apiserver, kube-controller-manager and etcd built once from the Go module proxy by
`tools/k8s/build.sh` and cached under ~/.cache/mlflow-plugins/k8s/<version>-<script hash>/. TLS with
a self-signed CA generated per instance, a static bearer token (group system:masters), service-account signing
keys and issuer, and a kubeconfig in the workdir.

Version: `tools/testenv up k8s --version v1.29.15`, `session_service("k8s", ..., ["--version", ...])`,
or MLFLOW_TESTENV_K8S_VERSION (what the compat job sets); default `DEFAULT_VERSION`.

There is no kubelet and no scheduler (as with controller-runtime's envtest): Jobs create Pods and
Deployments create ReplicaSets and Pods, but tests play the kubelet (`mlflow_testenv.kubelet`).

Exports: MLFLOW_TESTENV_K8S_KUBECONFIG, MLFLOW_TESTENV_K8S_URL, MLFLOW_TESTENV_K8S_TOKEN,
MLFLOW_TESTENV_K8S_CA (path of the CA certificate).

Overrides: MLFLOW_TESTENV_K8S_BINDIR (use these binaries, no build; etcd from there or PATH),
MLFLOW_TESTENV_K8S_BUILD_SCRIPT (path of build.sh when this package is not run from the repo).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

from mlflow_testenv._install import apt_install
from mlflow_testenv.core import Launch, Service, TestenvError, free_port
from mlflow_testenv.kubelet import host_ip

DEFAULT_VERSION = "v1.37.2"
VERSION_ENV = "MLFLOW_TESTENV_K8S_VERSION"
_VERSION = re.compile(r"^v?1\.(\d+)\.(\d+)$")

# controllers the tests need; nodelifecycle is left out so the fake node is never tainted/evicted
CONTROLLERS = ",".join([
    "job", "deployment", "replicaset", "garbagecollector", "namespace", "serviceaccount",
    "serviceaccount-token", "ttl-after-finished", "endpoint", "endpointslice", "podgc",
])


def parse_version(text: str) -> tuple[str, int]:
    """'1.37.2' or 'v1.37.2' -> ('v1.37.2', 37); anything else is a clear error."""
    m = _VERSION.match(text.strip())
    if not m:
        raise TestenvError(f"k8s: version {text!r} is not a Kubernetes release like v1.37.2")
    return f"v1.{m[1]}.{m[2]}", int(m[1])


def _split_args(args: list[str]) -> tuple[str, list[str]]:
    """`--version X` (or `--version=X`) out of the service's args; the rest go to kube-apiserver."""
    version = os.environ.get(VERSION_ENV) or DEFAULT_VERSION
    rest: list[str] = []
    it = iter(args)
    for a in it:
        if a == "--version":
            version = next(it, "")
        elif a.startswith("--version="):
            version = a.split("=", 1)[1]
        else:
            rest.append(a)
    return parse_version(version)[0], rest


def _build_script() -> Path:
    override = os.environ.get("MLFLOW_TESTENV_K8S_BUILD_SCRIPT")
    if override:
        return Path(override)
    # tools/testenv-lib/src/mlflow_testenv/services/k8s.py -> tools/k8s/build.sh
    return Path(__file__).resolve().parents[4] / "k8s" / "build.sh"


def bindir(version: str) -> Path:
    """The directory holding this version's binaries, built (once per machine) if not cached."""
    override = os.environ.get("MLFLOW_TESTENV_K8S_BINDIR")
    if override:
        return Path(override)
    script = _build_script()
    if not script.is_file():
        raise TestenvError(f"k8s: build script not found at {script}; set MLFLOW_TESTENV_K8S_BUILD_SCRIPT "
                           "or MLFLOW_TESTENV_K8S_BINDIR")
    env = {**os.environ, "K8S_VERSION": version}
    # build.sh prints the cache dir at once when the binaries are cached, else builds them first
    probe = subprocess.run(["bash", str(script), "--print-dir"], capture_output=True, text=True, env=env)
    cached = Path(probe.stdout.strip()) if probe.returncode == 0 else None
    if cached and (cached / "kube-apiserver").is_file():
        return cached
    print(f"# testenv: k8s {version} binaries not cached yet; building them with {script} "
          "(one-time: 10-15 minutes on 2 free cores, more on a busy machine)...", file=sys.stderr)
    built = subprocess.run(["bash", str(script)], stdout=subprocess.PIPE, text=True, env=env)
    if built.returncode != 0:
        raise TestenvError(f"k8s: {script} (K8S_VERSION={version}) failed with exit code {built.returncode} "
                           "(its log is above)")
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
    description = (f"kube-apiserver + kube-controller-manager + etcd on loopback (TLS, bearer token; no kubelet); "
                   f"--version (default {DEFAULT_VERSION})")

    def install(self) -> None:
        if not shutil.which("openssl"):
            apt_install("openssl", why="the k8s service")
        # the version and the binaries are settled in launch(), which sees the service's args

    @staticmethod
    def etcd(bins: Path) -> str:
        """etcd built next to the API server by build.sh, else (MLFLOW_TESTENV_K8S_BINDIR) the one on PATH."""
        if (bins / "etcd").is_file():
            return str(bins / "etcd")
        found = shutil.which("etcd")
        if not found:
            raise TestenvError(f"k8s: no etcd in {bins} nor on PATH; tools/k8s/build.sh builds one next to the "
                               "API server")
        return found

    def prepare(self, workdir: Path) -> None:
        _make_pki(workdir / "pki")
        token = secrets.token_hex(24)
        (workdir / "token").write_text(token)
        (workdir / "pki" / "tokens.csv").write_text(f'{token},testenv-admin,1,"system:masters"\n')
        (workdir / "token").chmod(0o600)
        (workdir / "pki" / "tokens.csv").chmod(0o600)

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        import requests

        version, extra = _split_args(args)
        bins = bindir(version)
        etcd = self.etcd(bins)
        pki = workdir / "pki"
        token = (workdir / "token").read_text().strip()
        url = f"https://127.0.0.1:{port}"
        kubeconfig = workdir / "kubeconfig"
        kubeconfig.write_text(_kubeconfig(url, pki / "ca.crt", token))
        kubeconfig.chmod(0o600)
        cmd = [sys.executable, "-m", "mlflow_testenv.services.k8s", str(bins), etcd, str(workdir), str(port), *extra]

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
            "MLFLOW_TESTENV_K8S_VERSION": version,
        }
        return Launch(cmd=cmd, exports=exports, health=health, after_healthy=wait_for_default_namespace,
                      timeout=90)


SERVICE = K8sService()


# ---- the process the supervisor runs: starts etcd, then the API server, then the controller manager,
# ---- and stops all three when any of them exits or on SIGTERM.

def binary_version(apiserver: Path) -> tuple[str, int]:
    """What `kube-apiserver --version` says ("Kubernetes v1.37.2"): the flags follow the binary."""
    out = subprocess.run([str(apiserver), "--version"], capture_output=True, text=True, timeout=60)
    found = re.search(r"v1\.\d+\.\d+", out.stdout)
    if not found:
        raise TestenvError(f"k8s: {apiserver} --version printed {out.stdout.strip()!r} {out.stderr.strip()[-300:]!r}")
    return parse_version(found.group())


def version_flags(minor: int) -> tuple[list[str], list[str]]:
    """Flags that exist only in some releases: (kube-apiserver's, kube-controller-manager's)."""
    apiserver: list[str] = []
    controller_manager: list[str] = []
    if minor < 24:  # the insecure ports were removed in 1.24 (they default to off before too, but not 0)
        apiserver += ["--insecure-port", "0"]
        controller_manager += ["--port", "0"]
    if minor < 23:  # TTLAfterFinished went GA in 1.23 and its gate was removed in 1.25
        apiserver += ["--feature-gates", "TTLAfterFinished=true"]
        controller_manager += ["--feature-gates", "TTLAfterFinished=true"]
    return apiserver, controller_manager


def _control_plane(bindir: Path, etcd: str, workdir: Path, port: int, extra: list[str]) -> int:
    pki = workdir / "pki"
    version, minor = binary_version(bindir / "kube-apiserver")
    apiserver_flags, controller_manager_flags = version_flags(minor)
    print(f"[k8s] Kubernetes {version}, etcd {etcd}", flush=True)
    etcd_client, etcd_peer = free_port(), free_port()
    etcd_url = f"http://127.0.0.1:{etcd_client}"
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, cmd: list[str]) -> None:
        log = open(workdir / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
        print(f"[k8s] starting {name}: {' '.join(cmd[:1])} (log: {workdir / (name + '.log')})", flush=True)
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))

    start("etcd", [
        etcd, "--data-dir", str(workdir / "etcd"), "--name", "testenv",
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
        # nothing reaches the API server through the `kubernetes` Service here, and newer releases refuse
        # to publish a loopback address in its Endpoints ("may not be in the loopback range")
        "--endpoint-reconciler-type", "none",
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
        "--cert-dir", str(pki),
        # pod logs are fetched from the node's "kubelet" (a test's FakeKubelet) over verified TLS
        "--kubelet-certificate-authority", str(pki / "ca.crt"),
        "--kubelet-preferred-address-types", "InternalIP",
        *apiserver_flags,
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
        "--leader-elect=false", "--secure-port", "0",
        "--concurrent-gc-syncs", "5",
        *controller_manager_flags,
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
                print(f"[k8s] {Path(cast('list[str]', p.args)[0]).name} exited with code {p.returncode}", flush=True)
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
    sys.exit(_control_plane(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]))
