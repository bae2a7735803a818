"""oss2 exceptions and misconfiguration -> MlflowException with the right code; which faults are transient.

Redaction here hides secrets (the access key secret, the STS security token, signed URLs'
signatures), not settings: a message reads whole and names the values of non-secret settings.
"""

from __future__ import annotations

from collections.abc import Iterable

import oss2
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    PERMISSION_DENIED,
    RESOURCE_DOES_NOT_EXIST,
    TEMPORARILY_UNAVAILABLE,
    UNAUTHENTICATED,
)

from mlflow_artifacts_oss import settings
from mlflow_plugins_shared.redact import MASK, redact_text
from mlflow_plugins_shared.retry import http_status_is_transient

_UNAUTHENTICATED = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidSecurityToken", "SecurityTokenExpired"}
_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NoSuchUpload"}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (oss2.exceptions.RequestError, oss2.exceptions.InconsistentError)):
        return True  # network trouble, or a CRC mismatch of data in flight
    if isinstance(exc, oss2.exceptions.OssError):
        return http_status_is_transient(exc.status) or exc.code in ("RequestTimeout", "ServiceUnavailable")
    return isinstance(exc, (ConnectionError, TimeoutError))


def _masked(text: str, secrets: Iterable[str | None]) -> str:
    """Our own text: only the secret values themselves are masked. `redact_text`'s credential shapes
    would also take `MLFLOW_OSS_SIGNATURE_VERSION=v4` for a `signature=<value>` pair and cut the sentence."""
    for secret in sorted({x for x in secrets if x and len(x) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def configured_secrets() -> tuple[str, ...]:
    """The values of the secret settings (access key secret, STS security token) as now set."""
    return tuple(v.get() for v in (settings.KEY_SECRET.get(), settings.SECURITY_TOKEN.get()) if v)


def setting_error(setting: str, problem: str, *secrets: str | None) -> MlflowException:
    """A misconfiguration, in our words: names the setting and the values of non-secret settings; the
    secret settings' values are masked wherever they appear. Text from outside (an exception's message,
    a URL) must be passed through `redact_text`/`redact_uri` by the caller first."""
    return MlflowException(f"{setting}: {_masked(problem, (*secrets, *configured_secrets()))}",
                           error_code=INVALID_PARAMETER_VALUE)


def _exc(message: str, code: int, secrets: Iterable[str | None]) -> MlflowException:
    return MlflowException(_masked(message, (*secrets, *configured_secrets())), error_code=code)


def to_mlflow(exc: BaseException, what: str, secrets: Iterable[str | None] = (), settings_in_use: str = "") -> MlflowException:
    """Describe a failed OSS call without leaking credentials.

    OSS's own words (error messages, bodies, exception text: they may quote a signed URL or a
    header) go through `redact_text`; our text around them, which names settings and their
    non-secret values (`settings_in_use`), is only cleared of the secret values themselves.
    """
    hidden = tuple(s for s in secrets if s)
    using = f" This client uses {settings_in_use}." if settings_in_use else ""

    def outside(text: object) -> str:
        return redact_text(str(text), hidden)

    if isinstance(exc, MlflowException):
        return exc
    if isinstance(exc, oss2.exceptions.RequestError):
        cause = type(getattr(exc, "exception", None) or exc).__name__
        return _exc(f"{what}: could not reach the OSS endpoint ({cause}). Check {settings.ENDPOINT.env} and the "
                    f"network.{using}", TEMPORARILY_UNAVAILABLE, hidden)
    if isinstance(exc, oss2.exceptions.ClientError):
        body = outside(exc.body)
        if "ECS" in body:
            return _exc(f"{what}: {body}. Check {settings.ECS_RAM_ROLE.env} and {settings.ECS_METADATA_URL.env}."
                        f"{using}", TEMPORARILY_UNAVAILABLE, hidden)
        return _exc(f"{what}: {body}", INVALID_PARAMETER_VALUE, hidden)
    if isinstance(exc, oss2.exceptions.InconsistentError):
        return _exc(f"{what}: CRC-64 check failed: the data OSS received or sent differs from the data on this "
                    f"side (request id {exc.request_id or 'unknown'}); the transfer was retried and can be run "
                    "again.", TEMPORARILY_UNAVAILABLE, hidden)
    if isinstance(exc, oss2.exceptions.OssError):
        detail = f"{what}: OSS answered {exc.status} {exc.code or ''}: {outside(exc.message or '')}".rstrip(": ")
        if exc.request_id:
            detail += f" (request id {exc.request_id})"
        if exc.code in _UNAUTHENTICATED:
            return _exc(f"{detail}. Check {settings.KEY_ID.env} / {settings.KEY_SECRET.env} (and "
                        f"{settings.SECURITY_TOKEN.env} for STS keys).{using}", UNAUTHENTICATED, hidden)
        if exc.code in _NOT_FOUND or exc.status == 404:
            return _exc(detail, RESOURCE_DOES_NOT_EXIST, hidden)
        if exc.status == 403:
            return _exc(detail + using, PERMISSION_DENIED, hidden)
        if exc.code == "InvalidArgument" and "region" in (exc.message or "").lower():
            return _exc(f"{detail}. Check {settings.REGION.env}.{using}", INVALID_PARAMETER_VALUE, hidden)
        if is_transient(exc):
            return _exc(detail, TEMPORARILY_UNAVAILABLE, hidden)
        if 400 <= exc.status < 500:
            return _exc(detail, INVALID_PARAMETER_VALUE, hidden)
        return _exc(detail, INTERNAL_ERROR, hidden)
    if isinstance(exc, OSError):
        return _exc(f"{what}: {type(exc).__name__}: {outside(exc)}", INTERNAL_ERROR, hidden)
    return _exc(f"{what}: unexpected {type(exc).__name__}: {outside(exc)}", INTERNAL_ERROR, hidden)
