"""The one place this package reads MLflow internals (tools/check_private_imports.py)."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanContext


def otel_span_context(mlflow_span: Any) -> SpanContext | None:
    """The OpenTelemetry context of an MLflow span (what `mlflow.get_current_active_span()` returns).

    MLflow's public span API gives the span id (hex) but not the OpenTelemetry trace id: its
    `trace_id` is MLflow's own (`tr-<hex>` in 3.x, server-assigned in 2.x). The LiveSpan wraps the
    OpenTelemetry span as `_span` (MLflow 2.14 to 3.18 at least); without it there is no context.
    """
    otel_span = getattr(mlflow_span, "_span", None)
    get_context = getattr(otel_span, "get_span_context", None)
    ctx = get_context() if callable(get_context) else None
    return ctx if isinstance(ctx, SpanContext) and ctx.is_valid else None
