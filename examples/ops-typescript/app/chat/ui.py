"""The chat UI (`chat.ui:serve`, behind the webServer endpoint chat-ui): serves HTTP itself."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ._env import container, fingerprint


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({
            "path": self.path,
            "host": self.headers.get("host"),
            "forwardedFor": self.headers.get("x-forwarded-for"),
            "authorization": self.headers.get("authorization"),
            "container": container(),
            "hfToken": fingerprint("HF_TOKEN"),
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(port):
    ThreadingHTTPServer((os.environ["WARMPOOL_HOST"], port), _Handler).serve_forever()
