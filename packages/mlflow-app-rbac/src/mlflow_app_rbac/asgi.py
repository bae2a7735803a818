"""ASGI adapter (uvicorn, the default server since MLflow 3.3): wraps the whole FastAPI app,
so native FastAPI routes (artifact streaming, OTLP, gateway, jobs...) and the mounted Flask app
pass the same gate."""

from __future__ import annotations

from typing import Any

import anyio

from mlflow_app_rbac.gate import Allow, Denial, Gate, Pending, Request

Scope = dict[str, Any]


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in scope.get("headers", []):
        name, value = k.decode("latin-1").lower(), v.decode("latin-1")
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


async def _send_simple(send: Any, status: int, body: bytes, extra: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RbacASGI:
    def __init__(self, app: Any, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websocket routes are exposed through rbac
            await send({"type": "websocket.close", "code": 1008})
            return
        raw = scope.get("raw_path")
        req = Request(
            method=scope["method"].upper(), path=scope["path"],
            raw_path=raw.decode("latin-1").split("?", 1)[0] if raw else scope["path"],
            query_string=scope.get("query_string", b"").decode("latin-1"), headers=_headers(scope),
        )
        body: bytes | None = None
        if self.gate.needs_body(req):
            chunks = []
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
        outcome = await anyio.to_thread.run_sync(self.gate.decide, req, body)
        if isinstance(outcome, Denial):
            await _send_simple(send, outcome.status, outcome.body(), outcome.headers)
            return
        pending, decision = outcome
        if decision.respond is not None:
            await _send_simple(send, *decision.respond)
            await self._finish(pending, decision.respond[0], decision)
            return
        if decision.pages is not None:
            await self._paged(scope, send, pending, decision)
            return
        await self._forward(scope, receive, send, pending, decision, body)

    async def _call_buffered(self, scope: Scope, query: str | None, body: bytes | None) -> tuple[dict[str, Any], bytes]:
        """One in-process call of the wrapped app (its middleware included), answer buffered."""
        payload = body or b""
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        inner = {**scope, "headers": headers + [(b"content-length", str(len(payload)).encode())]}
        if query is not None:
            inner["query_string"] = query.encode("latin-1")
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            await anyio.sleep_forever()  # no disconnect from an in-process call
            return {}  # pragma: no cover
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def collect(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
        await self.app(inner, receive, collect)
        return start, b"".join(parts)

    async def _paged(self, scope: Scope, send: Any, pending: Pending, decision: Allow) -> None:
        pages = decision.pages
        assert pages is not None
        step: Any = pages.first()
        start: dict[str, Any] = {}
        while not isinstance(step, bytes):
            start, answer = await self._call_buffered(scope, step.query, step.body)
            step = await anyio.to_thread.run_sync(pages.feed, start.get("status", 500), answer)
        status = start.get("status", 500)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(step)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": step})

    async def _finish(self, pending: Pending, status: int, decision: Allow) -> None:
        if pending.rule.mutates or pending.rule.check == "admin":
            await anyio.to_thread.run_sync(self.gate.finish, pending, status, decision.resource)

    async def _forward(self, scope: Scope, receive: Any, send: Any, pending: Pending, decision: Allow,
                       body: bytes | None) -> None:
        if decision.new_query is not None:
            scope = {**scope, "query_string": decision.new_query.encode("latin-1")}
        if decision.asgi_state:
            scope = {**scope, "state": {**(scope.get("state") or {}), **decision.asgi_state}}
        if body is not None:
            payload = decision.new_body if decision.new_body is not None else body
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
            scope = {**scope, "headers": headers + [(b"content-length", str(len(payload)).encode())]}
            sent = False

            async def receive_replay() -> dict[str, Any]:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": payload, "more_body": False}
                return await receive()
            inner_receive = receive_replay
        else:
            inner_receive = receive
        status_box = {"status": 500}
        if decision.after is None:
            async def send_through(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status_box["status"] = message["status"]
                await send(message)
            try:
                await self.app(scope, inner_receive, send_through)
            finally:
                await self._finish(pending, status_box["status"], decision)
            return
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def send_buffered(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
        try:
            await self.app(scope, inner_receive, send_buffered)
            status = start.get("status", 500)
            status_box["status"] = status
            original = b"".join(parts)
            replaced = await anyio.to_thread.run_sync(decision.after, status, original)
            out = original if replaced is None else replaced
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(out)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": out})
        finally:
            await self._finish(pending, status_box["status"], decision)
