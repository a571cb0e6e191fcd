"""benchmarks/discovery.py: arms of settings, several seeded runs each, best score with spread."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "discovery.py"


def harness():
    spec = importlib.util.spec_from_file_location("discovery", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("discovery", module)
    spec.loader.exec_module(module)
    return module


def test_an_arm_is_a_name_and_dotted_config_keys():
    arm = harness().parse_arm("share:archive.pareto_share=0.3,llm.memory_every=20,archive.num_islands=2,max_wall_s=null")
    assert arm.name == "share"
    assert arm.overrides == {"archive": {"pareto_share": 0.3, "num_islands": 2}, "llm": {"memory_every": 20},
                             "max_wall_s": None}
    assert harness().parse_arm("base:").overrides == {}


@pytest.mark.parametrize("text", ["no-colon", ":x=1", "a:x", "a:x=1,x.y=2"])
def test_a_malformed_arm_is_refused(text):
    module = harness()
    with pytest.raises(module.HarnessError):
        module.parse_arm(text)


@pytest.mark.slow
def test_two_arms_of_two_runs_on_bin_packing(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--problem", "bin_packing", "--runs", "2", "--candidates", "4",
         "--arm", "base:", "--arm", "pareto:archive.pareto_share=1.0", "--scratch", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert [a["arm"]["name"] for a in results["arms"]] == ["base", "pareto"]
    for arm in results["arms"]:
        assert [run["seed"] for run in arm["runs"]] == [1, 2]
        for run in arm["runs"]:
            best = run["best"]
            assert len(best) == 4 and sum(run["statuses"].values()) == 4
            assert best == sorted(best) and best[0] >= run["seed_score"]  # best so far never falls
            assert run["dollars"] == [0.0] * 4  # the offline mutator costs nothing
    for name, share in (("base", 0.0), ("pareto", 1.0)):
        for seed in (1, 2):
            with sqlite3.connect(tmp_path / name / f"seed{seed}.db") as conn:
                config, stored_seed = conn.execute("SELECT config, seed FROM runs").fetchone()
                rows = conn.execute("SELECT metrics, instances FROM programs WHERE status = 'ok'").fetchall()
            assert json.loads(config)["archive"]["pareto_share"] == share and stored_seed == seed
            for metrics, instances in rows:  # bin_packing's per-instance scores, in their own column
                assert len(json.loads(instances)) == 5 and "instances" not in json.loads(metrics)
    table = (tmp_path / "table.md").read_text()
    assert "| base |" in table and "| pareto |" in table and "best @ 4" in table
    assert (tmp_path / "best_vs_candidates.svg").read_text().startswith("<svg")
