"""The `--backend-config` of a k8s-job run: parsed and validated before anything is created."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow_plugins_shared.errors import config_error
from mlflow_plugins_shared.redact import is_sensitive_key

# Keys MLflow itself adds to every backend config (mlflow/projects/utils.py); never the user's.
MLFLOW_INJECTED_KEYS = frozenset({
    "ENV_MANAGER", "SYNCHRONOUS", "DOCKER_ARGS", "STORAGE_DIR", "build_image", "docker_auth",
    "_mlflow_local_backend_run_id",
})

IMAGE_RE = re.compile(
    r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
LABEL_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
ENV_NAME_RE = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")

KEYS_HELP = {
    "namespace": "namespace to create the Job in (required)",
    "image": "prebuilt image with Python and mlflow installed (required)",
    "kubeconfig": "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)",
    "context": "kubeconfig context (default: the current context)",
    "resources": "container resources: {requests: {...}, limits: {...}}",
    "nodeSelector": "pod nodeSelector {label: value}",
    "tolerations": "pod tolerations (list of Kubernetes toleration objects)",
    "serviceAccount": "pod serviceAccountName",
    "labels": "extra labels on the Job and its pods",
    "annotations": "extra annotations on the Job and its pods",
    "ttlSecondsAfterFinished": "delete the Job this many seconds after it finishes",
    "backoffLimit": "pod retries before the Job fails (default 0)",
    "activeDeadlineSeconds": "Job time limit in seconds",
    "jobTemplate": "YAML/JSON Job manifest file merged under the generated Job",
    "envFromSecrets": "Secret names whose keys become environment variables (envFrom secretRef)",
    "secretEnv": "{VAR: 'secret-name/key'} environment variables read from Secrets",
    "env": "plain, non-secret environment variables {VAR: value}",
    "imagePullPolicy": "Always | IfNotPresent | Never",
    "imagePullSecrets": "names of image pull Secrets",
    "trackingUri": "MLFLOW_TRACKING_URI as the pod must see it (default: this client's tracking URI)",
    "envManager": "--env-manager of the `mlflow run` inside the pod (default: local)",
    "streamLogs": "copy the pod's log to stdout while waiting (default: false)",
    "wait": "run() waits for the Job and fails if it fails (default: false); `mlflow run` runs plugin "
            "backends asynchronously, so set this to make the CLI block and exit with the Job's outcome",
}


@dataclass(frozen=True)
class JobConfig:
    namespace: str
    image: str
    kubeconfig: str | None = None
    context: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    service_account: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    ttl_seconds_after_finished: int | None = None
    backoff_limit: int = 0
    active_deadline_seconds: int | None = None
    job_template: dict[str, Any] = field(default_factory=dict)
    env_from_secrets: list[str] = field(default_factory=list)
    secret_env: dict[str, tuple[str, str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    image_pull_policy: str | None = None
    image_pull_secrets: list[str] = field(default_factory=list)
    tracking_uri: str | None = None
    env_manager: str = "local"
    stream_logs: bool = False
    wait: bool = False


def _key(name: str) -> str:
    return f"backend config '{name}'"


def _str(raw: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise config_error(_key(name), f"is required ({KEYS_HELP[name]})")
        return None
    if not isinstance(value, str) or not value.strip():
        raise config_error(_key(name), f"must be a non-empty string, got {value!r}")
    return value.strip()


def _int(raw: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = raw.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise config_error(_key(name), f"must be a non-negative integer, got {value!r}")
    return value


def _str_map(raw: dict[str, Any], name: str) -> dict[str, str]:
    value = raw.get(name) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise config_error(_key(name), f"must be a mapping of strings to strings, got {value!r}")
    return dict(value)


def _str_list(raw: dict[str, Any], name: str) -> list[str]:
    value = raw.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise config_error(_key(name), f"must be a list of names, got {value!r}")
    return list(value)


def _labels(raw: dict[str, Any], name: str, *, check_values: bool) -> dict[str, str]:
    found = _str_map(raw, name)
    for k, v in found.items():
        if not LABEL_KEY_RE.match(k):
            raise config_error(_key(name), f"{k!r} is not a valid Kubernetes label/annotation key")
        if check_values and not LABEL_VALUE_RE.match(v):
            raise config_error(_key(name), f"value {v!r} of {k!r} is not a valid label value "
                                           "(63 characters max: letters, digits, '-', '_', '.')")
    return found


def _load_template(raw: dict[str, Any]) -> dict[str, Any]:
    path = _str(raw, "jobTemplate")
    if path is None:
        return {}
    file = Path(path).expanduser()
    if not file.is_file():
        raise config_error(_key("jobTemplate"), f"file {path!r} does not exist")
    text = file.read_text()
    try:
        import yaml

        loaded = yaml.safe_load(text)
    except Exception as e:
        raise config_error(_key("jobTemplate"), f"{path!r} is not valid YAML/JSON: {e}") from None
    if not isinstance(loaded, dict):
        raise config_error(_key("jobTemplate"), f"{path!r} must hold one Job manifest (a mapping)")
    kind = loaded.get("kind", "Job")
    if kind != "Job":
        raise config_error(_key("jobTemplate"), f"{path!r} has kind {kind!r}; expected a Job")
    return loaded


def _secret_env(raw: dict[str, Any]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for var, ref in _str_map(raw, "secretEnv").items():
        secret, _, key = ref.partition("/")
        if not ENV_NAME_RE.match(var) or not DNS_SUBDOMAIN_RE.match(secret) or not key:
            raise config_error(_key("secretEnv"), f"the entry for {var} must be 'secret-name/key' "
                                                  f"(valid Secret name, non-empty key), got {ref!r}")
        out[var] = (secret, key)
    return out


def _plain_env(raw: dict[str, Any]) -> dict[str, str]:
    env = _str_map(raw, "env")
    for var in env:
        if not ENV_NAME_RE.match(var):
            raise config_error(_key("env"), f"{var!r} is not a valid environment variable name")
        if is_sensitive_key(var):
            # the value would sit in the Job spec in plain text
            raise config_error(_key("env"), f"{var!r} looks like a secret; its value would be stored in plain "
                                            "text in the Job. Put it in a Secret and use 'secretEnv' or "
                                            "'envFromSecrets' instead")
    return env


def load_raw(backend_config: dict[str, Any] | str | None) -> dict[str, Any]:
    if backend_config is None:
        raise config_error("backend config", "is required: pass --backend-config with at least "
                                             "'namespace' and 'image'")
    if isinstance(backend_config, str):  # a path, when called directly rather than by `mlflow run`
        try:
            backend_config = json.loads(Path(backend_config).read_text())
        except (OSError, ValueError) as e:
            raise config_error("backend config", f"cannot read {backend_config!r} as JSON: {e}") from None
    if not isinstance(backend_config, dict):
        raise config_error("backend config", f"must be a JSON object, got {type(backend_config).__name__}")
    return {k: v for k, v in backend_config.items() if k not in MLFLOW_INJECTED_KEYS}


def parse_config(backend_config: dict[str, Any] | str | None) -> JobConfig:
    raw = load_raw(backend_config)
    unknown = sorted(set(raw) - set(KEYS_HELP))
    if unknown:
        raise config_error("backend config", f"unknown key(s) {', '.join(map(repr, unknown))}; "
                                             f"allowed: {', '.join(sorted(KEYS_HELP))}")
    namespace = _str(raw, "namespace", required=True)
    assert namespace is not None
    if not DNS_LABEL_RE.match(namespace):
        raise config_error(_key("namespace"), f"{namespace!r} is not a valid namespace name (RFC 1123 label)")
    image = _str(raw, "image", required=True)
    assert image is not None
    if not IMAGE_RE.match(image):
        raise config_error(_key("image"), f"{image!r} is not a valid image reference "
                                          "(expected [registry/]name[:tag][@sha256:digest], lower-case name)")
    resources = raw.get("resources") or {}
    if not isinstance(resources, dict) or set(resources) - {"requests", "limits"} or not all(
        isinstance(v, dict) for v in resources.values()
    ):
        raise config_error(_key("resources"), f"expected {{requests: {{...}}, limits: {{...}}}}, got {resources!r}")
    tolerations = raw.get("tolerations") or []
    if not isinstance(tolerations, list) or not all(isinstance(t, dict) for t in tolerations):
        raise config_error(_key("tolerations"), f"must be a list of toleration objects, got {tolerations!r}")
    service_account = _str(raw, "serviceAccount")
    if service_account and not DNS_SUBDOMAIN_RE.match(service_account):
        raise config_error(_key("serviceAccount"), f"{service_account!r} is not a valid service account name")
    pull_policy = _str(raw, "imagePullPolicy")
    if pull_policy and pull_policy not in PULL_POLICIES:
        raise config_error(_key("imagePullPolicy"), f"{pull_policy!r}; allowed: {', '.join(PULL_POLICIES)}")
    env_manager = _str(raw, "envManager") or "local"
    if env_manager not in ENV_MANAGERS:
        raise config_error(_key("envManager"), f"{env_manager!r}; allowed: {', '.join(ENV_MANAGERS)}")
    stream_logs, wait = raw.get("streamLogs", False), raw.get("wait", False)
    for key, flag in (("streamLogs", stream_logs), ("wait", wait)):
        if not isinstance(flag, bool):
            raise config_error(_key(key), f"must be true or false, got {flag!r}")
    secret_names = _str_list(raw, "envFromSecrets")
    for name in secret_names:
        if not DNS_SUBDOMAIN_RE.match(name):
            raise config_error(_key("envFromSecrets"), f"{name!r} is not a valid Secret name")
    return JobConfig(
        namespace=namespace,
        image=image,
        kubeconfig=_str(raw, "kubeconfig"),
        context=_str(raw, "context"),
        resources=resources,
        node_selector=_labels(raw, "nodeSelector", check_values=True),
        tolerations=tolerations,
        service_account=service_account,
        labels=_labels(raw, "labels", check_values=True),
        annotations=_labels(raw, "annotations", check_values=False),
        ttl_seconds_after_finished=_int(raw, "ttlSecondsAfterFinished"),
        backoff_limit=_int(raw, "backoffLimit", 0) or 0,
        active_deadline_seconds=_int(raw, "activeDeadlineSeconds"),
        job_template=_load_template(raw),
        env_from_secrets=secret_names,
        secret_env=_secret_env(raw),
        env=_plain_env(raw),
        image_pull_policy=pull_policy,
        image_pull_secrets=_str_list(raw, "imagePullSecrets"),
        tracking_uri=_str(raw, "trackingUri"),
        env_manager=env_manager,
        stream_logs=stream_logs,
        wait=wait,
    )
