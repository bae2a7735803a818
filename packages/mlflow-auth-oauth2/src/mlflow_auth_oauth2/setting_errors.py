"""Read settings and report bad ones without the shared redaction eating the message.

`mlflow_plugins_shared.errors.config_error` redacts the whole "SETTING: problem" text, and its
`...token...: value` pattern masks the first word after names such as MLFLOW_BEARER_TOKEN_FILE
("MLFLOW_BEARER_TOKEN_FILE: *** not set"). Here only the problem text is redacted.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from mlflow_plugins_shared.redact import redact_text
from mlflow_plugins_shared.settings import Setting, SettingValueError

T = TypeVar("T")


def setting_error(env: str, problem: str, *secrets: str, code: int = INVALID_PARAMETER_VALUE) -> MlflowException:
    return MlflowException(f"{env}: {redact_text(problem, secrets)}", error_code=code)


def read(setting: Setting[T], *, required: bool = False) -> T | None:
    raw = os.environ.get(setting.env)
    if raw is None or not raw.strip():
        if required:
            raise setting_error(setting.env, f"is not set. {setting.doc}".strip())
        return setting.default
    try:
        return setting.parse(raw if setting.secret else raw.strip())
    except SettingValueError as e:
        shown = "(hidden)" if setting.secret else repr(raw.strip())
        raise setting_error(setting.env, f"invalid value {shown}: {e}", *([raw] if setting.secret else [])) from None


def read_all(*settings: Setting[Any]) -> tuple[Any, ...]:
    return tuple(read(x) for x in settings)
