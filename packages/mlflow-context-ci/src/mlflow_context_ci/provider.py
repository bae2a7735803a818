"""The `ci` run context provider: MLflow calls `tags()` once per new run (`mlflow.start_run`)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking.context.abstract_context import RunContextProvider

from mlflow_context_ci import ci_vendors, settings, tag_keys
from mlflow_context_ci.container_probe import container_tags
from mlflow_context_ci.git_probe import git_tags
from mlflow_context_ci.host_probe import gpu_tags, host_tags
from mlflow_context_ci.user_tags import user_tags
from mlflow_plugins_shared.logs import get_logger
from mlflow_plugins_shared.settings import Setting
from mlflow_plugins_shared.uris import strip_credentials

_logger = get_logger(__name__)

# MLflow 2.x accepts tag values up to 5000 characters (3.x: 8000); longer values are cut, not refused.
MAX_VALUE_LENGTH = 5000


def _setting(setting: Setting[Any], fallback: Any) -> Any:
    """A bad setting must not cost the run its tags: warn (naming the variable) and use the default."""
    try:
        return setting.get()
    except MlflowException as e:
        _logger.warning("mlflow-context-ci: %s; using the default", e.message)
        return fallback


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(message: str) -> None:
    """A warning the first time this process meets this problem; later runs log it at debug level."""
    with _warned_lock:
        first = message not in _warned
        _warned.add(message)
    _logger.log(logging.WARNING if first else logging.DEBUG, "mlflow-context-ci: %s", message)


def disabled_probes() -> set[str]:
    names = {n.lower() for n in _setting(settings.DISABLE, None) or ()}
    if "all" in names:
        return set(settings.PROBES)
    unknown = names - set(settings.PROBES)
    if unknown:
        _logger.warning("mlflow-context-ci: %s: unknown probe(s) %s; known: %s, all", settings.DISABLE.env,
                        ", ".join(sorted(unknown)), ", ".join(settings.PROBES))
    return names & set(settings.PROBES)


def ci_tags(info: ci_vendors.CiInfo | None, git_found: dict[str, str]) -> dict[str, str]:
    if info is None:
        return {}
    tags = {
        tag_keys.CI_PROVIDER: info.provider,
        tag_keys.CI_PIPELINE_URL: strip_credentials(info.pipeline_url) if info.pipeline_url else None,
        tag_keys.CI_JOB_URL: strip_credentials(info.job_url) if info.job_url else None,
        tag_keys.CI_BUILD_NUMBER: info.build_number,
        tag_keys.CI_PR_NUMBER: info.pr_number,
    }
    # Commit and branch from the CI only where git could not tell (no checkout, detached HEAD).
    if tag_keys.GIT_COMMIT not in git_found:
        tags[tag_keys.CI_COMMIT] = info.commit
    if tag_keys.GIT_BRANCH not in git_found:
        tags[tag_keys.CI_BRANCH] = info.branch
    return {k: v for k, v in tags.items() if v}


class CiContextProvider(RunContextProvider):
    """Every probe is guarded: a failure logs at debug level and only that probe's tags are missing."""

    def in_context(self) -> bool:
        return True

    def tags(self) -> dict[str, str]:
        disabled = disabled_probes()
        timeout = float(_setting(settings.TIMEOUT, settings.TIMEOUT.default))
        env = os.environ
        found: dict[str, str] = {}

        def probe(name: str, fn: Callable[[], dict[str, str]]) -> None:
            if name in disabled:
                return
            try:
                found.update(fn())
            except Exception as e:  # never break run creation
                _logger.debug("mlflow-context-ci: probe %s failed: %s", name, e, exc_info=True)

        probe("git", lambda: git_tags(_setting(settings.GIT_DIR, None) or os.getcwd(), timeout))
        git_found = dict(found)
        probe("ci", lambda: ci_tags(ci_vendors.detect(env), git_found))
        probe("container", lambda: container_tags(
            env, _setting(settings.ROOT, "/"), _setting(settings.SERVICEACCOUNT_DIR, settings.SERVICEACCOUNT_DIR.default)
        ))
        probe("host", host_tags)
        probe("gpu", lambda: gpu_tags(timeout))
        if "user" not in disabled:
            try:
                chosen = user_tags()
            except MlflowException as e:  # a bad setting read on the way: the user's to fix
                _logger.warning("mlflow-context-ci: %s", e.message)
            except Exception as e:
                _logger.debug("mlflow-context-ci: probe user failed: %s", e, exc_info=True)
            else:
                found.update(chosen.tags)
                for problem in chosen.problems:  # the user's own configuration: say so, keep the rest
                    warn_once(problem)
        return {k: str(v)[:MAX_VALUE_LENGTH] for k, v in found.items()}
