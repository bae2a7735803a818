"""Deployment options from `-C key=value` (strings) and an optional `config_file` (YAML/JSON)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlflow_plugins_shared.errors import config_error
from mlflow_plugins_shared.redact import redact_uri

_IMAGE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")

HELP: dict[str, str] = {
    "config_file": "YAML/JSON file with any of these options (-C values override it)",
    "image": "image with mlflow and the model's dependencies installed (required to create)",
    "replicas": "pod replicas (default 1)",
    "port": "container port `mlflow models serve` listens on (default 8080)",
    "workers": "`mlflow models serve --workers` (default 1)",
    "env_manager": "`--env-manager` inside the pod: local (default), virtualenv, uv, conda",
    "cpu_request": "container CPU request, e.g. 500m",
    "cpu_limit": "container CPU limit",
    "memory_request": "container memory request, e.g. 512Mi",
    "memory_limit": "container memory limit",
    "service_type": "ClusterIP (default), NodePort or LoadBalancer",
    "min_replicas": "with max_replicas: create a HorizontalPodAutoscaler (autoscaling/v2)",
    "max_replicas": "HPA maximum replicas",
    "target_cpu_percent": "HPA target average CPU utilization, % of the CPU request (default 80; 0: no CPU target)",
    "target_memory_percent": "HPA target average memory utilization, % of the memory request (needs memory_request)",
    "env_from_secrets": "comma-separated Secret names exposed as env vars (envFrom secretRef)",
    "image_pull_policy": "Always | IfNotPresent | Never",
    "image_pull_secrets": "comma-separated image pull Secret names",
    "service_account": "pod serviceAccountName",
    "node_selector": "JSON object or key=value,... pod nodeSelector",
    "labels": "JSON object or key=value,... extra labels",
    "endpoint_url": "send predict/explain here instead of through the API server's service proxy",
    "timeout": "seconds create/update wait for the rollout (default 300; 0 = do not wait)",
    "tracking_uri": "MLFLOW_TRACKING_URI for the pod (models:/ and runs:/ URIs); default: this client's, if http(s)",
}


@dataclass(frozen=True)
class DeployOptions:
    image: str | None = None
    replicas: int = 1
    port: int = 8080
    workers: int = 1
    env_manager: str = "local"
    cpu_request: str | None = None
    cpu_limit: str | None = None
    memory_request: str | None = None
    memory_limit: str | None = None
    service_type: str = "ClusterIP"
    min_replicas: int | None = None
    max_replicas: int | None = None
    target_cpu_percent: int = 80  # 0: no CPU target (then a memory target is needed)
    target_memory_percent: int | None = None
    env_from_secrets: tuple[str, ...] = ()
    image_pull_policy: str | None = None
    image_pull_secrets: tuple[str, ...] = ()
    service_account: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    endpoint_url: str | None = None
    timeout: float = 300.0
    tracking_uri: str | None = None

    @property
    def autoscaled(self) -> bool:
        return self.max_replicas is not None

    @property
    def cpu_target(self) -> int | None:
        """The HPA's CPU target in percent, None when switched off (target_cpu_percent=0)."""
        return self.target_cpu_percent or None


def _bad(key: str, problem: str) -> Exception:
    return config_error(f"deployment config '{key}'", problem)


def _as_int(key: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise _bad(key, f"expected an integer at least {minimum}{upper}, got {value!r}")
    return number


def _as_names(key: str, value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [s.strip() for s in str(value).split(",") if s.strip()]
    for item in items:
        if not isinstance(item, str) or not _K8S_NAME.match(item):
            raise _bad(key, f"{item!r} is not a valid Kubernetes object name")
    return tuple(items)


def _as_map(key: str, value: Any) -> dict[str, str]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as e:
                raise _bad(key, f"invalid JSON: {e}") from None
        else:
            pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
            if any(len(p) != 2 for p in pairs):
                raise _bad(key, f"expected a JSON object or key=value,... got {value!r}")
            value = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _bad(key, f"expected a mapping of strings, got {value!r}")
    return dict(value)


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _bad(key, f"{value!r}; allowed: {', '.join(allowed)}")
    return str(value)


def _http_url(key: str, value: Any) -> str:
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(key, f"expected an http(s) URL, got {redact_uri(str(value))!r}")
    if parts.username or parts.password:
        # the value is stored on the Deployment in plain text
        raise config_error(f"deployment config '{key}'", "must not carry credentials; keep them in a Secret "
                                                         "(env_from_secrets)", str(value))
    return str(value).rstrip("/")


def _from_file(path: str) -> dict[str, Any]:
    file = Path(path).expanduser()
    if not file.is_file():
        raise _bad("config_file", f"file {path!r} does not exist")
    try:
        import yaml

        loaded = yaml.safe_load(file.read_text())
    except Exception as e:
        raise _bad("config_file", f"{path!r} is not valid YAML/JSON: {e}") from None
    if not isinstance(loaded, dict):
        raise _bad("config_file", f"{path!r} must hold a mapping of options")
    if "config_file" in loaded:
        raise _bad("config_file", f"{path!r} may not name another config_file")
    return loaded


def parse_options(config: dict[str, Any] | None, base: DeployOptions | None = None) -> DeployOptions:
    """Validate `config` (file first, then -C keys on top) over `base` (defaults or current)."""
    given = dict(config or {})
    if "config_file" in given:
        given = {**_from_file(str(given.pop("config_file"))), **given}
    unknown = sorted(set(given) - set(HELP))
    if unknown:
        raise config_error("deployment config", f"unknown key(s) {', '.join(map(repr, unknown))}; "
                                                f"allowed: {', '.join(sorted(HELP))}")
    changes: dict[str, Any] = {}
    defaults = DeployOptions()
    for key, value in given.items():
        if value is None or value == "":  # `-C key=` resets an option to its default
            changes[key] = getattr(defaults, key)
            continue
        if key == "image":
            if not isinstance(value, str) or not _IMAGE.match(value):
                raise _bad(key, f"{value!r} is not a valid image reference ([registry/]name[:tag][@digest])")
            changes[key] = value
        elif key in ("replicas", "min_replicas"):
            changes[key] = _as_int(key, value, 0 if key == "replicas" else 1)
        elif key == "max_replicas":
            changes[key] = _as_int(key, value, 1)
        elif key == "port":
            changes[key] = _as_int(key, value, 1, 65535)
        elif key == "workers":
            changes[key] = _as_int(key, value, 1)
        elif key == "target_cpu_percent":
            changes[key] = _as_int(key, value, 0, 100)
        elif key == "target_memory_percent":
            changes[key] = _as_int(key, value, 1, 100)
        elif key == "timeout":
            try:
                changes[key] = float(value)
            except (TypeError, ValueError):
                raise _bad(key, f"expected seconds, got {value!r}") from None
            if changes[key] < 0:
                raise _bad(key, f"expected seconds >= 0, got {value!r}")
        elif key == "env_manager":
            changes[key] = _choice(key, value, ENV_MANAGERS)
        elif key == "service_type":
            changes[key] = _choice(key, value, SERVICE_TYPES)
        elif key == "image_pull_policy":
            changes[key] = _choice(key, value, ("Always", "IfNotPresent", "Never"))
        elif key in ("env_from_secrets", "image_pull_secrets"):
            changes[key] = _as_names(key, value)
        elif key in ("node_selector", "labels"):
            changes[key] = _as_map(key, value)
        elif key in ("endpoint_url", "tracking_uri"):
            changes[key] = _http_url(key, value)
        elif key == "service_account":
            changes[key] = _as_names(key, value)[0] if _as_names(key, value) else None
        else:  # free-form strings: quantities are checked by the API server's dry run
            if not isinstance(value, str) or not value.strip():
                raise _bad(key, f"expected a non-empty string, got {value!r}")
            changes[key] = value.strip()
    opts = replace(base or DeployOptions(), **changes)
    if opts.min_replicas is not None and opts.max_replicas is None:
        raise _bad("max_replicas", "is required when min_replicas is set")
    if opts.min_replicas is not None and opts.max_replicas is not None and opts.min_replicas > opts.max_replicas:
        raise _bad("min_replicas", f"{opts.min_replicas} is above max_replicas {opts.max_replicas}")
    named_targets = [k for k in ("target_cpu_percent", "target_memory_percent") if given.get(k) not in (None, "")]
    if not opts.autoscaled and named_targets:
        raise _bad(named_targets[0], "is an autoscaler target: set max_replicas (and min_replicas) to create "
                                     "the autoscaler")
    if opts.autoscaled and opts.cpu_target is None and opts.target_memory_percent is None:
        raise _bad("target_cpu_percent", "is 0 and no target_memory_percent is set: the autoscaler needs a target")
    if opts.autoscaled and opts.target_memory_percent is not None and not opts.memory_request:
        raise _bad("target_memory_percent", "needs memory_request: the autoscaler's memory target is a percentage "
                                            "of the pods' memory request")
    return opts


def as_annotation(opts: DeployOptions) -> str:
    """The options a Deployment was made with, stored on it so update/predict can reuse them."""
    data = {f.name: getattr(opts, f.name) for f in fields(opts)}
    data["env_from_secrets"] = list(opts.env_from_secrets)
    data["image_pull_secrets"] = list(opts.image_pull_secrets)
    return json.dumps(data, sort_keys=True)


def from_annotation(text: str | None) -> DeployOptions:
    if not text:
        return DeployOptions()
    try:
        data = json.loads(text)
    except ValueError:
        return DeployOptions()
    known = {f.name for f in fields(DeployOptions)}
    data = {k: v for k, v in data.items() if k in known}
    for key in ("env_from_secrets", "image_pull_secrets"):
        data[key] = tuple(data.get(key) or ())
    return DeployOptions(**data)
