import math

from mlflow_store_es.search_pushdown import SEP, index_fields, kv, sortable


def test_sortable_encoding_keeps_numeric_order():
    values = [-math.inf, -1.7976931348623157e308, -3.5, -1e-320, 0.0, 1e-320, 0.25, 1.0, 7e22, 1.7976931348623157e308, math.inf]
    encoded = [sortable(v) for v in values]
    assert encoded == sorted(encoded) and len(set(encoded)) == len(encoded)
    assert sortable(-0.0) == sortable(0.0)


def test_keys_never_become_field_names():
    src = {"params": {"a.b": "1"}, "tags": {"t": "x" * 9000}, "latest": {"m": ["nan", 1, 0], "n": ["2.0", 1, 0]}}
    fields = index_fields(src)
    assert set(fields) == {"metric_keys", "metric_kv", "param_keys", "param_kv", "tag_keys", "tag_kv", "dataset_kv"}
    assert fields["param_kv"] == [f"a.b{SEP}1"]
    assert fields["metric_kv"] == [f"n{SEP}{sortable(2.0)}"]  # NaN is never range-matched
    assert fields["tag_kv"] == [kv("t", "x" * 9000)] and len(fields["tag_kv"][0]) < 100
