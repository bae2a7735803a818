"""A requests auth object: adds `Authorization: Bearer`, and on a 401 refreshes once and retries once."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Protocol

import requests
from requests.auth import AuthBase

from mlflow_plugins_shared.redact import Secret

_logger = logging.getLogger(__name__)


class TokenSource(Protocol):
    def token(self) -> str: ...

    def invalidate(self, rejected: str) -> None: ...


class BearerAuth(AuthBase):
    """The retry is sent with the connection adapter directly, so its response runs no hooks:
    a second 401 goes back to the caller as it is (never a loop)."""

    def __init__(self, source: TokenSource, name: str, token: str | None = None) -> None:
        self._source = source
        self._name = name
        # fetched by get_auth(); MLflow applies each auth object once, later calls ask the source
        self._first = Secret(token) if token else None

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        first, self._first = self._first, None
        token = first.get() if first is not None else self._source.token()
        r.headers["Authorization"] = f"Bearer {token}"
        body_pos = None
        if hasattr(r.body, "seek") and hasattr(r.body, "tell"):
            try:
                body_pos = r.body.tell()  # type: ignore[union-attr]
            except OSError:
                body_pos = None
        r.register_hook("response", partial(self._on_response, token, body_pos))
        return r

    def _on_response(self, sent: str, body_pos: int | None, resp: requests.Response, **kwargs: Any) -> requests.Response:
        if resp.status_code != 401:
            return resp
        self._source.invalidate(sent)
        fresh = self._source.token()
        if fresh == sent:
            _logger.debug("%s: got 401 and the token source has no newer token; not retrying", self._name)
            return resp
        body = resp.request.body
        if body is not None and not isinstance(body, (bytes, str)):
            if body_pos is None:
                _logger.debug("%s: got 401 on a request with a one-shot body; not retrying", self._name)
                return resp
            body.seek(body_pos)  # type: ignore[union-attr]
        _logger.debug("%s: got 401, retrying once with a refreshed token", self._name)
        resp.content  # noqa: B018 - read and release the connection before reusing it
        resp.close()
        retry = resp.request.copy()
        retry.headers["Authorization"] = f"Bearer {fresh}"
        new = resp.connection.send(retry, **kwargs)  # type: ignore[attr-defined]
        new.history.append(resp)
        new.request = retry
        return new

    def __repr__(self) -> str:
        return f"BearerAuth({self._name})"
