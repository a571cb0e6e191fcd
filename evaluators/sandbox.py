"""The harness side of the sandbox: owns a fork server, hands it one stage at a time.

Everything a candidate produces comes back through pipes this process created for that
one evaluation: the result (checked against a fresh nonce), stdout and stderr (kept to
their tails; a flood beyond the cap is cut off). The fork server enforces the wall clock;
this side keeps a backstop in case the server itself is stuck or killed, and then
replaces it.
"""

from __future__ import annotations

import functools
import json
import math
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evolve.evaluators.candidate_server import CandidateServer, CandidateServerError
from evolve.evaluators.confinement import PidsCgroup, bwrap_command, probe_bwrap, remove_stale, scrubbed_env, warn_once
from evolve.evaluators.problem import CandidateSpec, Limits, Problem
from evolve.evaluators.result import StageRecord
from evolve.statuses import Status

MAX_RESULT_BYTES = 16 * 1024 * 1024
STARTUP_TIMEOUT_S = 300.0
BACKSTOP_S = 5.0
DRAIN_S = 1.0  # how long the candidate's output may still arrive after the scorer is done
FLOOD_FACTOR = 8
SIGNAL_REASONS = {
    signal.SIGXCPU: "CPU time limit exceeded",
    signal.SIGXFSZ: "file size limit exceeded",
    signal.SIGKILL: "killed by SIGKILL (out of memory or too many processes)",
}


def signal_reason(number: int) -> str:
    """Why a process died of signal ``number``, also for numbers Python has no name for."""
    if number in SIGNAL_REASONS:
        return SIGNAL_REASONS[number]
    try:
        return f"killed by signal {signal.Signals(number).name}"
    except ValueError:
        return f"killed by signal {number}"


class SandboxError(RuntimeError):
    """The fork server could not start, usually because the problem's evaluator failed to import."""


@dataclass
class StageOutcome:
    """One sandboxed run of one stage (quick or full) of the evaluator: the stage's record,
    which travels on to the program's row, and what the scorer returned with it."""

    record: StageRecord
    score: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    build: dict[str, Any] | None = None  # a compiled candidate's build: whether the cache had it, its seconds

    @property
    def status(self) -> Status:
        return self.record.status

    @property
    def error(self) -> str | None:
        return self.record.error


def _ended(stage: str, status: Status, error: str | None, timing: dict[str, float]) -> StageOutcome:
    """A stage that ended without a score."""
    return StageOutcome(StageRecord(stage, status, error=error, **timing))


@functools.cache
def _use_bwrap() -> bool:
    return probe_bwrap()


class _Capture:
    """The tail of one output stream, and whether it overflowed the flood cap."""

    def __init__(self, keep: int, flood: int) -> None:
        self.keep, self.flood, self.total, self.data = keep, flood, 0, bytearray()

    def add(self, chunk: bytes) -> bool:
        """Store a chunk; False once the stream has exceeded the flood cap."""
        self.total += len(chunk)
        self.data += chunk
        if len(self.data) > 2 * self.keep:
            del self.data[: len(self.data) - self.keep]
        return self.total <= self.flood

    def text(self) -> str:
        return bytes(self.data[-self.keep:]).decode("utf-8", "replace")


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return value


class Sandbox:
    """One fork server for one problem; ``run`` evaluates one stage of one candidate."""

    def __init__(self, problem_dir: Path, evaluator: str, program_name: str, limits: Limits,
                 scoring: str = "in_process", candidate: CandidateSpec | None = None) -> None:
        self.problem_dir = Path(problem_dir)
        self.evaluator = evaluator
        self.program_name = program_name
        self.limits = limits
        self._timeout_s = limits.timeout_s
        remove_stale(Path(tempfile.gettempdir()), "evolve-sandbox-")
        self.root = Path(tempfile.mkdtemp(prefix=f"evolve-sandbox-{os.getpid()}-"))
        self.runs = self.root / "runs"
        self.runs.mkdir()
        self.has_quick = False
        self.bwrap = _use_bwrap()
        self._env = scrubbed_env(limits.cpus)
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._cgroup: PidsCgroup | None = None
        self._candidates = (CandidateServer(self.root / "candidate", self.problem_dir, candidate or CandidateSpec(),
                                            limits, self.bwrap) if scoring == "channel" else None)

    @classmethod
    def for_problem(cls, problem: Problem, root: Path) -> "Sandbox":
        """The sandbox of ``problem`` whose files were unpacked at ``root`` (a worker's copy)."""
        return cls(root, str(problem.evaluator_path.relative_to(problem.root)), problem.program_path.name,
                   problem.limits, problem.scoring, problem.candidate)

    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the fork server and wait until it has imported the evaluator."""
        self._stop_server()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [sys.executable, "-m", "evolve.evaluators.forkserver", str(theirs.fileno()), str(self.problem_dir),
                   self.evaluator, "0" if self.bwrap else "1"]
        if self.bwrap:
            prefix = bwrap_command([self.problem_dir], [self.runs], self.limits.gpus)
            command = prefix + ["--chdir", str(self.problem_dir), "--", *command]
        self._cgroup = PidsCgroup.create(self.limits.max_procs + 16)
        with (self.root / "server.log").open("ab") as log:
            self._proc = subprocess.Popen(
                command, pass_fds=[theirs.fileno()], env=self._env, cwd=self.problem_dir,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                preexec_fn=self._cgroup.join if self._cgroup else None,
            )
        theirs.close()
        self._sock = ours
        ours.settimeout(STARTUP_TIMEOUT_S)
        try:
            hello = json.loads(ours.recv(1 << 16) or b"{}")
        except (TimeoutError, json.JSONDecodeError) as exc:
            hello = {"ready": False, "error": repr(exc)}
        ours.settimeout(None)
        if not hello.get("ready"):
            detail = hello.get("error") or (self.root / "server.log").read_text(errors="replace")[-4000:]
            self._stop_server()
            raise SandboxError(f"the evaluator {self.evaluator} of {self.problem_dir} could not be loaded:\n{detail}")
        self.has_quick = hello["has_quick"]
        if not hello["network_isolated"]:
            warn_once("netns", "cannot create a network namespace here: candidates can reach the network")
        if self._candidates is not None:
            try:
                self._candidates.start()
            except CandidateServerError as exc:
                self._stop_server()
                raise SandboxError(str(exc)) from None

    def run(self, stage: str, code: str, split: str) -> StageOutcome:
        """Evaluate ``code`` with the evaluator's quick or full stage, confined and timed."""
        if self._proc is None or self._proc.poll() is not None:
            self.start()
        self._timeout_s = self.limits.timeout_for(split)
        workdir = self.runs / secrets.token_hex(8)
        workdir.mkdir()
        program = workdir / self.program_name
        program.write_text(code)
        nonce = secrets.token_hex(16)
        request = {
            "stage": stage, "split": split, "program_path": str(program), "workdir": str(workdir), "nonce": nonce,
            "env": {**self._env, "HOME": str(workdir), "TMPDIR": str(workdir)},
            "limits": {**self.limits.model_dump(), "timeout_s": self._timeout_s},
        }
        streams = ("result", "stdout", "stderr") if self._candidates is None else ("result", "evaluator", "stdout", "stderr")
        pipes = {name: os.pipe() for name in streams}
        open_fds = {fd for pair in pipes.values() for fd in pair}
        try:
            scorer_fds = self._start_candidate(code, pipes, open_fds)
            self._send(json.dumps(request).encode(), scorer_fds)
            for fd in set(scorer_fds) | {pipes[name][1] for name in streams}:
                os.close(fd)
                open_fds.discard(fd)
            return self._collect(stage, nonce, {pipes[name][0]: name for name in streams}, open_fds)
        finally:
            for fd in open_fds:
                os.close(fd)
            self._clear_runs()

    def _start_candidate(self, code: str, pipes: dict[str, tuple[int, int]], open_fds: set[int]) -> list[int]:
        """The scorer's file descriptors; on the channel, the candidate's process is started first."""
        if self._candidates is None:
            return [pipes[name][1] for name in ("result", "stdout", "stderr")]
        scorer_end, candidate_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._candidates.begin(code, [candidate_end.fileno(), pipes["stdout"][1], pipes["stderr"][1]], self._timeout_s)
        finally:
            candidate_end.close()
        channel_fd = scorer_end.detach()
        open_fds.add(channel_fd)
        evaluator = pipes["evaluator"][1]
        return [pipes["result"][1], evaluator, evaluator, channel_fd]

    def _clear_runs(self) -> None:
        """Nothing an evaluation wrote survives into the next one, wherever in runs/ it wrote."""
        for entry in self.runs.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def _send(self, request: bytes, fds: list[int]) -> None:
        """Hand a request to the server, restarting it once if a candidate killed it earlier."""
        for attempt in range(2):
            try:
                assert self._sock is not None
                socket.send_fds(self._sock, [request], fds)
                return
            except OSError:
                if attempt:
                    raise SandboxError("the fork server died twice in a row; see its log in " + str(self.root))
                self.start()

    def _collect(self, stage: str, nonce: str, reads: dict[int, str], open_fds: set[int]) -> StageOutcome:
        keep = self.limits.max_output_kb * 1024
        captures = {fd: _Capture(MAX_RESULT_BYTES, MAX_RESULT_BYTES) if name == "result"
                    else _Capture(keep, FLOOD_FACTOR * keep) for fd, name in reads.items()}
        flooded: list[str] = []
        reply: dict[str, Any] | None = None
        deadline = time.monotonic() + self._timeout_s + BACKSTOP_S
        selector = selectors.DefaultSelector()
        for fd in reads:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        assert self._sock is not None
        selector.register(self._sock, selectors.EVENT_READ)
        open_streams = set(reads)
        while (reply is None or open_streams) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                if key.fileobj is self._sock:
                    raw = self._sock.recv(1 << 16)
                    selector.unregister(self._sock)
                    reply = json.loads(raw) if raw else {"server_died": True}
                    if not raw:
                        self._stop_server()  # and with it whatever the evaluation left running
                    if self._candidates is not None:  # the scorer is done: the candidate may not linger
                        self._candidates.end()
                        deadline = min(deadline, time.monotonic() + DRAIN_S)
                    continue
                fd = int(key.fd)
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if chunk and captures[fd].add(chunk):
                    continue
                if chunk:
                    flooded.append(reads[fd])
                selector.unregister(fd)
                os.close(fd)  # a flooding writer now gets EPIPE instead of blocking
                open_fds.discard(fd)
                open_streams.discard(fd)
        selector.close()
        if reply is None or reply.get("server_died"):
            self._stop_server()
            reply = {"timed_out": reply is None, "server_died": reply is not None, "exit_code": None,
                     "signal": None, "wall_s": self._timeout_s, "cpu_s": 0.0, "escaped": 0}
        candidate = self._candidates.finish() if self._candidates is not None else None
        texts = {reads[fd]: capture for fd, capture in captures.items()}
        outcome = self._interpret(stage, nonce, reply, bytes(texts.pop("result").data), flooded, candidate)
        outcome.build = (candidate or {}).get("build")
        for name, capture in texts.items():
            if capture.total:
                outcome.artifacts["evaluator_output" if name == "evaluator" else name] = capture.text()
        escaped = reply.get("escaped", 0) + (candidate or {}).get("escaped", 0)
        if escaped:
            outcome.artifacts["sandbox"] = f"{escaped} processes outlived the evaluation and were killed"
        if outcome.error:
            outcome.artifacts.setdefault("error", outcome.error)
        return outcome

    def _interrupted(self, stage: str, reply: dict[str, Any], flooded: list[str],
                     timing: dict[str, float]) -> StageOutcome | None:
        """The outcome when the scorer's run itself was cut short (clock, death, flood, signal)."""
        if reply["timed_out"]:
            return _ended(stage, Status.TIMEOUT, f"wall-clock timeout after {self._timeout_s:g} s", timing)
        if reply.get("server_died"):
            return _ended(stage, Status.ERROR, "the sandbox's fork server died during the evaluation", timing)
        if flooded:
            what = ", ".join(flooded)
            return _ended(stage, Status.KILLED, f"output limit exceeded on {what} "
                          f"(more than {FLOOD_FACTOR * self.limits.max_output_kb} KB)", timing)
        if reply["signal"] is not None:
            return _ended(stage, Status.KILLED, signal_reason(reply["signal"]), timing)
        return None

    def _interpret(self, stage: str, nonce: str, reply: dict[str, Any], raw: bytes, flooded: list[str],
                   candidate: dict[str, Any] | None) -> StageOutcome:
        timing = {"wall_s": reply["wall_s"], "cpu_s": reply["cpu_s"] + (candidate or {}).get("cpu_s", 0.0)}
        interrupted = self._interrupted(stage, reply, flooded, timing)
        if interrupted is not None:
            return interrupted
        if not raw:
            return _ended(stage, Status.ERROR, f"the evaluation exited (code {reply['exit_code']}) without a result", timing)
        try:
            message = json.loads(raw)
        except (ValueError, RecursionError):
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("status"), str):
            return _ended(stage, Status.ERROR, "the result channel held something other than one result "
                          "(tampered with by the candidate?)", timing)
        if not secrets.compare_digest(str(message.get("nonce")), nonce):
            return _ended(stage, Status.ERROR, "the result did not carry this evaluation's nonce (forged)", timing)
        if message.get("candidate_exited") and candidate and candidate.get("signal") is not None:
            return _ended(stage, Status.KILLED, f"the candidate's process was {signal_reason(candidate['signal'])}", timing)
        if message["status"] not in Status._value2member_map_:
            return _ended(stage, Status.ERROR, f"the result carried an unknown status {message['status'][:40]!r}", timing)
        if message["status"] != Status.OK:
            return _ended(stage, Status(message["status"]), message.get("error"), timing)
        return self._scored(stage, message["output"], timing)

    @staticmethod
    def _scored(stage: str, output: dict[str, Any], timing: dict[str, float]) -> StageOutcome:
        score = output.get("score")
        artifacts = output.get("artifacts") or {}
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            return _ended(stage, Status.ERROR, f"the evaluator returned no finite 'score' (got {score!r})", timing)
        if not isinstance(artifacts, dict):
            return _ended(stage, Status.ERROR, f"'artifacts' must be a dict, not {type(artifacts).__name__}", timing)
        metrics = _finite_or_none({k: v for k, v in output.items() if k not in ("score", "artifacts")})
        return StageOutcome(StageRecord(stage, Status.OK, **timing), score=float(score), metrics=metrics,
                            artifacts={str(k): str(v) for k, v in artifacts.items()})

    def _stop_server(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._proc.wait()
            self._proc = None
        if self._cgroup is not None:
            self._cgroup.kill_all()
            self._cgroup.remove()
            self._cgroup = None

    def close(self) -> None:
        self._stop_server()
        if self._candidates is not None:
            self._candidates.stop()
        shutil.rmtree(self.root, ignore_errors=True)
