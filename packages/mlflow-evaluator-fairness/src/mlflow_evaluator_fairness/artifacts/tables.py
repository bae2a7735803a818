"""The per-group metrics table, as CSV and JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from mlflow_evaluator_fairness.compute import FairnessResult
from mlflow_evaluator_fairness.config import FairnessConfig


def _clean(value: Any) -> Any:
    if value is pd.NA or value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def table_json(result: FairnessResult, config: FairnessConfig, prefix: str) -> dict[str, Any]:
    records = [{k: _clean(v) for k, v in row.items()} for row in result.table.to_dict(orient="records")]
    return {
        "kind": result.kind,
        "sensitive_features": list(config.sensitive_features),
        "pos_label": _clean(result.pos_label),
        "min_group_size": config.min_group_size,
        "key_prefix": prefix,
        "overall": {k: _clean(v) for k, v in result.overall.items()},
        "excluded_from_differences": result.excluded,
        "groups": records,
    }


def write_tables(result: FairnessResult, config: FairnessConfig, prefix: str, out: Path) -> tuple[Path, Path, dict[str, Any]]:
    csv_path, json_path = out / "group_metrics.csv", out / "group_metrics.json"
    result.table.to_csv(csv_path, index=False)
    content = table_json(result, config, prefix)
    json_path.write_text(json.dumps(content, indent=1, default=str))
    return csv_path, json_path, content
