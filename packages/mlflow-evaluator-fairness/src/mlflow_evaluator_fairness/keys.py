"""Metric keys, escaped so MLflow's key validation and the tracking server accept them.

MLflow accepts only letters, digits, ``_ - . /`` and space in metric keys (plus ``:`` except on
Windows): ``=`` and ``&`` are rejected, so ``group/sex=1&age_band=30-40/accuracy`` cannot be
logged. The keys are therefore written with ``/`` between a feature and its value and between
the terms of an intersection:

===========================================  ===========================================
meaning                                      logged key
===========================================  ===========================================
``group/sex=1/accuracy``                     ``group/sex/1/accuracy``
``group/sex=1&age_band=30-40/accuracy``      ``group/sex/1/age_band/30-40/accuracy``
===========================================  ===========================================

A key is ``group/`` + (feature ``/`` value) pairs + ``/`` + metric, so the pairs are recovered by
splitting on ``/`` (`parse_group_key`). Inside a feature name or value every character other
than ASCII letters, digits, ``_ - .`` and space becomes ``_``, and a name or value that is
empty, ``.`` or ``..`` becomes ``_``, ``_.`` or ``_..``. Two values that escape to the same text
would share keys; that is refused with an error naming `sensitive_features`. The JSON/CSV group
table keeps the original values next to each key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from mlflow_evaluator_fairness.config import bad

MAX_KEY_LENGTH = 250  # mlflow.utils.validation.MAX_ENTITY_KEY_LENGTH
_DISALLOWED = re.compile(r"[^A-Za-z0-9_.\- ]")


def escape(text: str) -> str:
    """One path segment of a key: only ASCII letters, digits, ``_ - .`` and space."""
    out = _DISALLOWED.sub("_", text)
    if out in ("", ".", ".."):
        out = "_" + out
    return out


def value_text(value: object) -> str:
    """How a group value is written (before escaping): ``str()`` of the value."""
    return str(value.item() if hasattr(value, "item") else value)


def group_path(features: Sequence[str], values: Sequence[object]) -> str:
    """``group/<f1>/<v1>[/<f2>/<v2>...]`` for one group (no trailing metric)."""
    parts = ["group"]
    for f, v in zip(features, values, strict=True):
        parts += [escape(f), escape(value_text(v))]
    return "/".join(parts)


def class_prefix(label: object) -> str:
    """Prefix of the one-vs-rest metrics of one class of a multiclass model."""
    return f"class/{escape(value_text(label))}/"


def parse_group_key(key: str) -> tuple[list[tuple[str, str]], str]:
    """``group/sex/1/age_band/30-40/accuracy`` -> ``([("sex", "1"), ("age_band", "30-40")], "accuracy")``.

    Works on a key with or without a ``metric_prefix``/``class/<c>/`` prefix before ``group/``.
    """
    head, sep, rest = key.partition("group/")
    if not sep:
        raise ValueError(f"not a group metric key: {key!r}")
    parts = rest.split("/")
    if len(parts) < 3 or len(parts) % 2 == 0:
        raise ValueError(f"not a group metric key: {key!r}")
    pairs = [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
    return pairs, parts[-1]


def check_unique(feature: str, values: Iterable[object]) -> None:
    """Refuse two distinct values of one feature that escape to the same key segment."""
    seen: dict[str, str] = {}
    for v in values:
        text = value_text(v)
        esc = escape(text)
        if esc in seen and seen[esc] != text:
            raise bad(
                "sensitive_features",
                f"values {seen[esc]!r} and {text!r} of {feature!r} both become {esc!r} in metric keys "
                "(MLflow keys allow only letters, digits, _ - . / and space); relabel one of them",
            )
        seen[esc] = text


def check_length(key: str) -> None:
    if len(key) > MAX_KEY_LENGTH:
        raise bad(
            "sensitive_features",
            f"metric key {key[:80]!r}... is {len(key)} characters, MLflow allows {MAX_KEY_LENGTH}; "
            "use shorter feature names/values or fewer intersected features",
        )
