"""Every route the running server exposes (Flask url_map + FastAPI routes) and its table row."""

from __future__ import annotations

import re
from typing import Any

from mlflow_app_rbac import paths, routes

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>|\{(\w+)(?::(\w+))?\}")


def _sample(rule: str) -> str:
    def repl(m: re.Match[str]) -> str:
        conv = m.group(1) or m.group(4)
        return "1/x/y" if conv == "path" else "x1"
    return _CONVERTER.sub(repl, rule)


def flask_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for r in app.url_map.iter_rules():
        for m in sorted((r.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((m, r.rule))
    return out


def fastapi_routes(app: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def walk(rs: Any, prefix: str) -> None:
        for r in rs:
            if hasattr(r, "original_router"):  # FastAPI >= 0.16x keeps included routers
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif hasattr(r, "methods") and getattr(r, "path", None) is not None:
                for m in sorted((r.methods or {"GET"}) - {"HEAD", "OPTIONS"}):
                    out.append((m, prefix + r.path))
            elif getattr(r, "path", "") and hasattr(r, "routes") and r.routes:
                walk(r.routes, prefix + r.path)
    walk(app.routes, "")
    return out


def inventory(flask_app: Any, static_prefix: str, fastapi_app: Any = None) -> list[dict[str, Any]]:
    if fastapi_app is None:
        from mlflow_app_rbac.app import current_fastapi_app

        fastapi_app = current_fastapi_app()
    pairs = [("flask", m, p) for m, p in flask_routes(flask_app)]
    if fastapi_app is not None:
        pairs += [("fastapi", m, p) for m, p in fastapi_routes(fastapi_app)]
    rows = []
    for source, method, rule in pairs:
        sample = _sample(rule)
        try:
            found = routes.match(method, paths.canonical(sample, static_prefix))
        except paths.BadPath:
            found = None
        rows.append({"source": source, "method": method, "rule": rule, "sample": sample,
                     "check": found[0].check if found else None,
                     "permission": found[0].permission.name if found else None,
                     "table_row": found[0].name if found else None})
    return rows
