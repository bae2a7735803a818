"""A real JWKS endpoint for the tests: serves <dir>/jwks.json (re-read per request) and /hits.

Run as `python jwks_server.py <dir> <port-file> [--parent-pid N]`; exits when the parent dies.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from mlflow_testenv.http_server import LocalHTTPServer

HITS = 0


def main() -> None:
    root = Path(sys.argv[1])
    port_file = Path(sys.argv[2])
    parent = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--parent-pid" else None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            global HITS
            if self.path == "/jwks.json":
                HITS += 1
                body = (root / "jwks.json").read_bytes()
            elif self.path == "/hits":
                body = str(HITS).encode()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = LocalHTTPServer(("127.0.0.1", 0), Handler)
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.rename(port_file)

    def watch() -> None:
        while parent is not None:
            try:
                os.kill(parent, 0)
            except OSError:
                os._exit(0)
            time.sleep(1)
    threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
