"""Typed settings read from environment variables, with errors that name the variable.

Declare settings once per package, read them where needed:

    TIMEOUT = Setting("MLFLOW_STORE_ES_TIMEOUT", as_float(minimum=0.1), default=30.0,
                      doc="Request timeout in seconds.")
    TIMEOUT.get()   # -> 30.0, or MlflowException naming MLFLOW_STORE_ES_TIMEOUT
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mlflow_plugins_shared.errors import config_error
from mlflow_plugins_shared.redact import Secret

T = TypeVar("T")
_MISSING: Any = object()


class SettingValueError(ValueError):
    """Raised by parsers; turned into an MlflowException naming the setting."""


@dataclass(frozen=True)
class Setting(Generic[T]):
    env: str
    parse: Callable[[str], T]
    default: T | None = None
    required: bool = False
    secret: bool = False
    doc: str = ""

    def get(self, environ: Mapping[str, str] | None = None) -> T | None:
        env = os.environ if environ is None else environ
        raw = env.get(self.env)
        if raw is None or raw.strip() == "":
            if self.required:
                raise config_error(self.env, f"is not set. {self.doc}".strip())
            return self.default
        try:
            return self.parse(raw.strip() if not self.secret else raw)
        except SettingValueError as e:
            shown = "(hidden)" if self.secret else repr(raw)
            raise config_error(self.env, f"invalid value {shown}: {e}", raw if self.secret else "") from None
        except Exception as e:  # a parser bug must still name the setting
            shown = "(hidden)" if self.secret else repr(raw)
            raise config_error(self.env, f"invalid value {shown}: {type(e).__name__}", raw) from None

    def is_set(self, environ: Mapping[str, str] | None = None) -> bool:
        env = os.environ if environ is None else environ
        return bool((env.get(self.env) or "").strip())


def as_str(value: str) -> str:
    return value


def as_secret(value: str) -> Secret:
    return Secret(value)


_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


def as_bool(value: str) -> bool:
    v = value.lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise SettingValueError("expected one of true/false, 1/0, yes/no, on/off")


def as_int(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise SettingValueError("expected an integer") from None
        _check_range(n, minimum, maximum)
        return n

    return parse


def as_float(minimum: float | None = None, maximum: float | None = None) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            n = float(value)
        except ValueError:
            raise SettingValueError("expected a number") from None
        if n != n:
            raise SettingValueError("expected a number, got NaN")
        _check_range(n, minimum, maximum)
        return n

    return parse


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2,
               "mib": 1024**2, "g": 1024**3, "gb": 1024**3, "gib": 1024**3}


def as_bytes(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """Sizes like `4194304`, `4MiB`, `512k`."""

    def parse(value: str) -> int:
        v = value.strip().lower().replace(" ", "")
        num = v.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = v[len(num):]
        if unit not in _SIZE_UNITS or not num:
            raise SettingValueError("expected a size such as 4194304, 512KiB or 8MiB")
        try:
            n = int(float(num) * _SIZE_UNITS[unit])
        except ValueError:
            raise SettingValueError("expected a size such as 4194304, 512KiB or 8MiB") from None
        _check_range(n, minimum, maximum)
        return n

    return parse


def as_choice(choices: Iterable[str], *, case_sensitive: bool = False) -> Callable[[str], str]:
    allowed = list(choices)

    def parse(value: str) -> str:
        for c in allowed:
            if value == c or (not case_sensitive and value.lower() == c.lower()):
                return c
        raise SettingValueError(f"expected one of {', '.join(allowed)}")

    return parse


def as_list(sep: str = ",") -> Callable[[str], list[str]]:
    def parse(value: str) -> list[str]:
        return [p.strip() for p in value.split(sep) if p.strip()]

    return parse


def as_json_object(value: str) -> dict[str, Any]:
    try:
        obj = json.loads(value)
    except json.JSONDecodeError as e:
        raise SettingValueError(f"not valid JSON ({e.msg} at position {e.pos})") from None
    if not isinstance(obj, dict):
        raise SettingValueError("expected a JSON object")
    return obj


def parse_mapping(value: str) -> dict[str, str]:
    """A JSON object, or `key=value,key2=value2` pairs (values may contain '=')."""
    text = value.strip()
    if not text:
        return {}
    if text.startswith("{"):
        obj = as_json_object(text)
        return {str(k): "" if v is None else str(v) for k, v in obj.items()}
    result: dict[str, str] = {}
    for position, item in enumerate(text.split(","), start=1):
        item = item.strip()
        if not item:
            continue
        # Errors name the position, never the item: a value may be a secret (a header, a token).
        if "=" not in item:
            raise SettingValueError(f"expected key=value pairs separated by commas; item {position} has no '='")
        k, v = item.split("=", 1)
        if not k.strip():
            raise SettingValueError(f"item {position} has an empty key")
        result[k.strip()] = v.strip()
    return result


def _check_range(n: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and n < minimum:
        raise SettingValueError(f"must be at least {minimum}")
    if maximum is not None and n > maximum:
        raise SettingValueError(f"must be at most {maximum}")


def settings_table(settings: Iterable[Setting[Any]]) -> str:
    """A Markdown table of settings, for READMEs (kept in sync by a test)."""
    rows = ["| variable | default | description |", "|---|---|---|"]
    for s in settings:
        if s.required:
            default = "(required)"
        elif s.default is None or s.default == [] or s.default == "":
            default = ""
        elif isinstance(s.default, (list, tuple, set, frozenset)):
            default = f"`{','.join(str(v) for v in s.default)}`"
        else:
            default = f"`{getattr(s.default, 'name', s.default)}`"
        rows.append(f"| `{s.env}` | {default} | {s.doc} |")
    return "\n".join(rows)
