"""W3C trace context from the active OpenTelemetry span reaches the server's side of the proxy."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState


def test_traceparent_and_tracestate_from_active_span(client: MlflowClient, proxy, unique_name: str) -> None:
    ctx = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("gateway", "blue")]),
    )
    with trace.use_span(NonRecordingSpan(ctx)):
        client.create_experiment(unique_name)
    client.get_experiment_by_name(unique_name)

    inside, outside = proxy.api_requests()
    assert inside.headers["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert inside.headers["tracestate"] == "gateway=blue"
    assert "traceparent" not in outside.headers and "tracestate" not in outside.headers


def test_sdk_span_and_switch_off(monkeypatch: pytest.MonkeyPatch, client: MlflowClient, proxy, unique_name: str) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("train") as span:
        client.create_experiment(unique_name)
        monkeypatch.setenv("MLFLOW_HEADERS_TRACE_CONTEXT", "false")
        client.get_experiment_by_name(unique_name)
    on, off = proxy.api_requests()
    sc = span.get_span_context()
    assert on.headers["traceparent"] == f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{int(sc.trace_flags):02x}"
    assert "tracestate" not in on.headers  # empty trace state is not sent
    assert "traceparent" not in off.headers
