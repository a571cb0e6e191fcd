"""Compiled candidates: the build in the candidate's sandbox, its cache, and the stdio relay.

The fork server builds the program before forking the evaluation's child, under the
build's own time and memory limits, as the same unprivileged user and in the same view as
the candidate. Binaries are cached by the hash of the source and the build command, in a
folder of the scratch space the server keeps between evaluations; the server remembers the
digest of each binary it built and rebuilds when the file no longer matches, so a candidate
that rewrites the cache cannot stand in for another program. The child then starts the
binary and relays the scorer's ``call("stdio", text)`` requests to its stdin: each line
sent is answered by one line read back. Nothing here decides a score.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import time
from typing import Any

from . import wire

CACHE_DIR = ".build-cache"
CACHE_ENTRIES = 32
MESSAGE_CHARS = 3000
MAX_REPLY_LINE = 64 * 1024 * 1024
MAX_REQUEST_BYTES = 1 << 30
ERROR_MARKS = ("error", "Error", "undefined reference", "note:", "-->", "^", "|")

_built: dict[str, str] = {}  # cache key -> sha256 of the binary this server built for it


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def cache_key(source: str, build: dict[str, Any]) -> str:
    blob = json.dumps([build["command"], build["source"]]).encode() + b"\0" + source.encode()
    return hashlib.sha256(blob).hexdigest()


def trim_message(text: str, workdir: str) -> str:
    """The compiler's diagnostics a model can act on: paths cut to the file name, the lines
    of errors and their context first, the rest dropped past a few thousand characters."""
    text = text.replace(workdir + "/", "").replace(workdir, ".")
    lines = [line for line in text.splitlines() if line.strip()]
    wanted = [line for line in lines if any(mark in line for mark in ERROR_MARKS)] or lines
    kept, size = [], 0
    for line in wanted:
        if size + len(line) > MESSAGE_CHARS:
            kept.append(f"... ({len(wanted) - len(kept)} more lines)")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def _build_limits(build: dict[str, Any], limits: dict[str, Any]) -> Any:
    mb = 1024 * 1024
    cpu = int(build["timeout_s"]) + 1

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (build["memory_mb"] * mb,) * 2)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["max_file_mb"] * mb,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _compile(source: str, build: dict[str, Any], limits: dict[str, Any], env: dict[str, str],
             folder: str) -> tuple[int | None, str]:
    """Run the build command in ``folder``; its exit code (None: out of time) and output."""
    with open(os.path.join(folder, build["source"]), "w", encoding="utf-8") as handle:
        handle.write(source)
    command = [part.format(source=build["source"], binary="candidate") for part in build["command"]]
    try:
        process = subprocess.Popen(command, cwd=folder, env={**env, "HOME": folder, "TMPDIR": folder},
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=_build_limits(build, limits))
    except OSError as exc:
        return 127, f"the build command could not start: {exc}"
    try:
        output, _ = process.communicate(timeout=build["timeout_s"])
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None, ""
    return process.returncode, output.decode(errors="replace")


def prepare(request: dict[str, Any]) -> dict[str, Any]:
    """The built binary of the request's program ({"binary", "cached", "build_s"}), or
    {"error": the trimmed compiler message}; reuses the cache when the source was built before."""
    build, scratch = request["build"], request["scratch"]
    with open(request["program"], encoding="utf-8") as handle:
        source = handle.read()
    key = cache_key(source, build)
    cache = os.path.join(scratch, CACHE_DIR)
    binary = os.path.join(cache, key)
    if key in _built and os.path.isfile(binary) and _digest(binary) == _built[key]:
        return {"binary": binary, "cached": True, "build_s": 0.0}
    os.makedirs(cache, mode=0o700, exist_ok=True)
    folder = os.path.join(scratch, "build-" + secrets.token_hex(8))
    os.mkdir(folder, 0o700)
    started = time.monotonic()
    try:
        code, output = _compile(source, build, request["limits"], request["env"], folder)
        if code is None:
            return {"error": f"the build ran out of its {build['timeout_s']:g} s", "kind": "BuildTimeout"}
        built = os.path.join(folder, "candidate")
        if code != 0 or not os.path.isfile(built):
            return {"error": f"the build failed (exit {code}):\n{trim_message(output, folder)}", "kind": "CompileError"}
        shutil.move(built, binary)
        os.chmod(binary, 0o555)
        _remember(key, _digest(binary), cache)
        return {"binary": binary, "cached": False, "build_s": time.monotonic() - started}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _remember(key: str, digest: str, cache: str) -> None:
    _built.pop(key, None)
    _built[key] = digest
    while len(_built) > CACHE_ENTRIES:
        oldest = next(iter(_built))
        del _built[oldest]
        try:
            os.unlink(os.path.join(cache, oldest))
        except OSError:
            pass


def _ended(process: subprocess.Popen[bytes]) -> str:
    try:
        code = process.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        return "the program stopped answering (it closed its output)"
    if code < 0:
        return f"the program was killed by {signal.Signals(-code).name}"
    return f"the program exited with code {code} before answering"


class _Relay:
    """The running binary: each request line written to its stdin, one reply line read back."""

    def __init__(self, binary: str) -> None:
        self.process = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def exchange(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError("stdio takes one str argument")
        if not text.endswith("\n"):
            text += "\n"
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(text.encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            raise ChildProcessError(_ended(self.process)) from None
        replies = []
        for _ in range(text.count("\n")):
            line = self.process.stdout.readline(MAX_REPLY_LINE)
            if not line.endswith(b"\n"):
                raise ChildProcessError(_ended(self.process) if not line else "a reply line is too long")
            replies.append(line.decode(errors="replace"))
        return "".join(replies)

    def answer(self, request: dict[str, Any]) -> Any:
        op, name = request["op"], request.get("name")
        if op == "has":
            return name == "stdio"
        if name != "stdio":
            raise ValueError(f"a compiled program answers only 'stdio' requests, not {op} {name!r}")
        if op == "call":
            return self.exchange(*request["args"])
        if op == "many":
            return [self.exchange(*args) for args in request["calls"]]
        raise ValueError(f"a compiled program answers only call and many, not {op!r}")


def serve(channel: socket.socket, prepared: dict[str, Any]) -> None:
    """The child's side for a compiled program: a build failure, or the relay until hang-up."""
    if "error" in prepared:
        wire.send(channel, {"raised": prepared["error"], "kind": prepared["kind"]})
        return
    relay = _Relay(prepared["binary"])
    wire.send(channel, {"ready": True})
    while True:
        try:
            request = wire.receive(channel, MAX_REQUEST_BYTES)
        except EOFError:
            break
        try:
            message = {"ok": relay.answer(request)}
        except Exception as exc:
            message = {"raised": str(exc), "kind": type(exc).__name__}
        wire.send(channel, message)
    relay.process.kill()
