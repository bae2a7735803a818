"""Every environment variable this plugin reads, declared once."""

from __future__ import annotations

from mlflow_plugins_shared.settings import Setting, as_float, as_list, as_str

PROBES = ("ci", "git", "container", "host", "gpu", "user")

DISABLE = Setting(
    "MLFLOW_CONTEXT_DISABLE", as_list(),
    doc=f"Probes to switch off, comma separated: {', '.join(PROBES)}, or `all`.",
)
TAGS = Setting("MLFLOW_CONTEXT_TAGS", as_str, doc="User tags: a JSON object or `key=value,key2=value2`.")
TAGS_FILE = Setting(
    "MLFLOW_CONTEXT_TAGS_FILE", as_str,
    doc="File of user tags: a JSON object, or one `key=value` per line (`#` comments).",
)
TIMEOUT = Setting(
    "MLFLOW_CONTEXT_PROBE_TIMEOUT", as_float(minimum=0.01, maximum=30), default=1.0,
    doc="Seconds any one external command (`git status`, `nvidia-smi`) may take before it is abandoned.",
)
GIT_DIR = Setting("MLFLOW_CONTEXT_GIT_DIR", as_str, doc="Directory whose git repository is probed (default: the working directory).")
ROOT = Setting(
    "MLFLOW_CONTEXT_ROOT", as_str, default="/",
    doc="File-system root under which container/Kubernetes files are read "
        "(`/.dockerenv`, `/run/.containerenv`, `/proc/self/cgroup`, the service-account namespace file).",
)
SERVICEACCOUNT_DIR = Setting(
    "MLFLOW_CONTEXT_SERVICEACCOUNT_DIR", as_str, default="/var/run/secrets/kubernetes.io/serviceaccount",
    doc="Kubernetes service-account directory (its `namespace` file names the namespace); read under the root.",
)

ALL = (DISABLE, TAGS, TAGS_FILE, TIMEOUT, GIT_DIR, ROOT, SERVICEACCOUNT_DIR)
