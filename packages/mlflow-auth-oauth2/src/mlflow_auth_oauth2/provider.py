"""The three request auth providers MLflow selects with MLFLOW_TRACKING_AUTH.

MLflow calls `get_auth()` for every REST request and outside its own error wrapping, so
configuration errors raised here reach the user as they are. The token state is process-wide
(keyed by the configuration), so every call shares one cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from mlflow.tracking.request_auth.abstract_request_auth_provider import RequestAuthProvider

from mlflow_auth_oauth2 import settings as s
from mlflow_auth_oauth2.bearer_auth import BearerAuth, TokenSource
from mlflow_auth_oauth2.client_credentials import ClientCredentialsConfig, fetch_token
from mlflow_auth_oauth2.setting_errors import read, setting_error
from mlflow_auth_oauth2.token_cache import TokenCache
from mlflow_auth_oauth2.token_command import TokenCommand
from mlflow_auth_oauth2.token_file import TokenFile
from mlflow_plugins_shared.settings import Setting


class _ProcessWideSources:
    """Config (raw env values) -> token source; building one reads and validates the settings."""

    def __init__(self, settings: Sequence[Setting[Any]], build: Callable[[], TokenSource]) -> None:
        self._envs = tuple(x.env for x in settings)
        self._raw_envs = tuple(os.fsencode(name) for name in self._envs)
        self._build = build
        self._lock = threading.Lock()
        self._sources: dict[tuple[object, ...], TokenSource] = {}

    def _key(self) -> tuple[object, ...]:
        # os.environ.get costs ~1 µs per name (key encoding); read CPython's raw mapping when it exists.
        raw = getattr(os.environ, "_data", None)
        if isinstance(raw, dict) and os.name == "posix":
            return tuple(map(raw.get, self._raw_envs))
        return tuple(map(os.environ.get, self._envs))

    def get(self) -> TokenSource:
        key = self._key()
        source = self._sources.get(key)
        if source is None:
            with self._lock:
                source = self._sources.get(key) or self._build()
                self._sources[key] = source
        return source

    def clear(self) -> None:
        with self._lock:
            self._sources.clear()


def _client_credentials_source() -> TokenSource:
    secret, secret_file = read(s.CLIENT_SECRET), read(s.CLIENT_SECRET_FILE)
    if secret and secret_file:
        raise setting_error(s.CLIENT_SECRET.env, f"set either it or {s.CLIENT_SECRET_FILE.env}, not both")
    if not secret and not secret_file:
        raise setting_error(s.CLIENT_SECRET.env, f"is not set (nor {s.CLIENT_SECRET_FILE.env}); the oauth2 "
                           "provider needs the client secret")
    url = read(s.TOKEN_URL, required=True) or ""
    if not url.lower().startswith(("http://", "https://")):
        raise setting_error(s.TOKEN_URL.env, f"must be an http(s) URL, got {url!r}")
    cfg = ClientCredentialsConfig(
        token_url=url, client_id=read(s.CLIENT_ID, required=True) or "", client_secret=secret, client_secret_file=secret_file,
        scope=read(s.SCOPE), audience=read(s.AUDIENCE), client_auth=read(s.CLIENT_AUTH) or "basic",
        timeout=read(s.TIMEOUT) or 10.0, default_expires_in=read(s.DEFAULT_EXPIRES_IN) or 300.0,
    )
    return TokenCache(partial(fetch_token, cfg), read(s.REFRESH_MARGIN) or 0.0, f"oauth2 client {cfg.client_id!r}")


def _file_source() -> TokenSource:
    return TokenFile(read(s.TOKEN_FILE, required=True) or "")


def _command_source() -> TokenSource:
    cmd = TokenCommand.parse(read(s.TOKEN_COMMAND, required=True) or "", read(s.COMMAND_TIMEOUT) or 30.0,
                             read(s.COMMAND_TTL) or 0.0)
    return TokenCache(cmd.run, read(s.REFRESH_MARGIN) or 0.0, f"bearer-command {cmd.argv[0]!r}")


OAUTH2_SOURCES = _ProcessWideSources(s.OAUTH2_SETTINGS, _client_credentials_source)
FILE_SOURCES = _ProcessWideSources(s.FILE_SETTINGS, _file_source)
COMMAND_SOURCES = _ProcessWideSources(s.COMMAND_SETTINGS, _command_source)


class _BearerProvider(RequestAuthProvider):
    name = ""
    sources: _ProcessWideSources

    def get_name(self) -> str:
        return self.name

    def get_auth(self) -> BearerAuth:
        source = self.sources.get()
        # fetched here, outside MLflow's error wrapping, so configuration errors reach the caller as they are
        return BearerAuth(source, self.name, source.token())

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Oauth2AuthProvider(_BearerProvider):
    """`MLFLOW_TRACKING_AUTH=oauth2`: OAuth2 client-credentials grant."""

    name = "oauth2"
    sources = OAUTH2_SOURCES


class BearerFileAuthProvider(_BearerProvider):
    """`MLFLOW_TRACKING_AUTH=bearer-file`: token from MLFLOW_BEARER_TOKEN_FILE."""

    name = "bearer-file"
    sources = FILE_SOURCES


class BearerCommandAuthProvider(_BearerProvider):
    """`MLFLOW_TRACKING_AUTH=bearer-command`: token printed by MLFLOW_BEARER_TOKEN_COMMAND."""

    name = "bearer-command"
    sources = COMMAND_SOURCES
