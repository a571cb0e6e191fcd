"""The harness's side of the candidate's fork server: start it confined, hand it evaluations.

One server per sandbox slot, started once: it runs under bubblewrap with the allow-listed
view of evaluators.candidate_view where bubblewrap works, as an unprivileged user where
this process is root, and otherwise as a plain separate process (what that leaves open is
logged once). Each evaluation gets a channel socket to the scorer and the candidate's own
stdout and stderr pipes; ``finish`` ends whatever is left of the candidate and reports how
its process ended.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from evolve.evaluators.candidate_view import HOST_PACKAGE, INSIDE_ROOT, NOBODY, SCRATCH, candidate_bwrap_command
from evolve.evaluators.confinement import PidsCgroup, scrubbed_env, warn_once
from evolve.evaluators.problem import CandidateSpec, Limits

STARTUP_TIMEOUT_S = 120.0
FINISH_TIMEOUT_S = 10.0
GRACE_S = 2.0
BOOT = ("import sys; sys.path[:0] = {paths!r}; from evolve_candidate.host import main; main()")


# No user site, no script folder on sys.path; not -I, which would also ignore PYTHONHASHSEED.
INTERPRETER_FLAGS = ("-s", "-P")
HASH_SEED = "0"


def candidate_env(cpus: float) -> dict[str, str]:
    """The scrubbed environment, with a fixed hash seed: a program that iterates over a set of
    strings scores the same in every evaluation (several published cloudcast solutions do)."""
    env = {k: v for k, v in scrubbed_env(cpus).items() if k != "PYTHONPATH"}
    env["PYTHONHASHSEED"] = HASH_SEED
    return env


class CandidateServerError(RuntimeError):
    """The candidate's fork server could not start or stopped answering."""


def _drop_to_nobody() -> None:
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


@functools.cache
def nobody_can_run_python() -> bool:
    """Without bubblewrap, an unprivileged user may not reach the interpreter (a root-only home)."""
    if os.getuid() != 0:
        return False
    try:
        probe = subprocess.run([sys.executable, *INTERPRETER_FLAGS, "-c", "pass"], preexec_fn=_drop_to_nobody,
                               capture_output=True, cwd="/")
    except OSError:  # the interpreter itself is out of its reach
        return False
    return probe.returncode == 0


def copy_public(problem_dir: Path, public: list[str], target: Path) -> None:
    """Copy the declared public modules, keeping their paths, into the candidate's view."""
    target.mkdir(parents=True, exist_ok=True)
    for relative in public:
        source = problem_dir / relative
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, destination)


def _kernel_env(packages: list[str], scratch: str) -> dict[str, str]:
    """Triton's compile cache in the scratch folder (wiped after each evaluation), and its
    interpreter where this machine shows no NVIDIA GPU, as evaluators.kernel_bench decides for the scorer."""
    if "triton" not in packages:
        return {}
    interpret = os.environ.get("TRITON_INTERPRET") or ("0" if os.path.exists("/dev/nvidiactl") else "1")
    return {"TRITON_CACHE_DIR": f"{scratch}/triton-cache", "TRITON_INTERPRET": interpret}


class CandidateServer:
    """The warm fork server that runs candidates, and the folder its view is built from."""

    def __init__(self, root: Path, problem_dir: Path, spec: CandidateSpec, limits: Limits, bwrap: bool) -> None:
        self.root, self.spec, self.limits, self.bwrap = root, spec, limits, bwrap
        self.public = root / "public"
        self.programs = root / "program"
        self.scratch = root / "scratch"
        copy_public(problem_dir, spec.public, self.public)
        self.programs.mkdir()
        self.scratch.mkdir(mode=0o1777)
        for path in (root, self.public, self.programs):
            os.chmod(path, 0o755)
        os.chmod(self.scratch, 0o1777)
        self.uid = NOBODY if os.getuid() == 0 and (bwrap or nobody_can_run_python()) else -1
        self._env = candidate_env(limits.cpus)
        self._env.update(_kernel_env(spec.packages, SCRATCH if bwrap else str(self.scratch)))
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._cgroup: PidsCgroup | None = None
        self._program: Path | None = None
        self._stop_sent = False

    def _inside(self, path: Path) -> str:
        """A host path under root as the candidate's process sees it."""
        if not self.bwrap:
            return str(path)
        if path.is_relative_to(self.scratch):
            return SCRATCH + str(path)[len(str(self.scratch)):]
        return f"{INSIDE_ROOT}/program/{path.name}"

    def _command(self, fd: int) -> list[str]:
        preload = list(self.spec.packages)  # imported once by the server, so each forked candidate has them warm
        if self.bwrap:
            paths = [INSIDE_ROOT, f"{INSIDE_ROOT}/public"]
            shown = self.spec.packages + self.spec.on_demand_packages  # on-demand ones: shown, imported on first use
            prefix = candidate_bwrap_command(self.public, self.programs, shown,
                                             self.limits.max_disk_mb, self.limits.gpus) + ["--"]
        else:
            link = self.root / "lib" / "evolve_candidate"
            link.parent.mkdir(exist_ok=True)
            if not link.exists():
                link.symlink_to(HOST_PACKAGE)
            paths = [str(link.parent), str(self.public)]
            prefix = []
        return prefix + [sys.executable, *INTERPRETER_FLAGS, "-c", BOOT.format(paths=paths), str(fd), str(self.uid),
                         "0" if self.bwrap else "1", *preload]

    def start(self) -> None:
        self.stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._cgroup = PidsCgroup.create(self.limits.max_procs + 16)
        with (self.root / "candidate-server.log").open("ab") as log:
            self._proc = subprocess.Popen(
                self._command(theirs.fileno()), pass_fds=[theirs.fileno()], env=self._env,
                cwd=self.scratch, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                preexec_fn=self._cgroup.join if self._cgroup else None,
            )
        theirs.close()
        self._sock = ours
        hello = self._receive(STARTUP_TIMEOUT_S)
        if not hello.get("ready"):
            detail = hello.get("error") or (self.root / "candidate-server.log").read_text(errors="replace")[-4000:]
            self.stop()
            raise CandidateServerError(f"the candidate's sandbox could not start:\n{detail}")
        self._warn_unisolated(hello)

    def _warn_unisolated(self, hello: dict[str, Any]) -> None:
        if not self.bwrap:
            warn_once("candidate-view", "without bubblewrap the candidate's process sees this machine's files "
                      "(the problem's data and test split included) and has no total disk quota; it still runs "
                      "apart from the scorer" + ("" if hello.get("uid") else ", as root"))
        if not hello.get("network_isolated"):
            warn_once("candidate-netns", "cannot create a network namespace here: candidates can reach the network")

    def _receive(self, timeout: float) -> dict[str, Any]:
        assert self._sock is not None
        self._sock.settimeout(timeout)
        try:
            raw = self._sock.recv(1 << 16)
            return json.loads(raw) if raw else {"ready": False, "error": "the candidate's server exited"}
        except (TimeoutError, OSError, json.JSONDecodeError) as exc:
            return {"ready": False, "error": repr(exc)}
        finally:
            if self._sock is not None:
                self._sock.settimeout(None)

    def begin(self, code: str, fds: list[int], timeout_s: float) -> None:
        """Start one evaluation: the program and the candidate's ends of the channel, stdout and stderr."""
        if self._proc is None or self._proc.poll() is not None:
            self.start()
        suffix = Path(self.spec.build.source).suffix if self.spec.build else ".py"
        self._program = self.programs / f"{secrets.token_hex(8)}{suffix}"
        self._program.write_text(code)
        os.chmod(self._program, 0o644)
        request = {"program": self._inside(self._program), "scratch": SCRATCH if self.bwrap else str(self.scratch),
                   "env": self._env, "limits": {**self.limits.model_dump(), "timeout_s": timeout_s}, "grace_s": GRACE_S,
                   "build": self.spec.build.model_dump() if self.spec.build else None}
        assert self._sock is not None
        self._stop_sent = False
        try:
            socket.send_fds(self._sock, [json.dumps(request).encode()], fds)
        except OSError as exc:
            raise CandidateServerError(f"the candidate's server stopped answering: {exc}") from None

    def end(self) -> None:
        """Tell the server to kill what is left of the candidate now (the scorer is done with it)."""
        if self._sock is not None and not self._stop_sent:
            self._stop_sent = True
            try:
                self._sock.send(b"stop")
            except OSError:
                pass

    def finish(self) -> dict[str, Any]:
        """End what is left of the candidate; how its process ended (exit code, signal, CPU, escaped)."""
        try:
            self.end()
            reply = self._receive(FINISH_TIMEOUT_S)
        except OSError:
            reply = {"error": "the candidate's server died"}
        finally:
            if self._program is not None:
                self._program.unlink(missing_ok=True)
        if "wall_s" not in reply:
            self.stop()
            return {"timed_out": False, "stopped": True, "exit_code": None, "signal": None, "wall_s": 0.0,
                    "cpu_s": 0.0, "escaped": 0, "server_died": True}
        return reply

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, 9)
            except ProcessLookupError:
                pass
            self._proc.wait()
            self._proc = None
        if self._cgroup is not None:
            self._cgroup.kill_all()
            self._cgroup.remove()
            self._cgroup = None
