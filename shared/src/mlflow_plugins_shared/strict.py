"""A base that turns every MLflow store/repository method a plugin does not implement
into `MlflowNotImplementedException` (HTTP 501 from the server).

MLflow's `AbstractStore` and `ArtifactRepository` use the Python-2 `__metaclass__ = ABCMeta`
idiom, so their abstract methods are not enforced: an unimplemented method silently
returns None. `StrictMixin` finds, at class creation, every method inherited from an MLflow
base whose body is only a docstring, `pass`, `...` or `raise NotImplementedError`, and
replaces it with one that raises `MlflowNotImplementedException`.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from mlflow_plugins_shared.errors import MlflowNotImplementedException

# Methods the MLflow server calls on a tracking store although AbstractStore does not declare them
# (MLflow 3.0-3.18; from 3.2 the V2 trace endpoints call `deprecated_start_trace_v2`/`deprecated_end_trace_v2`,
# which only the SQL and file stores define: a plugin lacking them crashed the server with AttributeError,
# a 500 that MLflow's client retries for minutes). Names the server calls only `if hasattr(store, ...)`
# (`get_metric_history_bulk`, `_search_datasets`) are not listed: a raising stub would replace its fallback.
SERVER_CALLED_UNDECLARED = ("delete_tag", "log_logged_model_params", "deprecated_start_trace_v2",
                            "deprecated_end_trace_v2")


@functools.lru_cache(maxsize=4096)
def _is_stub(fn: Callable[..., Any]) -> bool:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return False
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = [
        s for s in node.body
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    if not body:
        return True
    if len(body) != 1:
        return False
    stmt = body[0]
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        name = exc.id if isinstance(exc, ast.Name) else getattr(exc, "attr", "")
        return name in ("NotImplementedError", "MlflowNotImplementedException")
    return False


def _raiser(owner: str, name: str) -> Callable[..., Any]:
    def not_implemented(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise MlflowNotImplementedException(
            f"{type(self).__name__}.{name} is not supported by {owner}."
        )

    not_implemented.__name__ = name
    not_implemented.__qualname__ = f"{owner}.{name}"
    not_implemented.__strict_stub__ = True  # type: ignore[attr-defined]
    return not_implemented


def _is_mlflow_class(klass: type) -> bool:
    return klass.__module__.split(".", 1)[0] == "mlflow"


class StrictMixin:
    """Put first among the bases: `class ESStore(StrictMixin, AbstractStore)`.

    Subclasses may set `strict_extra_methods` to name further methods that must raise
    when not implemented (default: those the server calls without AbstractStore declaring them,
    only for tracking stores) and `strict_plugin_name` for messages.
    """

    strict_plugin_name: str = ""
    strict_extra_methods: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        owner = cls.strict_plugin_name or cls.__module__.split(".", 1)[0]
        for name in strict_unimplemented(cls):
            setattr(cls, name, _raiser(owner, name))

    @classmethod
    def strict_stubbed_methods(cls) -> list[str]:
        return sorted(
            n for n in dir(cls) if getattr(getattr(cls, n, None), "__strict_stub__", False)
        )


def strict_unimplemented(cls: type) -> list[str]:
    """Names of methods `cls` inherits as stubs from MLflow bases (or lacks from the extras)."""
    names: list[str] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not _is_mlflow_class(klass):
            continue
        for name, member in vars(klass).items():
            if name in seen or (name.startswith("__") and name.endswith("__")):
                continue
            seen.add(name)
            resolved = inspect.getattr_static(cls, name, None)
            if resolved is not member:
                continue  # overridden somewhere between cls and the MLflow base
            fn = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
            if inspect.isfunction(fn) and _is_stub(fn):
                names.append(name)
    for name in getattr(cls, "strict_extra_methods", ()):
        if not hasattr(cls, name):
            names.append(name)
    return names
