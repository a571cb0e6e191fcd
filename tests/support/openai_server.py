"""A local OpenAI-compatible chat-completions server with scripted answers.

It lets the LLM path be exercised end to end through litellm with no network and no
keys: good diffs derived from the prompt's code, malformed replies, 429 with
Retry-After, 500s and replies slower than the client's timeout. Each request is logged
so tests can assert what the client sent and how often it retried. Its ``/embeddings``
route turns each text into hashed token counts, so near-copies embed close together.

Used in-process by the tests (``ScriptedOpenAIServer``) and as a script by the
benchmarks: ``python tests/support/openai_server.py --port 8011 --latency 1 --mode valid-diff``.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("valid", "valid-diff", "valid-rewrite", "malformed", "rate-limit", "server-error", "slow")

_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])")  # whole literals, exponents too


@dataclass
class Reply:
    """One scripted answer: a completion, or an HTTP error, optionally after a delay."""

    content: str | None = None
    status: int = 200
    retry_after: float | None = None
    delay_s: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass
class LoggedRequest:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]  # names lower-cased
    at: float
    answered_status: int = 0

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))


@dataclass
class ServerState:
    mode: str = "valid"
    latency_s: float = 0.0
    slow_s: float = 30.0
    retry_after_s: float = 1.0
    completion_tokens: int | None = None  # usage reported for every answer; None: about 4 characters a token
    script: deque[Reply] = field(default_factory=deque)
    log: list[LoggedRequest] = field(default_factory=list)
    counter: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _prompt_code(messages: list[dict[str, Any]]) -> str | None:
    """The program the newest user turn is about: its first fenced block (the parent, in the templates)."""
    users = [m for m in messages if m.get("role") == "user"] or messages
    for message in reversed(users):
        blocks = _FENCE.findall(str(message.get("content") or ""))
        marked = [b for b in blocks if "EVOLVE-BLOCK-START" in b]
        if marked or blocks:
            return (marked or blocks)[0]
    return None


def _region_lines(code: str) -> list[list[str]]:
    regions: list[list[str]] = []
    current: list[str] | None = None
    for line in code.splitlines(keepends=True):
        if "EVOLVE-BLOCK-START" in line:
            current = []
        elif "EVOLVE-BLOCK-END" in line and current is not None:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return regions or [code.splitlines(keepends=True)]


def _bump(line: str, step: int) -> str | None:
    """The line with its last numeric constant changed, or None when it has none."""
    if line.lstrip().startswith("#"):
        return None
    matches = list(_NUMBER.finditer(line))
    if not matches:
        return None
    last = matches[-1]
    text = last.group(1)
    value = float(text) * (1.0 + 0.05 * step) + 0.5 * step
    new = f"{value:.4g}" if "." in text or value != int(value) else str(int(value))
    if new == text:
        new = text + "1" if "." in text else str(int(text) + step)
    return line[: last.start()] + new + line[last.end() :]


def _edit_target(code: str, step: int) -> tuple[int, int, str] | None:
    """(region, line index, new line) of a line with a constant that occurs once in the program."""
    all_lines = code.splitlines(keepends=True)
    for r, lines in enumerate(_region_lines(code)):
        for i, line in enumerate(lines):
            if all_lines.count(line) != 1:
                continue
            new = _bump(line, step)
            if new is not None:
                return r, i, new
    return None


def valid_diff(messages: list[dict[str, Any]], step: int) -> str:
    code = _prompt_code(messages)
    target = _edit_target(code, step) if code else None
    if target is None:
        return "I could not find a constant to change."
    r, i, new = target
    old = _region_lines(code)[r][i]
    return (
        "Changing one constant.\n<<<<<<< SEARCH\n"
        f"{old}=======\n{new}>>>>>>> REPLACE\n"
    )


def valid_rewrite(messages: list[dict[str, Any]], step: int) -> str:
    code = _prompt_code(messages)
    if code is None:
        return "There is no code to rewrite."
    regions = _region_lines(code)
    target = _edit_target(code, step)
    if target is not None:
        r, i, new = target
        regions[r][i] = new
    return "\n".join(f"```python\n{''.join(lines)}```" for lines in regions) + "\n"


def _asks_for_diff(messages: list[dict[str, Any]]) -> bool:
    users = [m for m in messages if m.get("role") == "user"]
    return bool(users) and "<<<<<<< SEARCH" in str(users[-1].get("content") or "")


def scripted_reply(state: ServerState, messages: list[dict[str, Any]]) -> Reply:
    with state.lock:
        if state.script:
            return state.script.popleft()
        state.counter += 1
        step = state.counter
    mode = state.mode
    if mode == "valid":
        mode = "valid-diff" if _asks_for_diff(messages) else "valid-rewrite"
    if mode == "valid-diff":
        return Reply(valid_diff(messages, step))
    if mode == "valid-rewrite":
        return Reply(valid_rewrite(messages, step))
    if mode == "malformed":
        return Reply("<<<<<<< SEARCH\nsomething\n(no divider and no end marker)\n")
    if mode == "rate-limit":
        return Reply(status=429, retry_after=state.retry_after_s)
    if mode == "server-error":
        return Reply(status=500)
    if mode == "slow":
        return Reply(valid_diff(messages, step), delay_s=state.slow_s)
    raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")


EMBEDDING_DIMENSIONS = 64


def embedding_payload(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's /embeddings answer: one vector of hashed whitespace-token counts per input."""
    texts = body.get("input", [])
    texts = texts if isinstance(texts, list) else [texts]
    data = []
    for i, text in enumerate(texts):
        vector = [0.0] * EMBEDDING_DIMENSIONS
        for token in str(text).split():
            vector[sum(token.encode()) % EMBEDDING_DIMENSIONS] += 1.0
        data.append({"object": "embedding", "index": i, "embedding": vector})
    tokens = sum(len(str(t).split()) for t in texts)
    return {"object": "list", "data": data, "model": body.get("model", "test-embedding"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's
            # algorithm and the client's delayed ACK add about 40 ms to every answer.
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the log list is the record
            return

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
                return
            entry = LoggedRequest(self.path, body, {k.lower(): v for k, v in self.headers.items()}, time.time())
            with state.lock:
                state.log.append(entry)
            if self.path.rstrip("/").endswith("/embeddings"):
                entry.answered_status = 200
                self._send(200, embedding_payload(body))
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                entry.answered_status = 404
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            messages = body.get("messages", [])
            reply = scripted_reply(state, messages)
            time.sleep(state.latency_s + reply.delay_s)
            entry.answered_status = reply.status
            if reply.status != 200:
                headers = {"Retry-After": f"{reply.retry_after:g}"} if reply.retry_after is not None else {}
                kind = "rate_limit_exceeded" if reply.status == 429 else "server_error"
                self._send(reply.status, {"error": {"message": f"scripted {reply.status}", "type": kind}}, headers)
                return
            prompt_chars = sum(len(str(m.get("content") or "")) for m in messages)
            content = reply.content or ""
            prompt_tokens = reply.prompt_tokens if reply.prompt_tokens is not None else max(1, prompt_chars // 4)
            completion_tokens = next(
                n for n in (reply.completion_tokens, state.completion_tokens, max(1, len(content) // 4)) if n is not None
            )
            self._send(
                200,
                {
                    "id": f"chatcmpl-{len(state.log)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "test-model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                },
            )

    return Handler


class ScriptedOpenAIServer:
    """The server on 127.0.0.1 in a background thread; ``port=0`` picks a free port."""

    def __init__(self, port: int = 0, mode: str = "valid", latency_s: float = 0.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self.state = ServerState(mode=mode, latency_s=latency_s)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self.state))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[LoggedRequest]:
        with self.state.lock:
            return list(self.state.log)

    @property
    def embedded(self) -> list[list[str]]:
        """The inputs of each /embeddings request, in order."""
        inputs = [r.body.get("input", []) for r in self.requests if r.path.rstrip("/").endswith("/embeddings")]
        return [texts if isinstance(texts, list) else [texts] for texts in inputs]

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self.state.mode = mode

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, before the mode applies."""
        with self.state.lock:
            self.state.script.extend(replies)

    def reset(self) -> None:
        with self.state.lock:
            self.state.script.clear()
            self.state.log.clear()
            self.state.counter = 0

    def start(self) -> "ScriptedOpenAIServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the script entry point)."""
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            self._httpd.server_close()

    def __enter__(self) -> "ScriptedOpenAIServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--mode", choices=MODES, default="valid")
    parser.add_argument("--slow", type=float, default=30.0, help="delay of the 'slow' mode, seconds")
    parser.add_argument("--completion-tokens", type=int, default=None, help="usage reported for every answer")
    args = parser.parse_args()
    server = ScriptedOpenAIServer(args.port, args.mode, args.latency)
    server.state.slow_s = args.slow
    server.state.completion_tokens = args.completion_tokens
    print(f"serving {args.mode} answers on {server.api_base}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
