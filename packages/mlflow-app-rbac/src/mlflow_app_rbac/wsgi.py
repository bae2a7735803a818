"""WSGI adapter (`--gunicorn-opts` / `--waitress-opts`, and MLflow before 3.3).

`Allow.asgi_state` is not passed on here: it is for MLflow's FastAPI routes (the Skills registry),
which a WSGI server does not serve."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from mlflow_app_rbac.gate import Allow, Denial, Gate, Pending, Request

_STATUS_TEXT = {400: "400 Bad Request", 401: "401 Unauthorized", 403: "403 Forbidden", 200: "200 OK",
                503: "503 Service Unavailable"}


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    out = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    return out


class RbacWSGI:
    def __init__(self, app: Any, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        raw_path = raw_uri.split("?", 1)[0] if raw_uri else quote(path, safe="/:@!$&'()*+,;=-._~")
        req = Request(environ.get("REQUEST_METHOD", "GET").upper(), path, raw_path,
                      environ.get("QUERY_STRING", ""), _headers(environ))
        pending = self.gate.begin(req)
        if isinstance(pending, Denial):
            return self._simple(start_response, pending.status, pending.body(), pending.headers)
        body: bytes | None = None
        if pending.rule.needs_body:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            body = environ["wsgi.input"].read(length) if length > 0 else environ["wsgi.input"].read()
        decision = self.gate.authorize(pending, body)
        if isinstance(decision, Denial):
            return self._simple(start_response, decision.status, decision.body(), decision.headers)
        if decision.respond is not None:
            self.gate.finish(pending, decision.respond[0], decision.resource)
            return self._simple(start_response, *decision.respond)
        if decision.pages is not None:
            return self._paged(environ, start_response, pending, decision)
        if decision.new_query is not None:
            environ["QUERY_STRING"] = decision.new_query
        if body is not None:
            payload = decision.new_body if decision.new_body is not None else body
            environ["wsgi.input"] = io.BytesIO(payload)
            environ["CONTENT_LENGTH"] = str(len(payload))
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            if decision.after is None:
                return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)
            return lambda _data: None
        try:
            result = self.app(environ, capture)
            if decision.after is None:
                return result
            try:
                original = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            status = int(captured["status"].split(" ", 1)[0])
            replaced = decision.after(status, original)
            out = original if replaced is None else replaced
            headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
            start_response(captured["status"], headers + [("Content-Length", str(len(out)))])
            return [out]
        finally:
            status_code = int(str(captured.get("status", "500")).split(" ", 1)[0])
            self.gate.finish(pending, status_code, decision.resource)

    def _paged(self, environ: dict[str, Any], start_response: Any, pending: Pending, decision: Allow) -> list[bytes]:
        """Call MLflow in-process until the page is full (see search_paging)."""
        pages = decision.pages
        assert pages is not None
        step: Any = pages.first()
        status, headers = "500 Internal Server Error", []
        try:
            while not isinstance(step, bytes):
                inner = dict(environ)
                if step.query is not None:
                    inner["QUERY_STRING"] = step.query
                payload = step.body or b""
                inner["wsgi.input"], inner["CONTENT_LENGTH"] = io.BytesIO(payload), str(len(payload))
                captured: dict[str, Any] = {}
                result = self.app(inner, _capture_into(captured))
                try:
                    answer = b"".join(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
                status, headers = captured.get("status", status), captured.get("headers", [])
                step = pages.feed(int(status.split(" ", 1)[0]), answer)
            out = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, out + [("Content-Length", str(len(step)))])
            return [step]
        finally:
            self.gate.finish(pending, int(str(status).split(" ", 1)[0]), decision.resource)

    @staticmethod
    def _simple(start_response: Any, status: int, body: bytes, extra: list[tuple[str, str]] = ()) -> list[bytes]:  # type: ignore[assignment]
        start_response(_STATUS_TEXT.get(status, f"{status} Error"),
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra])
        return [body]


def _capture_into(captured: dict[str, Any]) -> Any:
    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None
    return capture
