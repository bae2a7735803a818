"""External commands run side by side under one deadline; a slow or failing command is killed, never waited on."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence

from mlflow_plugins_shared.logs import get_logger

_logger = get_logger(__name__)

# No prompts, no optional lock files (a probe must never take the user's index.lock), stable output.
_QUIET_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def run_together(commands: Mapping[str, Sequence[str]], *, timeout: float, cwd: str | None = None) -> dict[str, str]:
    """Start every command at once; return the stdout of those that exited 0 within `timeout` seconds."""
    env = {**os.environ, **_QUIET_ENV}
    started: dict[str, subprocess.Popen[str]] = {}
    for name, argv in commands.items():
        try:
            started[name] = subprocess.Popen(
                list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
            )
        except OSError as e:  # not installed, cwd gone, ...
            _logger.debug("mlflow-context-ci: cannot start %s: %s", argv[0], e)
    deadline = time.monotonic() + timeout
    results: dict[str, str] = {}
    for name, proc in started.items():
        try:
            out, err = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            _logger.debug("mlflow-context-ci: %s took longer than %.2fs; abandoned", commands[name][0], timeout)
            continue
        if proc.returncode == 0:
            results[name] = out
        else:
            _logger.debug("mlflow-context-ci: %s exited %s: %s", commands[name][0], proc.returncode, err.strip()[:200])
    return results
