"""`MLFLOW_TRACKING_AUTH=sigv4`: sign MLflow REST requests with AWS Signature V4.

MLflow calls `get_auth()` for every request, outside its error wrapping; credentials are
resolved once per configuration (process-wide) and errors reach the user unwrapped.
"""

from __future__ import annotations

import os
import threading

from mlflow.tracking.request_auth.abstract_request_auth_provider import RequestAuthProvider

from mlflow_auth_sigv4 import settings as s
from mlflow_auth_sigv4.credentials import RoleToAssume, resolve
from mlflow_auth_sigv4.signer import SigV4Signer

_ENV_NAMES = tuple(x.env for x in s.ALL) + s.AWS_ENV
_RAW_NAMES = tuple(os.fsencode(n) for n in _ENV_NAMES)
_signers: dict[tuple[object, ...], SigV4Signer] = {}
_signers_lock = threading.Lock()


def _build_signer() -> SigV4Signer:
    role_arn = s.ROLE_ARN.get()
    role = None
    if role_arn:
        role = RoleToAssume(role_arn, s.ROLE_SESSION_NAME.get() or "mlflow-sigv4", s.ROLE_DURATION.get() or 3600,
                            s.ROLE_EXTERNAL_ID.get(), s.REFRESH_MARGIN.get() or 300.0)
    creds, region = resolve(s.PROFILE.get(), s.REGION.get(), role)
    return SigV4Signer(creds, region, s.SERVICE.get() or "execute-api")


def _env_key() -> tuple[object, ...]:
    # os.environ.get costs ~1 µs per name (key encoding); read CPython's raw mapping when it exists.
    raw = getattr(os.environ, "_data", None)
    if isinstance(raw, dict) and os.name == "posix":
        return tuple(map(raw.get, _RAW_NAMES))
    return tuple(map(os.environ.get, _ENV_NAMES))


def current_signer() -> SigV4Signer:
    key = _env_key()
    signer = _signers.get(key)
    if signer is None:
        with _signers_lock:
            signer = _signers.get(key)
            if signer is None:
                signer = _signers[key] = _build_signer()
    return signer


def forget_signers() -> None:
    with _signers_lock:
        _signers.clear()


class Sigv4AuthProvider(RequestAuthProvider):
    def get_name(self) -> str:
        return "sigv4"

    def get_auth(self) -> SigV4Signer:
        return current_signer()

    def __repr__(self) -> str:
        return "Sigv4AuthProvider()"
