"""Hostile candidates: each must end as a failed row with a clear status, and the run goes on."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from evolve import evaluators
from evolve.evaluators.bundle import pack_problem
from evolve.evaluators.pool import EvaluationPool, evaluate_file
from evolve.evaluators.sandbox import Sandbox

HOSTILE_EVALUATOR = """\
import json
from evolve.evaluators.contract import load_program


def evaluate(program_path, split="train"):
    outcome = load_program(program_path).run()
    return {"score": 1.0, "artifacts": {"outcome": json.dumps(outcome)}}
"""

LIMITS = {"timeout_s": 1.5, "memory_mb": 256, "max_file_mb": 8, "max_output_kb": 4, "max_procs": 32}


def program(body: str) -> str:
    return f"# EVOLVE-BLOCK-START\n{body}\n# EVOLVE-BLOCK-END\n"


HOSTILE = {
    "infinite_loop": (program("def run():\n    while True:\n        pass"), "timeout", "wall-clock timeout"),
    "sleep_forever": (program("import time\ndef run():\n    time.sleep(10**6)"), "timeout", "wall-clock timeout"),
    "fork_bomb": (
        program("import os\ndef run():\n    while True:\n        try:\n            os.fork()\n"
                "        except OSError:\n            pass"),
        "timeout", "wall-clock timeout",
    ),
    "memory_bomb": (
        program("def run():\n    hoard = []\n    while True:\n        hoard.append([0] * 10**8)"),
        "killed", "memory limit exceeded",
    ),
    "huge_file": (
        program("def run():\n    with open('big.bin', 'wb') as f:\n        while True:\n            f.write(bytes(2**20))"),
        "killed", "file size limit exceeded",
    ),
    "print_gigabytes": (
        program("import sys\ndef run():\n    while True:\n        sys.stdout.write('x' * 65536)"),
        "killed", "output limit exceeded on stdout",
    ),
    "os_exit": (program("import os\ndef run():\n    os._exit(0)"), "error", "without a result"),
    "segfault": (program("import ctypes\ndef run():\n    return ctypes.string_at(0)"), "killed", "SIGSEGV"),
    "forged_stdout_result": (
        program(
            "import json, os, sys\n"
            "def run():\n"
            "    print(json.dumps({'nonce': '0' * 32, 'status': 'ok', 'output': {'score': 1e9}}))\n"
            "    sys.stdout.flush()\n"
            "    os._exit(0)"
        ),
        "error", "without a result",
    ),
    "sprayed_result_channel": (
        program(
            "import json, os\n"
            "def run():\n"
            "    fake = json.dumps({'nonce': 'guess', 'status': 'ok', 'output': {'score': 1e9}}).encode()\n"
            "    for fd in range(3, 256):\n"
            "        try:\n"
            "            os.write(fd, fake)\n"
            "        except OSError:\n"
            "            pass\n"
            "    return 'sprayed'"
        ),
        "error", "tampered",
    ),
    "kill_the_fork_server": (
        program("import os, signal, time\ndef run():\n    os.kill(os.getppid(), signal.SIGKILL)\n    time.sleep(5)"),
        "error", "fork server died",
    ),
}

GOOD = program("def run():\n    return 'fine'")


def daemon_program(marker: str) -> str:
    return program(
        "import os, sys, time\n"
        "def run():\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        f"            os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}])\n"
        "        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
        "    time.sleep(0.3)\n"
        "    return 'spawned'"
    )


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.fixture
def hostile_problem(tiny_problem):
    return tiny_problem(evaluator=HOSTILE_EVALUATOR, seed=GOOD, limits=LIMITS)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_candidate_fails_with_clear_status(hostile_problem, write_program, name):
    code, status, message = HOSTILE[name]
    result = evaluate_file(hostile_problem, write_program(code))
    assert result.status == status, result.artifacts
    assert message in result.artifacts["error"]
    assert result.score is None
    digest, _ = pack_problem(hostile_problem.root)
    assert processes_with(digest) == [], "a sandboxed process outlived evaluate_file"


def test_timed_out_candidate_costs_at_most_its_timeout_plus_one_second(hostile_problem):
    sandbox = Sandbox(hostile_problem.root, "evaluate.py", "seed.py", hostile_problem.limits)
    with sandbox:
        assert sandbox.run("full", GOOD, "train").status == "ok"
        for name in ("infinite_loop", "sleep_forever", "fork_bomb"):
            started = time.monotonic()
            outcome = sandbox.run("full", HOSTILE[name][0], "train")
            elapsed = time.monotonic() - started
            assert outcome.status == "timeout"
            assert elapsed <= LIMITS["timeout_s"] + 1.0, f"{name} cost {elapsed:.2f} s"
        assert sandbox.run("full", GOOD, "train").status == "ok"


def test_daemon_is_killed_when_its_evaluation_ends(hostile_problem):
    marker = f"evolve-daemon-{uuid.uuid4().hex}"
    with Sandbox(hostile_problem.root, "evaluate.py", "seed.py", hostile_problem.limits) as sandbox:
        outcome = sandbox.run("full", daemon_program(marker), "train")
        assert outcome.status == "ok"
        assert "outlived the evaluation" in outcome.artifacts["sandbox"]
        assert processes_with(marker) == []
        assert sandbox.run("full", GOOD, "train").status == "ok"


def test_sandbox_replaces_a_fork_server_the_candidate_killed(hostile_problem):
    with Sandbox(hostile_problem.root, "evaluate.py", "seed.py", hostile_problem.limits) as sandbox:
        assert sandbox.run("full", HOSTILE["kill_the_fork_server"][0], "train").status == "error"
        assert sandbox.run("full", GOOD, "train").status == "ok"


def test_candidate_cannot_reach_into_the_fork_server(hostile_problem, write_program):
    code = program(
        "import os\n"
        "def run():\n"
        "    try:\n"
        "        with open(f'/proc/{os.getppid()}/mem', 'rb'):\n"
        "            return 'opened'\n"
        "    except OSError as exc:\n"
        "        return repr(exc)"
    )
    result = evaluate_file(hostile_problem, write_program(code))
    assert result.status == "ok"
    assert "PermissionError" in json.loads(result.artifacts["outcome"])


def test_parent_environment_keys_do_not_reach_the_candidate(hostile_problem, write_program, monkeypatch):
    secret = f"sk-evolve-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("PATH_TOKEN_FOR_TESTS", secret)
    code = program(
        "import glob, os\n"
        "def run():\n"
        "    seen = [repr(dict(os.environ))]\n"
        "    for path in glob.glob('/proc/*/environ'):\n"
        "        try:\n"
        "            seen.append(open(path, 'rb').read().decode(errors='replace'))\n"
        "        except OSError:\n"
        "            pass\n"
        "    print('\\n'.join(seen))\n"
        "    return seen"
    )
    result = evaluate_file(hostile_problem, write_program(code))
    assert result.status == "ok"
    assert "PATH" in result.artifacts["outcome"]
    assert secret not in json.dumps(result.to_dict())


def test_files_outside_the_sandbox_cannot_be_read_or_written(hostile_problem, write_program, tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(f"TOPSECRET-{uuid.uuid4().hex}")
    target = tmp_path / "pwned.txt"
    checkout_file = Path(evaluators.__file__).resolve().parent.parent / "pyproject.toml"
    code = program(
        "def run():\n"
        "    seen = {}\n"
        f"    try:\n        seen['read'] = open({str(secret_file)!r}).read()\n"
        "    except OSError as exc:\n        seen['read'] = repr(exc)\n"
        f"    try:\n        seen['checkout'] = open({str(checkout_file)!r}).read()\n"
        "    except OSError as exc:\n        seen['checkout'] = repr(exc)\n"
        f"    try:\n        open({str(target)!r}, 'w').write('pwned')\n        seen['write'] = 'done'\n"
        "    except OSError as exc:\n        seen['write'] = repr(exc)\n"
        "    return seen"
    )
    result = evaluate_file(hostile_problem, write_program(code))
    assert result.status == "ok"
    outcome = json.loads(result.artifacts["outcome"])
    assert "Error" in outcome["read"] and "Error" in outcome["write"]
    assert "Error" in outcome["checkout"], "the framework checkout (with its .env and runs/) is visible"
    assert secret_file.read_text() not in json.dumps(result.to_dict())
    assert not target.exists()


def test_socket_to_loopback_reaches_nothing(hostile_problem, write_program):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    code = program(
        "import socket\n"
        "def run():\n"
        "    try:\n"
        f"        socket.create_connection(('127.0.0.1', {port}), timeout=0.5).sendall(b'exfiltrated')\n"
        "        return 'connected'\n"
        "    except OSError as exc:\n"
        "        return repr(exc)"
    )
    try:
        result = evaluate_file(hostile_problem, write_program(code))
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert result.status == "ok"
    assert "connected" not in json.loads(result.artifacts["outcome"])


@pytest.mark.slow
def test_hostile_battery_through_the_pool_leaves_it_working(hostile_problem, ray_local):
    marker = f"evolve-daemon-{uuid.uuid4().hex}"
    names = ["infinite_loop", "fork_bomb", "memory_bomb", "print_gigabytes", "segfault", "os_exit",
             "sprayed_result_channel", "kill_the_fork_server"]
    pool = EvaluationPool(hostile_problem, slots=2)
    try:
        async def battery():
            hostile = [pool.evaluate(HOSTILE[name][0]) for name in names]
            return await asyncio.gather(*hostile, pool.evaluate(daemon_program(marker)),
                                        *(pool.evaluate(GOOD) for _ in range(3)))

        results = asyncio.run(battery())
        for name, result in zip(names, results):
            assert result.status == HOSTILE[name][1], (name, result.artifacts)
            assert HOSTILE[name][2] in result.artifacts["error"]
        daemon, good = results[len(names)], results[len(names) + 1:]
        assert daemon.status == "ok" and processes_with(marker) == []
        assert [r.status for r in good] == ["ok"] * 3
        assert len(pool.nodes()) == 2
    finally:
        pool.close()


# The same battery against a problem on the channel: the candidate has its own process,
# so what it does to that process ends as its row, reported through the scorer.
CHANNEL_EVALUATOR = """\
import json


def evaluate(candidate, split="train"):
    outcome = candidate.call("run")
    return {"score": 1.0, "artifacts": {"outcome": json.dumps(outcome)}}
"""

ON_THE_CHANNEL = {
    "infinite_loop": ("timeout", "wall-clock timeout"),
    "sleep_forever": ("timeout", "wall-clock timeout"),
    "fork_bomb": ("timeout", "wall-clock timeout"),
    "memory_bomb": ("killed", "memory limit exceeded"),
    "huge_file": ("killed", "file size limit exceeded"),
    "print_gigabytes": ("killed", "output limit exceeded on stdout"),
    "os_exit": ("error", "ended during a call"),
    "segfault": ("killed", "SIGSEGV"),
    "forged_stdout_result": ("error", "ended during a call"),
    "sprayed_result_channel": ("invalid", "something other than plain data"),
    "kill_the_fork_server": ("error", "ended during a call"),
}


@pytest.fixture
def channel_problem(tiny_problem):
    return tiny_problem(evaluator=CHANNEL_EVALUATOR, seed=GOOD, limits=LIMITS, scoring="channel")


@pytest.mark.parametrize("name", sorted(ON_THE_CHANNEL))
def test_hostile_candidate_on_the_channel_fails_with_clear_status(channel_problem, name):
    status, message = ON_THE_CHANNEL[name]
    with Sandbox.for_problem(channel_problem, channel_problem.root) as sandbox:
        outcome = sandbox.run("full", HOSTILE[name][0], "train")
        assert outcome.status == status, outcome.artifacts
        assert message in outcome.artifacts["error"]
        assert outcome.score is None
        assert sandbox.run("full", GOOD, "train").status == "ok", "the sandbox did not recover"
