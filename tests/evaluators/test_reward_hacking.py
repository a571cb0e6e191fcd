"""Reward hacking on the channel: no candidate scores above the honest program, reads what
the scorer keeps, or leaves anything for the next candidate.

The problem: guess a number kept in the problem's data (one per split); the score is minus
the distance. The honest program guesses 40 (train target 42, test target 7). Every hack
below also guesses 40, after attacking the scorer; it must score exactly what 40 scores,
or fail.
"""

from __future__ import annotations

import json
import os
import sys
import uuid

import pytest

from evolve.evaluators.candidate_view import NOBODY
from evolve.evaluators.confinement import bwrap_available
from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.sandbox import Sandbox

EVALUATOR = """\
import json
from pathlib import Path
from evolve.evaluators.contract import InvalidProgram

DATA = Path(__file__).parent / "data"


def evaluate(candidate, split="train"):
    target = json.loads((DATA / f"{split}.json").read_text())["target"]
    guess = candidate.call("guess")
    if isinstance(guess, bool) or not isinstance(guess, (int, float)):
        raise InvalidProgram(f"guess() must return a number, got {type(guess).__name__}")
    return {"score": -abs(float(guess) - target)}
"""

HONEST = "def guess():\n    return 40.0\n"
LIMITS = {"timeout_s": 5, "memory_mb": 512, "max_file_mb": 8, "max_disk_mb": 64}

HACKS = {
    "gc_and_frame_walk": (
        "import gc, sys\n"
        "def guess():\n"
        "    for obj in gc.get_objects():\n"
        "        if isinstance(obj, dict) and ('score' in obj or 'nonce' in obj or 'target' in obj):\n"
        "            obj['score'] = 1e9; obj['target'] = 40.0\n"
        "    frame = sys._getframe()\n"
        "    while frame is not None:\n"
        "        frame.f_locals.update(target=40.0, score=1e9)\n"
        "        frame = frame.f_back\n"
        "    return 40.0\n"
    ),
    "patched_serialisers": (
        "import json, pickle\n"
        "json.loads = lambda *a, **k: {'target': 40.0}\n"
        "pickle.loads = lambda *a, **k: {'score': 1e9}\n"
        "def guess():\n    return 40.0\n"
    ),
    "rebind_the_problem": (
        "import sys\n"
        "def guess():\n"
        "    for name, module in list(sys.modules.items()):\n"
        "        if hasattr(module, 'evaluate'):\n"
        "            module.evaluate = lambda *a, **k: {'score': 1e9}\n"
        "    return 40.0\n"
    ),
    "split_dependent": (
        "import os, sys\n"
        "def guess():\n"
        "    seen = repr(sys.argv) + repr(dict(os.environ)) + os.getcwd()\n"
        "    return 7.0 if 'test' in seen else 40.0\n"
    ),
}


@pytest.fixture
def guess_problem(tiny_problem):
    files = {"data/train.json": '{"target": 42}', "data/test.json": '{"target": 7}'}
    return tiny_problem(evaluator=EVALUATOR, seed="# EVOLVE-BLOCK-START\n" + HONEST + "# EVOLVE-BLOCK-END\n",
                        files=files, limits=LIMITS, scoring="channel", splits={"train": "", "test": ""})


def program(body: str) -> str:
    return "# EVOLVE-BLOCK-START\n" + body + "# EVOLVE-BLOCK-END\n"


@pytest.fixture
def sandbox(guess_problem):
    with Sandbox.for_problem(guess_problem, guess_problem.root) as box:
        yield box


@pytest.mark.parametrize("name", sorted(HACKS))
@pytest.mark.parametrize("split", ["train", "test"])
def test_a_hack_scores_exactly_the_honest_guess(sandbox, name, split):
    honest = sandbox.run("full", program(HONEST), split)
    hacked = sandbox.run("full", program(HACKS[name]), split)
    assert honest.status == "ok" and honest.score == {"train": -2.0, "test": -33.0}[split]
    assert hacked.status == "ok", hacked.artifacts
    assert hacked.score == honest.score


def test_the_problem_data_is_not_visible(sandbox, guess_problem):
    paths = [str(guess_problem.root / "data" / "test.json"), "data/test.json", "../data/test.json"]
    code = program(
        "import glob, json, os\n"
        "def guess():\n"
        f"    for path in {paths!r} + glob.glob('/tmp/evolve-problems/*/data/test.json'):\n"
        "        if os.path.exists(path):\n"
        "            return float(json.load(open(path))['target'])\n"
        "    return 40.0\n"
    )
    assert sandbox.run("full", code, "test").score == -33.0


def test_the_launch_folders_secrets_stay_out(guess_problem, tmp_path, monkeypatch, write_program):
    secret = f"sk-launch-{uuid.uuid4().hex}"
    launch = tmp_path / "launch"
    launch.mkdir()
    (launch / ".env").write_text(f"OPENAI_API_KEY={secret}\n")
    monkeypatch.chdir(launch)
    monkeypatch.syspath_prepend(str(launch))
    code = program(
        "import glob, os, sys\n"
        "def guess():\n"
        f"    places = [{str(launch)!r}, os.getcwd()] + sys.path\n"
        "    for place in places:\n"
        "        for path in glob.glob(os.path.join(place, '.env')):\n"
        "            print(open(path).read())\n"
        "    return 40.0\n"
    )
    result = evaluate_file(guess_problem, write_program(code))
    assert result.status == "ok" and result.score == -2.0
    assert secret not in json.dumps(result.to_dict())


def test_forged_results_on_every_descriptor_end_as_a_failed_row(sandbox):
    forged = json.dumps({"status": "ok", "output": {"score": 1e9}, "nonce": "0" * 32})
    code = program(
        "import os\n"
        "def guess():\n"
        "    for fd in range(3, 64):\n"
        "        for data in (FORGED.encode(), b'[' * 200000):\n"
        "            try:\n                os.write(fd, data)\n"
        "            except OSError:\n                pass\n"
        "    return 40.0\n"
    ).replace("FORGED", repr(forged))
    outcome = sandbox.run("full", code, "train")
    assert outcome.status == "invalid" and outcome.score is None
    assert sandbox.run("full", program(HONEST), "train").score == -2.0


def test_a_signal_python_cannot_name_kills_only_the_candidate(sandbox):
    outcome = sandbox.run("full", program("import os\ndef guess():\n    os.kill(os.getpid(), 40)\n"), "train")
    assert outcome.status == "killed" and "signal 40" in outcome.artifacts["error"]
    assert sandbox.run("full", program(HONEST), "train").status == "ok"


def test_nothing_a_candidate_writes_survives_into_the_next(sandbox):
    marker = uuid.uuid4().hex
    leave = program(
        "import os, tempfile\n"
        "def guess():\n"
        f"    for place in (os.getcwd(), os.path.dirname(os.getcwd()), tempfile.gettempdir(), '/tmp', '/var/tmp',\n"
        "                  os.environ.get('HOME', '.'), '/dev/shm'):\n"
        "        try:\n"
        f"            open(os.path.join(place, 'left-{marker}'), 'w').write('x')\n"
        "        except OSError:\n            pass\n"
        "    for n in range(200):\n"
        "        try:\n            os.mkdir(os.path.join(os.path.dirname(os.getcwd()), str(n)))\n"
        "        except OSError:\n            pass\n"
        "    return 40.0\n"
    )
    look = program(
        "import glob, os\n"
        "def guess():\n"
        "    places = {os.path.dirname(os.getcwd()), '/tmp', '/var/tmp', '/dev/shm', '/scratch'}\n"
        f"    print('found', [p for place in places for p in glob.glob(place + '/**/left-{marker}', recursive=True)])\n"
        "    return 40.0\n"
    )
    assert sandbox.run("full", leave, "train").status == "ok"
    found = sandbox.run("full", look, "train")
    assert found.status == "ok" and found.artifacts["stdout"].strip() == "found []"


@pytest.mark.skipif(not bwrap_available(), reason="the total disk quota is bubblewrap's tmpfs")
def test_the_disk_quota_bounds_all_files_together(sandbox):
    code = program(
        "import os\n"
        "def guess():\n"
        "    written = 0\n"
        "    try:\n"
        "        for n in range(40):\n"
        "            with open(f'f{n}', 'wb') as f:\n"
        "                for _ in range(7):\n"
        "                    f.write(bytes(2**20)); written += 2**20\n"
        "    except OSError as exc:\n"
        "        print(written, exc.errno)\n"
        "    return 40.0\n"
    )
    outcome = sandbox.run("full", code, "train")
    written, errno_ = outcome.artifacts["stdout"].split()
    assert int(written) <= LIMITS["max_disk_mb"] * 2**20 and int(errno_) == 28  # ENOSPC
    assert sandbox.run("full", program(HONEST), "train").score == -2.0


@pytest.mark.skipif(os.getuid() != 0 or not bwrap_available(), reason="dropping to nobody needs root and bubblewrap")
def test_the_candidate_runs_unprivileged(sandbox):
    code = program(
        "import os\n"
        "def guess():\n"
        "    print(os.getuid(), os.path.exists('/etc/shadow'), os.access('/', os.W_OK))\n"
        "    return 40.0\n"
    )
    outcome = sandbox.run("full", code, "train")
    assert outcome.artifacts["stdout"].split() == [str(NOBODY), "False", "False"]


def test_in_process_scoring_survives_the_crashers(tiny_problem):
    """The old contract keeps its failure rows honest too: no crasher takes the harness down."""
    problem = tiny_problem(evaluator="from evaluators.contract import load_program\n"
                                     "def evaluate(path, split='train'):\n    return {'score': load_program(path).guess()}\n",
                           seed="# EVOLVE-BLOCK-START\n" + HONEST + "# EVOLVE-BLOCK-END\n", limits=LIMITS)
    crashers = {
        "signal_40": "import os\ndef guess():\n    os.kill(os.getpid(), 40)\n",
        "bracket_spray": "import os\ndef guess():\n    for fd in range(3, 64):\n        try:\n"
                         "            os.write(fd, b'[' * 200000)\n        except OSError:\n            pass\n    return 1.0\n",
        "next_workdirs": "import os\ndef guess():\n    for n in range(1, 100):\n        try:\n"
                         "            os.mkdir(os.path.join(os.path.dirname(os.getcwd()), str(n)))\n"
                         "        except OSError:\n            pass\n    return 1.0\n",
    }
    with Sandbox.for_problem(problem, problem.root) as box:
        for name, body in crashers.items():
            outcome = box.run("full", program(body), "train")
            assert outcome.status in ("killed", "error", "ok"), (name, outcome.artifacts)
            assert box.run("full", program(HONEST), "train").score == 40.0, name
    assert sys.modules  # the harness is alive to say so


def test_string_hashing_is_the_same_in_every_evaluation(sandbox, guess_problem):
    """Programs that iterate over sets of names score reproducibly, also on another slot (a fixed hash seed)."""
    code = program("def guess():\n    print(hash('cloudcast'), list({'a', 'b', 'c', 'd', 'e'}))\n    return 40.0\n")
    first = sandbox.run("full", code, "train").artifacts["stdout"]
    with Sandbox.for_problem(guess_problem, guess_problem.root) as other_slot:
        assert other_slot.run("full", code, "train").artifacts["stdout"] == first


def test_without_bubblewrap_the_candidate_still_has_a_process_of_its_own(guess_problem, monkeypatch, caplog):
    """Where bubblewrap cannot run, the two processes stay apart and the log says what is not isolated."""
    import evolve.evaluators.sandbox as sandbox_module

    monkeypatch.setattr(sandbox_module, "_use_bwrap", lambda: False)
    monkeypatch.setattr("evolve.evaluators.confinement._warned", set())
    code = program(
        "import gc, os, sys\n"
        "def guess():\n"
        "    for obj in gc.get_objects():\n"
        "        if isinstance(obj, dict) and 'score' in obj:\n"
        "            obj['score'] = 1e9\n"
        "    print(os.getpid(), 'evaluate' in sys.modules)\n"
        "    return 40.0\n"
    )
    with caplog.at_level("WARNING"), Sandbox.for_problem(guess_problem, guess_problem.root) as box:
        assert not box.bwrap
        outcome = box.run("full", code, "train")
    assert outcome.status == "ok" and outcome.score == -2.0
    assert outcome.artifacts["stdout"].split()[1] == "False"  # the scorer's modules are not in its process
    assert "without bubblewrap the candidate's process sees this machine's files" in caplog.text
