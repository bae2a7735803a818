"""Real test servers on 127.0.0.1: start, wait until healthy, export their URLs, stop.

Used three ways:
- by hand / make: `tools/testenv up es postgres`, `tools/testenv down`, `tools/testenv status`;
- from pytest: `session_service("es", tmp_path_factory)` (one server per test session, shared
  by xdist workers) or `start_service("es")` for a private instance a test may stop/restart;
- from Python: `with running("postgres") as env: ...`.
"""

from mlflow_testenv.core import (
    Launch,
    Running,
    Service,
    TestenvError,
    running,
    start_service,
)
from mlflow_testenv.fixtures import session_service

__all__ = [
    "Launch", "Running", "Service", "TestenvError", "running", "session_service", "start_service",
]
