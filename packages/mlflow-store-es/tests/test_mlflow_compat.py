"""Our own equivalents in mlflow_compat.py answer exactly as MLflow's helpers do where MLflow has them.

MLflow 3.18 removed `_validate_model_alias_name`; the store then failed to import and MLflow dropped its
registry entry points. The compat module takes each name from MLflow under every name it has had and
carries our own copy for releases that have none; these tests hold the copies to MLflow's behaviour."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow_store_es import mlflow_compat as compat

ALIASES = ["prod", "champion-2", "a_b", "", "bad alias", "x/y", "latest", "LATEST", "v1", "V12", "v", "v1a",
           "a" * 255, "a" * 256, "ünï"]


def _outcome(fn, value):
    try:
        fn(value)
    except MlflowException as e:
        return ("error", e.error_code, e.message)
    return ("ok",)


@pytest.mark.parametrize("alias", ALIASES)
def test_own_alias_checks_match_mlflow(alias: str) -> None:
    mlflow_name, mlflow_reserved = compat._mlflow_alias_name, compat._mlflow_alias_name_reserved
    assert mlflow_name is not None and mlflow_reserved is not None, "the installed MLflow has alias validators"

    def mlflow_both(a: str) -> None:
        mlflow_name(a)
        mlflow_reserved(a)

    def own_both(a: str) -> None:
        compat._own_validate_alias_name(a)
        compat._own_validate_alias_name_reserved(a)

    want, got = _outcome(mlflow_both, alias), _outcome(own_both, alias)
    assert got[:2] == want[:2]
    if want[0] == "error" and "length" not in want[2]:
        assert got[2].replace("Registered model alias", "alias") == want[2].replace("Registered model alias", "alias")


def test_store_uses_mlflow_validators_when_present() -> None:
    assert compat._validate_model_alias_name("prod") is None
    with pytest.raises(MlflowException, match="reserved"):
        compat._validate_model_alias_name_reserved("latest")
    with pytest.raises(MlflowException, match="Invalid alias name"):
        compat._validate_model_alias_name("bad alias")


def test_parse_experiment_id() -> None:
    assert compat._parse_experiment_id("12") == 12
    with pytest.raises(MlflowException) as e:
        compat._parse_experiment_id("abc")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE" and "abc" in e.value.message
