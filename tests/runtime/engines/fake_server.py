"""A small OpenAI-compatible chat-completions server of the tests' own, on 127.0.0.1.

Each request takes the next scripted reply (the last one repeats): ``("json", body)``,
``("status", code, text)``, ``("raw", text)`` or ``("sleep", seconds)``; the bodies
and headers received are kept for the tests to read.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def chat_reply(content, logprobs=None, prompt_tokens=50):
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    return {"id": "x", "object": "chat.completion", "choices": [choice], "usage": {"prompt_tokens": prompt_tokens}}


class FakeServer:
    def __init__(self, replies):
        self.replies = list(replies)
        self.bodies, self.headers = [], []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                server.bodies.append(json.loads(self.rfile.read(length)))
                server.headers.append(dict(self.headers))
                reply = server.next_reply(server.bodies[-1])
                if reply[0] == "sleep":
                    time.sleep(reply[1])
                    reply = ("json", chat_reply("[0]"))
                if reply[0] == "status":
                    self._send(reply[1], reply[2].encode())
                elif reply[0] == "raw":
                    self._send(200, reply[1].encode())
                else:
                    self._send(200, json.dumps(reply[1]).encode())

            def _send(self, code, data):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def next_reply(self, body):
        reply = self.replies[0] if len(self.replies) == 1 else self.replies.pop(0)
        return reply(body) if callable(reply) else reply

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
