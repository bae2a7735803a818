"""Metric points as packs: one document per (run, key) per `log_batch`, holding all of that key's points.

A document per point made the engine's per-document cost the ingest limit and made a
100,000-point history 100,000 search hits. A pack
holds the points of one key from one batch (up to 1,000), so a batch of one key is one document.

Exactly once: a pack's id is a hash of its run, key and points, so a retried bulk overwrites the
same document. The same point logged again in a later batch lands in another pack; readers drop
the duplicate, which gives MLflow's SQL store's answer (its primary key is run, key, timestamp,
step, value). Documents written by schema 1-2 (one per point, `step`/`timestamp`/`value` fields)
are read the same way, so old data needs no migration.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from mlflow.entities import Metric

from mlflow_store_es.client import dumps
from mlflow_store_es.codec import doc_id, encode_value, metric_doc_id

Point = tuple[int, int, str]  # step, timestamp, encoded value


def pack_lines(index: str, run_id: str, metrics: Iterable[Metric]) -> list[str]:
    """Bulk NDJSON lines (action, source) for the points of a batch, one pack per key."""
    by_key: dict[str, dict[Point, None]] = {}
    for m in metrics:
        by_key.setdefault(m.key, {})[(int(m.step), int(m.timestamp), encode_value(m.value))] = None
    head = '{"index":{"_index":%s,"_id":"%s"}}'
    doc = '{"run_id":%s,"key":%s,"n":%d,"points":%s,"seq":"%s"}'  # the points JSON is encoded once, hashed and sent
    index_js, run_js = dumps(index), dumps(run_id)
    lines: list[str] = []
    for key, points in by_key.items():
        packed = dumps({"s": [p[0] for p in points], "t": [p[1] for p in points], "v": [p[2] for p in points]})
        pid = doc_id(run_id, key, "pack", packed)
        lines.append(head % (index_js, pid))
        lines.append(doc % (run_js, dumps(key), len(points), packed, pid))
    return lines


def points_of(source: dict[str, Any]) -> Iterator[Point]:
    packed = source.get("points")
    if packed is not None:
        yield from zip(packed["s"], packed["t"], packed["v"], strict=True)
    else:  # a schema 1-2 point document
        yield int(source["step"]), int(source["timestamp"]), source["value"]


def history(run_id: str, key: str, sources: Iterable[dict[str, Any]]) -> list[Metric]:
    """The distinct points of one key, ordered by step and timestamp (ties: by point id, as before packs)."""
    seen: dict[Point, None] = {}
    for src in sources:
        for p in points_of(src):
            seen[p] = None
    points = sorted(seen, key=lambda p: (p[0], p[1]))
    i = 0
    while i < len(points):  # a tie in (step, timestamp) is rare: order it like the per-point ids did
        j = i + 1
        while j < len(points) and points[j][:2] == points[i][:2]:
            j += 1
        if j - i > 1:
            points[i:j] = sorted(points[i:j], key=lambda p: metric_doc_id(run_id, key, p[0], p[1], p[2]))
        i = j
    return [Metric(key, float(v), t, s) for s, t, v in points]
