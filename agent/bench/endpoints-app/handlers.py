"""Handlers of the endpoint benchmark (agent/bench/endpoints.mjs)."""
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'{"ok":true}'


def hello(request):
    """Function endpoint: a small JSON answer."""
    return {"ok": True}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without TCP_NODELAY, Nagle + delayed ACK stall each answer ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("content-length", "0"))
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_GET = _answer
    do_POST = _answer


def serve(port):
    """Web-server endpoint: the standard library's threading HTTP server."""
    server = ThreadingHTTPServer((os.environ["WARMPOOL_HOST"], port), _Handler)
    server.daemon_threads = True
    server.serve_forever()
