"""Real Elasticsearch and OpenSearch nodes from the distributions both publish to Maven Central.

Fetched with Maven itself (`mvn dependency:unpack`), unpacked once per version into a cache the
unprivileged server user can read (`/var/cache/mlflow-plugins/<engine>-<version>` when we are
root: a cache under root's home, mode 700, is unreadable to it; `~/.cache/mlflow-plugins/...`
otherwise). Both engines refuse to run as root, so as root the node runs as `nobody`, with its
config copied into the service's workdir (the launchers write relative log, GC-log and error-file
paths there) and its data, logs and temp dir in that workdir too.

Facts measured on these machines (issue 26): Elasticsearch's integ-test zip holds only the core
modules (no `GET /`, painless, reindex or analysis-common), so health is `/_cluster/health`;
security is on by default and is turned off for the plain-HTTP service; OpenSearch 3.x needs Java
21+, Elasticsearch 8.x and OpenSearch 2.x run on Java 17.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from filelock import FileLock

from mlflow_testenv.core import Launch, Service, TestenvError, free_port
from mlflow_testenv.services._sql import give_to

RUN_AS = "nobody"  # the unprivileged user the node runs as when we are root
HEAP = "512m"


def cache_root() -> Path:
    if "MLFLOW_PLUGINS_CACHE" in os.environ:
        return Path(os.environ["MLFLOW_PLUGINS_CACHE"])
    if os.geteuid() == 0:
        return Path("/var/cache/mlflow-plugins")
    return Path.home() / ".cache" / "mlflow-plugins"


def java_home(min_major: int) -> Path:
    """The first JDK under /usr/lib/jvm (or $JAVA_HOME) whose major version is at least `min_major`."""
    candidates = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    candidates += sorted(Path("/usr/lib/jvm").glob("*"))
    for home in candidates:
        release = home / "release"
        if not (home / "bin" / "java").is_file() or not release.is_file():
            continue
        m = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if m and int(m.group(1)) >= min_major:
            return home
    raise TestenvError(f"no JDK {min_major}+ found under /usr/lib/jvm or $JAVA_HOME: install one "
                       f"(e.g. apt-get install openjdk-{min_major}-jdk-headless)")


@dataclass(frozen=True)
class Distribution:
    """One engine's Maven coordinates and launcher conventions."""

    engine: str  # "elasticsearch" | "opensearch"
    group: str
    version: str
    launcher: str  # bin/<launcher>
    env_prefix: str  # ES | OPENSEARCH: <prefix>_JAVA_HOME, <prefix>_PATH_CONF, ...
    settings: tuple[str, ...] = ()  # extra -E settings

    @property
    def min_java(self) -> int:
        """Elasticsearch 9 and OpenSearch 3 need Java 21+; earlier majors run on Java 17."""
        major = int(self.version.split(".", 1)[0])
        return 21 if major >= {"elasticsearch": 9, "opensearch": 3}[self.engine] else 17

    @property
    def coordinates(self) -> str:
        return f"{self.group}:{self.engine}:{self.version}:zip"

    def home(self) -> Path:
        """The unpacked distribution, fetched with Maven on first use."""
        root = cache_root()
        home = root / f"{self.engine}-{self.version}" / f"{self.engine}-{self.version}"
        if (home / "bin" / self.launcher).is_file():
            return home
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        with FileLock(str(root / f".{self.engine}-{self.version}.lock")):
            if (home / "bin" / self.launcher).is_file():
                return home
            self._fetch(root, home)
        return home

    def _fetch(self, root: Path, home: Path) -> None:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise TestenvError(f"{self.engine} {self.version}: Maven (mvn) is needed to fetch "
                               f"{self.coordinates}; apt-get install maven")
        print(f"# testenv: fetching {self.coordinates} with Maven (once per version)", file=sys.stderr)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.engine}-", dir=root))
        try:
            r = subprocess.run([mvn, "-q", "-B", "dependency:unpack", f"-Dartifact={self.coordinates}",
                                f"-DoutputDirectory={staging}"], capture_output=True, text=True, cwd=staging)
            if r.returncode != 0 or not (staging / home.name / "bin" / self.launcher).is_file():
                tail = (r.stdout + r.stderr)[-800:]
                raise TestenvError(f"mvn dependency:unpack {self.coordinates} failed:\n{tail}")
            shutil.rmtree(staging / "${project.basedir}", ignore_errors=True)  # Maven's unpack markers
            for p in [staging, *staging.rglob("*")]:  # readable by the unprivileged server user
                if p.is_dir():
                    p.chmod(p.stat().st_mode | 0o755)
                elif not p.is_symlink():
                    p.chmod(p.stat().st_mode | 0o444)
            shutil.rmtree(home.parent, ignore_errors=True)
            staging.rename(home.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class SearchEngineService(Service):
    """A single real node on 127.0.0.1: HTTP on the service port, transport on another free port."""

    distribution: Distribution
    url_var: str  # MLFLOW_TESTENV_<NAME>_URL

    def version(self) -> str:
        return os.environ.get(f"MLFLOW_TESTENV_{self.name.upper()}_VERSION", self.distribution.version)

    def dist(self) -> Distribution:
        return replace(self.distribution, version=self.version())

    def install(self) -> None:
        self.dist().home()

    def prepare(self, workdir: Path) -> None:
        home = self.dist().home()
        for sub in ("data", "logs", "tmp"):
            (workdir / sub).mkdir(exist_ok=True)
        config = workdir / "config"
        shutil.copytree(home / "config", config, dirs_exist_ok=True)
        logs = workdir / "logs"
        options = config / "jvm.options"
        text = options.read_text()
        # relative paths in jvm.options resolve against the launcher's working dir: point them here
        text = re.sub(r"-XX:ErrorFile=(?!/)(?:[^\s/]*/)*", f"-XX:ErrorFile={logs}/", text)
        text = re.sub(r"file=(?!/)(?:[^\s/:]*/)*gc\.log", f"file={logs}/gc.log", text)
        text = re.sub(r"-Xloggc:(?!/)\S*", f"-Xloggc:{logs}/gc.log", text)
        options.write_text(text)
        (config / "jvm.options.d").mkdir(exist_ok=True)
        # read after jvm.options, so these win over its heap size and heap-dump path (OpenSearch: `data`)
        (config / "jvm.options.d" / "testenv.options").write_text(
            f"-Xms{HEAP}\n-Xmx{HEAP}\n-XX:HeapDumpPath={logs}\n")
        if os.geteuid() == 0:
            give_to(RUN_AS, workdir)

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        d = self.dist()
        home = d.home()
        url = f"http://127.0.0.1:{port}"
        settings = [
            f"path.data={workdir / 'data'}", f"path.logs={workdir / 'logs'}", f"http.port={port}",
            f"transport.port={free_port()}", "network.host=127.0.0.1", "discovery.type=single-node",
            "cluster.routing.allocation.disk.threshold_enabled=false", "action.destructive_requires_name=false",
            *d.settings,
        ]
        cmd = [str(home / "bin" / d.launcher), "-p", str(workdir / "server.pid")]
        for s in settings:
            cmd += ["-E", s]
        cmd += args
        env = {
            f"{d.env_prefix}_JAVA_HOME": str(java_home(d.min_java)),
            f"{d.env_prefix}_PATH_CONF": str(workdir / "config"),
            f"{d.env_prefix}_TMPDIR": str(workdir / "tmp"),
            f"{d.env_prefix}_JAVA_OPTS": "",
        }
        user = RUN_AS if os.geteuid() == 0 else None
        exports = {self.url_var: url, f"MLFLOW_TESTENV_{self.name.upper()}_VERSION": d.version,
                   f"MLFLOW_TESTENV_{self.name.upper()}_PIDFILE": str(workdir / "server.pid")}
        return Launch(cmd=cmd, exports=exports, env=env, cwd=str(workdir), user=user, timeout=180,
                      health=lambda: _healthy(url),
                      stop_signal=signal.SIGTERM)


def _healthy(url: str) -> bool:
    """Up and its cluster at least yellow (there is no `GET /` on Elasticsearch's integ-test zip)."""
    import requests

    try:
        r = requests.get(f"{url}/_cluster/health", params={"wait_for_status": "yellow", "timeout": "1s"}, timeout=3)
    except requests.RequestException:
        return False
    return r.status_code == 200
