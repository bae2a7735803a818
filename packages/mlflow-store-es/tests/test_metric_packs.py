"""Metric points stored as packs (one document per key per batch) on the real engines: exactly once,
ordered like MLflow's store, and schema-2 point documents still read."""

from __future__ import annotations

import json
import math

from mlflow.entities import Metric
from mlflow_store_es.codec import encode_value, metric_doc_id
from mlflow_store_es.metric_packs import pack_lines
from mlflow_store_es.tracking_store import EsTrackingStore


def _docs(s: EsTrackingStore, run_id: str) -> list[dict]:
    s.client.refresh(s.ix.metrics)
    return [h["_source"] for h in s.client.scan(s.ix.metrics, {"term": {"run_id": run_id}}, [{"seq": "asc"}])]


def test_a_batch_of_one_key_is_one_document_and_a_retry_overwrites_it(tracking_store: EsTrackingStore) -> None:
    s = tracking_store
    rid = s.create_run("0", "u", 0, [], "r").info.run_id
    batch = [Metric("loss", 1.0 / (i + 1), 1000 + i, i) for i in range(1000)]
    s.log_batch(rid, batch, [], [])
    s.log_batch(rid, batch, [], [])  # a client retry of the same call
    docs = _docs(s, rid)
    assert len(docs) == 1 and docs[0]["n"] == 1000 and docs[0]["key"] == "loss"
    assert [(m.step, m.timestamp, m.value) for m in s.get_metric_history(rid, "loss")] == [
        (m.step, m.timestamp, m.value) for m in batch]


def test_mixed_keys_repeats_and_special_values(tracking_store: EsTrackingStore) -> None:
    s = tracking_store
    rid = s.create_run("0", "u", 0, [], "r").info.run_id
    s.log_batch(rid, [Metric("a", 1.0, 10, 0), Metric("b", float("nan"), 10, 0), Metric("a", 2.0, 11, 1),
                      Metric("a", 1.0, 10, 0)], [], [])  # a repeated point inside the batch
    s.log_batch(rid, [Metric("a", 1.0, 10, 0), Metric("a", float("inf"), 12, 2), Metric("b", -float("inf"), 9, 0)],
                [], [])  # the same point again in a later batch
    assert len(_docs(s, rid)) == 4  # one pack per key per batch
    a = s.get_metric_history(rid, "a")
    assert [(m.step, m.timestamp, m.value) for m in a] == [(0, 10, 1.0), (1, 11, 2.0), (2, 12, 1.7976931348623157e308)]
    b = s.get_metric_history(rid, "b")
    assert [m.timestamp for m in b] == [9, 10] and b[0].value == -1.7976931348623157e308 and math.isnan(b[1].value)
    page = s.get_metric_history(rid, "a", max_results=2)
    assert len(page) == 2 and page.token
    assert [m.step for m in s.get_metric_history(rid, "a", max_results=2, page_token=page.token)] == [2]


def test_ties_in_step_and_timestamp_keep_the_per_point_order(tracking_store: EsTrackingStore) -> None:
    s = tracking_store
    rid = s.create_run("0", "u", 0, [], "r").info.run_id
    values = [0.5, 3.0, -1.0, 2.0]
    s.log_batch(rid, [Metric("t", v, 7, 1) for v in values], [], [])
    got = [m.value for m in s.get_metric_history(rid, "t")]
    want = sorted(values, key=lambda v: metric_doc_id(rid, "t", 1, 7, encode_value(v)))
    assert got == want


def test_schema_2_point_documents_read_together_with_packs(tracking_store: EsTrackingStore) -> None:
    """Data written before packs (one document per point) needs no migration."""
    s = tracking_store
    rid = s.create_run("0", "u", 0, [], "r").info.run_id
    old_lines = []
    for step in range(3):  # what schema 2 wrote
        value = encode_value(float(step))
        did = metric_doc_id(rid, "m", step, 100 + step, value)
        old_lines += [json.dumps({"index": {"_index": s.ix.metrics, "_id": did}}),
                      json.dumps({"run_id": rid, "key": "m", "step": step, "timestamp": 100 + step, "value": value,
                                  "num": float(value), "seq": did})]
    s.client.bulk(old_lines, refresh="true")
    s.log_batch(rid, [Metric("m", 2.0, 102, 2), Metric("m", 3.0, 103, 3)], [], [])  # overlaps the old point 2
    assert [(m.step, m.value) for m in s.get_metric_history(rid, "m")] == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0)]


def test_pack_ids_depend_on_run_key_and_points() -> None:
    one = pack_lines("ix", "r1", [Metric("k", 1.0, 1, 0)])
    assert one == pack_lines("ix", "r1", [Metric("k", 1.0, 1, 0)])
    assert one[0] != pack_lines("ix", "r2", [Metric("k", 1.0, 1, 0)])[0]
    assert one[0] != pack_lines("ix", "r1", [Metric("k", 1.5, 1, 0)])[0]
    assert one[0] != pack_lines("ix", "r1", [Metric("j", 1.0, 1, 0)])[0]


def test_history_bulk_is_one_mget_and_one_search_whatever_the_number_of_runs(tracking_store: EsTrackingStore) -> None:
    s = tracking_store
    runs = [s.create_run("0", "u", 0, [], f"r{i}").info.run_id for i in range(30)]
    for i, rid in enumerate(runs):
        s.log_batch(rid, [Metric("loss", float(i), 100 + k, k) for k in range(3)], [], [])
    s.client.refresh(s.ix.metrics)
    s._metrics_refreshed_at = 2**62  # points already searchable: count only the reads
    before = s.client.requests
    got = s.get_metric_history_bulk([*runs, "0" * 32], "loss", 10_000)
    assert s.client.requests - before == 2  # the runs' mget, one search over their packs
    assert [m.run_id for m in got] == sorted(m.run_id for m in got)
    assert len(got) == 90 and {(m.run_id, m.step, m.value) for m in got} == {
        (rid, k, float(i)) for i, rid in enumerate(runs) for k in range(3)}
    assert len(s.get_metric_history_bulk(runs, "loss", 7)) == 7
