"""oss2 exceptions -> MlflowException with the right code; which faults are transient."""

from __future__ import annotations

from collections.abc import Iterable

import oss2
from mlflow.exceptions import MlflowException

from mlflow_plugins_shared import errors
from mlflow_plugins_shared.redact import redact_text
from mlflow_plugins_shared.retry import http_status_is_transient

_UNAUTHENTICATED = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidSecurityToken", "SecurityTokenExpired"}
_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NoSuchUpload"}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (oss2.exceptions.RequestError, oss2.exceptions.InconsistentError)):
        return True  # network trouble, or a CRC mismatch of data in flight
    if isinstance(exc, oss2.exceptions.OssError):
        return http_status_is_transient(exc.status) or exc.code in ("RequestTimeout", "ServiceUnavailable")
    return isinstance(exc, (ConnectionError, TimeoutError))


def to_mlflow(exc: BaseException, what: str, secrets: Iterable[str | None] = ()) -> MlflowException:
    """Describe a failed OSS call without leaking credentials."""
    hidden = tuple(s for s in secrets if s)
    if isinstance(exc, MlflowException):
        return exc
    if isinstance(exc, oss2.exceptions.RequestError):
        cause = type(getattr(exc, "exception", None) or exc).__name__
        return errors.unavailable(f"{what}: could not reach the OSS endpoint ({cause}). Check MLFLOW_OSS_ENDPOINT_URL "
                                  "and the network.", *hidden)
    if isinstance(exc, oss2.exceptions.ClientError):
        body = str(exc.body)
        if "ECS" in body:
            return errors.unavailable(f"{what}: {body}. Check MLFLOW_OSS_ECS_RAM_ROLE and MLFLOW_OSS_ECS_METADATA_URL.",
                                      *hidden)
        return errors.invalid_parameter(f"{what}: {body}", *hidden)
    if isinstance(exc, oss2.exceptions.InconsistentError):
        return errors.unavailable(f"{what}: CRC-64 check failed: the data OSS received or sent differs from the "
                                  f"data on this side (request id {exc.request_id or 'unknown'}); the transfer was "
                                  "retried and can be run again.", *hidden)
    if isinstance(exc, oss2.exceptions.OssError):
        detail = f"{what}: OSS answered {exc.status} {exc.code or ''}: {exc.message or ''}".rstrip(": ")
        if exc.request_id:
            detail += f" (request id {exc.request_id})"
        if exc.code in _UNAUTHENTICATED:
            return errors.unauthenticated(detail + ". Check MLFLOW_OSS_KEY_ID / MLFLOW_OSS_KEY_SECRET "
                                          "(and MLFLOW_OSS_SECURITY_TOKEN for STS keys).", *hidden)
        if exc.code in _NOT_FOUND or exc.status == 404:
            return errors.not_found(redact_text(detail, hidden))
        if exc.status == 403:
            return errors.permission_denied(detail, *hidden)
        if exc.code == "InvalidArgument" and "region" in (exc.message or "").lower():
            return errors.invalid_parameter(detail + ". Check MLFLOW_OSS_REGION.", *hidden)
        if is_transient(exc):
            return errors.unavailable(detail, *hidden)
        if 400 <= exc.status < 500:
            return errors.invalid_parameter(detail, *hidden)
        return errors.internal(detail, *hidden)
    if isinstance(exc, OSError):
        return errors.internal(f"{what}: {type(exc).__name__}: {exc}", *hidden)
    return errors.internal(f"{what}: unexpected {type(exc).__name__}: {exc}", *hidden)
