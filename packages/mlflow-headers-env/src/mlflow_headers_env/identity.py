"""Who and where the client is: environment name, host, user, and the User-Agent suffix.

Host, user and versions do not change during a process, so they are computed once.
"""

from __future__ import annotations

import functools
import getpass
import platform
import socket
from importlib.metadata import PackageNotFoundError, version

from mlflow_headers_env.validation import safe_value
from mlflow_headers_env.version import __version__
from mlflow_plugins_shared.logs import get_logger

_logger = get_logger(__name__)

ENVIRONMENT_HEADER = "X-MLflow-Environment"
HOST_HEADER = "X-MLflow-Client-Host"
USER_HEADER = "X-MLflow-Client-User"


@functools.lru_cache(maxsize=1)
def client_info() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        info[HOST_HEADER] = safe_value(socket.gethostname())
    except OSError as e:
        _logger.debug("mlflow-headers-env: no host name: %s", e)
    try:
        info[USER_HEADER] = safe_value(getpass.getuser())
    except (OSError, KeyError, ImportError) as e:  # no login name, no passwd entry (containers)
        _logger.debug("mlflow-headers-env: no user name: %s", e)
    return {k: v for k, v in info.items() if v}


@functools.lru_cache(maxsize=8)
def user_agent_suffix(packages: tuple[str, ...] = ()) -> str:
    """`mlflow-headers-env/0.1.0 python/3.11.9 torch/2.3.0`; missing packages are left out."""
    parts = [f"mlflow-headers-env/{__version__}", f"python/{platform.python_version()}"]
    for name in packages:
        try:
            parts.append(f"{name}/{version(name)}")
        except PackageNotFoundError:
            _logger.debug("mlflow-headers-env: %s is not installed; left out of User-Agent", name)
    return safe_value(" ".join(parts))
