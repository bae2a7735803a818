"""AWS credentials from botocore's standard chain, optionally exchanged for an assumed role."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import botocore.session
from botocore.credentials import AssumeRoleCredentialFetcher, Credentials, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, ProfileNotFound
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    PERMISSION_DENIED,
    TEMPORARILY_UNAVAILABLE,
    UNAUTHENTICATED,
)

from mlflow_plugins_shared.redact import redact_text

_logger = logging.getLogger(__name__)
_CHAIN = ("environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), a profile (AWS_PROFILE or "
          "MLFLOW_SIGV4_PROFILE), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), container or instance metadata")


def _error(message: str, code: int = INVALID_PARAMETER_VALUE) -> MlflowException:
    return MlflowException(redact_text(message), error_code=code)


@dataclass(frozen=True)
class RoleToAssume:
    arn: str
    session_name: str
    duration: int
    external_id: str | None
    refresh_margin: float


def resolve(profile: str | None, region: str | None, role: RoleToAssume | None) -> tuple[Credentials, str]:
    """Return (credentials, region). Raises MlflowException naming what to set."""
    try:
        session = botocore.session.Session(profile=profile)
        # botocore reads AWS_DEFAULT_REGION and the profile; the SDKs' AWS_REGION is honoured too
        region = region or session.get_config_variable("region") or os.environ.get("AWS_REGION")
        base = session.get_credentials()
    except ProfileNotFound as e:
        raise _error(f"MLFLOW_SIGV4_PROFILE / AWS_PROFILE names a profile that does not exist ({e})") from None
    except BotoCoreError as e:
        raise _error(f"the AWS credential chain failed ({type(e).__name__}: {e}); check {_CHAIN}",
                     UNAUTHENTICATED) from None
    if not region:
        raise _error("MLFLOW_SIGV4_REGION is not set and the AWS configuration has no region "
                     "(AWS_REGION, AWS_DEFAULT_REGION or the profile's `region`)")
    if base is None:
        raise _error(f"no AWS credentials found for signing; provide them by one of: {_CHAIN}", UNAUTHENTICATED)
    if role is None:
        try:
            base.get_frozen_credentials()  # deferred sources (web identity, SSO, process) resolve now
        except BotoCoreError as e:
            raise _error(f"the AWS credential chain failed ({type(e).__name__}: {e}); check {_CHAIN}",
                         UNAUTHENTICATED) from None
        except OSError as e:  # e.g. AWS_WEB_IDENTITY_TOKEN_FILE missing
            raise _error(f"the AWS credential chain cannot read {e.filename!r} ({e.strerror}); check "
                         f"AWS_WEB_IDENTITY_TOKEN_FILE and {_CHAIN}", UNAUTHENTICATED) from None
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            raise _error(f"the AWS credential chain was refused ({code}); check {_CHAIN}", UNAUTHENTICATED) from None
        return base, region
    session.set_config_variable("region", region)
    extra: dict[str, object] = {"RoleSessionName": role.session_name, "DurationSeconds": role.duration}
    if role.external_id:
        extra["ExternalId"] = role.external_id
    fetcher = AssumeRoleCredentialFetcher(session.create_client, base, role.arn, extra_args=extra,
                                          expiry_window_seconds=int(role.refresh_margin))
    creds = DeferredRefreshableCredentials(refresh_using=_mapped(fetcher.fetch_credentials, role.arn),
                                           method="assume-role")
    # Renew `refresh_margin` seconds before expiry (botocore's 15/10 min defaults exceed short sessions).
    creds._advisory_refresh_timeout = role.refresh_margin
    creds._mandatory_refresh_timeout = role.refresh_margin / 2
    creds.get_frozen_credentials()  # assume the role now, so errors surface at configuration time
    return creds, region


def _mapped(fetch, role_arn: str):
    def fetch_mapped():
        try:
            got = fetch()
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            msg = redact_text(e.response.get("Error", {}).get("Message", ""))[:300]
            if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "UnrecognizedClientException"):
                raise _error(f"STS refused the base AWS credentials while assuming MLFLOW_SIGV4_ROLE_ARN "
                             f"{role_arn!r} ({code}: {msg}); check {_CHAIN}", UNAUTHENTICATED) from None
            if code in ("AccessDenied", "AccessDeniedException"):
                raise _error(f"not allowed to assume MLFLOW_SIGV4_ROLE_ARN {role_arn!r} ({code}: {msg})",
                             PERMISSION_DENIED) from None
            raise _error(f"assuming MLFLOW_SIGV4_ROLE_ARN {role_arn!r} failed ({code}: {msg})") from None
        except EndpointConnectionError as e:
            raise _error(f"cannot reach STS to assume MLFLOW_SIGV4_ROLE_ARN {role_arn!r} ({e}); check "
                         "AWS_ENDPOINT_URL_STS / the network", TEMPORARILY_UNAVAILABLE) from None
        except BotoCoreError as e:
            raise _error(f"assuming MLFLOW_SIGV4_ROLE_ARN {role_arn!r} failed ({type(e).__name__}: {e})") from None
        _logger.debug("assumed role %s; credentials expire at %s", role_arn, got.get("expiry_time"))
        return got

    return fetch_mapped
