"""Logging helpers: per-module loggers and a filter that scrubs secrets from records."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from mlflow_plugins_shared.redact import redact_text


class RedactingFilter(logging.Filter):
    """Scrubs credential shapes (and any registered secret values) from log records."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = {s for s in secrets if s}

    def add_secret(self, secret: str | None) -> None:
        if secret:
            self._secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = redact_text(message, self._secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTERS: dict[str, RedactingFilter] = {}


def get_logger(name: str) -> logging.Logger:
    """`logging.getLogger(name)` with a RedactingFilter on the package's top logger."""
    top = name.split(".", 1)[0]
    if top not in _FILTERS:
        f = RedactingFilter()
        logging.getLogger(top).addFilter(f)
        _FILTERS[top] = f
    logger = logging.getLogger(name)
    if name != top and not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(_FILTERS[top])
    return logger


def register_secret(package: str, secret: str | None) -> None:
    """Make the package's loggers mask this exact value from now on."""
    get_logger(package)
    _FILTERS[package.split(".", 1)[0]].add_secret(secret)
