"""`mlflow deployments run-local -t k8s` serves a real model on this machine; `help` documents the keys."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import requests

from .conftest import wait_ping


def test_run_local_serves_the_model(model_uris: list[str], tracking_uri: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "deployments", "run-local", "-t", "k8s", "--name", "local-iris",
         "-m", model_uris[0], "-C", f"port={port}"],
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}, start_new_session=True,  # PATH as a user has it
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ping(f"http://127.0.0.1:{port}", proc)
        row = {"sepal length (cm)": 6.7, "sepal width (cm)": 3.0, "petal length (cm)": 5.2, "petal width (cm)": 2.3}
        resp = requests.post(f"http://127.0.0.1:{port}/invocations", json={"dataframe_records": [row]}, timeout=30)
        assert resp.json() == {"predictions": [2]}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def test_run_local_rejects_bad_config() -> None:
    out = subprocess.run([sys.executable, "-m", "mlflow", "deployments", "run-local", "-t", "k8s", "--name", "x",
                          "-m", "models:/x/1", "-C", "port=nope"], capture_output=True, text=True)
    assert out.returncode != 0
    assert "'port': expected an integer" in out.stderr


def test_target_help_lists_every_key() -> None:
    from mlflow_deploy_k8s.deployment import target_help
    from mlflow_deploy_k8s.options import HELP

    text = subprocess.run([sys.executable, "-m", "mlflow", "deployments", "help", "-t", "k8s"],
                          capture_output=True, text=True, check=True).stdout
    assert text.strip() == target_help().strip()
    for key in HELP:
        assert key in text
    assert "k8s:/<namespace>" in text
