"""Switching probes off, bad settings, one prefix, and loading through MLflow in any import order."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from mlflow_context_ci import tag_keys
from mlflow_context_ci.provider import CiContextProvider


def test_every_key_is_under_the_prefix(make_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(remotes={"origin": "https://example.com/r.git"})
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_RUN_NUMBER", "1")
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS", "a=b")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("POD_NAME", "p")
    tags = CiContextProvider().tags()
    assert {k.split(".")[1] for k in tags} == {"git", "ci", "container", "k8s", "host", "tag"}
    assert all(k.startswith(tag_keys.PREFIX) for k in tags)


def test_switching_probes_off(make_repo, monkeypatch: pytest.MonkeyPatch, run_tags) -> None:
    make_repo()
    monkeypatch.setenv("MLFLOW_CONTEXT_TAGS", "a=b")
    monkeypatch.setenv("MLFLOW_CONTEXT_DISABLE", "git, HOST")
    tags = run_tags()
    assert not any(k.startswith(("context.git.", "context.host.")) for k in tags)
    assert tags["context.tag.a"] == "b"
    monkeypatch.setenv("MLFLOW_CONTEXT_DISABLE", "all")
    assert run_tags() == {}


def test_bad_settings_warn_and_fall_back(monkeypatch: pytest.MonkeyPatch, outside_git, run_tags, caplog) -> None:
    monkeypatch.setenv("MLFLOW_CONTEXT_DISABLE", "git,gpus")
    monkeypatch.setenv("MLFLOW_CONTEXT_PROBE_TIMEOUT", "soon")
    with caplog.at_level(logging.WARNING, logger="mlflow_context_ci"):
        tags = run_tags()
    assert "MLFLOW_CONTEXT_DISABLE: unknown probe(s) gpus" in caplog.text
    assert "MLFLOW_CONTEXT_PROBE_TIMEOUT: invalid value 'soon'" in caplog.text
    assert tags["context.host.python"]


def test_a_failing_probe_logs_at_debug_and_costs_only_its_tags(
    monkeypatch: pytest.MonkeyPatch, outside_git, caplog: pytest.LogCaptureFixture, run_tags
) -> None:
    monkeypatch.setenv("MLFLOW_CONTEXT_GIT_DIR", "/nonexistent/dir")  # git cannot even start there
    with caplog.at_level(logging.DEBUG, logger="mlflow_context_ci"):
        tags = run_tags()
    assert tags["context.host.os"]
    assert not any(k.startswith("context.git.") for k in tags)
    ours = [r for r in caplog.records if r.name.startswith("mlflow_context_ci")]
    assert ours and all(r.levelno == logging.DEBUG for r in ours)


def test_registered_by_mlflow_when_imported_before_mlflow() -> None:
    """`import mlflow` first is what test_entry_points covers; this is the other order."""
    first = "mlflow_context_ci.provider"
    code = (
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    import {first}\n"
        "    from mlflow.tracking.context.registry import _run_context_provider_registry as r\n"
        "print(sum(type(p).__name__ == 'CiContextProvider' for p in r))\n"
        "print([str(w.message) for w in caught if 'context provider \"ci\"' in str(w.message)])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-2:] == ["1", "[]"], out.stdout[-2000:] + out.stderr[-2000:]


def test_deleted_working_directory_costs_only_the_git_tags(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    tags = CiContextProvider().tags()
    assert tags["context.host.os"]
    assert not any(k.startswith("context.git.") for k in tags)
