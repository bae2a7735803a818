"""Runs one server process; stops it on SIGTERM/SIGINT or when a watched parent process dies.

`python -m mlflow_testenv.supervise [--parent-pid PID] [--stop-signal N] -- cmd ...`
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    parent = None
    stop_signal = signal.SIGTERM
    user = None
    while argv[:1] in (["--parent-pid"], ["--stop-signal"], ["--user"]):
        if argv[0] == "--parent-pid":
            parent = int(argv[1])
        elif argv[0] == "--user":
            user = argv[1]
        else:
            stop_signal = signal.Signals(int(argv[1]))
        argv = argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if user:
        import pwd

        pw = pwd.getpwnam(user)
        child = subprocess.Popen(argv, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                                 env={**os.environ, "HOME": pw.pw_dir, "USER": user})
    else:
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
        child.send_signal(stop_signal)
        try:
            child.wait(20)
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
