"""Tiny HTTP backends for HAProxy: each answers GET / with its own name and /health with 200."""
from __future__ import annotations

import http.server
import threading

from .procs import free_port


class Web:
    """delay: seconds each answer takes. hang(): from then on it accepts requests and never answers,
    as a VM that died does (no reset, just silence)."""

    def __init__(self, name, delay=0.0):
        self.name = name
        self.port = free_port()
        self.hung = threading.Event()
        self.stopped = threading.Event()
        body = name.encode()
        web = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # pylint: disable=invalid-name
                if delay:
                    web.hung.wait(delay)
                if web.hung.is_set():
                    web.stopped.wait(3600)  # silence until the server stops
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # health checks and killed clients hang up mid-request: not an error here

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        self.thread.start()
        return self

    def hang(self):
        self.hung.set()

    def recover(self):
        """Answer again (requests caught while hung stay unanswered)."""
        self.hung.clear()

    def stop(self):
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()
