"""The scorer's handle on a candidate that runs in another, sandboxed process.

A problem's ``evaluate(candidate, split)`` talks to the program only through this: calls
of its functions, batches of calls in one round trip, objects of its classes and their
methods in lock-step. Every reply is decoded as plain data (evaluators.candidate.wire) and
is only a value for the evaluator to check; the score, its metrics and the result channel
exist in the scorer's process alone, which the candidate cannot reach.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from evolve.evaluators.candidate import wire
from evolve.evaluators.contract import CandidateFailed, InvalidProgram

MAX_REPLY_BYTES = 256 * 1024 * 1024


class Remote:
    """An object the scorer created in the candidate's process (a stateful policy, say)."""

    def __init__(self, candidate: "Candidate", handle: int, name: str) -> None:
        self.candidate, self.handle, self.name = candidate, handle, name

    def call(self, method: str, *args: Any) -> Any:
        return self.candidate.call_methods([(self, method, args)])[0]


class Candidate:
    """One candidate program, loaded in its own process for one evaluation stage."""

    def __init__(self, sock: socket.socket, source: str) -> None:
        self._sock = sock
        self.source = source
        self._ready = False

    def _exchange(self, request: dict[str, Any]) -> Any:
        try:
            wire.send(self._sock, request)
            return self._answer(request.get("name", request["op"]))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise CandidateFailed("the candidate's process ended during a call", kind="exited") from None

    def _answer(self, what: str) -> Any:
        try:
            reply = wire.receive(self._sock, MAX_REPLY_BYTES)
        except wire.WireError as exc:
            raise InvalidProgram(f"{what} answered with something other than plain data: {exc}") from None
        if not isinstance(reply, dict) or len(reply) > 2:
            raise InvalidProgram(f"{what} answered with a malformed reply")
        if "ok" in reply:
            return reply["ok"]
        if "unplain" in reply:
            raise InvalidProgram(f"{what} returned something that is not plain data: {reply['unplain']}")
        if "raised" in reply:
            raise CandidateFailed(str(reply["raised"]), kind=str(reply.get("kind", "")))
        raise InvalidProgram(f"{what} answered with a malformed reply")

    def wait_ready(self) -> None:
        """Block until the program is loaded; a program that fails to load raises CandidateFailed."""
        if self._ready:
            return
        try:
            reply = wire.receive(self._sock, MAX_REPLY_BYTES)
        except EOFError:
            raise CandidateFailed("the candidate's process ended before its program was loaded", kind="exited") from None
        except wire.WireError as exc:
            raise InvalidProgram(f"the candidate's process sent garbage instead of starting: {exc}") from None
        if isinstance(reply, dict) and reply.get("ready") is True:
            self._ready = True
            return
        if isinstance(reply, dict) and "raised" in reply:
            raise CandidateFailed(str(reply["raised"]), kind=str(reply.get("kind", "")))
        raise InvalidProgram("the candidate's process sent garbage instead of starting")

    def has(self, name: str) -> bool:
        """Whether the program defines a callable ``name``."""
        self.wait_ready()
        return self._exchange({"op": "has", "name": name}) is True

    def call(self, name: str, *args: Any) -> Any:
        """Call a top-level function of the program (or "module:name" of a public module)."""
        self.wait_ready()
        return self._exchange({"op": "call", "name": name, "args": list(args)})

    def call_many(self, name: str, calls: Sequence[Sequence[Any]]) -> list[Any]:
        """The same function for many argument tuples, in one round trip."""
        self.wait_ready()
        return self._list(self._exchange({"op": "many", "name": name, "calls": [list(a) for a in calls]}), len(calls), name)

    def new(self, name: str, *args: Any) -> Remote:
        """Create an object of a class of the program (or "module:Name" of a public module)."""
        self.wait_ready()
        handle = self._exchange({"op": "new", "name": name, "args": list(args)})
        if isinstance(handle, bool) or not isinstance(handle, int):
            raise InvalidProgram(f"creating {name} answered with a malformed handle")
        return Remote(self, handle, name)

    def call_methods(self, calls: Sequence[tuple[Remote, str, Sequence[Any]]]) -> list[Any]:
        """One method call on each of many remote objects, in one round trip (lock-step)."""
        self.wait_ready()
        request = [[remote.handle, method, list(args)] for remote, method, args in calls]
        return self._list(self._exchange({"op": "methods", "calls": request}), len(calls), "the methods")

    @staticmethod
    def _list(value: Any, count: int, what: str) -> list[Any]:
        if not isinstance(value, list) or len(value) != count:
            raise InvalidProgram(f"{what} answered {count} calls with something other than {count} results")
        return value


@contextlib.contextmanager
def open_candidate(program_path: str | Path, public: Sequence[str | Path] = ()) -> Iterator[Candidate]:
    """A candidate in a plain child process, without the sandbox: for a problem's own tests.

    The same channel and host as in a run, so what passes here behaves the same there;
    ``public`` are folders put on the child's import path (a problem's public modules).
    """
    package_root = Path(__file__).resolve().parent / "candidate"
    boot = ("import sys, importlib.util; "
            f"sys.path[:0] = {[str(p) for p in public]!r}; "
            f"spec = importlib.util.spec_from_file_location('evolve_candidate', {str(package_root / '__init__.py')!r}, "
            f"submodule_search_locations=[{str(package_root)!r}]); "
            "module = importlib.util.module_from_spec(spec); sys.modules['evolve_candidate'] = module; "
            "spec.loader.exec_module(module); "
            "from evolve_candidate.host import serve_program; serve_program(int(sys.argv[1]), sys.argv[2])")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    from evolve.evaluators.candidate_server import INTERPRETER_FLAGS, candidate_env

    process = subprocess.Popen([sys.executable, *INTERPRETER_FLAGS, "-c", boot, str(theirs.fileno()), str(program_path)],
                               pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                               env={**os.environ, **candidate_env(1)})
    theirs.close()
    try:
        yield Candidate(ours, Path(program_path).read_text())
    finally:
        ours.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
