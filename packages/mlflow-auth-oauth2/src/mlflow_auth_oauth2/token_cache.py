"""A process-wide cached token, refreshed once (not once per thread) shortly before it expires."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mlflow.exceptions import MlflowException

_logger = logging.getLogger(__name__)
_RETRY_FAILED_REFRESH_AFTER = 5.0


@dataclass(frozen=True)
class IssuedToken:
    value: str
    expires_in: float  # seconds from when it was fetched

    def __repr__(self) -> str:
        return f"IssuedToken(value='***', expires_in={self.expires_in})"


@dataclass(frozen=True)
class _Cached:
    value: str
    refresh_at: float  # time.monotonic()
    expires_at: float


class TokenCache:
    """`token()` is lock-free while the token is fresh; one thread refreshes, the others wait for it.

    A failed refresh while the old token is still valid keeps the old token (and tries again a
    few seconds later); without a valid token the error propagates.
    """

    def __init__(self, fetch: Callable[[], IssuedToken], refresh_margin: float, what: str) -> None:
        self._fetch = fetch
        self._margin = refresh_margin
        self._what = what
        self._lock = threading.Lock()
        self._cached: _Cached | None = None
        self.fetch_count = 0

    def token(self) -> str:
        cached = self._cached
        if cached is not None and time.monotonic() < cached.refresh_at:
            return cached.value
        with self._lock:
            cached = self._cached
            now = time.monotonic()
            if cached is not None and now < cached.refresh_at:
                return cached.value
            try:
                issued = self._fetch()
            except MlflowException:
                if cached is not None and now < cached.expires_at:
                    _logger.warning("%s: refreshing the token failed; using the current one until it expires",
                                    self._what, exc_info=True)
                    self._cached = _Cached(cached.value, min(now + _RETRY_FAILED_REFRESH_AFTER, cached.expires_at),
                                           cached.expires_at)
                    return cached.value
                raise
            self.fetch_count += 1
            margin = min(self._margin, issued.expires_in / 5)
            self._cached = _Cached(issued.value, now + issued.expires_in - margin, now + issued.expires_in)
            _logger.debug("%s: new token valid for %.0fs, refresh in %.0fs", self._what, issued.expires_in,
                          issued.expires_in - margin)
            return issued.value

    def invalidate(self, rejected: str) -> None:
        """The server refused `rejected`: drop it unless another thread already replaced it."""
        with self._lock:
            if self._cached is not None and self._cached.value == rejected:
                self._cached = None

    def __repr__(self) -> str:
        return f"TokenCache({self._what}, fetched={self.fetch_count})"
