"""One server per pytest session, shared by all xdist workers.

    @pytest.fixture(scope="session")
    def es_url(tmp_path_factory):
        return session_service("es", tmp_path_factory)["MLFLOW_TESTENV_ES_URL"]

The first worker to ask starts the server, watched by the xdist controller process (or by
pytest itself without xdist), so it stops when the whole session ends; the others read its
exports from a file in the session's shared temp dir. If the variables are already exported
(`eval "$(tools/testenv up es)"`), that server is reused and nothing is started.
"""

from __future__ import annotations

import json
import os
from typing import Any

from filelock import FileLock

from mlflow_testenv.core import get_service, start_service


def session_service(name: str, tmp_path_factory: Any, args: list[str] | None = None, *, key: str | None = None) -> dict[str, str]:
    """Return the exports of a session-wide server `name` (started with `args`)."""
    reuse = _exported(name)
    if reuse and not args:
        return reuse
    key = key or name
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by all workers of this session
    marker = root / f"testenv-{key}.json"
    with FileLock(str(marker) + ".lock"):
        if marker.exists():
            return json.loads(marker.read_text())
        watcher = os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()
        r = start_service(name, args, parent_pid=watcher, record=False)
        marker.write_text(json.dumps(r.exports))
        return r.exports


def _exported(name: str) -> dict[str, str] | None:
    get_service(name)  # unknown names fail loudly
    prefix = f"MLFLOW_TESTENV_{name.upper().replace('-', '_')}_"
    found = {k: v for k, v in os.environ.items() if k.startswith(prefix)}
    # a running server's exports always include its log; other MLFLOW_TESTENV_<SVC>_* variables
    # (e.g. MLFLOW_TESTENV_K8S_BUILD_SCRIPT) only configure how to start one
    return found if f"{prefix}LOG" in found else None
