"""The scorer's fork server: imports a problem's evaluator once, then forks one child per stage.

Importing the evaluator (and the simulator and numpy behind it) costs hundreds of
milliseconds; forking an already-warm interpreter costs about one. Each child confines
itself (new session, resource limits, fresh working directory, scrubbed environment) and
writes its result to a pipe the harness handed over for this one evaluation, tagged with
a nonce. On a ``scoring: channel`` problem the child never loads the candidate: it calls
``evaluate(candidate, split)`` with a handle on the candidate's own process (another fork
server, evaluators.candidate.host), so nothing the candidate does can reach this process,
its result pipe or its score. An ``in_process`` problem imports the candidate here, as
OpenEvolve-style evaluators expect, and its scores are only as honest as the candidate.

Run as ``python -m evaluators.forkserver CONTROL_FD PROBLEM_DIR EVALUATOR UNSHARE_NET``;
the harness side is evaluators.sandbox.
"""

from __future__ import annotations

import errno
import importlib.util
import json
import math
import os
import socket
import sys
import time
import traceback
from types import ModuleType
from typing import Any

from evolve.evaluators.candidate import supervise
from evolve.evaluators.channel import Candidate
from evolve.evaluators.contract import CandidateFailed, InvalidProgram, StageUnavailable

MAX_MESSAGE = 1 << 16
ERROR_TAIL = 4000


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


def _candidate_failure(exc: CandidateFailed, limits: dict[str, Any]) -> dict[str, Any]:
    if exc.kind == "MemoryError":
        return {"status": "killed", "error": f"memory limit exceeded ({limits['memory_mb']} MB)", "candidate": str(exc)}
    if exc.kind == "EFBIG":
        return {"status": "killed", "error": f"file size limit exceeded ({limits['max_file_mb']} MB)", "candidate": str(exc)}
    return {"status": "error", "error": str(exc)[-ERROR_TAIL:], "candidate_exited": exc.kind == "exited"}


def _call_evaluator(module: ModuleType, request: dict[str, Any], channel: socket.socket | None) -> Any:
    function = module.evaluate_quick if request["stage"] == "quick" else module.evaluate
    if channel is None:
        return function(request["program_path"], split=request["split"])
    with open(request["program_path"], encoding="utf-8") as handle:
        candidate = Candidate(channel, handle.read())
    candidate.wait_ready()
    return function(candidate, split=request["split"])


def _instances_fault(instances: Any) -> str | None:
    """Why an evaluator's ``instances`` is not a mapping of names to finite numbers, if it is not."""
    if not isinstance(instances, dict):
        return f"'instances' must be a dict of instance name to score, not {type(instances).__name__}"
    for name, value in instances.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not isinstance(name, str) or not number or not math.isfinite(value):
            return f"'instances' must map names to finite numbers (got {name!r}: {value!r})"
    return None


def _evaluate(module: ModuleType, request: dict[str, Any], channel: socket.socket | None) -> dict[str, Any]:
    try:
        output = _call_evaluator(module, request, channel)
    except CandidateFailed as exc:
        return _candidate_failure(exc, request["limits"])
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
    except BaseException:  # an in-process candidate may raise anything, SystemExit included
        return {"status": "error", "error": traceback.format_exc()[-ERROR_TAIL:]}
    if not isinstance(output, dict):
        return {"status": "error", "error": f"evaluate returned {type(output).__name__}, not a dict"}
    fault = _instances_fault(output["instances"]) if "instances" in output else None
    if fault is not None:
        return {"status": "error", "error": fault}
    return {"status": "ok", "output": output}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _child(module: ModuleType, request: dict[str, Any], fds: list[int], nproc_base: int | None) -> None:
    """Runs in the forked child; never returns."""
    result_fd, out_fd, err_fd = fds[:3]
    channel = socket.socket(fileno=fds[3]) if len(fds) > 3 else None
    try:
        supervise.enter_child([out_fd, err_fd], request["workdir"], request["env"])
        supervise.apply_limits(request["limits"], nproc_base)
        payload = _evaluate(module, request, channel)
    except BaseException:
        payload = {"status": "error", "error": "sandbox setup failed: " + traceback.format_exc()[-ERROR_TAIL:]}
    supervise.flush_stdio()
    try:
        message = json.dumps({"nonce": request["nonce"], **payload}, default=_jsonable, allow_nan=True)
        _write_all(result_fd, message.encode())
    except BaseException:
        failure = "result is not serialisable: " + traceback.format_exc()[-ERROR_TAIL:]
        _write_all(result_fd, json.dumps({"nonce": request["nonce"], "status": "error", "error": failure}).encode())
    os._exit(0)


def serve(control_fd: int, problem_dir: str, evaluator: str, unshare_net: bool) -> None:
    sock = socket.socket(fileno=control_fd)
    supervise.become_server()  # not dumpable: no process of the candidate can attach to or read it
    network_isolated = supervise.isolate_network() if unshare_net else True
    try:
        module = _import_evaluator(problem_dir, evaluator)
    except BaseException:
        sock.send(json.dumps({"ready": False, "error": traceback.format_exc()[-ERROR_TAIL:]}).encode())
        return
    nproc_base = supervise.nproc_base()
    sock.send(json.dumps({"ready": True, "has_quick": callable(getattr(module, "evaluate_quick", None)),
                          "network_isolated": network_isolated}).encode())
    while True:
        message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 4)
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
        sock.send(json.dumps(supervise.supervise(pid, request["limits"]["timeout_s"], started)).encode())


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1")
