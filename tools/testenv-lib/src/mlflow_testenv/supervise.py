"""Runs one server process; stops it on SIGTERM/SIGINT or when a watched parent process dies.

`python -m mlflow_testenv.supervise [--parent-pid PID] -- cmd ...`
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    parent = None
    if argv[:1] == ["--parent-pid"]:
        parent = int(argv[1])
        argv = argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    child = subprocess.Popen(argv)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while child.poll() is None:
        if parent is not None:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                stopping = True
        if stopping:
            break
        time.sleep(0.2)
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    # Servers that fork (postgres, mariadbd) leave nothing: kill our whole process group.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(os.getpgid(0), signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    return child.returncode or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
