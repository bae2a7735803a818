"""Container and Kubernetes tags from downward-API variables and files under a configurable root."""

from __future__ import annotations

from pathlib import Path

import pytest


def _root(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "root"
    for rel, text in files.items():
        p = root / rel.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_kubernetes_pod_from_downward_api_and_serviceaccount_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside_git, run_tags
) -> None:
    root = _root(tmp_path, {
        "/var/run/secrets/kubernetes.io/serviceaccount/namespace": "ml-team\n",
        "/proc/self/cgroup": "0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-abc.scope\n",
    })
    monkeypatch.setenv("MLFLOW_CONTEXT_ROOT", str(root))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("POD_NAME", "trainer-7d9f-xk2p")
    monkeypatch.setenv("NODE_NAME", "gpu-node-3")
    monkeypatch.setenv("CONTAINER_IMAGE", "registry.example.com/ml/trainer:1.4")
    tags = {k: v for k, v in run_tags().items() if k.startswith(("context.k8s.", "context.container."))}
    assert tags == {
        "context.container.runtime": "kubernetes",
        "context.container.image": "registry.example.com/ml/trainer:1.4",
        "context.k8s.pod": "trainer-7d9f-xk2p",
        "context.k8s.namespace": "ml-team",
        "context.k8s.node": "gpu-node-3",
    }


def test_namespace_variable_wins_and_hostname_is_the_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside_git, run_tags) -> None:
    sa = tmp_path / "sa"
    root = _root(tmp_path, {"/.dockerenv": "", "/custom/sa/namespace": "from-file"})
    monkeypatch.setenv("MLFLOW_CONTEXT_ROOT", str(root))
    monkeypatch.setenv("MLFLOW_CONTEXT_SERVICEACCOUNT_DIR", "/custom/sa")
    monkeypatch.setenv("HOSTNAME", "job-abc-0")
    tags = run_tags()
    assert tags["context.k8s.namespace"] == "from-file"
    assert tags["context.k8s.pod"] == "job-abc-0"
    assert tags["context.container.runtime"] == "docker"
    assert "context.k8s.node" not in tags
    monkeypatch.setenv("MY_POD_NAMESPACE", "from-env")
    assert run_tags()["context.k8s.namespace"] == "from-env"
    assert not sa.exists()


def test_podman_containerenv_exposes_the_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside_git, run_tags) -> None:
    root = _root(tmp_path, {"/run/.containerenv": 'engine="podman-4.9"\nname="trainer"\nimage="quay.io/acme/train:2"\nrootless=0\n'})
    monkeypatch.setenv("MLFLOW_CONTEXT_ROOT", str(root))
    tags = run_tags()
    assert tags["context.container.runtime"] == "podman"
    assert tags["context.container.image"] == "quay.io/acme/train:2"
    assert not any(k.startswith("context.k8s.") for k in tags)


def test_plain_host_has_no_container_tags(outside_git, run_tags) -> None:
    tags = run_tags()
    assert not any(k.startswith(("context.container.", "context.k8s.")) for k in tags)
