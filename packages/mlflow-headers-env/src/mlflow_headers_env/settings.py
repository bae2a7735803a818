"""Every environment variable this plugin reads, declared once."""

from __future__ import annotations

from mlflow_plugins_shared.settings import Setting, as_bool, as_list, as_str

HEADERS = Setting("MLFLOW_HEADERS", as_str, doc="Static headers: a JSON object or `Name=value,Name2=value2`.")
HEADERS_FILE = Setting(
    "MLFLOW_HEADERS_FILE", as_str,
    doc="Path of a file of static headers (JSON object, or one `Name=value` / `Name: value` per line; "
        "`#` comments). Re-read when its size or modification time changes; wins over `MLFLOW_HEADERS`.",
)
ENVIRONMENT = Setting("MLFLOW_ENVIRONMENT", as_str, doc="Sent as `X-MLflow-Environment` (e.g. `prod`).")
CLIENT_INFO = Setting(
    "MLFLOW_HEADERS_CLIENT_INFO", as_bool, default=True,
    doc="Send `X-MLflow-Client-Host` and `X-MLflow-Client-User`.",
)
USER_AGENT_PACKAGES = Setting(
    "MLFLOW_HEADERS_USER_AGENT_PACKAGES", as_list(),
    doc="Extra distributions whose versions are appended to `User-Agent` (e.g. `torch,scikit-learn`).",
)
REQUEST_ID = Setting("MLFLOW_HEADERS_REQUEST_ID", as_bool, default=True, doc="Send a fresh `X-Request-ID` per request.")
TRACE_CONTEXT = Setting(
    "MLFLOW_HEADERS_TRACE_CONTEXT", as_bool, default=True,
    doc="Send W3C `traceparent`/`tracestate` of the active span: MLflow's (`@mlflow.trace`, `mlflow.start_span`) or OpenTelemetry's, the inner one when both (needs `opentelemetry-api`).",
)
ALLOW_AUTHORIZATION = Setting(
    "MLFLOW_HEADERS_ALLOW_AUTHORIZATION", as_bool, default=False,
    doc="Allow static headers to set `Authorization`/`Proxy-Authorization` (refused otherwise).",
)

ALL = (HEADERS, HEADERS_FILE, ENVIRONMENT, CLIENT_INFO, USER_AGENT_PACKAGES, REQUEST_ID, TRACE_CONTEXT,
       ALLOW_AUTHORIZATION)
