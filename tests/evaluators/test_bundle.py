from __future__ import annotations

from pathlib import Path

from evolve.evaluators.bundle import pack_problem, unpack_problem


def test_bundle_hash_follows_content_and_skips_caches(tmp_path):
    root = tmp_path / "problem"
    (root / "data").mkdir(parents=True)
    (root / "evaluate.py").write_text("x = 1\n")
    (root / "data" / "trace.csv").write_text("a,b\n1,2\n")
    digest, data = pack_problem(root)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "evaluate.cpython-311.pyc").write_bytes(b"\0" * 10)
    assert pack_problem(root)[0] == digest
    (root / "data" / "trace.csv").write_text("a,b\n1,3\n")
    assert pack_problem(root)[0] != digest

    unpacked = unpack_problem(digest, data, cache_dir=tmp_path / "cache")
    assert unpacked.name == digest
    assert (unpacked / "data" / "trace.csv").read_text() == "a,b\n1,2\n"
    assert not (unpacked / "__pycache__").exists()
    assert unpack_problem(digest, data, cache_dir=tmp_path / "cache") == unpacked
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [digest]


def test_the_same_files_give_the_same_bundle_at_any_time(tmp_path):
    import os
    import time

    root = tmp_path / "problem"
    root.mkdir()
    (root / "evaluate.py").write_text("x = 1\n")
    first = pack_problem(root)
    time.sleep(1.1)  # gzip stamps whole seconds
    os.utime(root / "evaluate.py", (time.time() + 50, time.time() + 50))
    assert pack_problem(root) == first


def test_a_copy_is_shared_while_used_and_removed_when_no_process_uses_it(tmp_path):
    import subprocess
    import sys

    cache = tmp_path / "cache"
    old, new = tmp_path / "old", tmp_path / "new"
    for root, text in ((old, "x = 1\n"), (new, "x = 2\n")):
        root.mkdir()
        (root / "evaluate.py").write_text(text)
    (old_digest, old_data), (new_digest, new_data) = pack_problem(old), pack_problem(new)

    def unpack_in_a_process_that_exits(digest: str, data: bytes) -> None:
        script = ("import sys; from pathlib import Path; from evaluators.bundle import unpack_problem; "
                  f"unpack_problem({digest!r}, sys.stdin.buffer.read(), Path({str(cache)!r}))")
        subprocess.run([sys.executable, "-c", script], input=data, check=True, cwd=Path(__file__).parents[2])

    unpack_in_a_process_that_exits(old_digest, old_data)  # a finished (or killed) run's worker
    assert [p.name for p in cache.iterdir()] == [old_digest]
    shared = unpack_problem(new_digest, new_data, cache)
    assert [p.name for p in cache.iterdir()] == [new_digest]  # nobody used the old copy any more
    unpack_in_a_process_that_exits(new_digest, new_data)  # a second run of the same files
    assert [p.name for p in cache.iterdir()] == [new_digest] and shared.is_dir()  # still used here
