"""Retry with exponential backoff and jitter for transient faults (built on tenacity)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import tenacity

T = TypeVar("T")
_logger = logging.getLogger(__name__)


def retrying(
    is_transient: Callable[[BaseException], bool],
    *,
    attempts: int = 5,
    initial: float = 0.1,
    maximum: float = 5.0,
    deadline: float | None = 60.0,
    what: str = "operation",
) -> tenacity.Retrying:
    """A tenacity.Retrying that retries only exceptions `is_transient` accepts.

    Non-transient exceptions propagate at once; after the last attempt the original
    exception propagates (not tenacity's RetryError), so callers keep their error mapping.
    """
    stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(attempts)
    if deadline is not None:
        stop = stop | tenacity.stop_after_delay(deadline)

    def _log(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        _logger.debug(
            "retrying %s after %s (attempt %d)", what, type(exc).__name__, state.attempt_number
        )

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        stop=stop,
        wait=tenacity.wait_exponential_jitter(initial=initial, max=maximum),
        reraise=True,
        before_sleep=_log,
    )


def call_with_retry(
    fn: Callable[[], T],
    is_transient: Callable[[BaseException], bool],
    **kwargs: object,
) -> T:
    return retrying(is_transient, **kwargs)(fn)  # type: ignore[arg-type]


def http_status_is_transient(status: int | None) -> bool:
    return status is not None and (status == 429 or status == 408 or 500 <= status < 600 and status != 501)
