"""One token request to an OAuth2 token endpoint (client-credentials grant), with clear errors."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE, UNAUTHENTICATED

from mlflow_auth_oauth2 import settings as s
from mlflow_auth_oauth2.jwt_expiry import seconds_until_jwt_expiry
from mlflow_auth_oauth2.setting_errors import setting_error
from mlflow_auth_oauth2.token_cache import IssuedToken
from mlflow_plugins_shared.logs import register_secret
from mlflow_plugins_shared.redact import Secret, redact_uri
from mlflow_plugins_shared.retry import call_with_retry, http_status_is_transient

_logger = logging.getLogger(__name__)
# Which setting to fix for each RFC 6749 §5.2 error code.
_ERROR_SETTING = {
    "invalid_client": f"{s.CLIENT_ID.env} / {s.CLIENT_SECRET.env}",
    "unauthorized_client": s.CLIENT_ID.env,
    "invalid_scope": s.SCOPE.env,
    "invalid_target": s.AUDIENCE.env,
    "invalid_request": s.CLIENT_AUTH.env,
    "unsupported_grant_type": s.TOKEN_URL.env,
}


class _Transient(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


@dataclass(frozen=True)
class ClientCredentialsConfig:
    token_url: str
    client_id: str
    client_secret: Secret | None
    client_secret_file: str | None
    scope: str | None
    audience: str | None
    client_auth: str
    timeout: float
    default_expires_in: float

    def secret(self) -> str:
        if self.client_secret is not None:
            return self.client_secret.get()
        path = Path(self.client_secret_file or "")
        try:
            value = path.read_text().strip()
        except OSError as e:
            raise setting_error(s.CLIENT_SECRET_FILE.env, f"cannot read {str(path)!r}: {e.strerror or e}") from None
        if not value:
            raise setting_error(s.CLIENT_SECRET_FILE.env, f"{str(path)!r} is empty")
        return value

    def __repr__(self) -> str:
        return f"ClientCredentialsConfig(token_url={redact_uri(self.token_url)!r}, client_id={self.client_id!r})"


def fetch_token(cfg: ClientCredentialsConfig) -> IssuedToken:
    secret = cfg.secret()
    register_secret(__name__, secret)
    data = {"grant_type": "client_credentials"}
    if cfg.scope:
        data["scope"] = cfg.scope
    if cfg.audience:
        data["audience"] = cfg.audience
    auth = None
    if cfg.client_auth == "basic":
        # RFC 6749 §2.3.1: form-urlencode id and secret before Basic encoding.
        auth = (quote(cfg.client_id, safe=""), quote(secret, safe=""))
    else:
        data.update(client_id=cfg.client_id, client_secret=secret)
    url = redact_uri(cfg.token_url)

    def post() -> requests.Response:
        resp = requests.post(cfg.token_url, data=data, auth=auth, timeout=cfg.timeout,
                             headers={"Accept": "application/json"})
        if http_status_is_transient(resp.status_code):
            raise _Transient(resp.status_code)
        return resp

    def transient(e: BaseException) -> bool:
        return isinstance(e, (_Transient, requests.ConnectionError, requests.Timeout))

    try:
        resp = call_with_retry(post, transient, attempts=3, initial=0.2, maximum=2.0, deadline=cfg.timeout * 3,
                               what="OAuth2 token request")
    except _Transient as e:
        raise setting_error(s.TOKEN_URL.env, f"token endpoint {url} answered HTTP {e.status} three times; "
                            "try again later", code=TEMPORARILY_UNAVAILABLE) from None
    except requests.Timeout:
        raise setting_error(s.TIMEOUT.env, f"token endpoint {url} ({s.TOKEN_URL.env}) did not answer within "
                            f"{cfg.timeout}s", code=TEMPORARILY_UNAVAILABLE) from None
    except requests.RequestException as e:
        raise setting_error(s.TOKEN_URL.env, f"token endpoint {url} is unreachable ({type(e).__name__}); "
                           "check the URL and the network") from None
    _logger.debug("token endpoint %s answered HTTP %s", url, resp.status_code)
    return _parse(resp, cfg, url, secret)


def _parse(resp: requests.Response, cfg: ClientCredentialsConfig, url: str, secret: str) -> IssuedToken:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        ctype = resp.headers.get("Content-Type", "no content type")
        raise setting_error(s.TOKEN_URL.env, f"{url} answered HTTP {resp.status_code} with a non-JSON body "
                           f"({ctype}); is this the OAuth2 token endpoint?")
    if resp.status_code >= 400 or "error" in body:
        code = str(body.get("error", f"HTTP {resp.status_code}"))
        desc = str(body.get("error_description", ""))[:300]
        detail = f"{code}: {desc}" if desc else code
        setting = _ERROR_SETTING.get(code, s.TOKEN_URL.env)
        if code == "invalid_client" or resp.status_code == 401:
            raise setting_error(
                setting, f"OAuth2 token endpoint {url} rejected client {cfg.client_id!r} ({detail}); "
                "the secret may be wrong or the client revoked.", secret, code=UNAUTHENTICATED)
        raise setting_error(setting, f"OAuth2 token endpoint {url} refused the token request ({detail}).", secret)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise setting_error(s.TOKEN_URL.env, f"{url} answered without an access_token; is this the OAuth2 token endpoint?")
    token_type = str(body.get("token_type", "bearer"))
    if token_type.lower() != "bearer":
        raise setting_error(s.TOKEN_URL.env, f"OAuth2 token endpoint {url} issued a {token_type!r} token; "
                            "only bearer tokens are supported.")
    return IssuedToken(token, _lifetime(body.get("expires_in"), token, cfg.default_expires_in))


def _lifetime(expires_in: object, token: str, default: float) -> float:
    """`expires_in`, but never past the JWT's own `exp` (servers round `iat` down to the second)."""
    stated: float | None = None
    try:
        value = float(expires_in)  # type: ignore[arg-type]
        stated = value if value > 0 else None
    except (TypeError, ValueError):
        pass
    from_jwt = seconds_until_jwt_expiry(token)
    candidates = [v for v in (stated, from_jwt) if v is not None and v > 0]
    return min(candidates) if candidates else default
