"""A loopback OpenAI-compatible provider for the gateway tests (standard library only).

POST /v1/chat/completions answers with the text "echo: <last user message>" (or, when
the requested upstream model is "fail-500", an HTTP 500). With "stream": true it sends
the answer word by word as server-sent events, then "data: [DONE]".
"""
import collections
import http.server
import json
import socket
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm
        # and delayed ACKs add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.server.lock:
            self.server.count += 1
            self.server.requests.append({"path": self.path, "body": body,
                                         "authorization": self.headers.get("Authorization")})
        if body.get("model") == "fail-500":
            self._send(500, "application/json", json.dumps({"error": {"message": "boom"}}).encode())
            return
        text = "echo: " + body["messages"][-1]["content"]
        usage = {"prompt_tokens": 5, "completion_tokens": len(text.split()), "total_tokens": 5 + len(text.split())}
        if not body.get("stream"):
            resp = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}], "usage": usage}
            self._send(200, "application/json", json.dumps(resp).encode())
            return
        events = []
        words = text.split(" ")
        for k, word in enumerate(words):
            delta = {"content": word if k == 0 else " " + word}
            if k == 0:
                delta["role"] = "assistant"
            events.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                           "model": body["model"], "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        events.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": body["model"],
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage})
        payload = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
        self._send(200, "text/event-stream", payload)

    def _send(self, status, ctype, payload):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FakeProvider:
    """Serves on 127.0.0.1 on a free port in a background thread; use as a context manager."""

    def __enter__(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        # The last requests (bounded, so that leak tests measure the library, not this
        # list) and how many arrived.
        self.server.requests = collections.deque(maxlen=16)
        self.server.count = 0
        self.server.lock = threading.Lock()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = "http://127.0.0.1:%d/v1" % self.server.server_address[1]
        return self

    @property
    def requests(self):
        return self.server.requests

    @property
    def count(self):
        return self.server.count

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
