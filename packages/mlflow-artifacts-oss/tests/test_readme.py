"""The README is what runs: its settings table is the one the code declares, and every code block in
it is run here as written against the OSS test server (the example endpoint, keys and bucket swapped
for the test server's; `mlflow server` given a free local port)."""

from __future__ import annotations

import importlib.metadata
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import oss2
import pytest
from mlflow import MlflowClient
from mlflow_artifacts_oss import settings

from mlflow_plugins_shared.settings import settings_table
from mlflow_plugins_shared.testing import entry_points
from mlflow_plugins_shared.testing.readme import code_blocks, collect_pytest_line, only_block, stop_session, swap
from mlflow_testenv.waiting import wait_until_answers

ROOT = Path(__file__).resolve().parents[3]
README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = code_blocks(README)


def test_readme_settings_table_is_current():
    assert settings_table(settings.ALL) in README


def _block(lang: str, first_line: str) -> str:
    return only_block(BLOCKS, first_line, lang)




def test_every_code_block_is_run_here():
    assert sorted((kind, text.splitlines()[0]) for kind, text in BLOCKS) == sorted([
        ("bash", "pip install mlflow-artifacts-oss"),
        ("bash", "export MLFLOW_OSS_ENDPOINT_URL=https://oss-cn-hangzhou.aliyuncs.com"),
        ("python", "import mlflow"),
        ("bash", ".venv/bin/python -m pytest -n 2 packages/mlflow-artifacts-oss tools/tests/test_oss_server.py"),
    ])


def test_install_block():
    """Mirrored (the package is not on an index here): the distribution is installed and MLflow's
    registry builds the `oss` scheme's repository class from its entry point."""
    dist = _block("bash", "pip install").split()[-1]
    assert importlib.metadata.distribution(dist).metadata["Name"] == dist
    assert entry_points.artifact_repository_class("oss").__name__ == "OssArtifactRepository"


def _env_without_oss_settings(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_OSS_") and k != "MLFLOW_TRACKING_URI"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return {**env, **extra}


@pytest.fixture
def readme_server(oss_env, tmp_path) -> Iterator[tuple[str, str]]:
    """The README's server block, run as written: (tracking URL, the exports it starts with)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    block = swap(_block("bash", "export MLFLOW_OSS_ENDPOINT_URL="), {
        "https://oss-cn-hangzhou.aliyuncs.com": oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"],
        "MLFLOW_OSS_KEY_ID=...": f"MLFLOW_OSS_KEY_ID={oss_env['MLFLOW_TESTENV_OSS_KEY_ID']}",
        "MLFLOW_OSS_KEY_SECRET=...": f"MLFLOW_OSS_KEY_SECRET={oss_env['MLFLOW_TESTENV_OSS_KEY_SECRET']}",
        "oss://my-bucket/": f"oss://{oss_env['MLFLOW_TESTENV_OSS_BUCKET']}/",
        # a free local port, and one worker without job execution like every test server (a shared 2-core VM)
        "\nmlflow server ": f"\nmlflow server --host 127.0.0.1 --port {port} --workers 1 ",
    })
    exports = "\n".join(line for line in block.splitlines() if line.startswith("export "))
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(["bash", "-euc", block], cwd=tmp_path, stdout=log,
                            env=_env_without_oss_settings(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(f"{url}/health", proc, timeout=600, what="the README's mlflow server",
                           log=tmp_path / "server.log")
        yield url, exports
    finally:
        stop_session(proc)  # the session this test started: bash, mlflow server, its workers
        log.close()


def _keys(raw_bucket: oss2.Bucket, prefix: str) -> list[str]:
    return [o.key for o in oss2.ObjectIterator(raw_bucket, prefix=prefix)]


def test_use_blocks_server_and_direct_client(readme_server, raw_bucket, tmp_path, monkeypatch):
    url, exports = readme_server
    # proxied: a client without any MLFLOW_OSS_* setting logs through the README's server into OSS
    for var in [k for k in os.environ if k.startswith("MLFLOW_OSS_")]:
        monkeypatch.delenv(var)
    mlflow.set_tracking_uri(url)
    try:
        mlflow.set_experiment(f"readme-proxied-{uuid.uuid4().hex[:8]}")
        (tmp_path / "notes.txt").write_text("through the server")
        with mlflow.start_run() as run:
            mlflow.log_artifact(str(tmp_path / "notes.txt"))
    finally:
        mlflow.set_tracking_uri(None)
    assert any(k.startswith("mlartifacts/") and k.endswith(f"{run.info.run_id}/artifacts/notes.txt")
               for k in _keys(raw_bucket, "mlartifacts/"))

    # direct: the Python block, with the block's exports and MLFLOW_TRACKING_URI at that server
    name = f"models-{uuid.uuid4().hex[:8]}"
    code = swap(_block("python", "import mlflow"), {
        'create_experiment("models"': f'create_experiment("{name}"',
        "oss://my-bucket/": f"oss://{raw_bucket.bucket_name}/",
    })
    (tmp_path / "direct.py").write_text(code)
    done = subprocess.run(["bash", "-euc", f"{exports}\npython direct.py\n"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=_env_without_oss_settings(MLFLOW_TRACKING_URI=url))
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(tracking_uri=url)
    exp = client.get_experiment_by_name(name)
    assert exp.artifact_location == f"oss://{raw_bucket.bucket_name}/experiments/models"
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"
    (model,) = client.search_logged_models([exp.experiment_id])
    assert model.artifact_location.startswith(exp.artifact_location + "/")
    prefix = model.artifact_location.removeprefix(f"oss://{raw_bucket.bucket_name}/")
    assert any(k.endswith("/MLmodel") for k in _keys(raw_bucket, prefix + "/"))


def test_testing_block_collects():
    """The Testing section's command, collected rather than run (this test is part of what it runs)."""
    listing = collect_pytest_line(_block("bash", ".venv/bin/python -m pytest").splitlines()[0], ROOT)
    assert "packages/mlflow-artifacts-oss/tests/test_readme.py::test_testing_block_collects" in listing
    assert "tools/tests/test_oss_server.py::" in listing
