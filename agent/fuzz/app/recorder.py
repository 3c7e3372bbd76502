"""The fuzz suite's web server and function (standard library only).

`serve`: answers every request 200 with what it received, and records (method, path, marker
headers) in memory; `GET /private/__seen` (reachable through the gateway only with the token)
returns the record and clears it. Requests the suite sends without the agent's token carry
`x-fuzz-anon: 1`, so one recorded under /private is a request that reached the private endpoint
without the token; a path with SMUGGLED in it came from inside another request's body.

`echo`: a function endpoint that returns the request it was given (headers included), so the suite
can check what a handler sees.
"""
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_seen = []
_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A request whose body never comes must not hold a thread for ever.
    timeout = 30

    def log_message(self, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        # Python's own refusals (431 for 100+ headers, 414, 400) are the app's answers, not the
        # gateway's: marked so that the suite does not hold them to the gateway's error shape.
        self._app_error = True
        super().send_error(code, message, explain)

    def end_headers(self):
        self.send_header("x-served-by", "recorder")
        super().end_headers()

    def _answer(self):
        if self.path.startswith("/private/__seen"):
            with _lock:
                body = json.dumps(_seen).encode()
                _seen.clear()
        else:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            with _lock:
                _seen.append({"method": self.command, "path": self.path, "anon": self.headers.get("x-fuzz-anon"), "auth": self.headers.get("authorization")})
            body = json.dumps({"method": self.command, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = do_OPTIONS = _answer


class Server(ThreadingHTTPServer):
    # socketserver's default backlog is 5: a burst of connections from the gateway would wait on SYN
    # retries for seconds.
    request_queue_size = 1024


def serve(port):
    server = Server((os.environ["WARMPOOL_HOST"], port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def echo(request):
    return {"method": request["method"], "path": request["path"], "headers": request["headers"]}


def slow(seconds):
    time.sleep(seconds)
    return seconds
