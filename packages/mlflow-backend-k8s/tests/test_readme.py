"""The README is what runs: every code block in it is run here as written, the way a user runs it (the
`kubectl` and `mlflow run` commands in a shell, the Python block as a script), against the real
kube-apiserver + controllers of the `k8s` test service and a real `mlflow server`. Only the examples'
namespace, tracking URI and GitHub URL are swapped for the test's.

There is no kubelet in the test cluster: the test plays it (`FakeKubelet` binds the pod and reports
its phase) and plays the container too: it runs the Job's own container command on this machine
with exactly the pod's environment (its `env`, and its `envFrom` Secrets read from the API server),
so the project really is fetched (git) or downloaded (uploaded local project) and run by the
`mlflow run` inside the "pod", and the MLflow run ends the way that process ends it.
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from kubernetes import client

from mlflow_plugins_shared.testing import entry_points
from mlflow_plugins_shared.testing.readme import code_blocks, collect_pytest_line, only_block, stop_session, swap
from mlflow_testenv.kubelet import FakeKubelet

from .conftest import PROJECT

ROOT = Path(__file__).resolve().parents[3]
README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = code_blocks(README)
MANAGED = "app.kubernetes.io/managed-by=mlflow-backend-k8s"


def _block(lang: str, first_line: str) -> str:
    return only_block(BLOCKS, first_line, lang)


def test_every_code_block_is_run_here() -> None:
    assert sorted((kind, text.splitlines()[0]) for kind, text in BLOCKS) == sorted([
        ("bash", "pip install mlflow-backend-k8s"),
        ("bash", "kubectl create namespace ml"),
        ("json", '{"namespace": "ml", "image": "ghcr.io/acme/mlflow-runner:2.22",'),
        ("bash", "mlflow run https://github.com/mlflow/mlflow-example --version master -P alpha=0.5 \\"),
        ("python", "import json"),
        ("bash", ".venv/bin/python -m pytest -n 2 packages/mlflow-backend-k8s"),
    ])


def test_install_block() -> None:
    """Mirrored (the package is not on an index here): the distribution it names is installed and
    MLflow's own backend loader builds the `k8s-job` backend from its entry point."""
    dist = _block("bash", "pip install").split()[-1]
    assert importlib.metadata.distribution(dist).metadata["Name"] == dist
    assert type(entry_points.project_backend("k8s-job")).__name__ == "K8sBackend"


# ---- the user's shell, the cluster objects the README's blocks need, the "pod"


def _user_env(kubeconfig: str, tracking_uri: str, experiment_id: str, **extra: str) -> dict[str, str]:
    """A user's shell: this venv's `mlflow` on PATH, KUBECONFIG and the tracking server exported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "KUBECONFIG"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return {**env, "KUBECONFIG": kubeconfig, "MLFLOW_TRACKING_URI": tracking_uri,
            "MLFLOW_EXPERIMENT_ID": experiment_id, **extra}


def _shell(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["bash", "-euc", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


@pytest.fixture
def readme_namespace(api: client.ApiClient, kubeconfig: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The README's `kubectl` block run as written (namespace `ml` renamed for this test): (namespace, token)."""
    name = f"ml-{uuid.uuid4().hex[:10]}"
    token = f"tok-{uuid.uuid4().hex}"
    script = swap(_block("bash", "kubectl create namespace ml"),
                  {"namespace ml\n": f"namespace {name}\n", "kubectl -n ml ": f"kubectl -n {name} "})
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    _shell(script, tmp_path, {**env, "KUBECONFIG": kubeconfig, "MLFLOW_TRACKING_TOKEN": token})
    try:
        core = client.CoreV1Api(api)
        secret = core.read_namespaced_secret("mlflow-token", name)
        assert base64.b64decode(secret.data["MLFLOW_TRACKING_TOKEN"]).decode() == token
        yield name, token
    finally:
        client.CoreV1Api(api).delete_namespace(name)


def _write_cfg(path: Path, namespace: str, tracking_uri: str, **extra: Any) -> dict[str, Any]:
    """The README's `cfg.json`, loaded as JSON (the pod's tracking URI is the test server's)."""
    text = swap(_block("json", '{"namespace": "ml"'), {
        '"namespace": "ml"': f'"namespace": "{namespace}"',
        "http://mlflow.mlflow.svc:5000": tracking_uri,
    })
    cfg = {**json.loads(text), **extra}
    path.write_text(json.dumps(cfg))
    return cfg


def _secret_env(core: client.CoreV1Api, namespace: str, name: str) -> dict[str, str]:
    secret = core.read_namespaced_secret(name, namespace)
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def _run_container(core: client.CoreV1Api, namespace: str, pod: str, workdir: Path) -> tuple[int, str]:
    """The pod's container run on this machine as a container runtime would: its command, with only
    its environment (`env`, `secretKeyRef`s and `envFrom` Secrets resolved from the API server) plus a
    PATH where the image's `mlflow`, `python`, `sh`, `tar` and `git` are found."""
    (container,) = core.read_namespaced_pod(pod, namespace).spec.containers
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": str(workdir / "home"), "TMPDIR": str(workdir / "tmp")}
    for source in container.env_from or []:
        env.update(_secret_env(core, namespace, source.secret_ref.name))
    for var in container.env or []:
        if var.value_from is not None:
            ref = var.value_from.secret_key_ref
            env[var.name] = _secret_env(core, namespace, ref.name)[ref.key]
        else:
            env[var.name] = var.value or ""
    for d in ("home", "tmp"):
        (workdir / d).mkdir(parents=True, exist_ok=True)
    done = subprocess.run([*container.command, *(container.args or [])], cwd=workdir, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    return done.returncode, done.stdout


def _play_pod(kubelet: FakeKubelet, namespace: str, pod: str, workdir: Path) -> tuple[int, str]:
    """Bind the pod, run its container, then report it Running and Succeeded/Failed with the exit code.
    The fake kubelet serves a log as one snapshot (it cannot stream), so the container's output is
    published before the pod shows Running: whoever follows the log from then on reads all of it."""
    kubelet.bind(namespace, pod)
    code, out = _run_container(client.CoreV1Api(kubelet.api), namespace, pod, workdir)
    kubelet.logs[(namespace, pod)] = out.encode()
    kubelet.set_phase(namespace, pod, "Running")
    kubelet.set_phase(namespace, pod, "Succeeded" if code == 0 else "Failed", exit_code=code)
    return code, out


def _new_pod(kubelet: FakeKubelet, namespace: str, seen: set[str]) -> str:
    (pod,) = set(kubelet.wait_for_pods(namespace, MANAGED, count=len(seen) + 1, timeout=120)) - seen
    seen.add(pod)
    return pod


def _pod_labels(kubelet: FakeKubelet, namespace: str, pod: str) -> dict[str, str]:
    return client.CoreV1Api(kubelet.api).read_namespaced_pod(pod, namespace).metadata.labels


def _job_condition(api: client.ApiClient, namespace: str, name: str, timeout: float = 60) -> str:
    """The Job's Complete/Failed condition once the real job controller has set it."""
    batch = client.BatchV1Api(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conditions = batch.read_namespaced_job(name, namespace).status.conditions or []
        done = [c.type for c in conditions if c.status == "True" and c.type in ("Complete", "Failed")]
        if done:
            return done[0]
        time.sleep(0.2)
    raise TimeoutError(f"job {namespace}/{name} did not finish within {timeout}s")


def _assert_finished_run(tracking_uri: str, run_id: str, alpha: float, job: str) -> None:
    run = mlflow.MlflowClient(tracking_uri).get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["alpha"] == alpha  # logged by the project's train.py, run inside the "pod"
    # (`mlflow.project.backend` reads "local" by now: the pod's own `mlflow run` sets it when it ends)
    assert run.data.tags["mlflow.k8s.job"] == job


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[str]:
    """A git server holding the project on branch `master`, for the README's GitHub example (this
    machine has no route to github.com): `git daemon` over git://, which the pod's `mlflow run` fetches."""
    base = tmp_path / "git"
    work = tmp_path / "git-work"
    shutil.copytree(PROJECT, work)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for argv in (["init", "-q", "-b", "master"], ["add", "."], ["commit", "-qm", "example project"]):
        subprocess.run([*git, *argv], cwd=work, check=True, capture_output=True)
    base.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(base / "mlflow-example")], check=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["git", "daemon", "--export-all", "--reuseaddr", f"--base-path={base}",
                             "--listen=127.0.0.1", f"--port={port}", str(base)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "git daemon exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "git daemon not listening"
                time.sleep(0.1)
        yield f"git://127.0.0.1:{port}/mlflow-example"
    finally:
        stop_session(proc)  # the session this fixture started: git daemon and its children


# ---- the blocks


def _use_block_lines(git_server: str) -> tuple[str, str]:
    """The bash Use block's two commands (the first continued over two lines), GitHub swapped for git_server."""
    block = swap(_block("bash", "mlflow run https://github.com/mlflow/mlflow-example"), {
        "https://github.com/mlflow/mlflow-example": git_server})
    lines = block.splitlines()
    assert len(lines) == 3 and lines[0].endswith("\\"), block
    return "\n".join(lines[:2]), lines[2]


def test_use_block_cli(readme_namespace: tuple[str, str], kubelet: FakeKubelet, api: client.ApiClient,
                       kubeconfig: str, tracking_uri: str, experiment_id: str, git_server: str,
                       tmp_path: Path) -> None:
    """Both `mlflow run` lines with the README's cfg.json: each returns once its Job exists (MLflow's
    CLI runs plugin backends asynchronously), the pod fetches the git project or downloads the uploaded
    local one and runs it, and the MLflow run ends FINISHED. Then the first line's comment: with
    `"wait": true` the CLI blocks until the Job ends and its exit code follows the Job."""
    namespace, token = readme_namespace
    cfg = _write_cfg(tmp_path / "cfg.json", namespace, tracking_uri)
    shutil.copytree(PROJECT, tmp_path / "my-project")
    env = _user_env(kubeconfig, tracking_uri, experiment_id)
    git_line, local_line = _use_block_lines(git_server)
    seen: set[str] = set()

    for line, alpha, version in ((git_line, 0.5, "master"), (local_line, 0.1, None)):
        _shell(line, tmp_path, env)  # returns once the Job exists: nothing has run yet
        pod = _new_pod(kubelet, namespace, seen)
        labels = _pod_labels(kubelet, namespace, pod)
        run_id = labels["mlflow.org/run-id"]
        assert client.CoreV1Api(api).read_namespaced_pod(pod, namespace).status.phase == "Pending"
        job = client.BatchV1Api(api).read_namespaced_job(labels["job-name"], namespace)
        (container,) = job.spec.template.spec.containers
        assert container.image == cfg["image"]
        assert container.resources.requests == {"cpu": "1", "memory": "2Gi"}
        assert [s.secret_ref.name for s in container.env_from] == ["mlflow-token"]
        assert token not in json.dumps(api.sanitize_for_serialization(job))  # referenced, never copied
        assert {e.name: e.value for e in container.env}["MLFLOW_TRACKING_URI"] == tracking_uri
        assert job.spec.ttl_seconds_after_finished == 3600
        run = mlflow.MlflowClient(tracking_uri).get_run(run_id)
        assert run.info.experiment_id == experiment_id and run.data.tags.get("mlflow.source.git.commit") == version
        if version is None:  # the local project travelled as a run artifact
            listed = mlflow.MlflowClient(tracking_uri).list_artifacts(run_id, "k8s-project")
            assert [a.path for a in listed] == ["k8s-project/project.tar.gz"]

        code, out = _play_pod(kubelet, namespace, pod, tmp_path / pod)
        assert code == 0, out[-3000:]
        assert (f"Fetching project from {git_server}" in out) is (version is not None)  # MLflow's log line
        assert _job_condition(api, namespace, job.metadata.name) == "Complete"
        _assert_finished_run(tracking_uri, run_id, alpha, job.metadata.name)

    # "with "wait": true, blocks; exit code follows the Job": a container that dies (OOM-killed, exit 137),
    # reported as a kubelet would report it
    _write_cfg(tmp_path / "cfg.json", namespace, tracking_uri, wait=True, streamLogs=True)
    proc = subprocess.Popen(["bash", "-euc", git_line], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    pod = _new_pod(kubelet, namespace, seen)  # the Job exists: MLflow's CLI would have returned by now
    kubelet.logs[(namespace, pod)] = b"Traceback: out of memory\n"
    kubelet.run(namespace, pod)
    time.sleep(1)
    assert proc.poll() is None, "the CLI returned before the Job ended"
    kubelet.set_phase(namespace, pod, "Failed", exit_code=137)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode != 0, out
    assert "Traceback: out of memory" in out  # streamLogs
    run_id = _pod_labels(kubelet, namespace, pod)["mlflow.org/run-id"]
    assert mlflow.MlflowClient(tracking_uri).get_run(run_id).info.status == "FAILED"


def _python_block(tmp_path: Path, drop: tuple[str, ...] = ()) -> Path:
    """The Python block as a script in a directory holding the README's cfg.json and ./my-project."""
    lines = [line for line in _block("python", "import json").splitlines() if not line.startswith(drop)]
    script = tmp_path / "readme_run.py"
    script.write_text("\n".join(lines) + "\n")
    shutil.copytree(PROJECT, tmp_path / "my-project")
    return script


def test_use_block_python(readme_namespace: tuple[str, str], kubelet: FakeKubelet, api: client.ApiClient,
                          kubeconfig: str, tracking_uri: str, experiment_id: str, tmp_path: Path) -> None:
    """The script as written: status, the pod's log followed from the moment the run is submitted,
    wait() -> True with the run FINISHED, and cancel() of the ended Job keeping that outcome."""
    namespace, _ = readme_namespace
    _write_cfg(tmp_path / "cfg.json", namespace, tracking_uri)
    script = _python_block(tmp_path)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_user_env(kubeconfig, tracking_uri, experiment_id))
    pod = _new_pod(kubelet, namespace, set())
    code, container_out = _play_pod(kubelet, namespace, pod, tmp_path / "pod")
    assert code == 0, container_out[-3000:]
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    status, *logged, waited = out.splitlines()
    assert status in ("SCHEDULED", "RUNNING")
    assert logged == container_out.splitlines() and any("succeeded" in line for line in logged)
    assert waited == "True"
    labels = _pod_labels(kubelet, namespace, pod)
    _assert_finished_run(tracking_uri, labels["mlflow.org/run-id"], 0.1, labels["job-name"])
    assert _job_condition(api, namespace, labels["job-name"]) == "Complete"  # cancel() kept the ended Job


def test_use_block_python_cancel(readme_namespace: tuple[str, str], kubelet: FakeKubelet, api: client.ApiClient,
                                 kubeconfig: str, tracking_uri: str, experiment_id: str, tmp_path: Path) -> None:
    """The block's last line on a Job still going (the script without its log and wait lines): the Job
    and its pod are deleted and the run ends KILLED."""
    namespace, _ = readme_namespace
    _write_cfg(tmp_path / "cfg.json", namespace, tracking_uri)
    script = _python_block(tmp_path, drop=("for line in sub.logs", "    print(line)", "print(sub.wait())"))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, text=True, capture_output=True,
                          timeout=300, env=_user_env(kubeconfig, tracking_uri, experiment_id))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[0] in ("SCHEDULED", "RUNNING")  # then MLflow's "View run" links
    (run,) = mlflow.MlflowClient(tracking_uri).search_runs([experiment_id])
    assert run.info.status == "KILLED"
    assert client.BatchV1Api(api).list_namespaced_job(namespace).items == []
    assert client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=MANAGED).items == []


def test_tests_block_collects() -> None:
    """The Tests section's command, collected rather than run (this test is part of what it runs)."""
    listing = collect_pytest_line(_block("bash", ".venv/bin/python -m pytest").splitlines()[0], ROOT)
    assert "packages/mlflow-backend-k8s/tests/test_readme.py::test_tests_block_collects" in listing
    assert "packages/mlflow-backend-k8s/tests/test_lifecycle.py::" in listing
