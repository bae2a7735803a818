"""Helpers for the private database servers (postgres, mariadb)."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

TEST_USER = "mlflow"
TEST_PASSWORD = "mlflow-test-pw"
TEST_DB = "mlflow"


def as_user(user: str) -> list[str]:
    """Prefix to run a command as `user` when we are root (servers refuse to run as root)."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", user, "--"]


def give_to(user: str, *paths: Path) -> None:
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(user)
    for p in paths:
        os.chown(p, pw.pw_uid, pw.pw_gid)
        for root, dirs, files in os.walk(p):
            for n in dirs + files:
                os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)


def run(cmd: list[str], what: str) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        from mlflow_testenv.core import TestenvError

        raise TestenvError(f"{what} failed: {(r.stderr or r.stdout)[-600:]}")


def db_exports(service: str, url: str, port: int) -> dict[str, str]:
    """MLFLOW_TESTENV_<SERVICE>_{URL,HOST,PORT,USER,PASSWORD,DB} for the test database."""
    prefix = f"MLFLOW_TESTENV_{service.upper()}_"
    return {
        f"{prefix}URL": url, f"{prefix}HOST": "127.0.0.1", f"{prefix}PORT": str(port),
        f"{prefix}USER": TEST_USER, f"{prefix}PASSWORD": TEST_PASSWORD, f"{prefix}DB": TEST_DB,
    }
