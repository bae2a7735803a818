"""Scaffold a new plugin package from tools/plugin-template: `make new-plugin KIND=store NAME=foo`.

Creates packages/mlflow-<kind>-<name>/ with pyproject (hatchling, dynamic version), src layout,
py.typed, README, CHANGELOG, a minimal strict plugin module and an entry-point test.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "tools" / "plugin-template"

# kind -> (entry-point groups, mlflow floor, what the entry point points at)
KINDS: dict[str, dict] = {
    "store": {"groups": ["mlflow.tracking_store", "mlflow.model_registry_store"], "floor": "3.0"},
    "artifacts": {"groups": ["mlflow.artifact_repository"], "floor": "3.0"},
    "auth": {"groups": ["mlflow.request_auth_provider"], "floor": "2.22"},
    "headers": {"groups": ["mlflow.request_header_provider"], "floor": "2.22"},
    "context": {"groups": ["mlflow.run_context_provider"], "floor": "2.22"},
    "backend": {"groups": ["mlflow.project_backend"], "floor": "2.22"},
    "deploy": {"groups": ["mlflow.deployments"], "floor": "2.22"},
    "evaluator": {"groups": ["mlflow.model_evaluator"], "floor": "2.22"},
    "app": {"groups": ["mlflow.app"], "floor": "3.0"},
}

MODULES: dict[str, str] = {
    "store": '''"""Tracking and model-registry stores (skeleton: every method raises until implemented)."""

from mlflow.store.model_registry.abstract_store import AbstractStore as AbstractRegistryStore
from mlflow.store.tracking.abstract_store import AbstractStore

from mlflow_plugins_shared.strict import SERVER_CALLED_UNDECLARED, StrictMixin


class {Cls}TrackingStore(StrictMixin, AbstractStore):
    strict_plugin_name = "{dist}"
    strict_extra_methods = SERVER_CALLED_UNDECLARED

    def __init__(self, store_uri: str, artifact_uri: str | None = None, **kwargs: object) -> None:
        super().__init__()
        self.store_uri = store_uri
        self.artifact_uri = artifact_uri


class {Cls}RegistryStore(StrictMixin, AbstractRegistryStore):
    strict_plugin_name = "{dist}"

    def __init__(self, store_uri: str, tracking_uri: str | None = None, **kwargs: object) -> None:
        super().__init__(store_uri=store_uri, tracking_uri=tracking_uri)
''',
    "artifacts": '''"""Artifact repository (skeleton: every method raises until implemented)."""

from mlflow.store.artifact.artifact_repo import ArtifactRepository

from mlflow_plugins_shared.strict import StrictMixin


class {Cls}ArtifactRepository(StrictMixin, ArtifactRepository):
    strict_plugin_name = "{dist}"

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None, **kwargs: object) -> None:
        super().__init__(artifact_uri)
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
''',
    "auth": '''"""Request auth provider (skeleton)."""

from mlflow_plugins_shared.errors import MlflowNotImplementedException
from mlflow.tracking.request_auth.abstract_request_auth_provider import RequestAuthProvider


class {Cls}AuthProvider(RequestAuthProvider):
    def get_name(self) -> str:
        return "{name}"

    def get_auth(self):
        raise MlflowNotImplementedException("{dist}: the {name} provider is not implemented yet")
''',
    "headers": '''"""Request header provider (skeleton)."""

from mlflow_plugins_shared.errors import MlflowNotImplementedException
from mlflow.tracking.request_header.abstract_request_header_provider import RequestHeaderProvider


class {Cls}HeaderProvider(RequestHeaderProvider):
    def in_context(self) -> bool:
        return True

    def request_headers(self) -> dict[str, str]:
        raise MlflowNotImplementedException("{dist}: not implemented yet")
''',
    "context": '''"""Run context provider (skeleton)."""

from mlflow_plugins_shared.errors import MlflowNotImplementedException
from mlflow.tracking.context.abstract_context import RunContextProvider


class {Cls}ContextProvider(RunContextProvider):
    def in_context(self) -> bool:
        return True

    def tags(self) -> dict[str, str]:
        raise MlflowNotImplementedException("{dist}: not implemented yet")
''',
    "backend": '''"""Project backend (skeleton)."""

from mlflow_plugins_shared.errors import MlflowNotImplementedException
from mlflow.projects.backend.abstract_backend import AbstractBackend


class {Cls}Backend(AbstractBackend):
    def run(self, project_uri, entry_point, params, version, backend_config, tracking_uri, experiment_id):
        raise MlflowNotImplementedException("{dist}: not implemented yet")
''',
    "deploy": '''"""Deployment target (skeleton). MLflow loads this module: run_local, target_help, one client."""

from mlflow.deployments import BaseDeploymentClient
from mlflow_plugins_shared.errors import MlflowNotImplementedException


def _todo(*args, **kwargs):
    raise MlflowNotImplementedException("{dist}: not implemented yet")


class {Cls}DeploymentClient(BaseDeploymentClient):
    create_deployment = update_deployment = delete_deployment = _todo
    list_deployments = get_deployment = predict = _todo


def run_local(name, model_uri, flavor=None, config=None):
    _todo()


def target_help() -> str:
    return "{dist}: not implemented yet"
''',
    "evaluator": '''"""Model evaluator (skeleton)."""

from mlflow_plugins_shared.errors import MlflowNotImplementedException
from mlflow.models.evaluation import ModelEvaluator


class {Cls}Evaluator(ModelEvaluator):
    def can_evaluate(self, *, model_type, evaluator_config, **kwargs) -> bool:
        return False

    def evaluate(self, **kwargs):
        raise MlflowNotImplementedException("{dist}: not implemented yet")
''',
    "app": '''"""`mlflow server --app-name {name}` (skeleton)."""

from mlflow_plugins_shared.errors import MlflowNotImplementedException


def create_app():
    raise MlflowNotImplementedException("{dist}: not implemented yet")
''',
}

TARGETS = {
    "store": ("mlflow.tracking_store", "{imp}.store:{Cls}TrackingStore", "mlflow.model_registry_store", "{imp}.store:{Cls}RegistryStore"),
    "artifacts": ("mlflow.artifact_repository", "{imp}.repository:{Cls}ArtifactRepository"),
    "auth": ("mlflow.request_auth_provider", "{imp}.provider:{Cls}AuthProvider"),
    "headers": ("mlflow.request_header_provider", "{imp}.provider:{Cls}HeaderProvider"),
    "context": ("mlflow.run_context_provider", "{imp}.provider:{Cls}ContextProvider"),
    "backend": ("mlflow.project_backend", "{imp}.backend:{Cls}Backend"),
    "deploy": ("mlflow.deployments", "{imp}.deployment"),
    "evaluator": ("mlflow.model_evaluator", "{imp}.evaluator:{Cls}Evaluator"),
    "app": ("mlflow.app", "{imp}.app:create_app"),
}
MODULE_FILE = {"store": "store", "artifacts": "repository", "auth": "provider", "headers": "provider",
               "context": "provider", "backend": "backend", "deploy": "deployment", "evaluator": "evaluator",
               "app": "app"}

INIT = '''"""{summary}"""

# First: imports MLflow before this package's modules (old MLflow loads plugins on import).
import mlflow_plugins_shared  # noqa: F401

from {imp}.version import __version__

__all__ = ["__version__"]
'''

TEST_FOR_GROUP = {
    "mlflow.tracking_store": "def test_tracking_store_{ident}():\n    assert entry_points.tracking_store_builder({n!r}).__name__ == {target_cls!r}\n",
    "mlflow.model_registry_store": "def test_registry_store_{ident}():\n    assert entry_points.registry_store_builder({n!r}).__name__ == {target_cls!r}\n",
    "mlflow.artifact_repository": "def test_artifact_repository_{ident}():\n    assert entry_points.artifact_repository_class({n!r}).__name__ == {target_cls!r}\n",
    "mlflow.request_auth_provider": "def test_auth_provider_{ident}():\n    assert type(entry_points.request_auth_provider({n!r})).__name__ == {target_cls!r}\n",
    "mlflow.request_header_provider": "def test_header_provider():\n    assert {target_cls!r} in [type(p).__name__ for p in entry_points.request_header_providers()]\n",
    "mlflow.run_context_provider": "def test_context_provider():\n    assert {target_cls!r} in [type(p).__name__ for p in entry_points.run_context_providers()]\n",
    "mlflow.project_backend": "def test_project_backend_{ident}():\n    assert type(entry_points.project_backend({n!r})).__name__ == {target_cls!r}\n",
    "mlflow.deployments": "def test_deployment_target_{ident}():\n    assert entry_points.deployment_plugin({n!r}).__name__ == {target_mod!r}\n",
    "mlflow.model_evaluator": "def test_model_evaluator_{ident}():\n    assert type(entry_points.model_evaluator({n!r})).__name__ == {target_cls!r}\n",
    "mlflow.app": "def test_server_app_{ident}():\n    assert entry_points.server_app({n!r}).__name__ == {target_cls!r}\n",
}


def camel(name: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[-_]+", name) if p)


def scaffold(kind: str, name: str, names: list[str] | None = None, summary: str | None = None, force: bool = False,
             root: Path = ROOT) -> Path:
    if kind not in KINDS:
        raise SystemExit(f"KIND must be one of {', '.join(KINDS)}, got {kind!r}")
    if not re.fullmatch(r"[a-z][a-z0-9]*", name):
        raise SystemExit(f"NAME must be lowercase letters and digits, got {name!r}")
    dist, imp = f"mlflow-{kind}-{name}", f"mlflow_{kind}_{name}"
    dest = root / "packages" / dist
    if dest.exists() and not force:
        raise SystemExit(f"{dest} already exists")
    names = names or [name]
    Cls = camel(name)
    info = KINDS[kind]
    fmt = dict(dist=dist, import_name=imp, imp=imp, kind=kind, name=name, Cls=Cls,
               summary=summary or f"MLflow {kind} plugin: {name}.",
               mlflow_req=f"mlflow>={info['floor']},<4")
    target = TARGETS[kind]
    pairs = list(zip(target[::2], target[1::2], strict=True))
    ep_lines, tests = [], []
    for group, value in pairs:
        value = value.format(**fmt)
        ep_lines.append(f'[project.entry-points."{group}"]')
        for n in names:
            ep_lines.append(f'"{n}" = "{value}"')
            ident = re.sub(r"\W", "_", n)
            tests.append(TEST_FOR_GROUP[group].format(
                n=n, ident=ident, target_cls=value.rpartition(":")[2], target_mod=value.partition(":")[0]))
            if group in ("mlflow.request_header_provider", "mlflow.run_context_provider"):
                break
        ep_lines.append("")
    fmt["entry_points"] = "\n".join(ep_lines)
    fmt["names_table"] = "\n".join(f"| `{n}` | {kind} plugin entry point |" for n in names)
    fmt["entry_point_tests"] = "\n\n".join(tests)
    src = dest / "src" / imp
    (dest / "tests").mkdir(parents=True, exist_ok=True)
    src.mkdir(parents=True, exist_ok=True)
    for tmpl in TEMPLATE.rglob("*.tmpl"):
        out = dest / tmpl.relative_to(TEMPLATE).with_suffix("")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(tmpl.read_text().format(**fmt))
    (src / "__init__.py").write_text(INIT.format(summary=fmt["summary"], imp=imp))
    (src / "version.py").write_text('__version__ = "0.1.0"\n')
    (src / "py.typed").write_text("")
    (src / f"{MODULE_FILE[kind]}.py").write_text(MODULES[kind].format(**fmt))
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("kind", choices=sorted(KINDS))
    ap.add_argument("name")
    ap.add_argument("--names", help="comma-separated entry-point names (default: NAME)")
    ap.add_argument("--summary")
    a = ap.parse_args()
    dest = scaffold(a.kind, a.name, a.names.split(",") if a.names else None, a.summary)
    print(f"created {dest.relative_to(ROOT)}; next: make install && make test PKG={dest.name}")


if __name__ == "__main__":
    sys.exit(main())
