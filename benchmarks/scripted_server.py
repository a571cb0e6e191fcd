"""The scripted OpenAI-compatible server both frameworks talk to, in its own process.

Its own process, so that answering requests takes no time from the framework measured;
it is tests/support/openai_server.py run as a script, answering valid SEARCH/REPLACE diffs.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "support" / "openai_server.py"
READY_TIMEOUT_S = 30.0


class ServerDidNotStart(RuntimeError):
    """The scripted server did not answer; its output says why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def scripted_server(latency_s: float = 0.0) -> Iterator[str]:
    """Yield the server's OpenAI base URL; every answer is a valid diff after ``latency_s``."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--port", str(port), "--latency", str(latency_s), "--mode", "valid-diff"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    api_base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{api_base}/models", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    raise ServerDidNotStart(f"scripted server on port {port} did not answer: {output[-2000:]}") from None
                time.sleep(0.1)
        yield api_base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
