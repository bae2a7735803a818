"""Host tags, and the GPU probe with a stand-in `nvidia-smi` (no GPU driver on this machine)."""

from __future__ import annotations

import os
import platform
import stat
from pathlib import Path

import pytest
from mlflow_context_ci.host_probe import describe_gpus


def _tool(directory: Path, script: str) -> None:
    directory.mkdir(exist_ok=True)
    p = directory / "nvidia-smi"
    p.write_text("#!/bin/sh\n" + script)
    p.chmod(p.stat().st_mode | stat.S_IEXEC)


def test_host_tags_on_a_real_run(outside_git, run_tags) -> None:
    tags = run_tags()
    assert tags["context.host.name"] == platform.node()
    assert tags["context.host.os"] == f"{platform.system()} {platform.release()}"
    assert tags["context.host.python"] == f"{platform.python_implementation()} {platform.python_version()}"
    assert int(tags["context.host.cpu_count"]) == len(os.sched_getaffinity(0))
    assert "context.host.gpu" not in tags  # no nvidia-smi here


def test_gpu_model_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside_git, run_tags) -> None:
    bin_dir = tmp_path / "bin"
    _tool(bin_dir, 'test "$1" = "--query-gpu=name" || exit 2\n'
                   'printf "NVIDIA A100-SXM4-40GB\\nNVIDIA A100-SXM4-40GB\\nTesla T4\\n"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert run_tags()["context.host.gpu"] == "2 x NVIDIA A100-SXM4-40GB, 1 x Tesla T4"


def test_hanging_nvidia_smi_is_killed_and_the_run_still_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside_git, run_tags
) -> None:
    bin_dir, pid_file = tmp_path / "bin", tmp_path / "pid"
    _tool(bin_dir, f'echo $$ > {pid_file}\nexec sleep 60\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MLFLOW_CONTEXT_PROBE_TIMEOUT", "0.3")
    tags = run_tags()
    assert "context.host.gpu" not in tags
    assert tags["context.host.os"]
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left behind
        os.kill(pid, 0)


def test_describe_gpus() -> None:
    assert describe_gpus(["Tesla T4"]) == "Tesla T4"
    assert describe_gpus(["A", "A", " "]) == "2 x A"
    assert describe_gpus([]) is None
