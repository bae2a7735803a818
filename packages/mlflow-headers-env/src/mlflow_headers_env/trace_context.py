"""Per-request headers: a fresh X-Request-ID and W3C trace context from OpenTelemetry."""

from __future__ import annotations

import uuid
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"

try:  # the `otel` extra; MLflow 3 installs opentelemetry-api itself
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    _PROPAGATOR: Any = TraceContextTextMapPropagator()
except ImportError:  # pragma: no cover - exercised only without opentelemetry-api
    _PROPAGATOR = None


def request_id() -> str:
    return str(uuid.uuid4())


def otel_available() -> bool:
    return _PROPAGATOR is not None


def trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate` when non-empty) of the current span; {} without a valid span."""
    if _PROPAGATOR is None:
        return {}
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier
