"""The candidate's fork server and, in each forked child, the candidate's side of the channel.

Run inside the candidate's sandbox as ``main()`` with the arguments CONTROL_FD UID PRELOAD;
the harness side is evaluators.candidate_server. The server drops to an unprivileged user,
imports the allowed heavy libraries once (numpy), then forks one child per evaluation into
a fresh private work folder, which it removes, with everything the candidate left, before
the next one. The child loads the program and answers the scorer's requests (call, call
many, create an object, call methods in lock-step) until the scorer hangs up. Nothing here
decides a score: a candidate that rewrites this module only changes what it answers.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import secrets
import shutil
import socket
import sys
import time
import traceback
import types
from typing import Any

from . import native, supervise, wire

ERROR_TAIL = 4000
MAX_REQUEST_BYTES = 1 << 30
MAX_CONTROL = 1 << 16


class _Program:
    """The candidate's module and the objects the scorer created in it."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.objects: list[Any] = []

    def resolve(self, name: str) -> Any:
        if ":" in name:
            module_name, attribute = name.split(":", 1)
            return getattr(importlib.import_module(module_name), attribute)
        return getattr(self.module, name)

    def answer(self, request: dict[str, Any]) -> Any:
        op = request["op"]
        if op == "has":
            return callable(getattr(self.module, request["name"], None))
        if op == "call":
            return self.resolve(request["name"])(*request["args"])
        if op == "many":
            function = self.resolve(request["name"])
            return [function(*args) for args in request["calls"]]
        if op == "new":
            self.objects.append(self.resolve(request["name"])(*request["args"]))
            return len(self.objects) - 1
        if op == "methods":
            return [getattr(self.objects[h], method)(*args) for h, method, args in request["calls"]]
        raise ValueError(f"unknown request {op!r}")


def _failure(exc: BaseException) -> dict[str, Any]:
    kind = "EFBIG" if isinstance(exc, OSError) and exc.errno == errno.EFBIG else type(exc).__name__
    return {"raised": traceback.format_exc()[-ERROR_TAIL:], "kind": kind}


def _load(path: str) -> types.ModuleType:
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    module = types.ModuleType("candidate")
    module.__file__ = path
    sys.modules["candidate"] = module
    exec(compile(source, path, "exec"), module.__dict__)
    return module


def _reply(channel: socket.socket, message: dict[str, Any]) -> None:
    try:
        wire.send(channel, message)
    except wire.WireError as exc:
        wire.send(channel, {"unplain": str(exc)})


def _serve(channel: socket.socket, program_path: str) -> None:
    try:
        program = _Program(_load(program_path))
    except BaseException as exc:  # a syntax error, an import of something not allowed, sys.exit
        wire.send(channel, _failure(exc))
        return
    wire.send(channel, {"ready": True})
    while True:
        try:
            request = wire.receive(channel, MAX_REQUEST_BYTES)
        except EOFError:
            return
        try:
            message = {"ok": program.answer(request)}
        except BaseException as exc:
            message = _failure(exc)
        _reply(channel, message)


def serve_program(channel_fd: int, program_path: str) -> None:
    """Serve one program on an inherited socket, unconfined: evaluators.channel.open_candidate's child."""
    _serve(socket.socket(fileno=channel_fd), program_path)


def _child(request: dict[str, Any], fds: list[int], nproc_base: int | None) -> None:
    """Runs in the forked child; never returns."""
    channel_fd, out_fd, err_fd = fds
    code = 0
    try:
        supervise.enter_child([out_fd, err_fd], request["workdir"], request["env"])
        supervise.apply_limits(request["limits"], nproc_base)
        channel = socket.socket(fileno=channel_fd)
        if "native" in request:
            native.serve(channel, request["native"])
        else:
            _serve(channel, request["program"])
    except BaseException:
        traceback.print_exc()
        code = 1
    supervise.flush_stdio()
    os._exit(code)


def _fresh_workdir(scratch: str) -> str:
    os.makedirs(os.path.join(scratch, "tmp"), mode=0o1777, exist_ok=True)
    workdir = os.path.join(scratch, "w-" + secrets.token_hex(8))
    os.mkdir(workdir, 0o700)
    return workdir


def _wipe(scratch: str) -> None:
    """Remove everything under the scratch folder, whatever modes the candidate set, but the
    build cache (native.prepare checks each binary's digest before it reuses one)."""
    for root, dirs, _ in os.walk(scratch):
        for name in dirs:
            try:
                os.chmod(os.path.join(root, name), 0o700)
            except OSError:
                pass
    for entry in os.listdir(scratch):
        if entry == native.CACHE_DIR:
            continue
        path = os.path.join(scratch, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _drop_privileges(uid: int) -> None:
    if uid >= 0 and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)


def _evaluate_one(control: socket.socket, request: dict[str, Any], fds: list[int], nproc_base: int | None) -> dict[str, Any]:
    scratch = request["scratch"]
    request["workdir"] = _fresh_workdir(scratch)
    request["env"] = {**request["env"], "HOME": request["workdir"], "TMPDIR": request["workdir"]}
    if request.get("build"):
        try:
            request["native"] = native.prepare(request)
        except OSError as exc:
            request["native"] = {"error": f"the build could not run: {exc}", "kind": "BuildError"}
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        control.close()
        _child(request, fds, nproc_base)
    for fd in fds:
        os.close(fd)
    outcome = supervise.supervise(pid, request["limits"]["timeout_s"] + request["grace_s"], started, control.fileno())
    control.recv(MAX_CONTROL)  # the harness's stop, which follows every request (it may have ended the child)
    _wipe(scratch)
    built = request.get("native", {})
    if "binary" in built:
        outcome["build"] = {"cached": built["cached"], "build_s": built["build_s"]}
    return outcome


def main() -> None:
    control_fd, uid, unshare_net, preload = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4:]
    control = socket.socket(fileno=control_fd)
    supervise.become_server()
    network_isolated = supervise.isolate_network() if unshare_net else True
    try:
        _drop_privileges(uid)
        for name in preload:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError:  # a distribution whose import name differs: imported on first use
                pass
    except BaseException:
        control.send(json.dumps({"ready": False, "error": traceback.format_exc()[-ERROR_TAIL:]}).encode())
        return
    nproc_base = supervise.nproc_base()
    control.send(json.dumps({"ready": True, "uid": os.getuid(), "network_isolated": network_isolated}).encode())
    while True:
        message, fds, _, _ = socket.recv_fds(control, MAX_CONTROL, 3)
        if not message:
            return
        control.send(json.dumps(_evaluate_one(control, json.loads(message), fds, nproc_base)).encode())
