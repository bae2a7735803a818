"""Store URI and environment settings: where the cluster is and how to talk to it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlflow_plugins_shared.errors import invalid_parameter
from mlflow_plugins_shared.redact import Secret, redact_uri
from mlflow_plugins_shared.settings import Setting, SettingValueError, as_bool, as_float, as_secret, as_str
from mlflow_plugins_shared.uris import parse_uri

SCHEMES = ("elasticsearch", "elasticsearch+https", "opensearch", "opensearch+https")
REFRESH_CHOICES = ("true", "false", "wait_for")
_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

USERNAME = Setting("MLFLOW_STORE_ES_USERNAME", as_str, doc="Basic-auth user name.")
PASSWORD = Setting("MLFLOW_STORE_ES_PASSWORD", as_secret, secret=True, doc="Basic-auth password.")
API_KEY = Setting("MLFLOW_STORE_ES_API_KEY", as_secret, secret=True,
                  doc="API key (base64 `id:key`), sent as `Authorization: ApiKey`.")
CA_CERTS = Setting("MLFLOW_STORE_ES_CA_CERTS", as_str, doc="CA bundle file for https.")
CLIENT_CERT = Setting("MLFLOW_STORE_ES_CLIENT_CERT", as_str, doc="Client certificate file (mutual TLS).")
CLIENT_KEY = Setting("MLFLOW_STORE_ES_CLIENT_KEY", as_str, doc="Client key file (mutual TLS).")
VERIFY_CERTS = Setting("MLFLOW_STORE_ES_VERIFY_CERTS", as_bool, default=True,
                       doc="Verify the server certificate (https).")
RETRY_SECONDS = Setting("MLFLOW_STORE_ES_RETRY_SECONDS", as_float(minimum=0), default=60.0,
                        doc="How long to keep retrying connection errors, 429 and 5xx (backoff up to 2 s); "
                            "long enough to ride out an engine restart (25-45 s for one node here).")
SETTINGS = (USERNAME, PASSWORD, API_KEY, CA_CERTS, CLIENT_CERT, CLIENT_KEY, VERIFY_CERTS, RETRY_SECONDS)


@dataclass(frozen=True)
class EsConfig:
    engine: str  # "elasticsearch" | "opensearch"
    url: str  # http(s)://host:port, never with credentials
    index_prefix: str = "mlflow"
    shards: int = 1
    replicas: int = 0
    refresh: str = "true"
    timeout: float = 30.0
    username: str | None = None
    password: Secret | None = field(default=None, repr=False)
    api_key: Secret | None = field(default=None, repr=False)
    ca_certs: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify_certs: bool = True
    retry_seconds: float = 60.0

    def secrets(self) -> tuple[str, ...]:
        return tuple(s.get() for s in (self.password, self.api_key) if s)


def _int_option(uri_shown: str, name: str, raw: str | None, default: int, minimum: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise invalid_parameter(
            f"Store URI {uri_shown!r}: option {name}={raw!r} must be an integer >= {minimum}"
        )
    return value


def parse_store_uri(uri: str, environ: dict[str, str] | None = None) -> EsConfig:
    """`elasticsearch[+https]://[user:pass@]host[:port][/][?index_prefix=&shards=&replicas=&refresh=&timeout=]`."""
    parsed = parse_uri(uri, schemes=SCHEMES, what="store URI")
    shown = redact_uri(uri)
    if not parsed.host:
        raise invalid_parameter(f"Store URI {shown!r} has no host; expected e.g. elasticsearch://localhost:9200")
    if parsed.path not in ("", "/"):
        raise invalid_parameter(
            f"Store URI {shown!r} has a path {parsed.path!r}; put options in the query, "
            "e.g. ?index_prefix=team_a"
        )
    known = {"index_prefix", "shards", "replicas", "refresh", "timeout"}
    unknown = sorted(set(parsed.query) - known)
    if unknown:
        raise invalid_parameter(
            f"Store URI {shown!r}: unknown option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}"
        )
    engine, _, tls = parsed.scheme.partition("+")
    prefix = parsed.option("index_prefix", "mlflow") or ""
    if not _PREFIX_RE.match(prefix):
        raise invalid_parameter(
            f"Store URI {shown!r}: index_prefix={prefix!r} must be 1-64 lowercase letters, digits, '-' or '_'"
            " and start with a letter or digit"
        )
    refresh = (parsed.option("refresh", "true") or "").lower()
    if refresh not in REFRESH_CHOICES:
        raise invalid_parameter(
            f"Store URI {shown!r}: refresh={refresh!r} must be one of {', '.join(REFRESH_CHOICES)}"
        )
    raw_timeout = parsed.option("timeout")
    try:
        timeout = float(raw_timeout) if raw_timeout is not None else 30.0
    except ValueError:
        timeout = -1.0
    if not (timeout > 0):
        raise invalid_parameter(f"Store URI {shown!r}: timeout={raw_timeout!r} must be a number of seconds > 0")
    scheme = "https" if tls == "https" else "http"
    port = parsed.port or 9200
    env = environ
    try:
        password = PASSWORD.get(env) if parsed.password is None else Secret(parsed.password)
    except SettingValueError:  # pragma: no cover - as_secret never fails
        password = None
    return EsConfig(
        engine=engine,
        url=f"{scheme}://{parsed.host}:{port}",
        index_prefix=prefix,
        shards=_int_option(shown, "shards", parsed.option("shards"), 1, 1),
        replicas=_int_option(shown, "replicas", parsed.option("replicas"), 0, 0),
        refresh=refresh,
        timeout=timeout,
        username=parsed.username or USERNAME.get(env),
        password=password,
        api_key=API_KEY.get(env),
        ca_certs=CA_CERTS.get(env),
        client_cert=CLIENT_CERT.get(env),
        client_key=CLIENT_KEY.get(env),
        verify_certs=bool(VERIFY_CERTS.get(env)),
        retry_seconds=float(RETRY_SECONDS.get(env) or 0.0),
    )
