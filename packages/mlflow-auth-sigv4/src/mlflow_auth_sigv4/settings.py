"""Every environment variable this package reads, declared once."""

from __future__ import annotations

from typing import Any

from mlflow_plugins_shared.settings import Setting, as_float, as_int, as_str

REGION = Setting("MLFLOW_SIGV4_REGION", as_str,
                 doc="Region in the signature scope (default: the AWS profile's / AWS_REGION).")
SERVICE = Setting("MLFLOW_SIGV4_SERVICE", as_str, default="execute-api",
                  doc="Service name in the signature scope (`execute-api` for API Gateway, `sagemaker`, ...).")
PROFILE = Setting("MLFLOW_SIGV4_PROFILE", as_str, doc="AWS profile to use (default: AWS_PROFILE / the default chain).")
ROLE_ARN = Setting("MLFLOW_SIGV4_ROLE_ARN", as_str, doc="Role to assume with STS before signing.")
ROLE_SESSION_NAME = Setting("MLFLOW_SIGV4_ROLE_SESSION_NAME", as_str, default="mlflow-sigv4",
                            doc="RoleSessionName of the assumed role.")
ROLE_EXTERNAL_ID = Setting("MLFLOW_SIGV4_ROLE_EXTERNAL_ID", as_str, doc="ExternalId for the assumed role.")
ROLE_DURATION = Setting("MLFLOW_SIGV4_ROLE_DURATION", as_int(minimum=900, maximum=43200), default=3600,
                        doc="DurationSeconds of the assumed-role credentials.")
REFRESH_MARGIN = Setting("MLFLOW_SIGV4_REFRESH_MARGIN", as_float(minimum=1), default=300.0,
                         doc="Assumed-role credentials are renewed this many seconds before they expire.")

ALL: list[Setting[Any]] = [REGION, SERVICE, PROFILE, ROLE_ARN, ROLE_SESSION_NAME, ROLE_EXTERNAL_ID, ROLE_DURATION, REFRESH_MARGIN]
# The standard AWS chain reads these too; a change of any of them means new credentials.
AWS_ENV = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
           "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONFIG_FILE",
           "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS")
