"""`make demo` reaches a working UI (a browser logs in through the demo's login proxy and sees the
example run), stops everything on Ctrl-C, and reports a taken port clearly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from mlflow_testenv.core import free_port, port_is_free

ROOT = Path(__file__).resolve().parents[2]


def _demo(port: int, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEMO_PORT": str(port), "DEMO_EXIT": "1"}
    return subprocess.run([sys.executable, str(ROOT / "tools" / "demo.py")], env=env, capture_output=True,
                          text=True, timeout=timeout)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "test-artifacts" / "demo"


def _wait_for_login(proc: subprocess.Popen, timeout: float = 600) -> tuple[str, str, str, list[str]]:
    """Read the demo's output until it prints the UI URL and login: (url, user, password, lines)."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError("demo exited early:\n" + "".join(lines) + (proc.stderr.read() if proc.stderr else ""))
        lines.append(line)
        m = re.match(r"\s+login: user (\S+)\s+password (\S+)", line)
        if m:
            url = next(x.split(": ", 1)[1].strip() for x in lines if x.startswith("MLflow UI: "))
            return url, m.group(1), m.group(2), lines
    raise AssertionError("demo did not print its login in time:\n" + "".join(lines))


@pytest.mark.ui
def test_demo_ui_login_shows_the_example_run_and_ctrl_c_stops_everything():
    port = free_port()
    # MLflow settings of the calling shell must not leak into the demo's example client: registering
    # against a stray MLFLOW_REGISTRY_URI once sent the model to another server.
    env = {**os.environ, "DEMO_PORT": str(port), "MLFLOW_REGISTRY_URI": "http://127.0.0.1:9",
           "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "tools" / "demo.py")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url, user, password, lines = _wait_for_login(proc)
        out = "".join(lines)
        assert url == f"http://127.0.0.1:{port}"
        run_id = re.search(r"example run ([0-9a-f]{32}) logged", out).group(1)
        assert len([x for x in lines if x.startswith("[demo] ")]) >= 6, out

        assert requests.get(f"{url}/ajax-api/2.0/mlflow/experiments/search?max_results=10", timeout=30).status_code == 401
        wrong = requests.get(f"{url}/ajax-api/2.0/mlflow/runs/get?run_id={run_id}", auth=(user, "wrong"), timeout=30)
        assert wrong.status_code == 401
        got = requests.get(f"{url}/ajax-api/2.0/mlflow/runs/get?run_id={run_id}", auth=(user, password), timeout=30)
        assert got.status_code == 200, got.text
        assert {p["key"] for p in got.json()["run"]["data"]["params"]} >= {"max_iter", "model"}

        from playwright.sync_api import sync_playwright

        SHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 1600, "height": 1000},
                                      http_credentials={"username": user, "password": password})
            page = ctx.new_page()
            page.set_default_timeout(90_000)
            page.goto(f"{url}/#/experiments")
            page.get_by_text("demo", exact=True).first.wait_for()
            page.screenshot(path=str(SHOTS / "experiments.png"), full_page=True)
            exp_id = got.json()["run"]["info"]["experiment_id"]
            page.goto(f"{url}/#/experiments/{exp_id}/runs/{run_id}")
            try:
                page.get_by_text("max_iter").first.wait_for()
                page.get_by_text("accuracy").first.wait_for()
            finally:
                page.screenshot(path=str(SHOTS / "run.png"), full_page=True)
            page.goto(f"{url}/#/models/demo-classifier")
            page.get_by_text("Version 1").first.wait_for()
            page.screenshot(path=str(SHOTS / "registered-model.png"), full_page=True)
            browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "[demo] stopped" in rest
    assert password not in err
    assert port_is_free(port), "the demo left its login proxy running"


def test_demo_reports_a_taken_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = _demo(port, timeout=60)
    assert r.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken" in r.stderr
    assert "Traceback" not in r.stderr
