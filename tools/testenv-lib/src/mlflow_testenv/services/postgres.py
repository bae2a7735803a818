"""A private PostgreSQL instance in a temp data dir (Debian's postgresql package)."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
from pathlib import Path

from mlflow_testenv._install import apt_install
from mlflow_testenv.core import Launch, Service, TestenvError
from mlflow_testenv.services._sql import TEST_DB, TEST_PASSWORD, TEST_USER, as_user, db_exports, give_to, run


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PostgresService(Service):
    name = "postgres"
    description = "PostgreSQL (private instance, temp data dir)"
    os_user = "postgres" if os.geteuid() == 0 else ""

    def install(self) -> None:
        if _bindir() is None:
            apt_install("postgresql", why="the postgres service")
        if _bindir() is None:
            raise TestenvError("postgres: initdb not found after installing postgresql")

    def prepare(self, workdir: Path) -> None:
        (workdir / "sock").mkdir(exist_ok=True)
        give_to(self.os_user, workdir) if self.os_user else None
        run([*self._as(), str(_bindir() / "initdb"), "-D", str(workdir / "data"), "-U", "postgres",
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
            "initdb")

    def _as(self) -> list[str]:
        return as_user(self.os_user) if self.os_user else []

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        sock = str(workdir / "sock")
        cmd = [str(_bindir() / "postgres"), "-D", str(workdir / "data"), "-p", str(port),
               "-k", sock, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", *args]
        psql = [*self._as(), str(_bindir() / "psql"), "-h", sock, "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]

        def health() -> bool:
            return subprocess.run([*psql, "-c", "select 1"], capture_output=True).returncode == 0

        def setup() -> None:
            exists = subprocess.run([*psql, "-tAc", f"select 1 from pg_roles where rolname='{TEST_USER}'"],  # noqa: S608 - constant,
                                    capture_output=True, text=True).stdout.strip()
            if not exists:
                run([*psql, "-c", f"create role {TEST_USER} login superuser password '{TEST_PASSWORD}'"], "create role")
                run([*psql, "-c", f"create database {TEST_DB} owner {TEST_USER}"], "create database")

        exports = db_exports("postgres", f"postgresql://{TEST_USER}:{TEST_PASSWORD}@127.0.0.1:{port}/{TEST_DB}", port)
        return Launch(cmd=cmd, exports=exports, health=health, after_healthy=setup, timeout=60,
                      stop_signal=signal.SIGINT, user=self.os_user or None)


SERVICE = PostgresService()
