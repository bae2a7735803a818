"""The one HTTP server class our in-process test servers use."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LocalHTTPServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` with a listen backlog of 128 instead of socketserver's 5.

    With 5, a burst of concurrent clients on a busy machine (xdist workers, client threads holding
    the GIL so the accept loop runs late) overflows the accept queue and clients see connection
    resets or connect timeouts that have nothing to do with the code under test.
    """

    request_queue_size = 128
    daemon_threads = True
