"""The fork server: imports a problem's evaluator once, then forks one child per stage.

Importing the evaluator (and the simulator and numpy behind it) costs hundreds of
milliseconds; forking an already-warm interpreter costs about one. Each child confines
itself (new session, resource limits, fresh working directory, scrubbed environment)
before any candidate code runs, and writes its result to a pipe the harness handed over
for this one evaluation, tagged with a nonce, so text printed to stdout cannot pose as a
result. The server enforces the wall clock itself and, as child subreaper, also kills
daemons that escaped the child's process group.

Run as ``python -m evaluators.forkserver CONTROL_FD PROBLEM_DIR EVALUATOR UNSHARE_NET``;
the harness side is evaluators.sandbox.
"""

from __future__ import annotations

import ctypes
import errno
import importlib.util
import json
import math
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback
from types import ModuleType
from typing import Any

from evaluators.contract import InvalidProgram, StageUnavailable

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
MAX_MESSAGE = 1 << 16
ERROR_TAIL = 4000


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _isolate_network() -> bool:
    """Leave the host's network namespace; children inherit a namespace with no way out."""
    libc = _libc()
    if libc.unshare(CLONE_NEWNET) == 0:
        return True
    return libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0


def _import_evaluator(problem_dir: str, evaluator: str) -> ModuleType:
    sys.path.insert(0, problem_dir)
    os.chdir(problem_dir)
    spec = importlib.util.spec_from_file_location("evaluate", os.path.join(problem_dir, evaluator))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {evaluator} from {problem_dir}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["evaluate"] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "evaluate", None)):
        raise ImportError(f"{evaluator} defines no evaluate(program_path, split) function")
    return module


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _apply_limits(limits: dict[str, Any], nproc_base: int | None) -> None:
    mb = 1024 * 1024
    cpu = math.ceil(limits["timeout_s"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["max_file_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["max_open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits["gpus"] == 0:  # GPU runtimes reserve far more address space than they use
        resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2)
    if nproc_base is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc_base + limits["max_procs"],) * 2)


def _evaluate(module: ModuleType, request: dict[str, Any]) -> dict[str, Any]:
    function = module.evaluate_quick if request["stage"] == "quick" else module.evaluate
    try:
        output = function(request["program_path"], split=request["split"])
    except InvalidProgram as exc:
        return {"status": "invalid", "error": str(exc) or type(exc).__name__}
    except StageUnavailable as exc:
        return {"status": "unavailable", "error": str(exc) or "this stage cannot run here"}
    except OSError as exc:
        if exc.errno != errno.EFBIG:
            return {"status": "error", "error": traceback.format_exc()[-ERROR_TAIL:]}
        return {"status": "killed", "error": f"file size limit exceeded ({request['limits']['max_file_mb']} MB)"}
    except MemoryError:
        return {"status": "killed", "error": f"memory limit exceeded ({request['limits']['memory_mb']} MB)"}
    except BaseException:  # the candidate may raise anything, SystemExit included
        return {"status": "error", "error": traceback.format_exc()[-ERROR_TAIL:]}
    if not isinstance(output, dict):
        return {"status": "error", "error": f"evaluate returned {type(output).__name__}, not a dict"}
    return {"status": "ok", "output": output}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _child(module: ModuleType, request: dict[str, Any], fds: list[int], nproc_base: int | None) -> None:
    """Runs in the forked child; never returns."""
    result_fd, out_fd, err_fd = fds
    try:
        _libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (devnull, out_fd, err_fd):
            os.close(fd)
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(line_buffering=True)
        os.chdir(request["workdir"])
        os.environ.clear()
        os.environ.update(request["env"])
        _apply_limits(request["limits"], nproc_base)
        payload = _evaluate(module, request)
    except BaseException:
        payload = {"status": "error", "error": "sandbox setup failed: " + traceback.format_exc()[-ERROR_TAIL:]}
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    try:
        message = json.dumps({"nonce": request["nonce"], **payload}, default=_jsonable, allow_nan=True)
        _write_all(result_fd, message.encode())
    except BaseException:
        _write_all(result_fd, json.dumps({"nonce": request["nonce"], "status": "error",
                                          "error": "result is not serialisable: " + traceback.format_exc()[-ERROR_TAIL:]}).encode())
    os._exit(0)


def _living_children() -> bool:
    """Reap zombies; True while some child still runs."""
    try:
        while os.waitpid(-1, os.WNOHANG) != (0, 0):
            pass
    except ChildProcessError:
        return False
    return True


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def _sweep() -> int:
    """Kill every process left under this server (it is their subreaper); return how many."""
    killed = 0
    deadline = time.monotonic() + 2.0
    while _living_children() and time.monotonic() < deadline:
        for pid in _children_of(os.getpid()):
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.002)
    return killed


def _supervise(pid: int, timeout_s: float, started: float) -> dict[str, Any]:
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], max(0.0, started + timeout_s - time.monotonic()))
    finally:
        os.close(pidfd)
    timed_out = not ready
    if timed_out:
        for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                kill()
            except ProcessLookupError:
                pass
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    return {
        "timed_out": timed_out,
        "exit_code": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "escaped": _sweep(),
    }


def _nproc_base() -> int | None:
    """RLIMIT_NPROC counts all of a user's tasks and does not bind root: add to what runs now."""
    if os.getuid() == 0:
        return None
    uid = str(os.getuid())
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/status") as handle:
                    status = handle.read()
            except OSError:
                continue
            if f"\nUid:\t{uid}\t" in status:
                count += int(status.split("Threads:\t", 1)[1].split("\n", 1)[0])
    return count


def serve(control_fd: int, problem_dir: str, evaluator: str, unshare_net: bool) -> None:
    sock = socket.socket(fileno=control_fd)
    libc = _libc()
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # Not dumpable: a candidate without CAP_SYS_PTRACE cannot attach to or read this server.
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    network_isolated = _isolate_network() if unshare_net else True
    try:
        module = _import_evaluator(problem_dir, evaluator)
    except BaseException:
        sock.send(json.dumps({"ready": False, "error": traceback.format_exc()[-ERROR_TAIL:]}).encode())
        return
    nproc_base = _nproc_base()
    sock.send(json.dumps({"ready": True, "has_quick": callable(getattr(module, "evaluate_quick", None)),
                          "network_isolated": network_isolated}).encode())
    while True:
        message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 3)
        if not message:
            return
        request = json.loads(message)
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(module, request, fds, nproc_base)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps(_supervise(pid, request["limits"]["timeout_s"], started)).encode())


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1")
