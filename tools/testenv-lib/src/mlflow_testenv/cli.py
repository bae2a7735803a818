"""`tools/testenv up <service> [options] ... | down [service...] | status | list`."""

from __future__ import annotations

import shlex
import sys

from mlflow_testenv.core import TestenvError, current_owner, get_service, recorded, services, start_service

USAGE = """usage: tools/testenv up <service> [--option ...] [<service> ...]
       tools/testenv install <service> [<service> ...]
       tools/testenv down [--all] [<service> ...]
       tools/testenv status [--all]
       tools/testenv list

`up` starts each service on 127.0.0.1 (free port), waits until it is healthy and prints
`export NAME=value` lines: eval "$(tools/testenv up es postgres)".
`install` fetches what the services need (apt, pip, Maven, Go) without starting them.
Options after a service name go to that service (e.g. `up mlflow --app-name rbac`).
`down` and `status` concern the servers this checkout started; `--all`: every checkout's.
"""


def _split(args: list[str], known: set[str]) -> list[tuple[str, list[str]]]:
    """`es postgres mlflow --app-name rbac` -> [(es, []), (postgres, []), (mlflow, [--app-name, rbac])].

    A service name right after `--option` (without `=`) is that option's value, not a new service.
    """
    groups: list[tuple[str, list[str]]] = []
    for a in args:
        last_opt = groups[-1][1][-1] if groups and groups[-1][1] else ""
        awaits_value = last_opt.startswith("--") and "=" not in last_opt
        if a in known and not awaits_value:
            groups.append((a, []))
        elif groups:
            groups[-1][1].append(a)
        else:
            raise TestenvError(f"unknown service {a!r}; known: {', '.join(sorted(known))}")
    return groups


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    try:
        if cmd == "list":
            for name, svc in sorted(services().items()):
                print(f"{name:12} {svc.description}")
            return 0
        if cmd == "install":
            for name in rest:
                get_service(name).install()
                print(f"# {name}: installed", file=sys.stderr)
            return 0
        if cmd == "up":
            if not rest:
                raise TestenvError("name at least one service: " + ", ".join(sorted(services())))
            started = []
            try:
                for name, opts in _split(rest, set(services())):
                    print(f"# starting {name} ...", file=sys.stderr)
                    started.append(start_service(name, opts, record=True))
            except BaseException:
                for r in started:
                    r.stop()
                raise
            for r in started:
                print(f"# {r.name}: pid {r.pid}, port {r.port}, data {r.workdir}")
                for k, v in r.exports.items():
                    print(f"export {k}={shlex.quote(v)}")
            return 0
        everyone = "--all" in rest
        rest = [a for a in rest if a != "--all"] if cmd in ("down", "status") else rest
        owner = None if everyone else current_owner()
        if cmd == "down":
            targets = [r for r in recorded(owner) if not rest or r.name in rest]
            for r in targets:
                r.stop()
                print(f"# stopped {r.name} (pid {r.pid})", file=sys.stderr)
            if not targets:
                others = len(recorded()) if owner is not None else 0
                print("# nothing to stop" + (f" ({others} server(s) of other checkouts: down --all stops them)"
                                             if others else ""), file=sys.stderr)
            return 0
        if cmd == "status":
            rs = recorded(owner)
            if not rs:
                print("nothing running")
            for r in rs:
                urls = " ".join(f"{k}={v}" for k, v in r.exports.items() if k.endswith("_URL"))
                print(f"{r.name:12} pid {r.pid:<7} port {r.port:<6} {urls}" + (f"  (from {r.owner})" if everyone else ""))
            return 0
        raise TestenvError(f"unknown command {cmd!r}\n{USAGE}")
    except TestenvError as e:
        print(f"testenv: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
