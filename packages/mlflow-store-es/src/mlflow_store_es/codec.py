"""Document <-> entity conversions and deterministic ids."""

from __future__ import annotations

import hashlib
import math
from typing import Any

from mlflow.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
)

MAX_FLOAT = 1.7976931348623157e308  # what MLflow's SQL store turns +/-inf into


def sanitize_value(value: float) -> tuple[bool, float]:
    """(is_nan, value) exactly as MLflow's SqlAlchemyStore stores a metric value."""
    value = float(value)
    if math.isnan(value):
        return True, 0.0
    if math.isinf(value):
        return False, MAX_FLOAT if value > 0 else -MAX_FLOAT
    return False, value


def encode_value(value: float) -> str:
    is_nan, v = sanitize_value(value)
    return "nan" if is_nan else repr(v)


def decode_value(text: str) -> float:
    return float(text)


def doc_id(*parts: object) -> str:
    """A short deterministic id (ES ids are limited to 512 bytes; names/keys may be longer)."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return h[:40]


def metric_doc_id(run_id: str, key: str, step: int, timestamp: int, value_text: str) -> str:
    """A metric point's id; `value_text` is `encode_value(value)`, computed once by the caller."""
    return doc_id(run_id, key, int(step), int(timestamp), value_text)


def latest_order(step: int, timestamp: int, value_text: str) -> tuple[int, int, float]:
    v = decode_value(value_text)
    return (int(step), int(timestamp), 0.0 if math.isnan(v) else v)


def experiment_from_doc(src: dict[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=src["experiment_id"],
        name=src["name"],
        artifact_location=src["artifact_location"],
        lifecycle_stage=src["lifecycle_stage"],
        tags=[ExperimentTag(k, v) for k, v in (src.get("tags") or {}).items()],
        creation_time=src.get("creation_time"),
        last_update_time=src.get("last_update_time"),
    )


def run_info_from_doc(src: dict[str, Any]) -> RunInfo:
    # MLflow's own stores pass None for an unset user/start time; its annotations say str/int
    return RunInfo(
        run_id=src["run_id"],
        experiment_id=src["experiment_id"],
        user_id=src.get("user_id"),  # type: ignore[arg-type]
        status=src["status"],
        start_time=src.get("start_time"),  # type: ignore[arg-type]
        end_time=src.get("end_time"),
        lifecycle_stage=src["lifecycle_stage"],
        artifact_uri=src.get("artifact_uri"),
        run_name=src.get("run_name"),
    )


def run_from_doc(src: dict[str, Any]) -> Run:
    metrics = [
        Metric(key, decode_value(v[0]), int(v[1]), int(v[2]))
        for key, v in (src.get("latest") or {}).items()
    ]
    params = [Param(k, v) for k, v in (src.get("params") or {}).items()]
    tags = [RunTag(k, v) for k, v in (src.get("tags") or {}).items()]
    return Run(
        run_info=run_info_from_doc(src),
        run_data=RunData(metrics=metrics, params=params, tags=tags),
        run_inputs=run_inputs_from_doc(src.get("inputs") or {}),
        run_outputs=run_outputs_from_doc(src.get("inputs") or {}),
    )


def dataset_input_to_doc(di: DatasetInput) -> dict[str, Any]:
    d = di.dataset
    return {"name": d.name, "digest": d.digest, "source_type": d.source_type, "source": d.source,
            "schema": d.schema, "profile": d.profile, "tags": [[t.key, t.value] for t in di.tags or []]}


def run_inputs_from_doc(inputs: dict[str, Any]) -> RunInputs:
    datasets = [
        DatasetInput(Dataset(d["name"], d["digest"], d["source_type"], d["source"], d.get("schema"), d.get("profile")),
                     [InputTag(k, v) for k, v in d.get("tags") or []])
        for d in inputs.get("datasets") or []
    ]
    return RunInputs(dataset_inputs=datasets, model_inputs=[LoggedModelInput(m) for m in inputs.get("models") or []])


def run_outputs_from_doc(inputs: dict[str, Any]) -> RunOutputs:
    # log_outputs keeps [model_id, step] pairs in the run doc's opaque `inputs` object
    return RunOutputs(model_outputs=[LoggedModelOutput(m, int(step)) for m, step in inputs.get("model_outputs") or []])
