"""Fixtures: a real mlflow server (tools/testenv), real git repositories, a clean CI-free environment."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow_context_ci import settings

from mlflow_testenv import session_service

# Everything a CI vendor or Kubernetes sets, so the machine running the tests cannot leak in.
_FOREIGN = re.compile(
    r"^(CI|GITHUB_.*|GITLAB_CI|CI_.*|JENKINS_URL|JOB_URL|BUILD_.*|CHANGE_.*|BRANCH_NAME|GIT_COMMIT|GIT_BRANCH"
    r"|BUILDKITE.*|CIRCLE.*|TF_BUILD|SYSTEM_.*|BITBUCKET_.*|KUBERNETES_.*|K8S_.*|POD_.*|MY_.*|NODE_NAME"
    r"|CONTAINER_IMAGE|HOSTNAME)$"
)


@pytest.fixture(scope="session")
def mlflow_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One `mlflow server` (tools/testenv) for the whole session, shared by the xdist workers."""
    exports = session_service("mlflow", tmp_path_factory)
    return exports["MLFLOW_TESTENV_MLFLOW_URL"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    ours = {s.env for s in settings.ALL}
    for name in [n for n in os.environ if n in ours or _FOREIGN.match(n)]:
        monkeypatch.delenv(name)
    # Container files are read under an empty root unless a test builds one.
    monkeypatch.setenv("MLFLOW_CONTEXT_ROOT", str(tmp_path_factory.mktemp("empty-root")))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


@pytest.fixture
def outside_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory that is not inside any git repository."""
    d = tmp_path_factory.mktemp("no-repo")
    monkeypatch.chdir(d)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(d.parent))
    return d


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture
def make_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """`git init` a real repository with one commit and chdir into it."""

    def make(branch: str = "feature/x", remotes: dict[str, str] | None = None) -> Path:
        repo = tmp_path / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", branch)
        (repo / "train.py").write_text("print('hi')\n")
        git(repo, "add", "train.py")
        git(repo, "commit", "-q", "-m", "first")
        for name, url in (remotes or {}).items():
            git(repo, "remote", "add", name, url)
        monkeypatch.chdir(repo)
        return repo

    return make


@pytest.fixture
def run_tags(mlflow_url: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], dict[str, str]]]:
    """Create a real run with `mlflow.start_run` against the server; return the tags the server stored."""
    client = MlflowClient(tracking_uri=mlflow_url)
    experiment = f"{request.node.name[:60]}-{os.getpid()}-{os.urandom(3).hex()}"

    def create(everything: bool = False) -> dict[str, str]:
        mlflow.set_tracking_uri(mlflow_url)
        mlflow.set_experiment(experiment)
        with mlflow.start_run() as run:
            mlflow.log_param("p", 1)
        tags = client.get_run(run.info.run_id).data.tags
        return tags if everything else {k: v for k, v in tags.items() if k.startswith("context.")}

    yield create
    mlflow.set_tracking_uri(None)


@pytest.fixture
def git_cmd() -> Callable[..., str]:
    return git
