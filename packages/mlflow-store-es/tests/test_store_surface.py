"""Every method of MLflow's store interfaces, and every method `mlflow server` calls on a store, is
implemented by the store or answers `MlflowNotImplementedException` (HTTP 501) at once.

Never an AttributeError or an inherited stub's silent None: the server turns those into a 500, which
MLflow's client retries for minutes (the V2 trace API did exactly that: `deprecated_start_trace_v2`).

The names come from the installed MLflow: the functions of the abstract store classes (and their MLflow
bases), plus the methods the server modules call on a store, found here by reading their source. This
oracle shares no code with `mlflow_plugins_shared.strict`, which it checks.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.store.model_registry.abstract_store import AbstractStore as RegistryBase
from mlflow.store.tracking.abstract_store import AbstractStore as TrackingBase

from mlflow_plugins_shared.errors import MlflowNotImplementedException

MLFLOW_ROOT = Path(mlflow.__file__).resolve().parent
GETTERS = {"_get_tracking_store": "tracking", "_get_model_registry_store": "registry"}
PARAMETERS = {"tracking_store": "tracking", "registry_store": "registry", "model_registry_store": "registry"}
SERVER_PACKAGES = ("server", "webhooks")  # the request handlers and the webhook delivery they start


def _getter_kind(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        return GETTERS.get(name or "")
    return None


def _store_kind(node: ast.AST, local: dict[str, str]) -> str | None:
    return _getter_kind(node) or (local.get(node.id) if isinstance(node, ast.Name) else None)


@lru_cache(maxsize=1)
def server_calls() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(called, guarded): per store kind, the methods the server calls on it, and those it calls only
    after `hasattr(store, name)` (absent, the server falls back to something else)."""
    called: dict[str, set[str]] = {"tracking": set(), "registry": set()}
    guarded: dict[str, set[str]] = {"tracking": set(), "registry": set()}
    for package in SERVER_PACKAGES:
        for path in sorted((MLFLOW_ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for fn in ast.walk(tree):
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                local = {a.arg: PARAMETERS[a.arg] for a in [*fn.args.args, *fn.args.kwonlyargs] if a.arg in PARAMETERS}
                for node in ast.walk(fn):
                    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                        kind = _getter_kind(node.value)
                        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                        for t in targets:
                            if kind and isinstance(t, ast.Name):
                                local[t.id] = kind
                for node in ast.walk(fn):
                    if not isinstance(node, ast.Call):
                        continue
                    if isinstance(node.func, ast.Attribute) and (kind := _store_kind(node.func.value, local)):
                        called[kind].add(node.func.attr)
                    elif (isinstance(node.func, ast.Name) and node.func.id == "hasattr" and len(node.args) == 2
                          and (kind := _store_kind(node.args[0], local))
                          and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                        guarded[kind].add(node.args[1].value)
    return called, guarded


def interface_methods(base: type) -> set[str]:
    """Every function the MLflow classes of `base` (itself and its MLflow bases) define."""
    names: set[str] = set()
    for klass in base.__mro__:
        if klass.__module__.split(".")[0] != "mlflow":
            continue
        for name, member in vars(klass).items():
            fn = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
            if inspect.isfunction(fn) and not (name.startswith("__") and name.endswith("__")):
                names.add(name)
    return names


def _does_nothing(fn: Any) -> bool:
    """The body is only a docstring, `pass`, `...` or `raise NotImplementedError(...)`."""
    try:
        node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    except (OSError, TypeError, SyntaxError):
        return False
    body = [s for s in getattr(node, "body", []) if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if not body:
        return True
    if len(body) > 1:
        return False
    stmt = body[0]
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return (exc.id if isinstance(exc, ast.Name) else getattr(exc, "attr", "")) == "NotImplementedError"
    return False


def surface_problems(store: Any, names: set[str], guarded: set[str]) -> list[str]:
    """What is wrong with each name on `store`: missing, an inherited do-nothing stub, or a stub that
    does not raise MlflowNotImplementedException. Empty when every name is implemented or answers 501."""
    cls = type(store)
    problems = []
    for name in sorted(names):
        try:
            member = inspect.getattr_static(cls, name)
        except AttributeError:
            if name not in guarded:  # the server checks hasattr first and falls back
                problems.append(f"{name}: missing (AttributeError, a 500 from the server)")
            continue
        fn = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
        if not inspect.isfunction(fn):
            continue  # a property or a plain attribute (e.g. `supports_workspaces`)
        owner = next(k for k in cls.__mro__ if name in vars(k))
        if getattr(fn, "__strict_stub__", False):
            if name in guarded:
                problems.append(f"{name}: a 501 stub where the server would fall back if it were absent")
                continue
            try:
                result = getattr(store, name)("x", "y")
            except MlflowNotImplementedException as e:
                if e.get_http_status_code() != 501:
                    problems.append(f"{name}: answers HTTP {e.get_http_status_code()}, not 501")
                continue
            except MlflowException as e:
                problems.append(f"{name}: raises {e.error_code}, not NOT_IMPLEMENTED")
                continue
            problems.append(f"{name}: a stub that returned {result!r}")
        elif owner.__module__.split(".")[0] == "mlflow" and _does_nothing(fn):
            problems.append(f"{name}: inherited from {owner.__qualname__} as a stub (returns None)")
    return problems


def test_the_scan_finds_what_the_server_calls() -> None:
    """The oracle itself: it finds calls known to be in every MLflow 3 server (and the V2 trace calls of
    3.2+, where the installed MLflow has them), so an empty problem list means something."""
    called, guarded = server_calls()
    assert {"create_experiment", "log_batch", "delete_tag", "log_logged_model_params"} <= called["tracking"]
    assert {"create_registered_model", "get_model_version", "set_registered_model_alias"} <= called["registry"]
    assert {"get_metric_history_bulk", "_search_datasets"} <= guarded["tracking"]
    handlers = (MLFLOW_ROOT / "server" / "handlers.py").read_text(encoding="utf-8")
    if ".deprecated_start_trace_v2(" in handlers:
        assert {"deprecated_start_trace_v2", "deprecated_end_trace_v2"} <= called["tracking"]
    assert {"start_trace", "search_runs"} <= interface_methods(TrackingBase)
    assert {"get_registered_model", "create_model_version"} <= interface_methods(RegistryBase)


def test_tracking_store_implements_or_answers_501(tracking_store) -> None:
    called, guarded = server_calls()
    names = interface_methods(TrackingBase) | called["tracking"]
    problems = surface_problems(tracking_store, names, guarded["tracking"])
    assert not problems, "\n".join(problems)


def test_registry_store_implements_or_answers_501(registry_store) -> None:
    called, guarded = server_calls()
    names = interface_methods(RegistryBase) | called["registry"]
    problems = surface_problems(registry_store, names, guarded["registry"])
    assert not problems, "\n".join(problems)


def test_the_check_catches_missing_methods_and_stubs() -> None:
    """A store without `deprecated_start_trace_v2` (this store before the fix), one inheriting MLflow's
    do-nothing `get_experiment`, and one with a 501 stub where the server would fall back are reported."""

    class Bare(TrackingBase):
        def get_metric_history_bulk(self, *args: Any) -> None:
            raise MlflowNotImplementedException("no")

    Bare.get_metric_history_bulk.__strict_stub__ = True  # type: ignore[attr-defined]
    problems = surface_problems(Bare(), {"deprecated_start_trace_v2", "get_experiment", "get_metric_history_bulk"},
                                {"get_metric_history_bulk"})
    assert problems == [
        "deprecated_start_trace_v2: missing (AttributeError, a 500 from the server)",
        "get_experiment: inherited from AbstractStore as a stub (returns None)",
        "get_metric_history_bulk: a 501 stub where the server would fall back if it were absent",
    ]


def test_v2_trace_calls_answer_501(tracking_store) -> None:
    with pytest.raises(MlflowNotImplementedException) as e:
        tracking_store.deprecated_start_trace_v2("0", 1, {}, {})
    assert e.value.get_http_status_code() == 501 and "deprecated_start_trace_v2" in e.value.message
    with pytest.raises(MlflowNotImplementedException):
        tracking_store.deprecated_end_trace_v2("tr-1", 2, "OK", {}, {})
    # MLflow 3.0-3.1's server called the V2 form under the name start_trace
    with pytest.raises(MlflowNotImplementedException, match="V2 trace API"):
        tracking_store.start_trace(experiment_id="0", timestamp_ms=1, request_metadata={}, tags={})
    with pytest.raises(TypeError, match="bogus"):
        tracking_store.start_trace(bogus=1)
