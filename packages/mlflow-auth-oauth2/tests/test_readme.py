"""The README is what runs: its settings tables are the declared settings, and every code block in
it is run here as written against the real servers (only the example hosts and paths are swapped
for the test servers' and a temporary directory's)."""

from __future__ import annotations

import importlib.metadata
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow_auth_oauth2 import settings as s

from mlflow_plugins_shared.settings import settings_table
from mlflow_plugins_shared.testing import entry_points
from mlflow_plugins_shared.testing.readme import code_blocks, only_block, swap

README = (Path(__file__).parents[1] / "README.md").read_text()
BLOCKS = code_blocks(README)
TRAIN = """\
import mlflow
with mlflow.start_run() as run:
    mlflow.log_metric("loss", 0.5)
print("RUN", run.info.run_id)
"""


def test_settings_tables_match_the_code():
    for group in (s.OAUTH2_SETTINGS, s.FILE_SETTINGS, [s.TOKEN_COMMAND, s.COMMAND_TIMEOUT, s.COMMAND_TTL]):
        assert settings_table(group) in README


def _block(first_line: str) -> str:
    return only_block(BLOCKS, first_line)




def _run_then_train(script: str, workdir: Path, path_dirs: list[str] | None = None) -> str:
    (workdir / "train.py").write_text(TRAIN)
    env = {**os.environ, "PATH": os.pathsep.join([*(path_dirs or []), str(Path(sys.executable).parent),
                                                 os.environ.get("PATH", "")])}
    done = subprocess.run(["bash", "-euc", script], cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_code_block_is_run_here():
    covered = ["pip install mlflow-auth-oauth2", "export MLFLOW_TRACKING_URI=https://mlflow.example.com",
               "# Kubernetes projected token"]
    assert sorted(text.splitlines()[0] for _, text in BLOCKS) == sorted(covered)


def test_install_block():
    """`pip install mlflow-auth-oauth2` (mirrored: the package is not on an index here): the distribution
    it names is installed and its three providers load through MLflow's registry."""
    (block,) = [text for _, text in BLOCKS if text.startswith("pip install")]
    dist = block.split()[-1]
    assert importlib.metadata.distribution(dist).metadata["Name"] == dist
    for name in ("oauth2", "bearer-file", "bearer-command"):
        assert entry_points.request_auth_provider(name).get_name() == name


def test_use_block_oauth2(gateway, jwt_check, oauth2, new_client, tmp_path):
    client = new_client(client_id="mlflow-ci")  # the README's client id
    secret_file = tmp_path / "mlflow-client-secret"
    secret_file.write_text(client.client_secret + "\n")
    script = swap(_block("export MLFLOW_TRACKING_URI=https://mlflow.example.com"), {
        "https://mlflow.example.com": gateway.url,
        "https://login.example.com/oauth2/token": oauth2["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"],
        "/run/secrets/mlflow-client-secret": str(secret_file),
    })
    assert "python train.py" in script
    out = _run_then_train(script, tmp_path)
    assert "RUN " in out
    assert gateway.denied == [] and gateway.passed >= 3
    assert set(jwt_check.seen_subjects) == {"mlflow-ci"}


def _fake_vault(tmp_path: Path, token: str) -> str:
    """A `vault` on PATH answering the README's `vault read -field=token auth/mlflow/token` (and nothing else)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    vault = bindir / "vault"
    vault.write_text("#!/bin/sh\n"
                     '[ "$*" = "read -field=token auth/mlflow/token" ] || { echo "unexpected: $*" >&2; exit 2; }\n'
                     f"echo {token}\n")
    vault.chmod(vault.stat().st_mode | stat.S_IXUSR)
    return str(bindir)


@pytest.mark.parametrize("part", ["bearer-file", "bearer-command"])
def test_use_block_bearer_file_and_command(part, gateway, jwt_check, new_client, tmp_path, monkeypatch):
    file_client, command_client = new_client(), new_client()
    token_file = tmp_path / "mlflow-token"
    token_file.write_text(file_client.fetch_token())
    block = _block("# Kubernetes projected token")
    if part == "bearer-file":  # the block's first half alone
        block = block.split("# a credential helper")[0]
    script = swap(block, {"/var/run/secrets/tokens/mlflow": str(token_file)})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", gateway.url)
    out = _run_then_train(script + "python train.py\n", tmp_path, [_fake_vault(tmp_path, command_client.fetch_token())])
    assert "RUN " in out and gateway.denied == []
    expected = file_client if part == "bearer-file" else command_client
    assert set(jwt_check.seen_subjects) == {expected.client_id}
