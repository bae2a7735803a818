"""Service model, process supervision and state for the test-environment launcher."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

STATE_HOME = Path(os.environ.get("MLFLOW_TESTENV_HOME", Path.home() / ".cache" / "mlflow-plugins" / "testenv"))
STATE_FILE = STATE_HOME / "state.json"
# Data dirs live under /tmp: servers that drop root (postgres, mariadb) must be able to reach them.
DATA_HOME = Path(os.environ.get("MLFLOW_TESTENV_DATA", Path(tempfile.gettempdir()) / "mlflow-testenv"))


class TestenvError(RuntimeError):
    """A service could not be installed or started; the message says why and what to do."""

    __test__ = False  # not a pytest class


@dataclass
class Launch:
    """How to run one instance of a service in `workdir` on `port`."""

    cmd: list[str]
    exports: dict[str, str]
    health: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    timeout: float = 60.0
    after_healthy: Callable[[], None] | None = None
    # The signal that stops the server promptly (postgres: SIGINT = fast shutdown; SIGTERM would
    # wait for pooled clients to disconnect, and a restart would then find its pid file).
    stop_signal: int = signal.SIGTERM
    # Run the server as this OS user (servers that refuse root); the supervisor drops privileges
    # itself so that stop signals reach the server directly (runuser would not forward them).
    user: str | None = None


class Service:
    """Subclass per server. `launch()` is called once per start (restarts reuse `workdir`)."""

    name: str = ""
    description: str = ""

    def install(self) -> None:
        """Make sure the server's binaries exist; install them (apt/pip) if missing."""

    def prepare(self, workdir: Path) -> None:
        """One-time setup of a fresh data dir (e.g. initdb); not run on restart."""

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        raise NotImplementedError


@dataclass
class Running:
    name: str
    pid: int  # the supervisor's pid (leader of its own process group)
    port: int
    workdir: str
    exports: dict[str, str]
    args: list[str] = field(default_factory=list)
    owned_workdir: bool = True
    recorded: bool = False
    owner: str = ""  # the checkout that started it (`tools/testenv up`): `down` stops only its own


    def stop(self, *, keep_data: bool = False, timeout: float = 20.0) -> None:
        _terminate(self.pid, timeout)
        if not keep_data and self.owned_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        _forget(self.pid)

    def restart(self) -> Running:
        """Stop and start again on the same data dir and port."""
        self.stop(keep_data=True)
        new = start_service(self.name, self.args, workdir=Path(self.workdir), port=self.port, record=self.recorded)
        new.owned_workdir = self.owned_workdir
        return new


def services() -> dict[str, Service]:
    import mlflow_testenv.services as pkg

    found: dict[str, Service] = {}
    for mod in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"{pkg.__name__}.{mod.name}")
        svc = getattr(module, "SERVICE", None)
        if isinstance(svc, Service):
            found[svc.name] = svc
    return found


def get_service(name: str) -> Service:
    all_services = services()
    if name not in all_services:
        raise TestenvError(f"unknown service {name!r}; known: {', '.join(sorted(all_services))}")
    return all_services[name]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Free for a server: one in TIME_WAIT counts as free (servers bind with SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_service(
    name: str,
    args: list[str] | None = None,
    *,
    workdir: Path | None = None,
    port: int | None = None,
    parent_pid: int | None = None,
    record: bool = False,
) -> Running:
    """Install if needed, start, wait until healthy. `parent_pid`: stop when that process dies.

    `record=True` (what `tools/testenv up` uses) lists the server in the state file, so
    `tools/testenv status/down` see it; servers started by tests are not listed and `down`
    never touches them.
    """
    svc = get_service(name)
    args = list(args or [])
    svc.install()
    fresh = workdir is None
    if workdir is None:
        DATA_HOME.mkdir(parents=True, exist_ok=True)
        DATA_HOME.chmod(0o755)
        workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=DATA_HOME))
        workdir.chmod(0o755)
    workdir.mkdir(parents=True, exist_ok=True)
    if fresh:
        svc.prepare(workdir)
    if port is None:
        port = free_port()
    elif not port_is_free(port):
        raise TestenvError(f"{name}: port {port} on 127.0.0.1 is already in use")
    launch = svc.launch(workdir, port, args)
    log_path = workdir / "server.log"
    sup_cmd = [sys.executable, "-m", "mlflow_testenv.supervise"]
    if parent_pid:
        sup_cmd += ["--parent-pid", str(parent_pid)]
    sup_cmd += ["--stop-signal", str(int(launch.stop_signal))]
    if launch.user:
        sup_cmd += ["--user", launch.user]
    sup_cmd += ["--", *launch.cmd]
    env = {**os.environ, **launch.env}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            sup_cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=launch.cwd or str(workdir), env=env, start_new_session=True,
        )
    deadline = time.monotonic() + launch.timeout
    while True:
        if proc.poll() is not None:
            raise TestenvError(f"{name} exited with code {proc.returncode} while starting. Log tail:\n{_tail(log_path)}")
        try:
            if launch.health():
                break
        except Exception:  # noqa: S110 - not up yet; the deadline below reports the log
            pass
        if time.monotonic() > deadline:
            _terminate(proc.pid, 10)
            raise TestenvError(f"{name} was not healthy after {launch.timeout:.0f}s. Log tail:\n{_tail(log_path)}")
        time.sleep(0.1)
    if launch.after_healthy:
        try:
            launch.after_healthy()
        except Exception as e:
            _terminate(proc.pid, 10)
            raise TestenvError(f"{name}: setup after start failed: {e}\nLog tail:\n{_tail(log_path)}") from e
    exports = {**launch.exports, f"MLFLOW_TESTENV_{name.upper().replace('-', '_')}_LOG": str(log_path)}
    running_ = Running(name, proc.pid, port, str(workdir), exports, args, recorded=record, owner=current_owner())
    if record:
        _remember(running_)
    return running_


@contextlib.contextmanager
def running(name: str, args: list[str] | None = None) -> Iterator[dict[str, str]]:
    r = start_service(name, args, parent_pid=os.getpid())
    try:
        yield r.exports
    finally:
        r.stop()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as dead
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM the supervisor's group (it stops its server), then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


# ---- state of servers started by `tools/testenv up` (and by fixtures, for `status`/`down`)

def _load_state() -> list[dict]:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return []


def _save_state(entries: list[dict]) -> None:
    STATE_HOME.mkdir(parents=True, exist_ok=True)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=1))
    tmp.replace(STATE_FILE)


def _locked_state():
    from filelock import FileLock

    STATE_HOME.mkdir(parents=True, exist_ok=True)
    return FileLock(str(STATE_FILE) + ".lock")


def _remember(r: Running) -> None:
    with _locked_state():
        entries = [e for e in _load_state() if _alive(e["pid"])]
        entries.append(r.__dict__)
        _save_state(entries)


def _forget(pid: int) -> None:
    with _locked_state():
        _save_state([e for e in _load_state() if e["pid"] != pid and _alive(e["pid"])])


def current_owner() -> str:
    """Who is starting servers: the checkout `tools/testenv` runs from (MLFLOW_TESTENV_OWNER), else the cwd."""
    return os.environ.get("MLFLOW_TESTENV_OWNER") or os.getcwd()


def recorded(owner: str | None = None) -> list[Running]:
    """The recorded servers that are alive: `owner`'s only, or every checkout's when it is None."""
    with _locked_state():
        entries = _load_state()
        alive = [e for e in entries if _alive(e["pid"])]
        if len(alive) != len(entries):
            _save_state(alive)
    known = set(Running.__dataclass_fields__)
    runs = [Running(**{k: v for k, v in e.items() if k in known}) for e in alive]
    return [r for r in runs if owner is None or r.owner == owner]
