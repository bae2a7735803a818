"""Request bodies for `mlflow models serve` /invocations and sending them."""

from __future__ import annotations

import json
from typing import Any

from mlflow.exceptions import MlflowException

from mlflow_plugins_shared.errors import invalid_parameter, unavailable
from mlflow_plugins_shared.redact import redact_uri

_PAYLOAD_KEYS = {"dataframe_split", "dataframe_records", "inputs", "instances"}


def invocation_body(inputs: Any) -> dict[str, Any]:
    """The JSON body MLflow's scoring server accepts for DataFrames, arrays, lists and dicts."""
    try:
        import pandas as pd

        if isinstance(inputs, pd.DataFrame):
            return {"dataframe_split": json.loads(inputs.to_json(orient="split", index=False))}
        if isinstance(inputs, pd.Series):
            return {"inputs": json.loads(inputs.to_json(orient="values"))}
    except ImportError:
        pass
    if hasattr(inputs, "tolist"):  # numpy
        return {"inputs": inputs.tolist()}
    if isinstance(inputs, dict):
        if _PAYLOAD_KEYS & set(inputs):
            return inputs
        return {"inputs": inputs}
    if isinstance(inputs, (list, tuple)):
        return {"inputs": list(inputs)}
    raise invalid_parameter(f"predict inputs of type {type(inputs).__name__} are not supported; pass a pandas "
                            "DataFrame, a numpy array, a list or a dict")


def post_json(url: str, body: dict[str, Any], timeout: float = 60.0, headers: dict[str, str] | None = None) -> str:
    import requests

    try:
        resp = requests.post(url, json=body, headers=headers or {}, timeout=timeout)
    except requests.RequestException as e:
        raise unavailable(f"cannot reach model endpoint {redact_uri(url)}: {type(e).__name__}") from None
    if resp.status_code >= 400:
        raise MlflowException(f"model endpoint {redact_uri(url)} answered HTTP {resp.status_code}: {resp.text[:500]}")
    return resp.text
