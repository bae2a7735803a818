"""Host: name, OS, Python, usable CPUs, and GPU model from `nvidia-smi` (bounded by the probe timeout).

None of it changes while a process lives, so each is computed once per process.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
from collections import Counter

from mlflow_context_ci import tag_keys
from mlflow_context_ci.commands import run_together

NVIDIA_SMI_QUERY = ("--query-gpu=name", "--format=csv,noheader")


def cpu_count() -> int | None:
    try:
        return len(os.sched_getaffinity(0))  # CPUs this process may use (cgroups/taskset aware)
    except (AttributeError, OSError):
        return os.cpu_count()


@functools.lru_cache(maxsize=1)
def host_tags() -> dict[str, str]:
    tags = {
        tag_keys.HOST_NAME: platform.node(),
        tag_keys.HOST_OS: f"{platform.system()} {platform.release()}".strip(),
        tag_keys.HOST_PYTHON: f"{platform.python_implementation()} {platform.python_version()}",
    }
    cpus = cpu_count()
    if cpus:
        tags[tag_keys.HOST_CPU_COUNT] = str(cpus)
    return {k: v for k, v in tags.items() if v}


def describe_gpus(names: list[str]) -> str | None:
    """`NVIDIA A100-SXM4-40GB` or `2 x NVIDIA A100-SXM4-40GB, 1 x Tesla T4`."""
    counts = Counter(n.strip() for n in names if n.strip())
    if not counts:
        return None
    if len(counts) == 1 and sum(counts.values()) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} x {name}" for name, n in counts.items())


@functools.lru_cache(maxsize=4)
def _gpu_for(executable: str, timeout: float) -> str | None:
    out = run_together({"gpu": (executable, *NVIDIA_SMI_QUERY)}, timeout=timeout)
    return describe_gpus(out["gpu"].splitlines()) if "gpu" in out else None


def gpu_tags(timeout: float) -> dict[str, str]:
    """Cached per nvidia-smi path, a failure or timeout too: a slow driver is paid for once per process."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return {}
    gpu = _gpu_for(executable, timeout)
    return {tag_keys.HOST_GPU: gpu} if gpu else {}
