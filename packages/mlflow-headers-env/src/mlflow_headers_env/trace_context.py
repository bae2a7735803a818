"""Per-request headers: a fresh X-Request-ID and W3C trace context of the innermost active span.

Two kinds of span can be active: OpenTelemetry's (the global context) and MLflow's
(`@mlflow.trace`, `mlflow.start_span`). Since MLflow 3.17 MLflow keeps its spans in a context of
its own, so OpenTelemetry's propagator alone does not see them; both are read. When both are
active the one that started last is the inner one and wins (a span without a start time, such as
a remote parent attached by a server framework, counts as the outermost).
"""

from __future__ import annotations

import uuid
from typing import Any

from mlflow_plugins_shared.logs import get_logger

_logger = get_logger(__name__)
REQUEST_ID_HEADER = "X-Request-ID"

try:  # the `otel` extra; MLflow 3 installs opentelemetry-api itself
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from mlflow_headers_env.mlflow_compat import otel_span_context

    _PROPAGATOR: Any = TraceContextTextMapPropagator()
except ImportError:  # pragma: no cover - exercised only without opentelemetry-api
    _PROPAGATOR = None


def request_id() -> str:
    return str(uuid.uuid4())


def otel_available() -> bool:
    return _PROPAGATOR is not None


def _mlflow_span() -> tuple[Any, int] | None:
    """MLflow's active span's OpenTelemetry context and start time (ns), or None."""
    try:
        import mlflow

        span = mlflow.get_current_active_span()
        if span is None:
            return None
        ctx = otel_span_context(span)
        return (ctx, int(span.start_time_ns or 0)) if ctx is not None else None
    except Exception as e:  # tracing trouble must not cost the request its other headers
        _logger.debug("mlflow-headers-env: cannot read MLflow's active span: %s", e)
        return None


def _otel_span() -> tuple[Any, int] | None:
    span = trace.get_current_span()
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    started = getattr(span, "start_time", None)  # SDK spans; NonRecordingSpan has none
    return ctx, int(started) if isinstance(started, int) else -1


def active_span_context() -> Any | None:
    """The SpanContext of the innermost active span, MLflow's or OpenTelemetry's."""
    if _PROPAGATOR is None:
        return None
    found = [s for s in (_otel_span(), _mlflow_span()) if s is not None]
    if not found:
        return None
    return max(found, key=lambda s: s[1])[0]  # on a tie (the same span in both contexts) either is right


def trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate` when non-empty) of the innermost span; {} without a valid span."""
    ctx = active_span_context()
    if ctx is None:
        return {}
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(trace.NonRecordingSpan(ctx)))
    return carrier
