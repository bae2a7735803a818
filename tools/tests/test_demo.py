"""`make demo` reaches a working server with an example run, and reports a taken port clearly."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from mlflow_testenv.core import free_port, port_is_free

ROOT = Path(__file__).resolve().parents[2]


def _demo(port: int, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEMO_PORT": str(port), "DEMO_EXIT": "1"}
    return subprocess.run([sys.executable, str(ROOT / "tools" / "demo.py")], env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_demo_logs_an_example_run_and_prints_the_url():
    port = free_port()
    r = _demo(port)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"MLflow UI: http://127.0.0.1:{port}" in r.stdout
    assert re.search(r"example run [0-9a-f]{32} logged", r.stdout)
    steps = [line for line in r.stdout.splitlines() if line.startswith("[demo] ")]
    assert len(steps) >= 4, r.stdout
    assert port_is_free(port), "the demo left its server running after exiting"


def test_demo_reports_a_taken_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = _demo(port, timeout=60)
    assert r.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken" in r.stderr
    assert "Traceback" not in r.stderr
