import json

from evolve.database import ArchiveSettings, FeatureDimension, NewProgram, ProgramDatabase
from evolve.database.queries import run_summary

SETTINGS = dict(num_islands=3, migration_interval=2, migration_rate=0.3, num_inspirations=3)


def sample_ids(archive, n):
    return [(s.island, s.parent.id, [p.id for p in s.inspirations], s.generation, s.failures)
            for s in (archive.sample() for _ in range(n))]


def test_resumed_archive_has_identical_state_and_samples(db, db_url, seeded_archive, grow_archive):
    live = seeded_archive(db, **SETTINGS)
    grow_archive(live, 45, fail_every=4)
    resumed = ProgramDatabase(db_url).archive(live.run.id, live.settings, live.seed)
    assert live.state()["migrations"] > 0
    assert json.loads(json.dumps(live.state())) == live.state()
    assert resumed.state() == live.state()
    assert resumed.counts() == live.counts()
    assert resumed.best().id == live.best().id
    assert resumed.seed_program().id == live.seed_program().id
    assert sample_ids(resumed, 12) == sample_ids(live, 12)


def test_runs_written_at_once_into_one_catalogue_each_resume_identically(db, db_url, seeded_archive, grow_archive):
    # two drivers on one database (their ids interleave), with a browser reading meanwhile
    first = seeded_archive(db, seed=1, **SETTINGS)
    second = ProgramDatabase(db_url).archive(
        seeded_archive(db, seed=2, num_islands=2).run.id, ArchiveSettings(num_islands=2), 2
    )
    for _ in range(15):
        grow_archive(first, 2, fail_every=3)
        grow_archive(second, 1)
        assert run_summary(db, first.run.id)["counts"]["total"] == first.counts()["total"]
    for live in (first, second):
        resumed = ProgramDatabase(db_url).archive(live.run.id, live.settings, live.seed)
        assert resumed.state() == live.state()
        assert sample_ids(resumed, 6) == sample_ids(live, 6)


def test_resume_then_continue_matches_an_uninterrupted_run(db, seeded_archive, grow_archive):
    uninterrupted = seeded_archive(db, seed=9, **SETTINGS)
    grow_archive(uninterrupted, 40)

    interrupted = seeded_archive(db, seed=9, **SETTINGS)
    grow_archive(interrupted, 20)
    resumed = db.archive(interrupted.run.id, interrupted.settings, interrupted.seed)
    # steps 20..39 of the same deterministic workload
    for step in range(20, 40):
        sample = resumed.sample()
        resumed.record(NewProgram(sample.parent.id, sample.island, sample.generation,
                                  sample.parent.code + f"    y{step} = {step}\n", "diff", "ok",
                                  score=float((step * 7919) % 101) / 10))
    strip = lambda state: {k: v for k, v in state.items() if k != "run_id"}  # noqa: E731
    relative = lambda archive: _relative_ids(strip(archive.state()), archive.seed_program().id)  # noqa: E731
    assert relative(resumed) == relative(uninterrupted)


def _relative_ids(state, base):
    """Program ids shifted so that two runs in one database compare equal."""
    for island in state["islands"]:
        if island["best"]:
            island["best"]["id"] -= base
        for cell in island["cells"]:
            cell["id"] -= base
    state["best_id"] -= base
    return state


def test_same_seed_same_sequence_different_seed_differs(db, seeded_archive, grow_archive):
    runs = []
    for seed in (4, 4, 5):
        runs.append(seeded_archive(db, seed=seed, num_islands=2))
        grow_archive(runs[-1], 25)
    base = [a.seed_program().id for a in runs]
    seqs = [[(s.island, s.parent.id - b) for s in (a.sample() for _ in range(20))] for a, b in zip(runs, base)]
    assert seqs[0] == seqs[1]
    assert seqs[0] != seqs[2]


def test_adaptive_metric_features_resume_identically(db, db_url):
    settings = ArchiveSettings(num_islands=2, features=[FeatureDimension(name="gap", bins=5),
                                                         FeatureDimension(name="length", bins=4, range=(0, 400))])
    run = db.create_run(None, "toy", {}, 2)
    live = db.archive(run.id, settings, 2)
    live.record(NewProgram(None, 0, 0, "x = 0\n", "seed", "ok", score=0.0, metrics={"gap": 0.5}))
    for step in range(30):
        sample = live.sample()
        gap = ((step * 37) % 23) / 3 - 2  # widens the gap range both ways over time
        live.record(NewProgram(sample.parent.id, sample.island, sample.generation,
                               sample.parent.code + f"x = {step}\n", "diff", "ok",
                               score=float(step % 7), metrics={"gap": gap}))
    resumed = ProgramDatabase(db_url).archive(run.id, settings, 2)
    assert resumed.state() == live.state()
    assert resumed.state()["features"][0]["lo"] < -1.9
