"""A tiny stand-in for the model APIs, on 127.0.0.1.

Claude Code exits at start-up when it cannot reach its API. This server
answers just enough for it to stay at its prompt and to answer one message:
``HEAD /`` (and any GET) with 200, ``POST /v1/messages`` with a streamed
(``text/event-stream``) reply when the request asks for ``stream``, a plain
JSON message otherwise.

Gemini CLI (with ``GOOGLE_GEMINI_BASE_URL`` pointing here) only records a
session as resumable once a turn has a reply: ``POST .../models/<m>:
streamGenerateContent`` gets one SSE chunk, ``:generateContent`` a JSON
reply, ``:countTokens`` a count.

OpenAI-compatible clients (Pi's ``openai-completions`` provider, Qwen Code):
``POST /v1/chat/completions`` gets ``chat.completion.chunk`` SSE events
ending ``data: [DONE]`` when the request asks for ``stream``, a
``chat.completion`` object otherwise.

Standard library only; runs in a daemon thread.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY_TEXT = "stub reply"


def _message(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "msg_stub",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 2},
    }


def _sse(model: str, text: str) -> bytes:
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {**_message(model, ""), "content": [], "stop_reason": None},
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 2},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    out = b""
    for name, data in events:
        out += f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
    return out


def _gemini_reply(text: str) -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 2, "totalTokenCount": 3},
        "modelVersion": "gemini-stub",
    }


def _chat_completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }


def _chat_sse(model: str, text: str) -> bytes:
    """An OpenAI chat-completions stream: the role and the text, the finish
    (with the usage), then ``[DONE]``."""
    head = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    chunks: list[dict[str, Any]] = [
        {
            **head,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": text},
                    "finish_reason": None,
                }
            ],
        },
        {
            **head,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        },
    ]
    out = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return out + b"data: [DONE]\n\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeModelAPI.Server  # type: ignore[name-defined]

    def log_message(self, format: str, *args: Any) -> None:
        self.server.requests.append(f"{time.strftime('%H:%M:%S')} {self.command} {self.path}")

    def _empty(self, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self._empty()

    def do_GET(self) -> None:
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            req = {}
        if ":streamGenerateContent" in self.path:
            self._send(
                b"data: " + json.dumps(_gemini_reply(REPLY_TEXT)).encode() + b"\r\n\r\n",
                "text/event-stream",
            )
            return
        if ":generateContent" in self.path:
            self._send(json.dumps(_gemini_reply(REPLY_TEXT)).encode(), "application/json")
            return
        if ":countTokens" in self.path:
            self._send(json.dumps({"totalTokens": 1}).encode(), "application/json")
            return
        if self.path.split("?")[0].endswith("/chat/completions"):
            model = str(req.get("model") or "stub-model")
            if req.get("stream"):
                self._send(_chat_sse(model, REPLY_TEXT), "text/event-stream")
            else:
                self._send(
                    json.dumps(_chat_completion(model, REPLY_TEXT)).encode(), "application/json"
                )
            return
        if not self.path.startswith("/v1/messages"):
            self.do_GET()
            return
        model = str(req.get("model") or "claude-stub")
        if self.path.startswith("/v1/messages/count_tokens"):
            body = json.dumps({"input_tokens": 1}).encode()
            ctype = "application/json"
        elif req.get("stream"):
            body = _sse(model, REPLY_TEXT)
            ctype = "text/event-stream"
        else:
            body = json.dumps(_message(model, REPLY_TEXT)).encode()
            ctype = "application/json"
        self._send(body, ctype)

    def _send(self, body: bytes, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeModelAPI:
    """``with FakeModelAPI() as api: api.url`` -> ``http://127.0.0.1:<port>``."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        requests: list[str]

    def __init__(self, port: int = 0) -> None:
        self.httpd = self.Server(("127.0.0.1", port), _Handler)
        self.httpd.requests = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def start(self) -> FakeModelAPI:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> FakeModelAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":  # python fake_api.py [PORT] (the Molecule scenarios use it)
    with FakeModelAPI(int(sys.argv[1]) if len(sys.argv) > 1 else 0) as api:
        print(api.url, flush=True)
        seen = 0
        while True:
            time.sleep(0.5)
            for line in api.requests[seen:]:
                print(line, flush=True)
            seen = len(api.requests)
