"""bearer-file: the token lives in a file that something else rotates (Kubernetes, Vault agent)."""

from __future__ import annotations

import logging
import os
import threading

from mlflow_auth_oauth2.setting_errors import setting_error
from mlflow_auth_oauth2.settings import TOKEN_FILE

_logger = logging.getLogger(__name__)


class TokenFile:
    """Re-reads the file when its inode, size or mtime change (a `stat` per request, no read).

    Kubernetes swaps projected tokens with a symlink rename; `os.stat` follows the link, so a
    new inode is seen at once.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._token = ""

    def token(self) -> str:
        try:
            st = os.stat(self.path)
        except OSError as e:
            raise setting_error(TOKEN_FILE.env, f"cannot read token file {self.path!r}: {e.strerror or e}") from None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp == self._stamp:
            return self._token
        with self._lock:
            if stamp != self._stamp:
                self._token = self._read()
                self._stamp = stamp
                _logger.debug("bearer-file: (re)read token from %s", self.path)
            return self._token

    def _read(self) -> str:
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read().strip()
        except (OSError, UnicodeDecodeError) as e:
            reason = getattr(e, "strerror", None) or type(e).__name__
            raise setting_error(TOKEN_FILE.env, f"cannot read token file {self.path!r}: {reason}") from None
        if text.lower().startswith("bearer "):
            text = text[7:].strip()
        if not text:
            raise setting_error(TOKEN_FILE.env, f"token file {self.path!r} is empty")
        if any(c.isspace() for c in text) or not text.isprintable():
            raise setting_error(TOKEN_FILE.env, f"token file {self.path!r} holds more than one token "
                               "(whitespace or control characters inside)")
        return text

    def invalidate(self, rejected: str) -> None:
        with self._lock:
            if self._token == rejected:
                self._stamp = None  # read the file again on the next request

    def __repr__(self) -> str:
        return f"TokenFile({self.path!r})"
