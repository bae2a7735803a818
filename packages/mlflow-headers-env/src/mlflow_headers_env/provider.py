"""The `env` request header provider: MLflow calls `request_headers()` before every REST request."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from mlflow.tracking.request_header.abstract_request_header_provider import RequestHeaderProvider

from mlflow_headers_env import identity, settings, trace_context
from mlflow_headers_env.static_headers import HeadersFile, from_env_value
from mlflow_headers_env.validation import check_value
from mlflow_plugins_shared.logs import get_logger

_logger = get_logger(__name__)


@dataclass(frozen=True)
class HeaderConfig:
    """Everything derived from the environment variables; rebuilt only when one of them changes."""

    fixed: dict[str, str] = field(repr=False)  # values may be credentials: kept out of repr
    headers_file: HeadersFile | None
    allow_authorization: bool
    request_id: bool
    trace_context: bool


def load_config() -> HeaderConfig:
    allow_auth = bool(settings.ALLOW_AUTHORIZATION.get())
    fixed: dict[str, str] = {}
    if settings.CLIENT_INFO.get():
        fixed.update(identity.client_info())
    packages = tuple(settings.USER_AGENT_PACKAGES.get() or ())
    fixed["User-Agent"] = identity.user_agent_suffix(packages)
    environment = settings.ENVIRONMENT.get()
    if environment:
        fixed[identity.ENVIRONMENT_HEADER] = check_value(
            identity.ENVIRONMENT_HEADER, environment, settings.ENVIRONMENT.env
        )
    fixed.update(from_env_value(os.environ.get(settings.HEADERS.env), allow_authorization=allow_auth))
    path = settings.HEADERS_FILE.get()
    return HeaderConfig(
        fixed=fixed,
        headers_file=HeadersFile(os.path.expanduser(path)) if path else None,
        allow_authorization=allow_auth,
        request_id=bool(settings.REQUEST_ID.get()),
        trace_context=bool(settings.TRACE_CONTEXT.get()),
    )


def header_names(headers: dict[str, str]) -> str:
    return ", ".join(sorted(headers))


class EnvHeaderProvider(RequestHeaderProvider):
    """Static, identity, request-id and trace-context headers.

    A bad setting raises an MlflowException naming the variable at the first request; MLflow's
    registry turns it into a warning on every request until it is fixed.
    """

    def __init__(self) -> None:
        self._env_key: tuple[str | None, ...] | None = None
        self._config: HeaderConfig | None = None
        self._lock = threading.Lock()
        self._logged_once = False

    def in_context(self) -> bool:
        return True

    def _current_config(self) -> HeaderConfig:
        key = tuple(os.environ.get(s.env) for s in settings.ALL)
        config = self._config
        if config is None or key != self._env_key:
            with self._lock:
                config = load_config()
                self._config, self._env_key = config, key
        return config

    def request_headers(self) -> dict[str, str]:
        config = self._current_config()
        headers = dict(config.fixed)
        if config.headers_file is not None:
            headers.update(config.headers_file.headers(allow_authorization=config.allow_authorization))
        if config.request_id:
            headers[trace_context.REQUEST_ID_HEADER] = trace_context.request_id()
        if config.trace_context:
            headers.update(trace_context.trace_headers())
        if not self._logged_once:
            self._logged_once = True
            _logger.debug("mlflow-headers-env: sending headers %s", header_names(headers))
        return headers
