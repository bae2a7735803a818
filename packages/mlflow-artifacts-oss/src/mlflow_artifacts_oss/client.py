"""Builds the oss2 Bucket from the settings: endpoint, credentials (static keys, STS token, or the
ECS RAM-role provider) and signature version (V1, or V4 with a region)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import oss2
import requests

from mlflow_artifacts_oss import settings
from mlflow_artifacts_oss.errors import setting_error
from mlflow_plugins_shared.logs import get_logger, register_secret
from mlflow_plugins_shared.redact import Secret, redact_text, redact_uri

_logger = logging.getLogger(__name__)
SEND_BLOCK = 256 * 1024
# oss2 logs request headers and strings-to-sign at DEBUG (STS tokens included): scrub its loggers.
_OSS2_LOGGERS = ("oss2", "oss2.api", "oss2.http", "oss2.auth", "oss2.credentials", "oss2.resumable",
                 "oss2.models", "oss2.utils", "oss2.iterators", "oss2.task_queue", "oss2.xml_utils")


def _scrub_sdk_logs(secrets: tuple[str, ...]) -> None:
    for name in _OSS2_LOGGERS:
        get_logger(name)
    for secret in secrets:
        register_secret("oss2", secret)


@dataclass(frozen=True)
class ClientConfig:
    endpoint: str
    signature_version: str
    region: str | None
    auth: object
    secrets: tuple[str, ...]  # values to mask in any message
    timeout: float
    key_id: str | None = None
    ram_role: str | None = None

    def describe(self) -> str:
        """The non-secret settings in use, by name and value (for errors, logs and repr)."""
        credentials = (f"{settings.ECS_RAM_ROLE.env}={self.ram_role}" if self.ram_role
                       else f"{settings.KEY_ID.env}={key_id_hint(self.key_id)}")
        return (f"{settings.ENDPOINT.env}={redact_uri(self.endpoint)}, {credentials}, "
                f"{settings.SIGNATURE_VERSION.env}={self.signature_version}, "
                f"{settings.REGION.env}={self.region or '(not set)'}")


def key_id_hint(key_id: str | None) -> str:
    """The AccessKey ID's last 4 characters: enough to tell which key, and a secret pasted into
    MLFLOW_OSS_KEY_ID by mistake (ID and secret swapped) is still not shown."""
    if not key_id:
        return "(not set)"
    return "****" + key_id[-4:] if len(key_id) > 8 else "****"


def _endpoint() -> str:
    raw = settings.ENDPOINT.get() or ""
    url = raw if "://" in raw else "https://" + raw
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port
    except ValueError as e:
        raise setting_error(settings.ENDPOINT.env, f"invalid endpoint {redact_uri(raw)!r}: {redact_text(str(e))}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in raw):
        raise setting_error(settings.ENDPOINT.env, f"invalid endpoint {redact_uri(raw)!r}; expected "
                           "e.g. https://oss-cn-hangzhou.aliyuncs.com")
    if parts.username or parts.password:
        raise setting_error(settings.ENDPOINT.env, f"must not carry credentials; use {settings.KEY_ID.env}/"
                            f"{settings.KEY_SECRET.env}")
    return f"{parts.scheme}://{parts.netloc}"


def load_config() -> ClientConfig:
    endpoint = _endpoint()
    region = settings.REGION.get()
    version = settings.SIGNATURE_VERSION.get() or ("v4" if region else "v1")
    if version == "v4" and not region:
        raise setting_error(settings.REGION.env, f"is required for signature V4 ({settings.SIGNATURE_VERSION.env}="
                            f"{version}). Set it to the region of {settings.ENDPOINT.env}={endpoint} (e.g. "
                            f"cn-hangzhou for oss-cn-hangzhou.aliyuncs.com), or set {settings.SIGNATURE_VERSION.env}=v1.")
    role = settings.ECS_RAM_ROLE.get()
    key_id = settings.KEY_ID.get()
    secret: Secret | None = settings.KEY_SECRET.get()
    token: Secret | None = settings.SECURITY_TOKEN.get()
    hidden = tuple(s.get() for s in (secret, token) if s)
    if role:
        url = (settings.ECS_METADATA_URL.get() or "").rstrip("/") + "/" + role
        provider = oss2.EcsRamRoleCredentialsProvider(url, max_retries=3, timeout=10)
        auth: object = oss2.ProviderAuthV4(provider) if version == "v4" else oss2.ProviderAuth(provider)
    elif key_id and secret:
        if token:
            auth = oss2.StsAuth(key_id, secret.get(), token.get(), auth_version=version)
        else:
            auth = oss2.AuthV4(key_id, secret.get()) if version == "v4" else oss2.Auth(key_id, secret.get())
    else:
        missing = [s.env for s, v in ((settings.KEY_ID, key_id), (settings.KEY_SECRET, secret)) if not v]
        raise setting_error(" and ".join(missing), f"not set: OSS needs an AccessKey ({settings.KEY_ID.env} and "
                            f"{settings.KEY_SECRET.env}, plus {settings.SECURITY_TOKEN.env} for STS) or an ECS RAM "
                            f"role ({settings.ECS_RAM_ROLE.env})")
    _scrub_sdk_logs(hidden)
    return ClientConfig(endpoint, version, region, auth, hidden, settings.TIMEOUT.get() or 60.0,
                        key_id=None if role else key_id, ram_role=role)


class _LargeBlockAdapter(requests.adapters.HTTPAdapter):
    """Sends file bodies in 256 KiB blocks, not http.client's 16 KiB: each block is one read, one CRC
    update and one sendall, so a 16 MiB part costs 64 trips through Python instead of 1,024."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["blocksize"] = SEND_BLOCK
        super().init_poolmanager(*args, **kwargs)


def make_session(pool_size: int) -> oss2.Session:
    return oss2.Session(adapter=_LargeBlockAdapter(pool_connections=pool_size, pool_maxsize=pool_size))


def make_bucket(config: ClientConfig, bucket: str, session: oss2.Session,
                cls: type[oss2.Bucket] = oss2.Bucket) -> oss2.Bucket:
    _logger.debug("OSS bucket %s (%s): %s", bucket, cls.__name__, config.describe())
    return cls(config.auth, config.endpoint, bucket, session=session, connect_timeout=config.timeout,
               region=config.region, app_name="mlflow-artifacts-oss")
