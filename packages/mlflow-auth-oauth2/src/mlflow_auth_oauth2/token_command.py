"""bearer-command: run a command that prints a token (like kubectl exec credential plugins)."""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlflow.protos.databricks_pb2 import UNAUTHENTICATED

from mlflow_auth_oauth2.command_output import redacted_excerpt
from mlflow_auth_oauth2.jwt_expiry import seconds_until_jwt_expiry
from mlflow_auth_oauth2.setting_errors import setting_error
from mlflow_auth_oauth2.settings import COMMAND_TIMEOUT, TOKEN_COMMAND
from mlflow_auth_oauth2.token_cache import IssuedToken

_logger = logging.getLogger(__name__)
_MAX_OUTPUT = 1 << 20


@dataclass(frozen=True)
class TokenCommand:
    argv: tuple[str, ...]
    timeout: float
    ttl: float

    @classmethod
    def parse(cls, command: str, timeout: float, ttl: float) -> TokenCommand:
        try:
            argv = tuple(shlex.split(command))
        except ValueError as e:
            raise setting_error(TOKEN_COMMAND.env, f"cannot split the command line: {e}") from None
        if not argv:
            raise setting_error(TOKEN_COMMAND.env, "is empty")
        return cls(argv, timeout, ttl)

    def __repr__(self) -> str:
        return f"TokenCommand({self.argv[0]!r}, timeout={self.timeout}, ttl={self.ttl})"

    def run(self) -> IssuedToken:
        name = self.argv[0]
        try:
            done = subprocess.run(self.argv, capture_output=True, timeout=self.timeout, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise setting_error(TOKEN_COMMAND.env, f"command {name!r} not found") from None
        except PermissionError:
            raise setting_error(TOKEN_COMMAND.env, f"command {name!r} is not executable") from None
        except subprocess.TimeoutExpired:
            raise setting_error(COMMAND_TIMEOUT.env, f"command {name!r} did not finish within {self.timeout}s") from None
        except OSError as e:
            raise setting_error(TOKEN_COMMAND.env, f"cannot run {name!r}: {e.strerror or e}") from None
        out = done.stdout[:_MAX_OUTPUT].decode("utf-8", "replace").strip()
        if done.returncode != 0:
            # never the output itself: it may hold the token (stdout) or echo it (stderr)
            err = redacted_excerpt(done.stderr, out)
            raise setting_error(TOKEN_COMMAND.env, f"command {name!r} exited with code {done.returncode}"
                                + (f"; its stderr ends (redacted): {err}" if err else ""), out,
                                code=UNAUTHENTICATED)
        _logger.debug("bearer-command: %r printed %d bytes", name, len(out))
        return self._parse(out, name)

    def _parse(self, out: str, name: str) -> IssuedToken:
        if not out:
            raise setting_error(TOKEN_COMMAND.env, f"command {name!r} printed nothing")
        token, stated = out, None
        if out.startswith("{"):
            try:
                doc = json.loads(out)
            except ValueError:
                raise setting_error(TOKEN_COMMAND.env, f"command {name!r} printed invalid JSON") from None
            token, stated = _from_json(doc)
            if not token:
                raise setting_error(TOKEN_COMMAND.env, f"command {name!r} printed JSON without a token "
                                   "(expected `token`, `access_token` or ExecCredential `status.token`)")
        elif any(c.isspace() for c in out):
            raise setting_error(TOKEN_COMMAND.env, f"command {name!r} printed more than one line/word; "
                               "print only the token, or JSON")
        if stated is None:
            stated = seconds_until_jwt_expiry(token)
        lifetime = stated if stated is not None else self.ttl
        if lifetime <= 0 and stated is not None:
            raise setting_error(TOKEN_COMMAND.env, f"command {name!r} printed an already expired token",
                                code=UNAUTHENTICATED)
        return IssuedToken(token, max(lifetime, 0.0))


def _from_json(doc: Any) -> tuple[str, float | None]:
    if not isinstance(doc, dict):
        return "", None
    status = doc.get("status") if doc.get("kind") == "ExecCredential" else doc
    if not isinstance(status, dict):
        return "", None
    token = status.get("token") or status.get("access_token") or ""
    if "expires_in" in status:
        try:
            return str(token), float(status["expires_in"])
        except (TypeError, ValueError):
            pass
    for key in ("expirationTimestamp", "expires_at", "expiry", "expiration"):
        value = status.get(key)
        if isinstance(value, (int, float)):
            return str(token), float(value) - time.time()
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return str(token), when.timestamp() - time.time()
    return str(token), None
