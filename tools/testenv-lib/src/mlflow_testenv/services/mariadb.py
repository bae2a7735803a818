"""A private MariaDB instance in a temp data dir (Debian's mariadb-server package).

Runs with MariaDB's default max_allowed_packet on purpose: plugins must cope with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from mlflow_testenv._install import apt_install
from mlflow_testenv.core import Launch, Service, TestenvError
from mlflow_testenv.services._sql import TEST_DB, TEST_PASSWORD, TEST_USER, db_exports, give_to, run


def _server() -> str | None:
    return shutil.which("mariadbd", path="/usr/sbin:/usr/bin") or shutil.which("mysqld", path="/usr/sbin:/usr/bin")


class MariaDBService(Service):
    name = "mariadb"
    description = "MariaDB (private instance, temp data dir, default max_allowed_packet)"
    os_user = "mysql" if os.geteuid() == 0 else ""

    def install(self) -> None:
        if _server() is None or shutil.which("mariadb-install-db") is None:
            apt_install("mariadb-server", why="the mariadb service")
        if _server() is None:
            raise TestenvError("mariadb: mariadbd not found after installing mariadb-server")

    def prepare(self, workdir: Path) -> None:
        (workdir / "data").mkdir(exist_ok=True)
        if self.os_user:
            give_to(self.os_user, workdir)
        cmd = ["mariadb-install-db", f"--datadir={workdir / 'data'}", "--auth-root-authentication-method=socket",
               "--skip-test-db"]
        if self.os_user:
            cmd.append(f"--user={self.os_user}")
        run(cmd, "mariadb-install-db")

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        sock = str(workdir / "mysqld.sock")
        cmd = [_server(), "--no-defaults", f"--datadir={workdir / 'data'}", f"--port={port}",
               "--bind-address=127.0.0.1", f"--socket={sock}", f"--pid-file={workdir / 'mysqld.pid'}",
               "--skip-name-resolve", "--innodb-buffer-pool-size=128M", *args]
        if self.os_user:
            cmd.append(f"--user={self.os_user}")
        client = ["mariadb", "--no-defaults", "-S", sock, "-u", "root"]

        def health() -> bool:
            return subprocess.run([*client, "-e", "select 1"], capture_output=True).returncode == 0

        def setup() -> None:
            run([*client, "-e",
                 f"CREATE DATABASE IF NOT EXISTS {TEST_DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; "
                 f"CREATE USER IF NOT EXISTS '{TEST_USER}'@'%' IDENTIFIED BY '{TEST_PASSWORD}'; "
                 f"GRANT ALL PRIVILEGES ON *.* TO '{TEST_USER}'@'%'; FLUSH PRIVILEGES;"], "create user")

        exports = db_exports("mariadb", f"mysql+pymysql://{TEST_USER}:{TEST_PASSWORD}@127.0.0.1:{port}/{TEST_DB}", port)
        return Launch(cmd=cmd, exports=exports, health=health, after_healthy=setup, timeout=90)


SERVICE = MariaDBService()
