"""The `evaluator_config={"fairness": {...}}` settings, validated once into a `FairnessConfig`.

Every problem is an `MlflowException` (INVALID_PARAMETER_VALUE) whose message starts with the
setting's full name, e.g. ``evaluator_config["fairness"]["min_group_size"]: ...``.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlflow.exceptions import MlflowException

from mlflow_plugins_shared.errors import config_error

_logger = logging.getLogger(__name__)

EVALUATOR_NAME = "fairness"

# Keys MLflow's built-in evaluators read. When a user passes one flat evaluator_config to every
# evaluator (evaluators=None), these arrive here too; they are ignored rather than rejected.
MLFLOW_BUILTIN_KEYS = frozenset({
    "average", "col_mapping", "eval_results_mode", "eval_results_path",
    "explainability_algorithm", "explainability_kernel_link", "explainability_nsamples",
    "log_explainer", "log_model_explainability", "log_model_explanations",
    "max_classes_for_multiclass_roc_pr", "metric_prefix", "pos_label", "label_list",
    "sample_weights", "pos_label_index",
})

KNOWN_KEYS = frozenset({
    "sensitive_features", "pos_label", "label_list", "min_group_size", "calibration",
    "calibration_bins", "probability_column", "cost_false_positive", "cost_false_negative",
    "intersections", "groups", "metric_prefix", "log_artifacts",
})


def setting(key: str) -> str:
    """The full name of a setting, as it appears in every error message."""
    return f'evaluator_config["{EVALUATOR_NAME}"]["{key}"]'


def bad(key: str, problem: str) -> MlflowException:
    return config_error(setting(key), problem)


@dataclass(frozen=True)
class FairnessConfig:
    """Validated settings. `sensitive_features` maps a feature name to a column name (str) or to
    the values themselves (one per row, when the attribute is not a column of the data)."""

    sensitive_features: dict[str, Any]
    pos_label: Any = None
    label_list: list[Any] | None = None
    min_group_size: int = 1
    calibration: bool | None = None  # None = "auto": when probabilities are available
    calibration_bins: int = 10
    probability_column: str | None = None
    cost_false_positive: float | None = None
    cost_false_negative: float | None = None
    intersections: bool = True
    groups: dict[str, list[Any]] = field(default_factory=dict)
    metric_prefix: str = ""
    log_artifacts: bool = True

    @property
    def costs_configured(self) -> bool:
        return self.cost_false_positive is not None


def is_requested(config: Any) -> bool:
    """True when the config asks for a fairness evaluation: it holds one of this evaluator's own
    settings, or a key that no evaluator of MLflow reads (a misspelled setting must reach
    `parse_config` and be refused by name, not make the evaluator silently stand aside). A config
    of MLflow's keys only (e.g. `log_model_explainability`, which `evaluate(evaluators=None)` hands
    every evaluator) does not."""
    return isinstance(config, Mapping) and any(k not in MLFLOW_BUILTIN_KEYS for k in config)


def _unknown_keys(raw: Mapping[Any, Any]) -> MlflowException | None:
    unknown = sorted(set(raw) - KNOWN_KEYS - MLFLOW_BUILTIN_KEYS, key=str)
    if not unknown:
        return None
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), sorted(KNOWN_KEYS), n=1)
        if close:
            hints.append(f"did you mean {close[0]!r} for {key!r}?")
    return config_error(
        f'evaluator_config["{EVALUATOR_NAME}"]',
        f"unknown setting(s) {unknown!r}; " + " ".join(hints) + (" " if hints else "")
        + f"allowed: {sorted(KNOWN_KEYS)!r} (and MLflow's own evaluator settings, which this evaluator ignores). "
        "A setting meant for another evaluator goes in its own entry: evaluator_config={\"fairness\": {...}, \"<evaluator>\": {...}}",
    )


def _bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise bad(key, f"must be true or false, got {value!r}")
    return value


def _int(raw: Mapping[str, Any], key: str, default: int, minimum: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise bad(key, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _cost(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise bad(key, f"must be a finite number >= 0, got {value!r}")
    return float(value)


def _sensitive_features(value: Any) -> dict[str, Any]:
    key = "sensitive_features"
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping):
        if not value:
            raise bad(key, "must name at least one sensitive feature")
        out: dict[str, Any] = {}
        for name, values in value.items():
            if not isinstance(name, str) or not name:
                raise bad(key, f"feature names must be non-empty strings, got {name!r}")
            if isinstance(values, str):
                out[name] = values  # rename: {"sex": "column_name"}
            elif hasattr(values, "__len__"):
                out[name] = values
            else:
                raise bad(key, f"feature {name!r}: give a column name or one value per row, got {type(values).__name__}")
        return out
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        names = list(value)
        if not names:
            raise bad(key, "must name at least one sensitive feature")
        bad_names = [n for n in names if not isinstance(n, str) or not n]
        if bad_names:
            raise bad(key, f"column names must be non-empty strings, got {bad_names!r}")
        if len(set(names)) != len(names):
            raise bad(key, f"names a column twice: {names!r}")
        return {n: n for n in names}
    raise bad(key, f"must be a column name, a list of column names, or a mapping name -> column/values; got {type(value).__name__}")


def _groups(value: Any, features: Mapping[str, Any]) -> dict[str, list[Any]]:
    key = "groups"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise bad(key, f"must map a sensitive feature to the list of its values to keep, got {type(value).__name__}")
    out: dict[str, list[Any]] = {}
    for name, keep in value.items():
        if name not in features:
            raise bad(key, f"{name!r} is not one of the sensitive_features {list(features)!r}")
        if isinstance(keep, (str, bytes)) or not isinstance(keep, Sequence) or len(keep) == 0:
            raise bad(key, f"feature {name!r}: give a non-empty list of values to keep, got {keep!r}")
        out[name] = list(keep)
    return out


def parse_config(raw: Any) -> FairnessConfig:
    """Validate `evaluator_config["fairness"]`; raise a clear MlflowException naming the setting."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise config_error(f'evaluator_config["{EVALUATOR_NAME}"]', f"must be a dict of settings, got {type(raw).__name__}")
    unknown = _unknown_keys(raw)
    if unknown is not None:
        raise unknown
    if raw.get("sensitive_features") is None:
        raise bad("sensitive_features", "is required: the column(s) whose groups are compared, e.g. [\"sex\", \"age_band\"]")
    if raw.get("sample_weights") is not None:
        _logger.warning("fairness evaluator: 'sample_weights' is ignored; group metrics are unweighted")
    features = _sensitive_features(raw["sensitive_features"])

    calibration = raw.get("calibration", "auto")
    if calibration == "auto":
        calibration = None
    elif not isinstance(calibration, bool):
        raise bad("calibration", f"must be true, false or \"auto\", got {calibration!r}")

    label_list = raw.get("label_list")
    if label_list is not None:
        if isinstance(label_list, (str, bytes)) or not isinstance(label_list, Sequence) or len(label_list) < 2:
            raise bad("label_list", f"must be a list of at least two labels, got {label_list!r}")
        label_list = list(label_list)
    pos_label = raw.get("pos_label")
    if pos_label is not None and label_list is not None and pos_label not in label_list:
        raise bad("pos_label", f"{pos_label!r} is not in label_list {label_list!r}")

    prob_col = raw.get("probability_column")
    if prob_col is not None and (not isinstance(prob_col, str) or not prob_col):
        raise bad("probability_column", f"must be a column name, got {prob_col!r}")

    c_fp, c_fn = _cost(raw, "cost_false_positive"), _cost(raw, "cost_false_negative")
    if (c_fp is None) != (c_fn is None):
        missing = "cost_false_negative" if c_fn is None else "cost_false_positive"
        raise bad(missing, "must be set too: the cost-optimal threshold needs both cost_false_positive and cost_false_negative")
    if c_fp is not None and c_fp == 0 and c_fn == 0:
        raise bad("cost_false_positive", "and cost_false_negative are both 0: every threshold costs nothing")

    prefix = raw.get("metric_prefix", "") or ""
    if not isinstance(prefix, str):
        raise bad("metric_prefix", f"must be a string, got {prefix!r}")

    return FairnessConfig(
        sensitive_features=features,
        pos_label=pos_label,
        label_list=label_list,
        min_group_size=_int(raw, "min_group_size", 1, 1),
        calibration=calibration,
        calibration_bins=_int(raw, "calibration_bins", 10, 1),
        probability_column=prob_col,
        cost_false_positive=c_fp,
        cost_false_negative=c_fn,
        intersections=_bool(raw, "intersections", True),
        groups=_groups(raw.get("groups"), features),
        metric_prefix=prefix,
        log_artifacts=_bool(raw, "log_artifacts", True),
    )
