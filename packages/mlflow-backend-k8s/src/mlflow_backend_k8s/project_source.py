"""Where the pod gets the project from, and the shell command that fetches and runs it."""

from __future__ import annotations

import io
import os
import shlex
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_backend_k8s.mlflow_compat import check_project
from mlflow_plugins_shared.errors import config_error, invalid_parameter

PROJECT_ARTIFACT_DIR = "k8s-project"
PROJECT_ARCHIVE = "project.tar.gz"
# never shipped to the pod: VCS data and local run output
_SKIPPED_DIRS = {".git", "mlruns", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache"}


@dataclass(frozen=True)
class ProjectSource:
    uri: str
    version: str | None
    local_dir: Path | None  # set when the project is uploaded as a run artifact

    @property
    def is_local(self) -> bool:
        return self.local_dir is not None


def _looks_remote(uri: str) -> bool:
    return uri.startswith(("https://", "http://", "git@", "git+", "ssh://", "git://")) or (
        "github.com/" in uri and not os.path.exists(uri)
    )


def resolve_source(project_uri: str, version: str | None, entry_point: str, params: dict[str, Any]) -> ProjectSource:
    """A git project is fetched by the pod; a local one is validated here and uploaded."""
    if _looks_remote(project_uri):
        if "@" in project_uri.split("://", 1)[-1].split("/", 1)[0] and "://" in project_uri:
            # https://user:token@host/repo would put a credential in the Job spec in plain text
            raise invalid_parameter("project URI must not carry credentials; give the pod git credentials "
                                    "through a Secret (envFromSecrets) instead", project_uri)
        return ProjectSource(uri=project_uri, version=version, local_dir=None)
    path = Path(project_uri[len("file://"):] if project_uri.startswith("file://") else project_uri).expanduser()
    if not path.is_dir():
        raise invalid_parameter(f"project {project_uri!r} is neither a git URI nor an existing directory")
    if version:
        raise invalid_parameter(f"--version {version!r} only applies to git projects; {project_uri!r} is a "
                                "local directory")
    try:
        check_project(path, entry_point, params)
    except Exception as e:  # MLflow raises ExecutionException with a readable message
        raise invalid_parameter(f"project {project_uri!r}: {e}") from None
    return ProjectSource(uri=project_uri, version=None, local_dir=path.resolve())


def archive(local_dir: Path) -> bytes:
    """A gzipped tarball of the project directory (paths relative to it)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for root, dirs, files in os.walk(local_dir):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
            for name in sorted(files):
                full = Path(root) / name
                tar.add(full, arcname=str(full.relative_to(local_dir)), recursive=False)
    return buf.getvalue()


def pod_script(source: ProjectSource, entry_point: str, params: dict[str, Any], env_manager: str) -> str:
    """`sh -c` script run by the container; MLFLOW_RUN_ID/EXPERIMENT_ID come from the pod env."""
    run = ["mlflow", "run"]
    lines = ["set -eu"]
    if source.is_local:
        lines += [
            'work="$(mktemp -d)"',
            # the directory, not the file: MLflow (via runs:/<id>/<path>) puts a single downloaded file
            # at <dst>/<basename>, but a directory at <dst>/<dir>/ in every version
            f'mlflow artifacts download --run-id "$MLFLOW_RUN_ID" --artifact-path '
            f'{PROJECT_ARTIFACT_DIR} --dst-path "$work" >/dev/null',
            'mkdir "$work/project"',
            f'tar -xzf "$work/{PROJECT_ARTIFACT_DIR}/{PROJECT_ARCHIVE}" -C "$work/project"',
        ]
        run.append('"$work/project"')
    else:
        run.append(shlex.quote(source.uri))
        if source.version:
            run += ["--version", shlex.quote(source.version)]
    run += ["-e", shlex.quote(entry_point), "--env-manager", shlex.quote(env_manager)]
    for k, v in params.items():
        if not isinstance(k, str) or "=" in k:
            raise config_error("parameters", f"parameter name {k!r} is not allowed")
        run += ["-P", shlex.quote(f"{k}={v}")]
    run += ['--run-id "$MLFLOW_RUN_ID"', '--experiment-id "$MLFLOW_EXPERIMENT_ID"']
    lines.append("exec " + " ".join(run))
    return "\n".join(lines) + "\n"
