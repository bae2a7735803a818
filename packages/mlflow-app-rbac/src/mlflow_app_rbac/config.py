"""Configuration: a TOML file (MLFLOW_RBAC_CONFIG_FILE) overridden by environment variables.

A file key is the variable's name without the `MLFLOW_RBAC_` prefix, in lower case
(`jwks_url = "https://..."`); lists may be TOML arrays.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_app_rbac.permissions import Permission
from mlflow_plugins_shared.errors import config_error
from mlflow_plugins_shared.redact import Secret
from mlflow_plugins_shared.settings import (
    Setting,
    SettingValueError,
    as_bool,
    as_float,
    as_int,
    as_list,
    as_secret,
    as_str,
)

PREFIX = "MLFLOW_RBAC_"


def _as_permission(value: str) -> Permission:
    if value.strip().upper() not in Permission.__members__:
        raise SettingValueError(f"expected one of {', '.join(Permission.__members__)}")
    return Permission[value.strip().upper()]


def _as_algorithms(value: str) -> list[str]:
    algs = as_list()(value)
    if not algs:
        raise SettingValueError("expected at least one algorithm, e.g. RS256")
    bad = [a for a in algs if a.lower() == "none"]
    if bad:
        raise SettingValueError("'none' is never accepted")
    allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
               "EdDSA", "HS256", "HS384", "HS512"}
    unknown = [a for a in algs if a not in allowed]
    if unknown:
        raise SettingValueError(f"unknown algorithm(s) {unknown}; allowed: {sorted(allowed)}")
    return algs


CONFIG_FILE = Setting(f"{PREFIX}CONFIG_FILE", as_str, doc="Path of a TOML configuration file (keys: the variable names below without the prefix, lower case).")
DATABASE_URI = Setting(f"{PREFIX}DATABASE_URI", as_str, default="sqlite:///mlflow-rbac.db", secret=True,
                       doc="SQLAlchemy URI of the permission/API-key/audit database.")
JWKS_URL = Setting(f"{PREFIX}JWKS_URL", as_str, doc="JWKS URL of the identity provider (e.g. https://idp/.well-known/jwks.json).")
JWKS_FILE = Setting(f"{PREFIX}JWKS_FILE", as_str, doc="Path of a static JWKS JSON file (instead of, or as well as, JWKS_URL).")
JWT_ISSUER = Setting(f"{PREFIX}JWT_ISSUER", as_str, doc="Required `iss` claim (required when JWT validation is on).")
JWT_AUDIENCE = Setting(f"{PREFIX}JWT_AUDIENCE", as_list(), doc="Accepted `aud` values, comma separated (required when JWT validation is on).")
JWT_ALGORITHMS = Setting(f"{PREFIX}JWT_ALGORITHMS", _as_algorithms, default=["RS256", "ES256"],
                         doc="Signature algorithm allow-list; `none` is always refused.")
JWT_LEEWAY = Setting(f"{PREFIX}JWT_LEEWAY_SECONDS", as_float(minimum=0, maximum=600), default=30.0,
                     doc="Clock skew allowed on exp/nbf/iat.")
USER_CLAIM = Setting(f"{PREFIX}USER_CLAIM", as_str, default="sub", doc="JWT claim naming the user.")
GROUPS_CLAIM = Setting(f"{PREFIX}GROUPS_CLAIM", as_str, default="groups",
                       doc="JWT claim holding the user's groups (list or space/comma separated string; dotted path allowed).")
JWKS_CACHE_SECONDS = Setting(f"{PREFIX}JWKS_CACHE_SECONDS", as_float(minimum=0), default=300.0,
                             doc="How long fetched JWKS keys are reused.")
JWKS_MIN_REFRESH_SECONDS = Setting(f"{PREFIX}JWKS_MIN_REFRESH_SECONDS", as_float(minimum=0), default=10.0,
                                   doc="Least time between two JWKS fetches caused by unknown `kid`s.")
ADMIN_USERS: Setting[list[str]] = Setting(f"{PREFIX}ADMIN_USERS", as_list(), default=list(), doc="Users who are admins.")
ADMIN_GROUPS: Setting[list[str]] = Setting(f"{PREFIX}ADMIN_GROUPS", as_list(), default=[], doc="Groups whose members are admins.")
BOOTSTRAP_ADMIN_KEY = Setting(f"{PREFIX}BOOTSTRAP_ADMIN_KEY", as_secret, secret=True,
                              doc="Optional API key (24+ characters) that authenticates as admin `bootstrap-admin`.")
DEFAULT_PERMISSION = Setting(f"{PREFIX}DEFAULT_PERMISSION", _as_permission, default=Permission.NONE,
                             doc="Role every authenticated user has on a resource nobody granted them (creators get MANAGE).")
CACHE_SECONDS = Setting(f"{PREFIX}CACHE_SECONDS", as_float(minimum=0, maximum=300), default=5.0,
                        doc="How long a worker reuses permission/API-key lookups (other workers see changes within this).")
PUBLIC_UI = Setting(f"{PREFIX}PUBLIC_UI", as_bool, default=True,
                    doc="Serve UI assets (/, /static-files, /health, /version) without authentication; they hold no data.")
SEARCH_IN_LIMIT = Setting(f"{PREFIX}SEARCH_IN_LIMIT", as_int(minimum=0, maximum=4000), default=1000,
                          doc="Up to this many readable experiments/models, searches put their ids in MLflow's filter; "
                              "above it they page through MLflow server-side (0: always).")
AUDIT_DB = Setting(f"{PREFIX}AUDIT_DB", as_bool, default=True, doc="Store audit events in the database (they are always logged as JSON).")

ALL_SETTINGS: tuple[Setting[Any], ...] = (
    CONFIG_FILE, DATABASE_URI, JWKS_URL, JWKS_FILE, JWT_ISSUER, JWT_AUDIENCE, JWT_ALGORITHMS, JWT_LEEWAY,
    USER_CLAIM, GROUPS_CLAIM, JWKS_CACHE_SECONDS, JWKS_MIN_REFRESH_SECONDS, ADMIN_USERS, ADMIN_GROUPS,
    BOOTSTRAP_ADMIN_KEY, DEFAULT_PERMISSION, CACHE_SECONDS, PUBLIC_UI, SEARCH_IN_LIMIT, AUDIT_DB,
)


@dataclass(frozen=True)
class RbacConfig:
    database_uri: Secret
    jwks_url: str | None
    jwks_file: str | None
    issuer: str | None
    audience: list[str]
    algorithms: list[str]
    leeway: float
    user_claim: str
    groups_claim: str
    jwks_cache_seconds: float
    jwks_min_refresh_seconds: float
    admin_users: frozenset[str]
    admin_groups: frozenset[str]
    bootstrap_admin_key: Secret | None
    default_permission: Permission
    cache_seconds: float
    public_ui: bool
    audit_db: bool
    search_in_limit: int = 1000

    @property
    def jwt_enabled(self) -> bool:
        return bool(self.jwks_url or self.jwks_file)


def _file_values(path: str) -> dict[str, str]:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise config_error(CONFIG_FILE.env, f"file {path!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise config_error(CONFIG_FILE.env, f"cannot read {path!r}: {type(e).__name__}") from None
    except tomllib.TOMLDecodeError as e:
        raise config_error(CONFIG_FILE.env, f"{path!r} is not valid TOML: {e}") from None
    known = {s.env[len(PREFIX):].lower(): s for s in ALL_SETTINGS if s is not CONFIG_FILE}
    out: dict[str, str] = {}
    for key, value in data.items():
        if key not in known:
            raise config_error(CONFIG_FILE.env, f"unknown key {key!r} in {path!r}; known keys: {', '.join(sorted(known))}")
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out[known[key].env] = str(value)
    return out


def load_config(environ: Mapping[str, str] | None = None) -> RbacConfig:
    env = dict(os.environ if environ is None else environ)
    path = CONFIG_FILE.get(env)
    merged = {**_file_values(path), **{k: v for k, v in env.items() if v.strip()}} if path else env
    cfg = RbacConfig(
        database_uri=Secret(DATABASE_URI.get(merged) or ""),
        jwks_url=JWKS_URL.get(merged),
        jwks_file=JWKS_FILE.get(merged),
        issuer=JWT_ISSUER.get(merged),
        audience=JWT_AUDIENCE.get(merged) or [],
        algorithms=JWT_ALGORITHMS.get(merged) or [],
        leeway=JWT_LEEWAY.get(merged) or 0.0,
        user_claim=USER_CLAIM.get(merged) or "sub",
        groups_claim=GROUPS_CLAIM.get(merged) or "groups",
        jwks_cache_seconds=JWKS_CACHE_SECONDS.get(merged) or 0.0,
        jwks_min_refresh_seconds=JWKS_MIN_REFRESH_SECONDS.get(merged) or 0.0,
        admin_users=frozenset(ADMIN_USERS.get(merged) or ()),
        admin_groups=frozenset(ADMIN_GROUPS.get(merged) or ()),
        bootstrap_admin_key=BOOTSTRAP_ADMIN_KEY.get(merged),
        default_permission=DEFAULT_PERMISSION.get(merged) or Permission.NONE,
        cache_seconds=CACHE_SECONDS.get(merged) or 0.0,
        public_ui=bool(PUBLIC_UI.get(merged)),
        audit_db=bool(AUDIT_DB.get(merged)),
        search_in_limit=_or_default(SEARCH_IN_LIMIT.get(merged), 1000),
    )
    _check(cfg)
    return cfg


def _or_default(value: int | None, default: int) -> int:
    return default if value is None else value  # 0 is a value here


def _check(cfg: RbacConfig) -> None:
    if cfg.jwt_enabled:
        if not cfg.issuer:
            raise config_error(JWT_ISSUER.env, "is required when JWKS_URL or JWKS_FILE is set")
        if not cfg.audience:
            raise config_error(JWT_AUDIENCE.env, "is required when JWKS_URL or JWKS_FILE is set")
        if any(a.startswith("HS") for a in cfg.algorithms):
            raise config_error(JWT_ALGORITHMS.env, "HS* (shared-secret) algorithms are not accepted with a JWKS; use RS*/PS*/ES*/EdDSA")
    key = cfg.bootstrap_admin_key
    if key is not None and len(key.get()) < 24:
        raise config_error(BOOTSTRAP_ADMIN_KEY.env, "must be at least 24 characters long")
    if not cfg.jwt_enabled and key is None:
        raise config_error(
            f"{JWKS_URL.env}/{JWKS_FILE.env}/{BOOTSTRAP_ADMIN_KEY.env}",
            "none is set: nobody could ever authenticate. Set a JWKS source, or a bootstrap admin key to create API keys",
        )
