"""Benchmark: this plugin's cost per MLflow REST request (`request_headers()`, as MLflow calls it).

    python packages/mlflow-headers-env/bench/run.py [--full] --out rows.json

Anchor: MLflow's own DefaultRequestHeaderProvider. Quick: 20,000 calls; full: 200,000.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import mlflow  # noqa: F401  (registries loaded first, as in a user's process)
from mlflow.tracking.request_header.default_request_header_provider import DefaultRequestHeaderProvider
from mlflow_headers_env.provider import EnvHeaderProvider
from opentelemetry.sdk.trace import TracerProvider


def per_call_us(fn, n: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    n = 200_000 if args.full else 20_000
    anchor = per_call_us(DefaultRequestHeaderProvider().request_headers, n)
    provider = EnvHeaderProvider()
    base = {"package": "mlflow-headers-env", "anchor": "MLflow DefaultRequestHeaderProvider", "unit": "µs",
            "anchor_value": round(anchor, 2), "target": "negligible beside a REST call (< 100 µs)",
            "engine": "CPython " + ".".join(map(str, __import__("sys").version_info[:3]))}
    rows = []

    def row(benchmark: str, subject: str, value: float, notes: str = "", *, anchored: bool = True) -> None:
        rows.append({**base, "benchmark": benchmark, "subject": subject, "value": round(value, 2),
                     "ratio": round(value / anchor, 2), "notes": notes or f"{n:,} calls"})
        if not anchored:
            rows[-1].update(anchor="", anchor_value="", ratio="", target="")

    os.environ.pop("MLFLOW_HEADERS", None)
    os.environ.pop("MLFLOW_HEADERS_FILE", None)
    row("per-request cost", "defaults (identity, User-Agent, X-Request-ID)", per_call_us(provider.request_headers, n))
    os.environ["MLFLOW_HEADERS"] = '{"X-Team": "ml", "X-Cost-Center": "4711", "X-Tenant": "acme"}'
    os.environ["MLFLOW_ENVIRONMENT"] = "prod"
    row("per-request cost", "+ 3 static headers + environment", per_call_us(provider.request_headers, n))
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "headers.conf"
        f.write_text("X-Route: blue\nX-Gateway-Key: abc\n")
        os.environ["MLFLOW_HEADERS_FILE"] = str(f)
        row("per-request cost", "+ headers file (stat per request)", per_call_us(provider.request_headers, n))
        tracer = TracerProvider().get_tracer("bench")
        with tracer.start_as_current_span("train"):
            row("per-request cost", "+ active OpenTelemetry span (traceparent)", per_call_us(provider.request_headers, n))
        t = time.perf_counter()
        reloads = 200
        for i in range(reloads):
            f.write_text(f"X-Route: blue-{i}\n")
            provider.request_headers()
        row("file change picked up", "rewrite + next request (re-read and re-validate)",
            (time.perf_counter() - t) / reloads * 1e6, f"{reloads} rewrites, includes the write", anchored=False)
    Path(args.out).write_text(json.dumps(rows, indent=2))
    for r in rows:
        print(f"{r['benchmark']} / {r['subject']}: {r['value']} µs (anchor {r['anchor_value']} µs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
